"""Refusals keep the workflow's type (contracts.Refusal) up to the doors: `--json` prints it,
the doors pick the exception class (RunBusy, RunFinished, …) from it."""

from __future__ import annotations

import json
import subprocess

import pytest

from common.errors import IllegalTransition, PullRequestGate, Refused, RunBusy, RunFinished, refused
from contracts import Refusal
from tests.operator_steps import created_run
from tests.run_env import Env, agentpr_command, new_run_id


@pytest.mark.parametrize(
    ("refusal", "kind"),
    [
        (Refusal.RUN_BUSY, RunBusy),
        (Refusal.RUN_FINISHED, RunFinished),
        (Refusal.CAMPAIGN_FINISHED, RunFinished),
        (Refusal.ILLEGAL_TRANSITION, IllegalTransition),
        (Refusal.PR_GATE, PullRequestGate),
        (Refusal.PR_MISMATCH, Refused),
        (None, Refused),
    ],
)
def test_refused_picks_the_class_doors_act_on(refusal: Refusal | None, kind: type) -> None:
    err = refused("no", refusal)
    assert type(err) is kind and err.refusal is refusal and err.exit_code == 1


def test_json_errors_carry_the_refusal_type(env: Env) -> None:
    run_id = created_run(env)
    # A QUEUED run is not paused: resume does not apply.
    result = env.cli("resume", "--run-id", run_id, "--target-state", "PUSHED", "--json")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is False and answer["exit_code"] == 1
    assert answer["refusal"] == Refusal.ILLEGAL_TRANSITION.value
    assert answer["error"] in result.stderr

    assert env.cli("pause", "--run-id", run_id).returncode == 0
    done = env.cli("resume", "--run-id", run_id, "--target-state", "SKIPPED")
    assert done.returncode == 0, done.stderr
    for command in (
        ["pause", "--run-id", run_id, "--json"],
        ["--skip-doctor", "pause", "--run-id", run_id, "--json"],
    ):
        finished = env.cli(*command)
        assert finished.returncode == 1, finished.stderr
        assert json.loads(finished.stdout)["refusal"] == Refusal.RUN_FINISHED.value
        assert "is finished" in finished.stderr

    # Without --json: the one line on stderr only, as before.
    plain = env.cli("pause", "--run-id", run_id)
    assert plain.returncode == 1 and plain.stdout == "" and "is finished" in plain.stderr

    unknown = env.cli("show-run", "--run-id", "no_such_run_q", "--json")
    assert unknown.returncode == 1
    assert json.loads(unknown.stdout) == {
        "ok": False,
        "error": unknown.stderr.strip().removeprefix("agentpr: "),
        "exit_code": 1,
        "refusal": None,
    }


def test_fast_lane_and_full_cli_print_the_same_run(env: Env) -> None:
    run_id = new_run_id()
    assert (
        env.cli(
            "create-run",
            "--owner",
            "mem0ai",
            "--repo",
            "mem0",
            "--prompt-version",
            "v1",
            "--run-id",
            run_id,
        ).returncode
        == 0
    )
    assert env.cli("--skip-doctor", "pause", "--run-id", run_id, "--reason", "x").returncode == 0
    fast = env.cli("show-run", "--run-id", run_id, "--json")
    full = subprocess.run(
        [*agentpr_command(), "show-run", "--run-id", run_id, "--json"],
        env={**env.environ, "AGENTPR_FAST_LANE": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert fast.returncode == full.returncode == 0, (fast.stderr, full.stderr)
    assert fast.stdout == full.stdout
    assert json.loads(fast.stdout)["state"] == "PAUSED"
