"""A loopback stand-in for the OpenAI Responses API that plays a script of model turns, so tests
can drive the real `codex exec` without reaching OpenAI.

Each request codex POSTs to `{base_url}/responses` takes the next `Step` of the script and gets
the server-sent-event stream codex expects (see ../shared/notes/codex-cli.md). Codex runs the
commands the script asks for and POSTs again with their output, so one step answers one request.

Usage::

    script = [run_command("python3 -m pytest -q"), say("All tests pass. STATUS: PASS")]
    with ScriptedModelServer(script) as server:
        subprocess.run([codex, "exec", "--json", *server.codex_args(), "fix it"], ...)
        assert "Process exited with code 0" in server.function_call_outputs()[0]["output"]

Rules the script follows:
- `run_command` asks codex to run a shell command; codex answers with a `function_call_output`.
- `say` is a final assistant message: it ends codex's turn.
- `reasoning` adds a reasoning item to the response of the step that follows it and answers no
  request by itself (a response holding only reasoning would end the turn without a message).
- `fail_http(status, times=n)` answers the next n requests with an HTTP error.
- `fail_stream` answers with a `response.failed` event; `drop_connection` closes the stream
  after `response.created`.
- `hang` reads the request and never answers until the server stops; codex waits forever.
  `hang(after_headers=True)` sends the stream headers and `response.created`, then stalls:
  codex's `stream_idle_timeout_ms` ends that one.
- Compaction requests (codex summarising a long history) get a short summary and take no step.
- When the script runs out, every request gets the final message "script exhausted", so a
  mis-scripted test ends instead of hanging.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from standins.loopback import LoopbackHTTPServer

MODEL = "fake-model"
PROVIDER = "local"
EXHAUSTED_MESSAGE = "script exhausted"
COMPACTION_SUMMARY = "Summary: the scripted conversation so far (compacted by the test server)."

# Small numbers: large reported usage makes codex send extra compaction requests.
DEFAULT_USAGE = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 120,
}

StepKind = Literal["command", "message", "reasoning", "http_error", "stream_error", "drop", "hang"]


@dataclass(frozen=True)
class Step:
    """One scripted model response; build it with the functions below, not directly."""

    kind: StepKind
    text: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    status: int = 0
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    code: str = ""
    after_headers: bool = False


def run_command(cmd: str, *, workdir: str | None = None, yield_time_ms: int | None = None) -> Step:
    """A call of codex's `exec_command` tool. `login: false` keeps codex from running a login
    shell, which would reset PATH. Commands outliving `yield_time_ms` (codex default 10 s, max
    30 s) come back as a session to poll, which this script cannot do: keep commands short."""
    arguments: dict[str, Any] = {"cmd": cmd, "login": False}
    if workdir is not None:
        arguments["workdir"] = workdir
    if yield_time_ms is not None:
        arguments["yield_time_ms"] = yield_time_ms
    return Step(kind="command", arguments=arguments)


def say(text: str) -> Step:
    return Step(kind="message", text=text)


def reasoning(text: str) -> Step:
    return Step(kind="reasoning", text=text)


def fail_http(
    status: int,
    body: dict[str, Any] | None = None,
    *,
    times: int = 1,
    retry_after: float | None = None,
) -> Step:
    """HTTP errors instead of a stream for the next `times` requests. A 429 carries a
    `Retry-After` header (0 s unless `retry_after` says otherwise)."""
    if times < 1:
        raise ValueError("times must be at least 1")
    if body is None:
        body = {
            "error": {
                "message": f"scripted HTTP {status}",
                "type": "server_error",
                "code": None,
                "param": None,
            }
        }
    headers = {}
    if retry_after is not None or status == 429:
        headers["Retry-After"] = f"{retry_after or 0:g}"
    return Step(kind="http_error", status=status, body=body, headers=headers, times=times)


def fail_stream(code: str = "server_error", message: str = "scripted stream failure") -> Step:
    return Step(kind="stream_error", code=code, text=message)


def drop_connection() -> Step:
    return Step(kind="drop")


def hang(*, after_headers: bool = False) -> Step:
    return Step(kind="hang", after_headers=after_headers)


@dataclass(frozen=True)
class ReceivedRequest:
    """One POST as received; header names are lower-cased."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    compaction: bool


