"""run-agent-step end to end with the REAL Codex CLI (pinned, installed by make) against a
scripted Responses API server on loopback, in a real prepared workspace."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from standins.git_repos import Remotes, make_remotes
from standins.model_server import ScriptedModelServer, fail_http, hang, run_command, say
from tests.agent_steps import (
    ADD_MULTIPLY,
    BREAK_ADD,
    CODEX,
    codex_worker,
    implementing_run,
    stray_processes,
)
from tests.operator_steps import show
from tests.run_env import Env, agentpr_command

pytestmark = pytest.mark.skipif(
    not CODEX.exists(), reason=f"codex is not installed at {CODEX} (run `make agents`)"
)


@pytest.fixture
def remotes(tmp_path: Path) -> Remotes:
    return make_remotes(tmp_path / "git")


@pytest.fixture
def agent_env(env: Env, tmp_path: Path) -> Env:
    return codex_worker(env, tmp_path)


@pytest.fixture
def prompt(tmp_path: Path) -> Path:
    path = tmp_path / "prompt.md"
    path.write_text("Add multiply(a, b) to calc.py and keep the tests green.\n")
    return path


def agent_step(
    env: Env,
    run_id: str,
    prompt: Path,
    server: ScriptedModelServer,
    *extra: str,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    overrides = [arg for arg in server.codex_args() if arg != "-c"]
    args = [
        "run-agent-step",
        "--run-id",
        run_id,
        "--prompt-file",
        str(prompt),
        "--skip-network-check",
        *extra,
    ]
    for override in overrides:
        args += ["--codex-config", override]
    return env.cli(*args, timeout=timeout)


def test_agent_edits_and_tests_pass(agent_env: Env, remotes: Remotes, prompt: Path) -> None:
    run_id = implementing_run(agent_env, remotes)
    steps = [
        run_command(ADD_MULTIPLY),
        run_command("python3 -m pytest -q"),
        say("Added multiply; tests pass.\nSTATUS: PASS"),
    ]
    with ScriptedModelServer(steps) as server:
        result = agent_step(
            agent_env, run_id, prompt, server, "--success-state", "LOCAL_VALIDATING", "--json"
        )
    assert result.returncode == 0, result.stderr + result.stdout
    answer = json.loads(result.stdout)
    step = answer["agent"]
    assert (answer["from"], answer["to"]) == ("IMPLEMENTING", "LOCAL_VALIDATING")
    assert step["grade"]["verdict"] == "PASS" and step["grade"]["reason_code"] == "tests_passed"
    assert step["exit_code"] == 0 and step["changed_files"] == 1 and step["added_lines"] == 4
    # The prompt reached the model with agentpr's contract in front of it.
    first = json.dumps(server.requests[0])
    assert "Add multiply(a, b)" in first and "STATUS: PASS" in first
    # History carries a path, a hash and a summary; the stream itself is a file.
    transcript = Path(step["transcript"])
    assert transcript.parent == agent_env.settings.reports_dir
    assert transcript.name.startswith(f"{run_id}_agent_events_")
    assert step["transcript_bytes"] == transcript.stat().st_size > 0
    report = json.loads(Path(step["report"]).read_text())
    assert Path(step["report"]).name.startswith(f"{run_id}_agent_runtime_")
    assert report["grade"] == "PASS" and report["exit_code"] == 0
    assert report["command_line"][1:4] == ["exec", "--json", "--skip-git-repo-check"]
    assert any("pytest" in run["command"] and run["passed"] for run in report["test_runs"])
    record = show(agent_env, run_id)
    assert record["grade"]["verdict"] == "PASS" and record["state"] == "LOCAL_VALIDATING"
    assert record["reports"]["agent_runtime"] == step["report"]
    assert stray_processes(run_id) == []
    # The verdict is a search attribute: operators filter runs by it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = json.loads(agent_env.cli("list-runs", "--repo", "demo/calc", "--json").stdout)
        row = next((r for r in rows if r["run_id"] == run_id), None)
        if row and row["verdict"] == "PASS":
            break
        time.sleep(0.2)
    assert row is not None and row["verdict"] == "PASS"


def test_tests_failing_at_the_end_is_not_a_pass(
    agent_env: Env, remotes: Remotes, prompt: Path
) -> None:
    run_id = implementing_run(agent_env, remotes)
    steps = [
        run_command(ADD_MULTIPLY),
        run_command("python3 -m pytest -q"),
        run_command(BREAK_ADD),
        run_command("python3 -m pytest -q"),
        say("Done. STATUS: PASS"),
    ]
    with ScriptedModelServer(steps) as server:
        result = agent_step(
            agent_env, run_id, prompt, server, "--success-state", "LOCAL_VALIDATING"
        )
    assert result.returncode == 1
    assert "verdict HUMAN_REVIEW (tests_failing)" in result.stdout
    assert f"{run_id}: IMPLEMENTING -> NEEDS_HUMAN_REVIEW (run-agent-step)" in result.stdout
    record = show(agent_env, run_id)
    assert record["state"] == "NEEDS_HUMAN_REVIEW"
    assert record["grade"]["reason_code"] == "tests_failing"


def test_model_server_errors_are_retryable(agent_env: Env, remotes: Remotes, prompt: Path) -> None:
    run_id = implementing_run(agent_env, remotes)
    with ScriptedModelServer([fail_http(500, times=5)]) as server:
        result = agent_step(agent_env, run_id, prompt, server)
    assert result.returncode == 1
    record = show(agent_env, run_id)
    assert record["grade"]["verdict"] == "RETRYABLE", record["grade"]
    assert record["state"] == "FAILED_RETRYABLE"
    assert record["last_agent_step"]["exit_code"] == 1


def test_a_model_that_never_answers_is_ended_by_the_wall_clock(
    agent_env: Env, remotes: Remotes, prompt: Path
) -> None:
    run_id = implementing_run(agent_env, remotes)
    started = time.monotonic()
    with ScriptedModelServer([hang()]) as server:
        result = agent_step(agent_env, run_id, prompt, server, "--max-minutes", "0.05")
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    record = show(agent_env, run_id)
    step = record["last_agent_step"]
    assert step["timed_out"] is True and step["exit_code"] is None
    assert record["grade"]["verdict"] == "RETRYABLE"
    assert record["grade"]["reason_code"] == "timed_out"
    assert stray_processes(run_id) == []


def test_workspace_write_sandbox_blocks_writes_outside_the_repo(
    agent_env: Env, remotes: Remotes, prompt: Path, tmp_path: Path
) -> None:
    run_id = implementing_run(agent_env, remotes)
    # Not under /tmp or $HOME-under-/tmp: codex's workspace-write lets the agent write to /tmp.
    outside = Path("/var/tmp") / f"agentpr-outside-{run_id}.txt"
    steps = [
        run_command(f"sh -c 'echo x > {outside}; echo rc=$?'"),
        run_command(ADD_MULTIPLY),
        say("STATUS: NEEDS REVIEW"),
    ]
    try:
        with ScriptedModelServer(steps) as server:
            result = agent_step(
                agent_env, run_id, prompt, server, "--codex-sandbox", "workspace-write"
            )
        assert not outside.exists()
        assert "Traceback" not in result.stderr
        # The in-repo edit went through; the step is for a human (the agent asked for review).
        workspace = Path(show(agent_env, run_id)["workspace"]["path"])
        assert "def multiply" in (workspace / "calc.py").read_text()
        assert show(agent_env, run_id)["grade"]["verdict"] == "HUMAN_REVIEW"
    finally:
        outside.unlink(missing_ok=True)


def test_pause_cancels_a_running_agent_step(agent_env: Env, remotes: Remotes, prompt: Path) -> None:
    run_id = implementing_run(agent_env, remotes)
    with ScriptedModelServer([hang()]) as server:
        overrides = [a for a in server.codex_args() if a != "-c"]
        args = [
            *agentpr_command(),
            "run-agent-step",
            "--run-id",
            run_id,
            "--prompt-file",
            str(prompt),
            "--skip-network-check",
            "--max-minutes",
            "10",
        ]
        for override in overrides:
            args += ["--codex-config", override]
        step = subprocess.Popen(
            args, env=agent_env.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 30
            while not stray_processes(run_id) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert stray_processes(run_id), "the agent never started"
            paused = agent_env.cli("pause", "--run-id", run_id, timeout=60)
            assert paused.returncode == 0, paused.stderr
            assert paused.stdout.strip() == f"{run_id}: IMPLEMENTING -> PAUSED (pause)"
            assert stray_processes(run_id) == []  # gone by the time pause answers
            out, err = step.communicate(timeout=30)
        finally:
            step.kill()
    assert step.returncode == 1
    assert "was cancelled (the run was paused)" in err
    assert show(agent_env, run_id)["state"] == "PAUSED"


def test_command_engine_runs_a_codemod(agent_env: Env, remotes: Remotes) -> None:
    run_id = implementing_run(agent_env, remotes)
    result = agent_env.cli(
        "run-agent-step",
        "--run-id",
        run_id,
        "--engine",
        "command",
        "--command",
        f"{ADD_MULTIPLY} && python3 -m pytest -q",
        "--skip-network-check",
        "--success-state",
        "LOCAL_VALIDATING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict PASS (tests_passed)" in result.stdout
    record = show(agent_env, run_id)
    assert (
        record["state"] == "LOCAL_VALIDATING" and record["last_agent_step"]["engine"] == "command"
    )
