"""Each run command end to end through the real `agentpr` CLI, as an operator types it."""

from __future__ import annotations

import json
import time

from tests.operator_steps import created_run
from tests.run_env import Env, new_run_id


def ok(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def create(env: Env, run_id: str, *extra: str) -> None:
    created_run(env, *extra, run_id=run_id)


def show(env: Env, run_id: str) -> dict:
    return json.loads(ok(env.cli("show-run", "--run-id", run_id, "--json")))


def test_operator_drives_a_run_through_every_command(env: Env) -> None:
    run_id = new_run_id()
    out = ok(
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
            "--budget",
            "400",
        )
    )
    assert out.strip() == f"created run {run_id} for mem0ai/mem0 (QUEUED)"
    out = ok(env.cli("start-discovery", "--run-id", run_id))
    assert out.strip() == f"{run_id}: QUEUED -> DISCOVERY (start-discovery)"
    contract = env.settings.home / "contract.md"
    contract.write_text("# Forge provider\nAdd Forge as an LLM provider.\n")
    ok(env.cli("mark-plan-ready", "--run-id", run_id, "--contract-path", str(contract)))
    ok(env.cli("pause", "--run-id", run_id, "--reason", "lunch"))
    out = ok(env.cli("resume", "--run-id", run_id, "--target-state", "PLAN_READY"))
    assert out.strip() == f"{run_id}: PAUSED -> PLAN_READY (resume)"
    ok(env.cli("start-implementation", "--run-id", run_id))
    ok(env.cli("mark-local-validated", "--run-id", run_id))
    ok(env.cli("pause", "--run-id", run_id))
    ok(env.cli("resume", "--run-id", run_id, "--target-state", "pushed"))
    ok(env.cli("link-pr", "--run-id", run_id, "--pr-number", "123"))
    out = ok(
        env.cli("record-check", "--run-id", run_id, "--conclusion", "failure", "--pr-number", "123")
    )
    assert out.strip() == f"{run_id}: CI_WAIT -> ITERATING (record-check)"
    ok(env.cli("retry", "--run-id", run_id, "--target-state", "LOCAL_VALIDATING"))
    ok(env.cli("pause", "--run-id", run_id))
    ok(env.cli("resume", "--run-id", run_id, "--target-state", "CI_WAIT"))
    ok(env.cli("record-check", "--run-id", run_id, "--conclusion", "success"))
    out = ok(env.cli("record-review", "--run-id", run_id, "--state", "commented"))
    assert out.strip() == f"{run_id}: record-review recorded; state stays REVIEW_WAIT"
    ok(env.cli("record-review", "--run-id", run_id, "--state", "changes_requested"))
    ok(env.cli("pause", "--run-id", run_id))
    ok(env.cli("resume", "--run-id", run_id, "--target-state", "REVIEW_WAIT"))
    done = json.loads(ok(env.cli("mark-done", "--run-id", run_id, "--json")))
    assert done["from"] == "REVIEW_WAIT" and done["to"] == "DONE" and done["applied"] is True

    record = show(env, run_id)
    for key in (
        "run_id",
        "owner",
        "repo",
        "prompt_version",
        "mode",
        "state",
        "history",
        "pr_number",
        "grade",
        "reports",
    ):
        assert key in record
    assert (record["owner"], record["repo"], record["state"]) == ("mem0ai", "mem0", "DONE")
    assert record["pr_number"] == 123 and record["grade"] is None and record["budget"] == 400
    assert record["reports"]["contract"] == str(contract)
    assert [(h["command"], h["from"], h["to"]) for h in record["history"]] == [
        ("create-run", None, "QUEUED"),
        ("start-discovery", "QUEUED", "DISCOVERY"),
        ("mark-plan-ready", "DISCOVERY", "PLAN_READY"),
        ("pause", "PLAN_READY", "PAUSED"),
        ("resume", "PAUSED", "PLAN_READY"),
        ("start-implementation", "PLAN_READY", "IMPLEMENTING"),
        ("mark-local-validated", "IMPLEMENTING", "LOCAL_VALIDATING"),
        ("pause", "LOCAL_VALIDATING", "PAUSED"),
        ("resume", "PAUSED", "PUSHED"),
        ("link-pr", "PUSHED", "CI_WAIT"),
        ("record-check", "CI_WAIT", "ITERATING"),
        ("retry", "ITERATING", "LOCAL_VALIDATING"),
        ("pause", "LOCAL_VALIDATING", "PAUSED"),
        ("resume", "PAUSED", "CI_WAIT"),
        ("record-check", "CI_WAIT", "REVIEW_WAIT"),
        ("record-review", "REVIEW_WAIT", "REVIEW_WAIT"),
        ("record-review", "REVIEW_WAIT", "ITERATING"),
        ("pause", "ITERATING", "PAUSED"),
        ("resume", "PAUSED", "REVIEW_WAIT"),
        ("mark-done", "REVIEW_WAIT", "DONE"),
    ]
    assert all(h["by"] == "cli" and h["at"] for h in record["history"])
    assert record["history"][3]["reason"] == "lunch"

    # The readable view of the same record.
    text = ok(env.cli("show-run", "--run-id", run_id))
    assert f"{run_id}  mem0ai/mem0  state DONE" in text
    assert "pull request    #123" in text and "mark-done" in text


