"""A loopback stand-in for an OpenAI-compatible chat-completions endpoint
(`POST {base_url}/chat/completions`) that plays a script of answers, for the optional model of
issue 15 (the semantic review, maintainers' replies, the bot's plain language).

It follows the wire format: the request's `model`, `messages` and `response_format`
(`{"type": "json_schema", "json_schema": {"name", "strict", "schema"}}`) are checked, and a
reply is a `chat.completion` object with `choices[0].message.content` and `usage`
(`prompt_tokens`, `completion_tokens`, `total_tokens`). Errors come back as OpenAI's
`{"error": {"message", "type", "code"}}`.

Usage::

    with ScriptedChatServer([answer({"verdict": "agree", "reasons": []})]) as server:
        settings = Settings(..., llm_base_url=server.base_url, llm_model=MODEL,
                            llm_api_key=SecretStr(server.api_key))

Steps: `answer(obj)` (content = the object as JSON), `content(text)` (any text, e.g. malformed
JSON), `http_error(status, times=n)`, `hang(seconds)` (answers after the client gave up).
`by_schema({name: step})` answers by the request's json_schema name, for runs that call the
model for several things. Benchmarks set `estimate_usage` (tokens counted from the request's
size) and `delay_s` (a model's answer time). When the script runs out, `default` answers (a 500 when None), so a
mis-scripted test ends instead of hanging.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from standins.loopback import LoopbackHTTPServer

MODEL = "fake-chat-model"
API_KEY = "sk-fake-chat-key-0123456789abcdef"
DEFAULT_USAGE = {"prompt_tokens": 120, "completion_tokens": 30}


@dataclass(frozen=True)
class Step:
    kind: Literal["content", "http_error", "hang"]
    text: str = ""
    status: int = 0
    times: int = 1
    seconds: float = 0.0
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))


def answer(obj: Any, usage: dict[str, int] | None = None) -> Step:
    return Step("content", text=json.dumps(obj), usage=usage or dict(DEFAULT_USAGE))


def content(text: str) -> Step:
    return Step("content", text=text)


def http_error(status: int, times: int = 1) -> Step:
    return Step("http_error", status=status, times=times)


def hang(seconds: float = 5.0) -> Step:
    return Step("hang", seconds=seconds)


Responder = Callable[[dict[str, Any]], Step]


def by_schema(steps: dict[str, Step]) -> Responder:
    def respond(request: dict[str, Any]) -> Step:
        name = request.get("response_format", {}).get("json_schema", {}).get("name", "")
        return steps.get(name) or http_error(500)

    return respond


class ScriptedChatServer(LoopbackHTTPServer):
    def __init__(
        self,
        script: list[Step] | None = None,
        *,
        default: Step | Responder | None = None,
        api_key: str | None = API_KEY,
        estimate_usage: bool = False,
        delay_s: float = 0.0,
    ) -> None:
        self.api_key = api_key
        # Benchmarks: usage as a tokenizer would roughly count it (4 characters a token)
        # instead of the step's fixed numbers, and a model's thinking time before each answer.
        self.estimate_usage = estimate_usage
        self.delay_s = delay_s
        self._script = list(script or [])
        self._default = default
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.base_url = ""

    def start(self) -> str:
        port = self._serve(_Handler, standin=self)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        self._shutdown()

    def next_step(self, request: dict[str, Any]) -> Step:
        with self._lock:
            self.requests.append(request)
            if self._script:
                step = self._script[0]
                if step.kind == "http_error" and step.times > 1:
                    self._script[0] = Step("http_error", status=step.status, times=step.times - 1)
                else:
                    self._script.pop(0)
                return step
        default = self._default
        if default is None:
            return http_error(500)
        return default(request) if callable(default) else default

    def schema_names(self) -> list[str]:
        return [
            r.get("response_format", {}).get("json_schema", {}).get("name", "")
            for r in self.requests
        ]


def _error(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "code": None, "param": None}}


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:
        standin: ScriptedChatServer = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, _error(404, f"unknown path {self.path}"))
            return
        auth = self.headers.get("Authorization")
        standin.authorizations.append(auth)
        if standin.api_key is not None and auth != f"Bearer {standin.api_key}":
            self._send(401, _error(401, "Incorrect API key provided."))
            return
        try:
            request = json.loads(raw)
        except ValueError:
            self._send(400, _error(400, "We could not parse the JSON body of your request."))
            return
        problem = _check_request(request)
        if problem:
            self._send(400, _error(400, problem))
            return
        step = standin.next_step(request)
        if step.kind == "hang":
            deadline = time.monotonic() + step.seconds
            while time.monotonic() < deadline and not standin._stopping.is_set():
                time.sleep(0.02)
            step = answer({"late": True})
        if step.kind == "http_error":
            self._send(step.status, _error(step.status, f"scripted HTTP {step.status}"))
            return
        if standin.delay_s:
            time.sleep(standin.delay_s)
        usage = dict(step.usage)
        if standin.estimate_usage:
            chars = sum(len(str(m.get("content", ""))) for m in request["messages"])
            schema = json.dumps(request.get("response_format", {}))
            usage = {
                "prompt_tokens": (chars + len(schema)) // 4 + 1,
                "completion_tokens": len(step.text) // 4 + 1,
            }
        usage["total_tokens"] = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
        self._send(
            200,
            {
                "id": f"chatcmpl-{len(standin.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": step.text, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": usage,
            },
        )


def _check_request(request: Any) -> str | None:
    if not isinstance(request, dict):
        return "the body must be a JSON object"
    if not request.get("model"):
        return "you must provide a model parameter"
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "developer",
            "user",
            "assistant",
        ):
            return "each message needs a valid role"
    fmt = request.get("response_format")
    if fmt is not None:
        if fmt.get("type") == "json_schema":
            schema = fmt.get("json_schema") or {}
            if not schema.get("name") or not isinstance(schema.get("schema"), dict):
                return "response_format.json_schema needs a name and a schema"
        elif fmt.get("type") not in ("text", "json_object"):
            return f"invalid response_format type {fmt.get('type')!r}"
    return None
