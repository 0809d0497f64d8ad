"""The webhook bridge spends nothing on a request before it has earned it (issue 13, defect 4):
unsigned bodies are refused before they are read, bodies are capped and timed, concurrent
requests are capped, GitHub's form-encoded deliveries are taken, malformed signed payloads
answer 400/202 (never 500) and a client that hangs up leaves no traceback.

The real bridge on loopback, spoken to over raw sockets where the test needs to stall or hang
up mid-body as a slow or hostile sender would."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from temporalio.client import Client

from standins import github_webhooks as hooks
from starter.client import RunClient
from starter.devserver import free_port
from starter.webhook.bridge import WebhookBridge
from starter.webhook.deliveries import DeliveryStore
from tests.run_env import Env

SECRET = "hardening-secret"
PATH = "/hooks/github"


class Running:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}{PATH}"

    async def raw(self, head: bytes, body: bytes = b"", *, close: bool = False) -> bytes:
        """Send a request head and part of a body; return what the bridge answers (b"" when it
        answers nothing before we hang up)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(head + body)
        await writer.drain()
        if close:
            writer.close()
            return b""
        try:
            return await asyncio.wait_for(reader.read(65536), timeout=20)
        finally:
            writer.close()


def request_head(
    length: int, signature: str | None, content_type: str = "application/json"
) -> bytes:
    lines = [
        f"POST {PATH} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
        "X-GitHub-Event: check_run",
        "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958",
    ]
    if signature is not None:
        lines.append(f"X-Hub-Signature-256: {signature}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
async def bridge(client: Client, env: Env, tmp_path: Path) -> AsyncIterator[Running]:
    store = DeliveryStore(tmp_path / "deliveries.sqlite")
    app = WebhookBridge(
        RunClient(client, env.settings),
        store,
        SECRET,
        path=PATH,
        max_payload_bytes=1024 * 1024,
        read_timeout_s=1.0,
        max_concurrent=2,
    ).app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Running(port)
    await runner.cleanup()
    store.close()


async def test_unsigned_bodies_are_refused_before_they_are_read(bridge: Running) -> None:
    # 24 MB announced, 1 KB sent: the answer comes without the rest being waited for.
    answer = await bridge.raw(request_head(24 * 1024 * 1024, None), b"x" * 1024)
    assert answer.startswith(b"HTTP/1.1 401")
    answer = await bridge.raw(request_head(24 * 1024 * 1024, "sha256=nothex"), b"x" * 1024)
    assert answer.startswith(b"HTTP/1.1 401")


async def test_oversized_and_slow_bodies_are_cut_off(bridge: Running) -> None:
    signature = "sha256=" + "0" * 64
    answer = await bridge.raw(request_head(2 * 1024 * 1024, signature), b"{")
    assert answer.startswith(b"HTTP/1.1 413")
    answer = await bridge.raw(request_head(1000, signature), b'{"action":')  # then stalls
    assert answer.startswith(b"HTTP/1.1 408")


async def test_concurrent_requests_are_capped(bridge: Running) -> None:
    signature = "sha256=" + "0" * 64
    stalled: list[asyncio.Task[bytes]] = []
    probe = b""
    for _ in range(100):  # until two stalled senders hold both slots when the probe arrives
        stalled = [task for task in stalled if not task.done()]
        while len(stalled) < 2:
            stalled.append(asyncio.create_task(bridge.raw(request_head(1000, signature), b"{")))
        await asyncio.sleep(0.05)
        probe = await bridge.raw(request_head(2, signature), b"{}")
        if probe.startswith(b"HTTP/1.1 503"):
            break
    assert probe.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in probe
    for answer in await asyncio.gather(*stalled):
        assert answer.startswith((b"HTTP/1.1 408", b"HTTP/1.1 503"))


async def test_a_client_that_hangs_up_leaves_no_traceback(
    bridge: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signature = "sha256=" + "0" * 64
    for _ in range(3):
        await bridge.raw(request_head(5000, signature), b'{"a', close=True)
    status, _ = await asyncio.to_thread(
        hooks.deliver, bridge.url, *hooks.ping(), secret=SECRET
    )  # still serving
    assert status == 200
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


def signed_form(event: str, payload: dict) -> tuple[bytes, dict[str, str]]:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        hooks.SIGNATURE_HEADER: hooks.sign(SECRET, body),
    }


async def test_form_encoded_deliveries_are_taken(bridge: Running) -> None:
    event, payload = hooks.ping()
    body, headers = signed_form(event, payload)
    status, answer = await asyncio.to_thread(
        hooks.deliver, bridge.url, event, payload, body=body, headers_override=headers
    )
    assert (status, answer["pong"]) == (200, True)
    event, payload = hooks.check_run_completed(
        "nobody/nothing", name="ci", conclusion="failure", head_sha="a" * 40, head_branch="b"
    )
    body, headers = signed_form(event, payload)
    status, answer = await asyncio.to_thread(
        hooks.deliver, bridge.url, event, payload, body=body, headers_override=headers
    )
    assert status == 202 and "no run" in answer["ignored"]


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "completed", "repository": {"full_name": "a/b"}, "check_run": "not an object"},
        {
            "action": "completed",
            "repository": {"full_name": "a/b"},
            "check_run": {"conclusion": "failure", "name": 5, "pull_requests": [7]},
        },
        {"action": "completed", "repository": {"full_name": ["a/b"]}},
    ],
)
async def test_malformed_signed_payloads_answer_400_or_202_never_500(
    bridge: Running, payload: dict
) -> None:
    status, _ = await asyncio.to_thread(
        hooks.deliver, bridge.url, "check_run", payload, secret=SECRET
    )
    assert status in (400, 202)