def test_repeated_pause_resume_cycles_all_apply_from_the_cli(env: Env) -> None:
    run_id = new_run_id()
    create(env, run_id)
    ok(env.cli("start-discovery", "--run-id", run_id))
    for _ in range(3):
        assert "-> PAUSED (pause)" in ok(env.cli("pause", "--run-id", run_id))
        assert "-> DISCOVERY (resume)" in ok(
            env.cli("resume", "--run-id", run_id, "--target-state", "DISCOVERY")
        )
    commands = [h["command"] for h in show(env, run_id)["history"]]
    assert commands == ["create-run", "start-discovery"] + ["pause", "resume"] * 3


def test_idempotency_key_from_the_cli(env: Env) -> None:
    run_id = new_run_id()
    create(env, run_id)
    first = json.loads(
        ok(env.cli("pause", "--run-id", run_id, "--idempotency-key", "tg-77", "--json"))
    )
    again = ok(env.cli("pause", "--run-id", run_id, "--idempotency-key", "tg-77"))
    assert first["applied"] is True
    assert "already applied with this idempotency key" in again and "nothing changed" in again
    assert [h["command"] for h in show(env, run_id)["history"]] == ["create-run", "pause"]


def test_illegal_command_prints_one_line_with_what_is_allowed(env: Env) -> None:
    run_id = new_run_id()
    create(env, run_id)
    result = env.cli("start-implementation", "--run-id", run_id)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"agentpr: start-implementation refused: run {run_id} cannot go QUEUED -> IMPLEMENTING; "
        "allowed from QUEUED: EXECUTING, DISCOVERY, PAUSED, FAILED, SKIPPED, FAILED_TERMINAL\n"
    )
    assert [h["command"] for h in show(env, run_id)["history"]] == ["create-run"]


def test_list_runs_filters_sorts_and_limits(env: Env) -> None:
    repo = f"org-{new_run_id()[2:8]}"
    ids = [new_run_id() for _ in range(3)]
    for run_id in ids:
        ok(
            env.cli(
                "create-run",
                "--owner",
                repo,
                "--repo",
                "calc",
                "--prompt-version",
                "v2",
                "--run-id",
                run_id,
            )
        )
    ok(env.cli("start-discovery", "--run-id", ids[1]))
    ok(env.cli("pause", "--run-id", ids[1]))

    def listing(*args: str) -> list[dict]:
        return json.loads(ok(env.cli("list-runs", "--repo", f"{repo}/calc", "--json", *args)))

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # visibility trails the workflow by milliseconds
        paused = listing("--state", "PAUSED")
        if [row["run_id"] for row in paused] == [ids[1]]:
            break
        time.sleep(0.2)
    assert [row["run_id"] for row in paused] == [ids[1]]
    assert paused[0]["repo"] == f"{repo}/calc" and paused[0]["status"] == "RUNNING"
    everything = listing()
    assert [row["run_id"] for row in everything] == list(reversed(ids))  # newest first
    assert [row["run_id"] for row in listing("--limit", "2")] == [ids[2], ids[1]]
    table = ok(env.cli("list-runs", "--repo", f"{repo}/calc", "--state", "queued"))
    assert ids[0] in table and ids[2] in table and ids[1] not in table
    assert "2 run(s)" in table
    assert ok(env.cli("list-runs", "--repo", f"{repo}/none")).strip() == "no runs match"
