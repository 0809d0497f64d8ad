"""Webhook payloads have GitHub's shapes; deliveries are signed and sent as GitHub sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from standins.github_webhooks import (
    check_run_completed,
    check_suite_completed,
    deliver,
    encode,
    ping,
    pull_request_closed,
    pull_request_ref,
    pull_request_review_submitted,
    sign,
)

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
SECRET = "s3cret"


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records deliveries and answers what it is told."""

    url: str = ""
    # headers as received: case-insensitive lookups, `.keys()` keeps the sender's spelling
    deliveries: list[tuple[Message, bytes]] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"accepted": true}'
    content_type: str = "application/json"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.deliveries.append((self.headers, body))
            self.send_response(state.status)
            self.send_header("Content-Type", state.content_type)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/github"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_sign_matches_githubs_documented_example() -> None:
    assert (
        sign("It's a Secret to Everybody", b"Hello, World!")
        == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_deliver_signs_and_sends_githubs_headers(receiver: Receiver) -> None:
    event, payload = check_run_completed(
        "demo/calc", name="tests", conclusion="success", head_sha=SHA, head_branch="agentpr/x"
    )
    status, answer = deliver(receiver.url, event, payload, secret=SECRET, hook_id=42)
    assert (status, answer) == (200, {"accepted": True})
    ((headers, body),) = receiver.deliveries
    assert json.loads(body) == payload
    assert body == encode(payload)
    assert headers["X-Hub-Signature-256"] == sign(SECRET, body)
    expected_sha1 = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha1={expected_sha1}"
    assert headers["X-GitHub-Event"] == "check_run"
    assert headers["X-GitHub-Hook-ID"] == "42"
    assert uuid.UUID(headers["X-GitHub-Delivery"])
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert headers["Content-Type"] == "application/json"
    assert {"X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"} <= set(headers.keys())
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "repository"
    assert headers["X-GitHub-Hook-Installation-Target-ID"] == str(payload["repository"]["id"])


def test_deliver_without_secret_and_with_overrides(receiver: Receiver) -> None:
    event, payload = ping(7, repo_full_name="demo/calc")
    deliver(receiver.url, event, payload, delivery_id="d-1")
    headers, _ = receiver.deliveries[-1]
    assert "X-Hub-Signature-256" not in headers and "X-Hub-Signature" not in headers
    assert headers["X-GitHub-Delivery"] == "d-1"

    # a tampered body under the original signature, as an attacker would replay it
    original = sign(SECRET, encode(payload))
    deliver(
        receiver.url,
        event,
        payload,
        body=b'{"zen":"forged"}',
        headers_override={"x-hub-signature-256": original, "X-Hub-Signature": None},
    )
    headers, body = receiver.deliveries[-1]
    assert body == b'{"zen":"forged"}'
    assert headers["X-Hub-Signature-256"] == original != sign(SECRET, body)
    assert "X-Hub-Signature" not in headers


def test_deliver_returns_text_and_error_statuses(receiver: Receiver) -> None:
    receiver.status, receiver.answer, receiver.content_type = 401, b"bad signature", "text/plain"
    event, payload = ping()
    assert deliver(receiver.url, event, payload, secret="wrong") == (401, "bad signature")


def test_ping_shape() -> None:
    event, payload = ping(hook_id=3, repo_full_name="demo/calc")
    assert event == "ping"
    assert payload["hook_id"] == 3 and payload["hook"]["id"] == 3 and payload["zen"]
    assert payload["hook"]["type"] == "Repository"
    assert payload["hook"]["config"]["content_type"] == "json"
    assert payload["repository"]["full_name"] == "demo/calc"
    assert "installation" not in payload
    assert "repository" not in ping()[1]


def test_check_run_completed_shape() -> None:
    event, payload = check_run_completed(
        "demo/calc", name="tests", conclusion="failure", head_sha=SHA, head_branch="agentpr/x",
        summary="1 failed", text="FAILED test_add",
    )  # fmt: skip
    assert event == "check_run" and payload["action"] == "completed"
    run = payload["check_run"]
    assert (run["name"], run["status"], run["conclusion"]) == ("tests", "completed", "failure")
    assert run["head_sha"] == SHA and run["output"]["text"] == "FAILED test_add"
    assert run["pull_requests"] == []  # a fork's pull request: GitHub sends none
    assert run["check_suite"]["head_branch"] == "agentpr/x"
    assert run["check_suite"]["head_sha"] == SHA
    assert run["app"]["slug"] == "github-actions"
    assert payload["repository"] == {
        **payload["repository"],
        "full_name": "demo/calc",
        "name": "calc",
    }
    assert payload["repository"]["owner"]["login"] == "demo"
    assert payload["sender"]["login"] == "github-actions[bot]"
    assert payload["sender"]["type"] == "Bot"
    assert "installation" not in payload

    same_repo = pull_request_ref("demo/calc", number=4, head_sha=SHA, head_ref="feature")
    _, payload = check_run_completed(
        "demo/calc", name="tests", conclusion="success", head_sha=SHA, head_branch="feature",
        pull_requests=[same_repo],
    )  # fmt: skip
    assert [pr["number"] for pr in payload["check_run"]["pull_requests"]] == [4]
    assert payload["check_run"]["pull_requests"][0]["head"]["sha"] == SHA
    with pytest.raises(ValueError):
        check_run_completed("demo/calc", name="t", conclusion="ok", head_sha=SHA, head_branch="b")


def test_check_suite_completed_shape() -> None:
    event, payload = check_suite_completed(
        "demo/calc", conclusion="success", head_sha=SHA, head_branch="agentpr/x"
    )
    assert event == "check_suite" and payload["action"] == "completed"
    suite = payload["check_suite"]
    assert (suite["status"], suite["conclusion"]) == ("completed", "success")
    assert suite["head_sha"] == SHA and suite["head_branch"] == "agentpr/x"
    assert suite["pull_requests"] == [] and suite["head_commit"]["id"] == SHA
    assert payload["repository"]["full_name"] == "demo/calc"


def test_pull_request_review_submitted_shape() -> None:
    event, payload = pull_request_review_submitted(
        "demo/calc", number=1, state="changes_requested", head_sha=SHA, review_id=80,
        body="Please add a test", head_label="agentpr-bot:agentpr/x", head_ref="agentpr/x",
    )  # fmt: skip
    assert event == "pull_request_review" and payload["action"] == "submitted"
    review = payload["review"]
    assert (review["id"], review["state"], review["body"]) == (
        80,
        "changes_requested",
        "Please add a test",
    )
    assert review["commit_id"] == SHA and review["user"]["login"] == "reviewer"
    pull = payload["pull_request"]
    assert pull["number"] == 1 and pull["head"]["sha"] == SHA
    assert pull["head"]["label"] == "agentpr-bot:agentpr/x"
    assert pull["head"]["repo"]["full_name"] == "agentpr-bot/calc"
    assert pull["head"]["repo"]["fork"] is True
    assert pull["base"]["repo"]["full_name"] == "demo/calc"
    assert payload["sender"]["login"] == "reviewer"
    with pytest.raises(ValueError):  # upper case is the REST API's spelling, not the webhook's
        pull_request_review_submitted(
            "demo/calc", number=1, state="APPROVED", head_sha=SHA, review_id=1
        )


@pytest.mark.parametrize("merged", [True, False])
def test_pull_request_closed_shape(merged: bool) -> None:
    event, payload = pull_request_closed(
        "demo/calc", number=2, merged=merged, head_sha=SHA, head_ref="agentpr/x",
        head_label="agentpr-bot:agentpr/x",
    )  # fmt: skip
    assert event == "pull_request" and payload["action"] == "closed"
    assert payload["number"] == 2
    pull = payload["pull_request"]
    assert pull["state"] == "closed" and pull["merged"] is merged
    assert (pull["merged_at"] is not None) is merged and pull["closed_at"]
    assert pull["head"]["ref"] == "agentpr/x" and pull["head"]["sha"] == SHA


def test_ids_are_stable_across_payloads() -> None:
    _, first = check_suite_completed(
        "demo/calc", conclusion="success", head_sha=SHA, head_branch="b"
    )
    _, second = pull_request_closed(
        "demo/calc", number=1, merged=True, head_sha=SHA, head_ref="b", head_label="demo:b"
    )
    assert first["repository"]["id"] == second["repository"]["id"]
    assert second["pull_request"]["head"]["repo"]["fork"] is False
