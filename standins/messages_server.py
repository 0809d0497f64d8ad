"""A scripted stand-in for the Anthropic Messages API, for driving the real `claude` CLI offline.

Anthropic is unreachable from test machines. Claude Code honours `ANTHROPIC_BASE_URL` and POSTs
to `{base}/v1/messages?beta=true` with `"stream": true`, so this server answers from a script:
each main-loop request takes the next `Step` (a Bash or Write tool call, a final text answer, an
HTTP failure or a hang) and streams it back as Server-Sent Events in the shapes Anthropic
documents (`message_start`, `content_block_start`/`_delta`/`_stop`, `message_delta`,
`message_stop`). It runs in a `ThreadingHTTPServer` on a daemon thread, like `github_api.py`.

Usage::

    steps = [run_bash("python3 -m pytest -q"), say("All tests pass. STATUS: PASS")]
    with ScriptedMessagesServer(steps) as server:
        subprocess.run([claude, "-p", ...], env={**server.claude_env(), "PATH": ...})

Main requests and side requests. Besides the agent loop, Claude Code may send requests of its
own (a session title, a prompt suggestion, memory extraction); those must not eat a script
step. `is_main_request` tells them apart by the conversation, not by model name: the same model
and max_tokens are used for both. Side requests get the short text "ok". In plain `-p` runs of
2.1.331 we saw none; `--prompt-suggestions` sends one after the final answer. Each recorded
request carries its `kind` ("main", "side" or "other") so tests can check the split.

Other endpoints: `POST /v1/messages/count_tokens` answers a fixed count; everything else gets a
404 in Anthropic's error shape. Without `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` claude sends
a `HEAD /api/hello` connectivity probe first; the 404 does not bother it.

When the script runs out, main requests are answered with the text "script exhausted".
"""

from __future__ import annotations

import itertools
import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from standins.loopback import LoopbackHTTPServer

MODEL = "claude-opus-5-5"  # only when a request names none; claude 2.1.331 defaults to it
EXHAUSTED_TEXT = "script exhausted"
SIDE_TEXT = "ok"

# Anthropic's error `type` per HTTP status (https://docs.anthropic.com/en/api/errors).
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

StepKind = Literal["tool_use", "text", "fail", "hang"]


@dataclass(frozen=True)
class Step:
    """One scripted answer to a main-loop request. Build steps with the functions below."""

    kind: StepKind
    text: str = ""
    tool_name: str = ""
    tool_input: dict[str, Any] = field(default_factory=dict)
    status: int = 0
    times: int = 1


def run_bash(command: str, *, description: str = "Run a command", preface: str = "") -> Step:
    """The model calls Claude Code's Bash tool; claude runs it and sends a tool_result next.
    `preface` adds a text block before the call ("Let me run the tests."), as models often do."""
    return Step(
        "tool_use",
        text=preface,
        tool_name="Bash",
        tool_input={"command": command, "description": description},
    )


def write_file(path: str, content: str, *, preface: str = "") -> Step:
    """The model calls the Write tool. `path` must be absolute (Claude Code requires it)."""
    return Step(
        "tool_use",
        text=preface,
        tool_name="Write",
        tool_input={"file_path": path, "content": content},
    )


def say(text: str) -> Step:
    """A final text answer (stop_reason end_turn): the run ends."""
    return Step("text", text=text)


def fail_http(status: int, *, times: int = 1) -> Step:
    """The next `times` main requests fail with `status` and Anthropic's error JSON."""
    if times < 1:
        raise ValueError("times must be at least 1")
    return Step("fail", status=status, times=times)


def hang() -> Step:
    """Main requests get no answer at all: the connection stays open until the server stops.
    Sticky: every later main request hangs too (a stuck upstream does not recover by itself)."""
    return Step("hang")


