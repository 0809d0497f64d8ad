"""run-agent-step --engine claude with the REAL Claude Code CLI (pinned, installed by make)
against a scripted Anthropic Messages API server on loopback."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from standins.git_repos import Remotes, make_remotes
from standins.messages_server import ScriptedMessagesServer, fail_http, run_bash, say
from tests.agent_steps import ADD_MULTIPLY, implementing_run, stray_processes
from tests.operator_steps import show
from tests.run_env import Env

CLAUDE = Path(sys.prefix) / "agent-clis" / "node_modules" / ".bin" / "claude"
pytestmark = pytest.mark.skipif(
    not CLAUDE.exists(), reason=f"claude is not installed at {CLAUDE} (run `make agents`)"
)


@pytest.fixture
def remotes(tmp_path: Path) -> Remotes:
    return make_remotes(tmp_path / "git")


@pytest.fixture
def prompt(tmp_path: Path) -> Path:
    path = tmp_path / "prompt.md"
    path.write_text("Add multiply(a, b) to calc.py and keep the tests green.\n")
    return path


def configure(env: Env, server: ScriptedMessagesServer, home: Path) -> None:
    home.mkdir(exist_ok=True)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(
        agent_env={**server.claude_env(), "HOME": str(home), "PATH": path}, agent_grace_s=3.0
    )


def test_claude_edits_and_tests_pass(
    env: Env, remotes: Remotes, prompt: Path, tmp_path: Path
) -> None:
    run_id = implementing_run(env, remotes)
    steps = [
        run_bash(ADD_MULTIPLY),
        run_bash("python3 -m pytest -q"),
        say("Added multiply; the tests pass.\nSTATUS: PASS"),
    ]
    with ScriptedMessagesServer(steps) as server:
        configure(env, server, tmp_path / "claude-home")
        result = env.cli(
            "run-agent-step",
            "--run-id",
            run_id,
            "--engine",
            "claude",
            "--prompt-file",
            str(prompt),
            "--skip-network-check",
            "--success-state",
            "LOCAL_VALIDATING",
            "--json",
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    step = json.loads(result.stdout)["agent"]
    assert step["engine"] == "claude" and step["exit_code"] == 0
    assert step["grade"]["verdict"] == "PASS", step["grade"]
    assert step["changed_files"] == 1
    record = show(env, run_id)
    assert record["state"] == "LOCAL_VALIDATING"
    events = [json.loads(line) for line in Path(step["transcript"]).read_text().splitlines()]
    assert events[-1]["type"] == "result" and events[-1]["is_error"] is False
    assert stray_processes(run_id) == []


def test_claude_with_a_failing_server_is_bounded_by_the_wall_clock(
    env: Env, remotes: Remotes, prompt: Path, tmp_path: Path
) -> None:
    run_id = implementing_run(env, remotes)
    started = time.monotonic()
    # Claude Code retries 5xx up to 10 times with backoff (minutes): the wall clock ends it.
    with ScriptedMessagesServer([fail_http(500, times=50)]) as server:
        configure(env, server, tmp_path / "claude-home")
        result = env.cli(
            "run-agent-step",
            "--run-id",
            run_id,
            "--engine",
            "claude",
            "--prompt-file",
            str(prompt),
            "--skip-network-check",
            "--max-minutes",
            "0.1",
            timeout=120,
        )
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    record = show(env, run_id)
    assert record["last_agent_step"]["timed_out"] is True
    assert record["grade"]["verdict"] == "RETRYABLE", record["grade"]
    assert record["state"] == "FAILED_RETRYABLE"
    assert stray_processes(run_id) == []


def test_claude_discovery_ends_with_a_contract_in_a_final_json_block(
    env: Env, remotes: Remotes, tmp_path: Path
) -> None:
    """A skill pack's discovery with Claude Code: no --output-schema there, so the contract is
    the final message's last JSON block; its editing tools are denied (read-only stage)."""
    from tests.operator_steps import ok, wait_for_state
    from tests.run_env import new_run_id
    from tests.skills.test_staged_runs import contract

    steps = [
        run_bash("cat calc.py"),
        say("I read calc.py and its tests.\n\n```json\n" + contract() + "\n```"),
    ]
    with ScriptedMessagesServer(steps) as server:
        configure(env, server, tmp_path / "claude-home")
        env.reconfigure(git_author_name="Ops", git_author_email="ops@example.com")
        run_id = new_run_id()
        ok(env.cli(
            "create-run", "--owner", "demo", "--repo", "calc", "--run-id", run_id,
            "--upstream-url", remotes.upstream_url, "--fork-url", remotes.fork_url,
            "--mode", "auto", "--engine", "claude", "--skills", "change@v1", "--approve-plans",
            "--skip-network-check",
        ))  # fmt: skip
        record = wait_for_state(env, run_id, {"PLAN_READY", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=180)  # fmt: skip
    assert record["state"] == "PLAN_READY", [(h["command"], h["reason"]) for h in record["history"]]
    assert record["repo_contract"]["plan"]["target_files"] == ["calc.py"]
    assert record["stage_outcomes"][0]["pack"] == "change@v1"
    assert record["last_agent_step"]["engine"] == "claude"
    runtime = json.loads(Path(record["reports"]["discovery_runtime"]).read_text())
    argv = runtime["command_line"]
    assert argv[argv.index("--disallowedTools") + 1] == "Edit,MultiEdit,Write,NotebookEdit"
    assert "--output-schema" not in argv
    first = json.dumps(server.requests[0])
    assert "task-packet.json" in first and "Stage: discover" in first
