"""`run-github-webhook`: GitHub deliveries → Signals on the run they are about.

POST /github/webhook verifies X-Hub-Signature-256 (HMAC-SHA256 of the raw body, constant-time),
then claims the delivery id (at most once, across restarts and processes), maps the payload to a
fact, finds the run and signals it. A signature or body refused does not use up the delivery id;
a processing failure answers 500 and releases it so GitHub's redelivery is processed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import structlog
from aiohttp import web

from starter.client import RunClient
from starter.webhook.deliveries import DeliveryStore
from starter.webhook.events import Ignored, event_from_payload

log = structlog.get_logger("agentpr.webhook")
MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


LOOKUP_TTL_S = 60.0


class WebhookBridge:
    def __init__(self, runs: RunClient, store: DeliveryStore, secret: str | None) -> None:
        self.runs = runs
        self.store = store
        self.secret = secret
        # A commit gets many check events: remember which run it belongs to for a minute
        # instead of asking visibility every time.
        self._runs_by_fact_target: dict[tuple[str, int | None, str | None], tuple[str, float]] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/github/webhook", self.receive)
        app.router.add_get("/healthz", self.health)
        return app

    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.secret is not None and not signature_ok(
            self.secret, body, request.headers.get("X-Hub-Signature-256")
        ):
            return web.json_response({"error": "bad or missing X-Hub-Signature-256"}, status=401)
        event = request.headers.get("X-GitHub-Event")
        delivery = request.headers.get("X-GitHub-Delivery")
        if not event or not delivery:
            return web.json_response(
                {"error": "missing X-GitHub-Event or X-GitHub-Delivery"}, status=400
            )
        try:
            payload: Any = json.loads(body)
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "body is not a JSON object"}, status=400)
        if event == "ping":
            return web.json_response({"pong": True, "delivery": delivery})
        # SQLite calls run in a thread: a commit must not stall every other delivery.
        if not await asyncio.to_thread(self.store.claim, delivery, event):
            return web.json_response({"duplicate": True, "delivery": delivery})
        try:
            answer = await self._process(event, delivery, payload)
        except Exception as err:  # noqa: BLE001 - GitHub gets a 500; the delivery is released
            await asyncio.to_thread(self.store.release, delivery)
            log.error("delivery failed", delivery=delivery, github_event=event, error=str(err))
            return web.json_response({"error": "processing failed; redeliver"}, status=500)
        await asyncio.to_thread(self.store.complete, delivery)
        return answer

    async def _process(self, event: str, delivery: str, payload: dict[str, Any]) -> web.Response:
        try:
            fact = event_from_payload(event, delivery, payload)
        except Ignored as why:
            return web.json_response({"ignored": str(why)}, status=202)
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