class ScriptedModelServer(LoopbackHTTPServer):
    def __init__(self, steps: list[Step], *, usage: dict[str, Any] | None = None) -> None:
        """`usage` replaces the token usage every response reports (default: small numbers;
        an input_tokens near the fallback context window, e.g. 300_000, makes codex compact)."""
        self._queue: list[Step] = list(steps)
        self.usage = dict(DEFAULT_USAGE if usage is None else usage)
        self._failures_left = 0  # further requests the current fail_http step still answers
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self.received: list[ReceivedRequest] = []
        self.base_url = ""

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        server = self

        class Handler(_Handler):
            scripted = server

        port = self._serve(Handler)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    def stop(self) -> None:
        """Stop serving; hung requests are released and their sockets closed."""
        self._stopping.set()
        self._shutdown()

    # --- what tests read -----------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the script's requests, in order (compaction requests excluded)."""
        with self._lock:
            return [r.body for r in self.received if not r.compaction]

    @property
    def compaction_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.received if r.compaction]

    @property
    def steps_left(self) -> int:
        with self._lock:
            return len(self._queue)

    def function_call_outputs(self) -> list[dict[str, Any]]:
        """Every `function_call_output` codex sent, once each (each request repeats the
        history), in order."""
        seen: dict[str, dict[str, Any]] = {}
        for body in self.requests:
            for item in body.get("input", []):
                if isinstance(item, dict) and item.get("type") == "function_call_output":
                    seen.setdefault(str(item.get("call_id")), item)
        return list(seen.values())

    def codex_args(self, *, stream_idle_timeout_ms: int = 5000) -> list[str]:
        """`-c` overrides that point codex at this server, with codex's own retries off."""
        if not self.base_url:
            raise RuntimeError("start the server first")
        provider = (
            f'{{name="{PROVIDER}", base_url="{self.base_url}", wire_api="responses", '
            f"request_max_retries=0, stream_max_retries=0, "
            f"stream_idle_timeout_ms={stream_idle_timeout_ms}}}"
        )
        return [
            "-c",
            f"model_provider={PROVIDER}",
            "-c",
            f"model={MODEL}",
            "-c",
            f"model_providers.{PROVIDER}={provider}",
        ]

    # --- script --------------------------------------------------------------------------

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.received.append(request)

    def _next_step(self) -> tuple[list[Step], Step]:
        """The reasoning steps to prepend and the step that answers this request."""
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                step = self._queue[0]
                if self._failures_left == 0:
                    self._queue.pop(0)
                return [], step
            prefix: list[Step] = []
            while self._queue and self._queue[0].kind == "reasoning":
                prefix.append(self._queue.pop(0))
            if not self._queue:
                return prefix, say(EXHAUSTED_MESSAGE)
            step = self._queue[0]
            if step.kind == "http_error" and step.times > 1:
                self._failures_left = step.times - 1
            else:
                self._queue.pop(0)
            return prefix, step

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"


def _is_compaction(headers: dict[str, str]) -> bool:
    metadata = headers.get("x-codex-turn-metadata", "")
    compact = metadata.replace(" ", "")
    return '"request_kind":"compaction"' in compact


class _Handler(BaseHTTPRequestHandler):
    scripted: ScriptedModelServer
    # HTTP/1.0 semantics: a streamed response ends when the connection closes.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._send_json(404, {"error": {"message": f"no route for GET {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/responses/compact"):
            # Remote compaction (only used for OpenAI's own provider, answered for safety).
            self.scripted._record(ReceivedRequest(path, headers, body, compaction=True))
            self._send_json(200, {"output": [self._message_item(COMPACTION_SUMMARY)]})
            return
        if not path.endswith("/responses"):
            self._send_json(404, {"error": {"message": f"no route for POST {self.path}"}})
            return
        compaction = _is_compaction(headers)
        self.scripted._record(ReceivedRequest(path, headers, body, compaction=compaction))
        if compaction:
            self._stream([self._message_item(COMPACTION_SUMMARY)])
            return
        prefix, step = self.scripted._next_step()
        items = [self._reasoning_item(r.text) for r in prefix]
        if step.kind == "command":
            self._stream([*items, self._function_call_item(step.arguments)])
        elif step.kind == "message":
            self._stream([*items, self._message_item(step.text)])
        elif step.kind == "http_error":
            self._send_json(step.status, step.body or {}, step.headers)
        elif step.kind == "stream_error":
            self._stream(items, error={"code": step.code, "message": step.text})
        elif step.kind == "drop":
            self._start_stream()
            self._event("response.created", {"response": {"id": self.scripted._new_id("resp")}})
        elif step.kind == "hang":
            if step.after_headers:
                self._start_stream()
                response_id = self.scripted._new_id("resp")
                self._event("response.created", {"response": {"id": response_id}})
            # Without headers codex never times out: its idle timeout starts after headers.
            self.scripted._stopping.wait()
            self.close_connection = True
        else:  # pragma: no cover - a Step built by hand
            raise ValueError(f"unknown step kind {step.kind!r}")

    # --- responses -------------------------------------------------------------------------

    def _send_json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.flush()

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        payload = {"type": kind, **data}
        self.wfile.write(f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

    def _stream(self, items: list[dict[str, Any]], error: dict[str, str] | None = None) -> None:
        response_id = self.scripted._new_id("resp")
        self._start_stream()
        self._event("response.created", {"response": {"id": response_id}})
        for index, item in enumerate(items):
            self._event("response.output_item.done", {"output_index": index, "item": item})
        if error is not None:
            self._event("response.failed", {"response": {"id": response_id, "error": error}})
        else:
            usage = self.scripted.usage
            self._event("response.completed", {"response": {"id": response_id, "usage": usage}})

    def _message_item(self, text: str) -> dict[str, Any]:
        return {
            "type": "message",
            "role": "assistant",
            "id": self.scripted._new_id("msg"),
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }

    def _reasoning_item(self, text: str) -> dict[str, Any]:
        return {
            "type": "reasoning",
            "id": self.scripted._new_id("rs"),
            "summary": [{"type": "summary_text", "text": text}],
        }

    def _function_call_item(self, arguments: dict[str, Any]) -> dict[str, Any]:
        number = next(self.scripted._ids)
        return {
            "type": "function_call",
            "id": f"fc_{number}",
            "call_id": f"call_{number}",
            "name": "exec_command",
            "arguments": json.dumps(arguments),
        }
