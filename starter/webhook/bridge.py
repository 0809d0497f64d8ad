"""`run-github-webhook`: GitHub deliveries → Signals on the run they are about.

POST /github/webhook verifies X-Hub-Signature-256 (HMAC-SHA256 of the raw body, constant-time),
then claims the delivery id (at most once, across restarts and processes), maps the payload to a
fact, finds the run and signals it. A signature or body refused does not use up the delivery id;
a processing failure answers 500 and releases it so GitHub's redelivery is processed.

Anyone can reach the port, so nothing is spent on a request before it has earned it (issue 13):
a request without a well-formed signature header is answered 401 before its body is read; a
body is read in chunks with a size cap (413, also from Content-Length up front) and a read
timeout (408: slow senders do not hold a connection); at most `max_concurrent` requests are
handled at once (503 with Retry-After beyond that). Both of GitHub's content types are taken
(JSON, and form-encoded `payload=…`). A signed payload we cannot read is the sender's error
(400), one that carries nothing for us is accepted (202); 500 means only "processing failed,
redeliver". A client that hangs up is logged as one line, never a traceback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from contracts import GitHubEvent
from starter.client import RunClient
from starter.webhook.deliveries import DeliveryStore
from starter.webhook.events import Ignored, event_from_payload

log = structlog.get_logger("agentpr.webhook")
MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
READ_TIMEOUT_S = 10.0  # GitHub's own delivery timeout is 10 s
MAX_CONCURRENT = 32
CHUNK = 64 * 1024
_SIGNATURE = re.compile(r"^sha256=[0-9a-f]{64}$")


class _Refusal(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


LOOKUP_TTL_S = 60.0


class WebhookBridge:
    def __init__(
        self,
        runs: RunClient,
        store: DeliveryStore,
        secret: str | None,
        *,
        path: str = "/github/webhook",
        max_payload_bytes: int = MAX_BODY,
        read_timeout_s: float = READ_TIMEOUT_S,
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        self.runs = runs
        self.store = store
        self.secret = secret
        self.path = path
        self.max_payload_bytes = max_payload_bytes
        self.read_timeout_s = read_timeout_s
        self._slots = asyncio.Semaphore(max_concurrent)
        # A commit gets many check events: remember which run it belongs to for a minute
        # instead of asking visibility every time.
        self._runs_by_fact_target: dict[tuple[str, int | None, str | None], tuple[str, float]] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_payload_bytes)
        app.router.add_post(self.path, self.receive)
        app.router.add_get("/healthz", self.health)
        return app

    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def receive(self, request: web.Request) -> web.Response:
        if self._slots.locked():
            return web.json_response(
                {"error": "busy; retry"}, status=503, headers={"Retry-After": "5"}
            )
        async with self._slots:
            try:
                return await self._receive(request)
            except _Refusal as refusal:
                return web.json_response({"error": refusal.error}, status=refusal.status)
            except (ConnectionError, asyncio.IncompleteReadError) as err:
                log.info("client went away", error=type(err).__name__)
                return web.Response(status=400)

    async def _read_body(self, request: web.Request) -> bytes:
        declared = request.content_length
        if declared is not None and declared > self.max_payload_bytes:
            raise _Refusal(413, f"body over {self.max_payload_bytes} bytes")
        chunks: list[bytes] = []
        size = 0

        async def read_all() -> None:
            nonlocal size
            while chunk := await request.content.read(CHUNK):
                size += len(chunk)
                if size > self.max_payload_bytes:
                    raise _Refusal(413, f"body over {self.max_payload_bytes} bytes")
                chunks.append(chunk)

        try:
            await asyncio.wait_for(read_all(), timeout=self.read_timeout_s)
        except TimeoutError:
            raise _Refusal(408, f"body not received in {self.read_timeout_s:g}s") from None
        except web.HTTPException as err:  # aiohttp's own limits
            raise _Refusal(err.status, err.reason) from None
        return b"".join(chunks)

    async def _receive(self, request: web.Request) -> web.Response:
        header = request.headers.get("X-Hub-Signature-256")
        if self.secret is not None and not (header and _SIGNATURE.match(header)):
            # Refused before the body is read: an unsigned sender costs us no memory.
            raise _Refusal(401, "bad or missing X-Hub-Signature-256")
        body = await self._read_body(request)
        if self.secret is not None and not signature_ok(self.secret, body, header):
            raise _Refusal(401, "bad or missing X-Hub-Signature-256")
        event = request.headers.get("X-GitHub-Event")
        delivery = request.headers.get("X-GitHub-Delivery")
        if not event or not delivery:
            raise _Refusal(400, "missing X-GitHub-Event or X-GitHub-Delivery")
        if len(delivery) > 200 or len(event) > 100:
            raise _Refusal(400, "X-GitHub-Event or X-GitHub-Delivery too long")
        payload = _payload(request.content_type, body)
        if event == "ping":
            return web.json_response({"pong": True, "delivery": delivery})
        try:
            fact = event_from_payload(event, delivery, payload)
        except Ignored as why:
            return web.json_response({"ignored": str(why)}, status=202)
        except (ValidationError, TypeError, AttributeError, ValueError):
            raise _Refusal(400, f"{event} payload is not in GitHub's format") from None
        # SQLite calls run in a thread: a commit must not stall every other delivery.
        if not await asyncio.to_thread(self.store.claim, delivery, event):
            return web.json_response({"duplicate": True, "delivery": delivery})
        try:
            answer = await self._process(event, delivery, fact)
        except Exception as err:  # noqa: BLE001 - GitHub gets a 500; the delivery is released
            await asyncio.to_thread(self.store.release, delivery)
            log.error("delivery failed", delivery=delivery, github_event=event, error=str(err))
            return web.json_response({"error": "processing failed; redeliver"}, status=500)
        await asyncio.to_thread(self.store.complete, delivery)
        return answer

    async def _process(self, event: str, delivery: str, fact: GitHubEvent) -> web.Response:
        key = (fact.repo, fact.pr_number, fact.head_sha)
        cached = self._runs_by_fact_target.get(key)
        run_id = cached[0] if cached and time.monotonic() - cached[1] < LOOKUP_TTL_S else None
        if run_id is None:
            run_id = await self.runs.find_run_for_github(fact)
            if run_id is None:
                return web.json_response({"ignored": "no run for this PR"}, status=202)
            self._runs_by_fact_target[key] = (run_id, time.monotonic())
        try:
            await self.runs.signal_github_event(run_id, fact)
        except Exception:
            self._runs_by_fact_target.pop(key, None)  # the run may have finished; look again
            raise
        log.info(
            "delivery applied",
            delivery=delivery,
            github_event=event,
            run_id=run_id,
            fact=fact.fact_key,
        )
        return web.json_response({"run_id": run_id, "fact": fact.fact_key})


def _payload(content_type: str, body: bytes) -> dict[str, Any]:
    """The JSON object of a delivery, in either of GitHub's content types."""
    text: Any = body
    if content_type == "application/x-www-form-urlencoded":
        try:
            fields = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise _Refusal(400, "form body is not url-encoded") from None
        if len(fields.get("payload", [])) != 1:
            raise _Refusal(400, "form body has no single payload field")
        text = fields["payload"][0]
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise _Refusal(400, "body is not JSON") from None
    if not isinstance(payload, dict):
        raise _Refusal(400, "body is not a JSON object")
    return payload