class ScriptedMessagesServer(LoopbackHTTPServer):
    """`requests` holds every request received, as dicts with `method`, `path` (no query),
    `query`, `headers` (lower-cased names), `body` (decoded JSON), `kind` and, for
    /v1/messages, `step` (the kind of answer given: tool_use, text, fail or hang)."""

    def __init__(self, steps: list[Step], *, model: str = MODEL) -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._steps = list(steps)
        self._position = 0
        self._failures_left: int | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free loopback port; returns the base URL for `ANTHROPIC_BASE_URL`."""
        port = self._serve(_RequestHandler, scripted=self)
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        self._shutdown()

    def claude_env(self) -> dict[str, str]:
        """Environment for `claude` to talk only to this server. Add PATH (with node) and HOME."""
        if not self.base_url:
            raise RuntimeError("start the server first")
        return {
            "ANTHROPIC_BASE_URL": self.base_url,
            "ANTHROPIC_API_KEY": "test-key",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_BUG_COMMAND": "1",
            "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
        }

    # -- what tests inspect ------------------------------------------------------------------

    @property
    def main_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["kind"] == "main"]

    @property
    def steps_used(self) -> int:
        with self._lock:
            return self._position

    def tool_results(self) -> list[dict[str, Any]]:
        """Every distinct tool_result block claude sent back, in order."""
        seen: dict[str, dict[str, Any]] = {}
        for request in self.main_requests:
            for message in request["body"].get("messages", []):
                content = message.get("content")
                if message.get("role") != "user" or not isinstance(content, list):
                    continue
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        seen.setdefault(block["tool_use_id"], block)
        return list(seen.values())

    # -- script ------------------------------------------------------------------------------

    def _next_step(self) -> Step:
        with self._lock:
            if self._position >= len(self._steps):
                return say(EXHAUSTED_TEXT)
            step = self._steps[self._position]
            if step.kind == "hang":
                return step
            if step.kind == "fail":
                if self._failures_left is None:
                    self._failures_left = step.times
                self._failures_left -= 1
                if self._failures_left == 0:
                    self._failures_left = None
                    self._position += 1
                return step
            self._position += 1
            return step

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}{uuid.uuid4().hex[:20]}"


def is_main_request(body: Any) -> bool:
    """Whether a /v1/messages request is the agent loop asking for its next step.

    Two rules, both needed (measured with claude 2.1.331):
    - the agent loop always offers tools; side requests built from scratch (a session title,
      a quota probe) send none;
    - side requests forked from the conversation (`--prompt-suggestions` sends one after the
      final answer, with the full tool list for prompt-cache reuse) come after the model's
      last assistant message was a final text. The loop only asks again while that last
      assistant message holds a tool_use (it is waiting for the model's reaction to the
      tool_result) or before the model has spoken at all.
    """
    if not isinstance(body, dict) or not body.get("tools"):
        return False
    messages = body.get("messages") or []
    assistant = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if not assistant:
        return True
    content = assistant[-1].get("content")
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_use" for block in content
    )


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or f"scripted failure ({status} {kind})"},
    }


def _content_blocks(step: Step, tool_id: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if step.text or step.kind != "tool_use":
        blocks.append({"type": "text", "text": step.text})
    if step.kind == "tool_use":
        blocks.append(
            {"type": "tool_use", "id": tool_id, "name": step.tool_name, "input": step.tool_input}
        )
    return blocks


def message_json(step: Step, *, message_id: str, tool_id: str, model: str) -> dict[str, Any]:
    """The non-streaming response body for `step`."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content_blocks(step, tool_id),
        "stop_reason": _stop_reason(step),
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def message_events(
    step: Step, *, message_id: str, tool_id: str, model: str
) -> list[dict[str, Any]]:
    """The streamed events for `step`, in Anthropic's order: message_start, then per content
    block start / ping / deltas / stop, then message_delta (stop_reason, output usage) and
    message_stop. Tool input arrives as `input_json_delta` fragments, split in two as the real
    API splits long inputs, so the client has to join them."""
    usage = {
        "input_tokens": 10,
        "output_tokens": 1,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
        },
    ]
    for index, block in enumerate(_content_blocks(step, tool_id)):
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            encoded = json.dumps(block["input"])
            middle = len(encoded) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": part}
                for part in (encoded[:middle], encoded[middle:])
            ]
        else:
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block["text"]}]
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if index == 0:
            events.append({"type": "ping"})
        events.extend({"type": "content_block_delta", "index": index, "delta": d} for d in deltas)
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(step), "stop_sequence": None},
            "usage": {"output_tokens": 5},
        }
    )
    events.append({"type": "message_stop"})
    return events


def _stop_reason(step: Step) -> str:
    return "tool_use" if step.kind == "tool_use" else "end_turn"


def sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


class _RequestHandler(BaseHTTPRequestHandler):
    server_version = "ScriptedMessages/1"
    protocol_version = "HTTP/1.1"

    @property
    def scripted(self) -> ScriptedMessagesServer:
        return self.server.scripted  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD")

    def _handle(self, method: str) -> None:
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        entry: dict[str, Any] = {
            "method": method,
            "path": split.path,
            "query": dict(urllib.parse.parse_qsl(split.query)),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "kind": "other",
        }
        if method == "POST" and split.path == "/v1/messages":
            entry["kind"] = "main" if is_main_request(body) else "side"
            self.scripted._record(entry)
            self._answer_messages(entry)
        elif method == "POST" and split.path == "/v1/messages/count_tokens":
            self.scripted._record(entry)
            self._send_json(200, {"input_tokens": 100})
        else:
            self.scripted._record(entry)
            self._send_json(404, error_body(404, f"no route for {method} {split.path}"))

    def _answer_messages(self, entry: dict[str, Any]) -> None:
        scripted = self.scripted
        step = scripted._next_step() if entry["kind"] == "main" else say(SIDE_TEXT)
        entry["step"] = step.kind
        if step.kind == "hang":
            scripted._stopping.wait()
            self.close_connection = True
            return
        if step.kind == "fail":
            self._send_json(step.status, error_body(step.status))
            return
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        model = body.get("model") or scripted.model
        message_id = scripted._new_id("msg")
        tool_id = scripted._new_id("toolu")
        if body.get("stream"):
            payload = sse(message_events(step, message_id=message_id, tool_id=tool_id, model=model))
            self._send(200, payload, "text/event-stream")
        else:
            message = message_json(step, message_id=message_id, tool_id=tool_id, model=model)
            self._send_json(200, message)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
        if content_type == "text/event-stream":
            self.send_header("cache-control", "no-cache")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
