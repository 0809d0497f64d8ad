"""Connect to Temporal the same way from every process (doors, worker, tests, benchmarks)."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from common.errors import Refused, UsageError
from common.settings import Settings
from contracts import search_attributes as sa

_INDEXED_TYPE = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "DOUBLE": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
}
_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off")


class TemporalUnreachable(Refused):
    def __init__(self, address: str, reason: str | None = None) -> None:
        # Without TLS the usual cause is a server that is not running; with TLS or a key, the
        # SDK's reason (certificate, handshake, auth) is what the operator needs.
        hint = f": {reason}" if reason else " — start it with `agentpr server` or `make up`"
        super().__init__(f"cannot reach Temporal at {address}{hint}")


def _pem(variable: str, path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{variable} {path}: {err.strerror or err}") from None
    if b"-----BEGIN " not in data:  # else the SDK fails later with a message naming no file
        raise UsageError(f"{variable} {path}: not a PEM file")
    return data


def tls_option(settings: Settings) -> bool | TLSConfig:
    """The `tls=` for `Client.connect`, from TEMPORAL_TLS* and TEMPORAL_API_KEY.

    TLS is on when asked for (TEMPORAL_TLS=1) or implied by a client certificate, a CA, a
    server name or an API key (Temporal Cloud); TEMPORAL_TLS=0 turns it off for an API key
    over plaintext and refuses certificate settings it would ignore.
    """
    flag = (settings.temporal_tls or "").strip().lower()
    if flag and flag not in _YES + _NO:
        raise UsageError(f"TEMPORAL_TLS must be 1 or 0, got {settings.temporal_tls!r}")
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        given, missing = (
            ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY")
            if key is None
            else ("TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CERT")
        )
        raise UsageError(
            f"{given} is set without {missing}: mTLS needs the client "
            "certificate and its private key"
        )
    tls_files = cert is not None or settings.temporal_tls_ca is not None
    if flag in _NO:
        if tls_files or settings.temporal_tls_server_name:
            raise UsageError(
                "TEMPORAL_TLS=0 contradicts TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME; "
                "unset one or the other"
            )
        return False
    if not (tls_files or settings.temporal_tls_server_name):
        return bool(flag) or settings.temporal_api_key is not None  # system roots, no cert
    return TLSConfig(
        client_cert=_pem("TEMPORAL_TLS_CERT", cert) if cert else None,
        client_private_key=_pem("TEMPORAL_TLS_KEY", key) if key else None,
        server_root_ca_cert=_pem("TEMPORAL_TLS_CA", settings.temporal_tls_ca)
        if settings.temporal_tls_ca
        else None,
        domain=settings.temporal_tls_server_name,
    )


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client for every door; the worker passes a runtime that serves its metrics."""
    tls = tls_option(settings)
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
            tls=tls,
            api_key=api_key,
            runtime=runtime,
        )
    except RuntimeError as err:  # the SDK reports transport failures as RuntimeError
        if "connect" in str(err).lower():
            reason = _reason(str(err), api_key) if tls or api_key else None
            raise TemporalUnreachable(settings.temporal_address, reason) from None
        if api_key and api_key in str(err):
            raise RuntimeError(_reason(str(err), api_key)) from None
        raise


def _reason(message: str, api_key: str | None) -> str:
    """The SDK's error on one short line, never carrying the key."""
    if api_key:
        message = message.replace(api_key, "***")
    return " ".join(message.split())[:300]


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Create our search attributes where missing; returns the names it created.

    On an existing dev-server database the start-up `--search-attribute` flags are ignored, so
    this runs on every start (and from `init-db`).
    """
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = {
        key.name: _INDEXED_TYPE[key.indexed_value_type.name]
        for key in sa.ALL_KEYS
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)
