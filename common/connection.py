"""Connect to Temporal the same way from every process (doors, worker, tests, benchmarks)."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from common.errors import Refused
from common.settings import Settings
from workflows import search_attributes as sa

_INDEXED_TYPE = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
}


class TemporalUnreachable(Refused):
    def __init__(self, address: str) -> None:
        super().__init__(
            f"cannot reach Temporal at {address} — start it with `agentpr server` or `make up`"
        )


async def connect(settings: Settings) -> Client:
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
    except RuntimeError as err:  # the SDK reports transport failures as RuntimeError
        if "connect" in str(err).lower():
            raise TemporalUnreachable(settings.temporal_address) from None
        raise


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
