"""Auto mode: the run takes its own steps (prepare, agent, validation with the repository's own
tests, finish, PR request) and stops at every human gate; pause, resume and retry work at any
point. Real CLI, worker, git and the loopback GitHub."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pydantic import SecretStr

from standins.github_api import FakeGitHub
from tests.operator_steps import BODY, TITLE, TOKEN, create_auto_run, ok, show, wait_for_state
from tests.run_env import Env

FORGE = "printf 'PROVIDER = \"forge\"\\n' > forge.py"


def auto_run(env: Env, github: FakeGitHub, tmp_path: Path, command: str) -> str:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(
        github_token=SecretStr(TOKEN),
        github_api_url=github.base_url,
        git_author_name="Ops",
        git_author_email="ops@example.com",
        agent_env={"PATH": path},
        agent_grace_s=2.0,
    )
    body = tmp_path / "body.md"
    body.write_text(BODY)
    return create_auto_run(env, body, command)


def commands(record: dict) -> list[str]:
    return [h["command"] for h in record["history"]]


def test_auto_run_drives_itself_to_the_pr_gate_and_no_further(
    env: Env,
    github: FakeGitHub,
    tmp_path: Path,  # noqa: F811
) -> None:
    run_id = auto_run(env, github, tmp_path, FORGE)
    record = wait_for_state(
        env, run_id, {"PUSHED", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=120
    )
    assert record["state"] == "PUSHED", record["history"][-2:]
    record = wait_for_state(env, run_id, {"PUSHED"})
    assert commands(record) == [
        "create-run",
        "start-discovery",
        "check-maintainer-policy",  # the maintainers' rules, before any fork
        "run-prepare",
        "mark-plan-ready",
        "start-implementation",
        "run-agent-step",
        "validate",
        "run-finish",
        "request-open-pr",
    ]
    assert {h["by"] for h in record["history"][1:]} == {"workflow"}
    # The codemod ran no tests; the validation step ran the repository's own (make test).
    assert record["grade"]["verdict"] == "PASS"
    assert record["grade"]["reason_code"] == "tests_passed"
    assert "validation_transcript" in record["reports"]
    ask = record["pr_request"]
    assert ask["title"] == TITLE and ask["dod"]["passed"], ask["dod"]
    assert github.pulls("demo", "calc") == []  # approval is never automatic

    shown = json.loads(ok(env.cli("show-pr-request", "--run-id", run_id, "--json")))
    assert shown["request_file"] == ask["request_file"]
    assert oct(Path(ask["request_file"]).with_suffix(".token").stat().st_mode & 0o777) == "0o600"
    history = ok(env.cli("show-run", "--run-id", run_id, "--json"))
    assert shown["confirm_token"] not in history  # only its hash is in the run
    ok(
        env.cli(
            "approve-open-pr",
            "--run-id",
            run_id,
            "--request-file",
            shown["request_file"],
            "--confirm-token",
            shown["confirm_token"],
            "--confirm",
            timeout=120,
        )
    )
    assert show(env, run_id)["state"] == "CI_WAIT"
    assert len(github.pulls("demo", "calc")) == 1


def test_auto_run_pauses_mid_step_and_resumes_where_it_was(
    env: Env,
    github: FakeGitHub,
    tmp_path: Path,  # noqa: F811
) -> None:
    marker = tmp_path / "slow-once"
    # The first attempt hangs (as an agent might); after the resume it finishes at once.
    slow_once = f"if [ -f {marker} ]; then {FORGE}; else touch {marker}; sleep 120; fi"
    run_id = auto_run(env, github, tmp_path, slow_once)
    record = wait_for_state(env, run_id, {"IMPLEMENTING"}, timeout=120)
    deadline_marker = 200
    while not marker.exists() and deadline_marker:
        import time

        time.sleep(0.1)
        deadline_marker -= 1
    assert marker.exists(), "the agent step never started"
    ok(env.cli("pause", "--run-id", run_id, timeout=60))
    record = show(env, run_id)
    assert record["state"] == "PAUSED" and record["paused_from"] == "IMPLEMENTING"
    ok(env.cli("resume", "--run-id", run_id, "--target-state", "IMPLEMENTING"))
    record = wait_for_state(
        env, run_id, {"PUSHED", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=120
    )
    assert record["state"] == "PUSHED", record["history"][-3:]


def test_auto_run_parks_a_failure_and_retry_takes_it_on(
    env: Env,
    github: FakeGitHub,
    tmp_path: Path,  # noqa: F811
) -> None:
    marker = tmp_path / "failed-once"
    fail_once = f"if [ -f {marker} ]; then {FORGE}; else touch {marker}; exit 3; fi"
    run_id = auto_run(env, github, tmp_path, fail_once)
    record = wait_for_state(
        env, run_id, {"PUSHED", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=120
    )
    assert record["state"] in {"NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}
    assert record["grade"]["verdict"] != "PASS"
    ok(env.cli("retry", "--run-id", run_id, "--target-state", "IMPLEMENTING"))
    record = wait_for_state(env, run_id, {"PUSHED"}, timeout=120)
    assert commands(record)[-3:] == ["validate", "run-finish", "request-open-pr"]
