"""Connection options for a cluster or Temporal Cloud: TEMPORAL_TLS*, TEMPORAL_API_KEY.

The dev server has no TLS flags, so the real handshake goes through a small TLS-terminating
proxy in front of the session's dev server, with certificates made here by `cryptography`.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import TLSConfig

from common.connection import TemporalUnreachable, connect, tls_option
from common.errors import UsageError
from common.settings import Settings
from tests.run_env import ServerInfo, agentpr_command

API_KEY = "tmprl-api-key-0123456789abcdef"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"AGENTPR_HOME": str(tmp_path), **env})


# ---- settings and the TLS option -------------------------------------------------------------


def test_environment_parses(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        TEMPORAL_ADDRESS="ns.acct.tmprl.cloud:7233",
        TEMPORAL_NAMESPACE="ns.acct",
        TEMPORAL_TLS="1",
        TEMPORAL_TLS_CERT="~/c.pem",
        TEMPORAL_TLS_KEY="/k.pem",
        TEMPORAL_TLS_CA="/ca.pem",
        TEMPORAL_TLS_SERVER_NAME="frontend",
        TEMPORAL_API_KEY=API_KEY,
    )
    assert (s.temporal_address, s.temporal_namespace) == ("ns.acct.tmprl.cloud:7233", "ns.acct")
    assert s.temporal_tls == "1"
    assert s.temporal_tls_cert == Path.home() / "c.pem"
    assert (s.temporal_tls_key, s.temporal_tls_ca) == (Path("/k.pem"), Path("/ca.pem"))
    assert s.temporal_tls_server_name == "frontend"
    assert s.temporal_api_key is not None and s.temporal_api_key.get_secret_value() == API_KEY
    assert API_KEY in s.secret_values  # so the log censor redacts it


def test_defaults_are_plaintext(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert s.temporal_tls is s.temporal_tls_cert is s.temporal_api_key is None
    assert tls_option(s) is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TEMPORAL_TLS": "1"}, True),
        ({"TEMPORAL_TLS": "true"}, True),
        ({"TEMPORAL_TLS": "0"}, False),
        ({"TEMPORAL_API_KEY": API_KEY}, True),  # Temporal Cloud: TLS with system roots
        ({"TEMPORAL_API_KEY": API_KEY, "TEMPORAL_TLS": "0"}, False),
    ],
)
def test_tls_switch(tmp_path: Path, env: dict[str, str], expected: bool) -> None:
    assert tls_option(settings(tmp_path, **env)) is expected


def test_tls_config_from_files(tmp_path: Path, certs: Certs) -> None:
    option = tls_option(
        settings(
            tmp_path,
            TEMPORAL_TLS_CERT=str(certs.client_cert),
            TEMPORAL_TLS_KEY=str(certs.client_key),
            TEMPORAL_TLS_CA=str(certs.ca),
            TEMPORAL_TLS_SERVER_NAME="frontend",
        )
    )
    assert isinstance(option, TLSConfig)
    assert option.client_cert == certs.client_cert.read_bytes()
    assert option.client_private_key == certs.client_key.read_bytes()
    assert option.server_root_ca_cert == certs.ca.read_bytes()
    assert option.domain == "frontend"
    only_ca = tls_option(settings(tmp_path, TEMPORAL_TLS_CA=str(certs.ca)))
    assert isinstance(only_ca, TLSConfig) and only_ca.client_cert is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TEMPORAL_TLS_CERT": "c.pem"}, "TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY"),
        ({"TEMPORAL_TLS_KEY": "k.pem"}, "TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT"),
        ({"TEMPORAL_TLS": "maybe"}, "TEMPORAL_TLS must be 1 or 0, got 'maybe'"),
        ({"TEMPORAL_TLS": "0", "TEMPORAL_TLS_CA": "ca.pem"}, "TEMPORAL_TLS=0 contradicts"),
        (
            {"TEMPORAL_TLS_CA": "/nonexistent/ca.pem"},
            "TEMPORAL_TLS_CA /nonexistent/ca.pem: No such file or directory",
        ),
    ],
)
def test_bad_input_is_one_usage_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        tls_option(settings(tmp_path, TEMPORAL_API_KEY=API_KEY, **env))
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message and API_KEY not in caught.value.message


def test_a_file_that_is_not_pem_is_named(tmp_path: Path, certs: Certs) -> None:
    (tmp_path / "key.txt").write_text("not a key")
    with pytest.raises(UsageError, match=r"TEMPORAL_TLS_KEY .*key.txt: not a PEM file"):
        tls_option(
            settings(
                tmp_path,
                TEMPORAL_TLS_CERT=str(certs.client_cert),
                TEMPORAL_TLS_KEY=str(tmp_path / "key.txt"),
            )
        )


def test_the_api_key_never_shows(tmp_path: Path) -> None:
    s = settings(tmp_path, TEMPORAL_API_KEY=API_KEY)
    for shown in (repr(s), str(s), s.model_dump_json(), repr(s.model_dump())):
        assert API_KEY not in shown


async def test_connect_passes_key_and_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    async def fake_connect(target: str, **kwargs: object) -> str:
        seen.update(kwargs, target=target)
        raise RuntimeError(f"Failed client connect: unauthenticated {API_KEY}")

    monkeypatch.setattr(Client, "connect", fake_connect)
    with pytest.raises(TemporalUnreachable) as caught:
        await connect(settings(tmp_path, TEMPORAL_ADDRESS="cloud:7233", TEMPORAL_API_KEY=API_KEY))
    assert seen["api_key"] == API_KEY and seen["tls"] is True and seen["target"] == "cloud:7233"
    assert API_KEY not in caught.value.message and "***" in caught.value.message


def test_cli_reports_bad_tls_settings_on_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AGENTPR_HOME": str(tmp_path),
        "TEMPORAL_TLS_CERT": "/c.pem",
        "TEMPORAL_API_KEY": API_KEY,
    }
    done = subprocess.run(
        [*agentpr_command(), "init-db"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "agentpr: TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: mTLS "
        "needs the client certificate and its private key\n"
    )
    assert API_KEY not in done.stdout + done.stderr


# ---- a real mTLS handshake -------------------------------------------------------------------


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography is not installed")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    where = tmp_path_factory.mktemp("certs")
    now = datetime.datetime.now(datetime.UTC)

    def write(name: str, key: ec.EllipticCurvePrivateKey, cert: object) -> tuple[Path, Path]:
        (where / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (where / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return where / f"{name}.pem", where / f"{name}.key"

    def issue(
        name: str,
        issuer_key: ec.EllipticCurvePrivateKey | None,
        issuer: object,
        extensions: list[tuple[object, bool]],
    ) -> tuple[ec.EllipticCurvePrivateKey, object]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return key, builder.sign(issuer_key or key, hashes.SHA256())

    ca_key, ca = issue(
        "agentpr test CA", None, None, [(x509.BasicConstraints(ca=True, path_length=None), True)]
    )
    leaf = [(x509.BasicConstraints(ca=False, path_length=None), True)]
    server_key, server = issue(
        "frontend",
        ca_key,
        ca.subject,
        leaf
        + [
            (
                x509.SubjectAlternativeName(
                    [x509.DNSName("frontend"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                False,
            ),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )
    client_key, client = issue(
        "agentpr worker",
        ca_key,
        ca.subject,
        leaf + [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)],
    )
    ca_path, _ = write("ca", ca_key, ca)
    return Certs(
        ca_path, *write("server", server_key, server), *write("client", client_key, client)
    )


class TlsFrontend:
    """TLS (client certificate required) on a loopback port, plain TCP to the dev server."""

    def __init__(self, upstream: str, certs: Certs) -> None:
        self.upstream_host, port = upstream.rsplit(":", 1)
        self.upstream_port = int(port)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=certs.ca)
        self.context.load_cert_chain(certs.server_cert, certs.server_key)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.set_alpn_protocols(["h2"])  # gRPC is HTTP/2
        self.loop = asyncio.new_event_loop()
        self.address = ""
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0, ssl=self.context), self.loop
        ).result(10)
        self.address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            relays = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in relays:
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        upstream_r, upstream_w = await asyncio.open_connection(
            self.upstream_host, self.upstream_port
        )

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_r, upstream_w), pipe(upstream_r, client_w))


@pytest.fixture(scope="module")
def tls_frontend(temporal_server: ServerInfo, certs: Certs) -> Iterator[TlsFrontend]:
    frontend = TlsFrontend(temporal_server.address, certs)
    frontend.start()
    yield frontend
    frontend.stop()


async def test_mtls_handshake(tmp_path: Path, tls_frontend: TlsFrontend, certs: Certs) -> None:
    client = await connect(
        settings(
            tmp_path,
            TEMPORAL_ADDRESS=tls_frontend.address,
            TEMPORAL_TLS_CERT=str(certs.client_cert),
            TEMPORAL_TLS_KEY=str(certs.client_key),
            TEMPORAL_TLS_CA=str(certs.ca),
            TEMPORAL_TLS_SERVER_NAME="frontend",
        )
    )
    assert await client.service_client.check_health()
    assert client.namespace == "default"


@pytest.mark.parametrize(
    "env",
    [
        {"TEMPORAL_TLS_CA": "ca"},  # no client certificate: the frontend refuses the handshake
        {"TEMPORAL_TLS": "1"},  # system roots do not know our CA
        {},  # plaintext to a TLS port
    ],
    ids=["no-client-cert", "unknown-ca", "plaintext"],
)
async def test_refused_handshakes_are_one_line(
    tmp_path: Path, tls_frontend: TlsFrontend, certs: Certs, env: dict[str, str]
) -> None:
    env = {name: str(certs.ca) if value == "ca" else value for name, value in env.items()}
    with pytest.raises(TemporalUnreachable) as caught:
        await connect(settings(tmp_path, TEMPORAL_ADDRESS=tls_frontend.address, **env))
    assert caught.value.message.startswith(f"cannot reach Temporal at {tls_frontend.address}")
    assert "\n" not in caught.value.message
