"""Campaigns end to end: the real CLI, a worker, real git (a bare upstream and fork per
repository), the command engine as the codemod. No GitHub needed: the repositories are local."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from tests.agent_steps import ADD_MULTIPLY
from tests.campaign_steps import FORGE, local_repos, prepare_env, status, wait_for
from tests.operator_steps import ok, refused
from tests.run_env import Env


def logged(command: str, log: Path, tag: str) -> str:
    """Wrap a step so it logs when it starts and ends (to measure how many overlap)."""
    return (
        f'echo "start {tag} $(date +%s%N)" >> {log}; {command}; status=$?; '
        f'echo "end {tag} $(date +%s%N)" >> {log}; exit $status'
    )


def most_at_once(log: Path) -> int:
    events = []
    for line in log.read_text().splitlines():
        kind, _, stamp = line.split()
        events.append((int(stamp), 1 if kind == "start" else -1))
    running = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        running += delta
        peak = max(peak, running)
    return peak


def start(env: Env, name: str, repos: Path, command: str, *extra: str) -> None:
    out = ok(
        env.cli(
            "campaign",
            "start",
            "--name",
            name,
            "--repos-file",
            str(repos),
            "--engine",
            "command",
            "--command",
            command,
            "--skip-network-check",
            "--commit-title",
            "feat: add the Forge provider",
            *extra,
            timeout=60,
        )
    )
    assert f"campaign {name} started" in out and "campaign watch" in out


def test_twenty_repositories_never_more_than_three_steps_at_once(env: Env, tmp_path: Path) -> None:
    # Agent slots above --max-parallel: what holds the line here is the campaign.
    prepare_env(env, agent_slots=6)
    repos = local_repos(tmp_path / "git", 20)
    log = tmp_path / "steps.log"
    start(
        env,
        "wave20",
        repos,
        logged(f"sleep 0.3; {FORGE}", log, "agent"),
        "--max-parallel",
        "3",
        "--validation-command",
        logged("python3 -m pytest -q", log, "validate"),
    )
    peak_active = 0
    deadline = time.monotonic() + 400
    while True:
        current = status(env, "wave20")
        peak_active = max(peak_active, current["active"])
        if current["counts"].get("PUSHED") == 20 or time.monotonic() > deadline:
            break
        assert not {"FAILED", "FAILED_RETRYABLE", "NEEDS_HUMAN_REVIEW"} & set(current["counts"]), (
            current["counts"]
        )
        time.sleep(0.3)
    assert current["counts"] == {"PUSHED": 20}, current["counts"]
    assert peak_active <= 3
    assert 2 <= most_at_once(log) <= 3, log.read_text()
    assert all(
        run["verdict"] == "PASS" and run["reason_code"] == "tests_passed" for run in current["runs"]
    )
    # Each run is searchable by the campaign (AgentprCampaign) as well.
    listed = json.loads(ok(env.cli("list-runs", "--json", "--limit", "100")))
    assert sum(1 for row in listed if row["campaign"] == "wave20") == 20
    table = ok(env.cli("campaign", "list"))
    assert "wave20" in table and "PUSHED 20" in table


def test_pause_holds_the_campaign_and_resume_finishes_it(env: Env, tmp_path: Path) -> None:
    prepare_env(env)
    repos = local_repos(tmp_path / "git", 4)
    gate = tmp_path / "go"
    # Steps wait for the test's go-ahead file, so the pause lands while they run.
    start(
        env,
        "held",
        repos,
        f"while [ ! -f {gate} ]; do sleep 0.1; done; {FORGE}",
        "--max-parallel",
        "2",
    )
    wait_for(env, "held", lambda s: s["counts"].get("IMPLEMENTING", 0) == 2)
    result = json.loads(ok(env.cli("campaign", "pause", "--name", "held", "--json")))
    assert len(result["runs_signalled"]) == 2 and result["paused"]
    paused = wait_for(env, "held", lambda s: s["counts"].get("PAUSED") == 2, timeout=60)
    assert paused["counts"].get("NOT_STARTED") == 2 and paused["paused"]
    gate.write_text("go")
    time.sleep(2)
    assert status(env, "held")["counts"] == paused["counts"]  # nothing moves while paused
    ok(env.cli("campaign", "resume", "--name", "held"))
    done = wait_for(env, "held", lambda s: s["counts"].get("PUSHED") == 4)
    assert not done["paused"]
    history = json.loads(ok(env.cli("show-run", "--run-id", "held.demo.calc0", "--json")))
    assert [h["command"] for h in history["history"]].count("pause") == 1


def test_cancel_ends_every_run(env: Env, tmp_path: Path) -> None:
    prepare_env(env)
    repos = local_repos(tmp_path / "git", 3)
    start(env, "dropped", repos, f"sleep 60; {FORGE}", "--max-parallel", "1")
    wait_for(env, "dropped", lambda s: s["counts"].get("IMPLEMENTING") == 1)
    ok(env.cli("campaign", "cancel", "--name", "dropped", "--reason", "wrong prompt"))
    final = wait_for(env, "dropped", lambda s: s["finished"], timeout=60)
    assert final["cancelled"] and final["counts"].get("NOT_STARTED") == 2
    assert set(final["counts"]) <= {"NOT_STARTED", "SKIPPED", "FAILED_TERMINAL"}
    assert "finished" in refused(env.cli("campaign", "pause", "--name", "dropped"))
    watched = ok(env.cli("campaign", "watch", "--name", "dropped", "--until-settled"))
    assert "campaign dropped (finished" in watched and "dropped.demo.calc0" in watched
    assert "NOT_STARTED 2" in watched and "1/3" in watched  # the progress bar: 1 of 3 ended


def test_repos_file_errors_are_listed_with_line_numbers_before_anything_starts(
    env: Env, tmp_path: Path
) -> None:
    repos = tmp_path / "repos.txt"
    repos.write_text(
        "# wave\nmem0ai/mem0\n\nnot-a-repo\nmem0ai/mem0\nvirattt/dexter a b c\nbad owner!/x\n"
    )
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Add Forge.")
    message = refused(
        env.cli(
            "campaign",
            "start",
            "--name",
            "broken",
            "--repos-file",
            str(repos),
            "--prompt-file",
            str(prompt),
        ),
        code=2,
    )
    assert "4 problem(s), nothing started" in message
    for where in ("line 4", "line 5: mem0ai/mem0 repeats line 2", "line 6", "line 7"):
        assert where in message
    assert "no campaign named 'broken'" in refused(env.cli("campaign", "show", "--name", "broken"))


def test_dry_run_checks_every_remote_and_starts_nothing(env: Env, tmp_path: Path) -> None:
    repos = local_repos(tmp_path / "git", 2)
    with repos.open("a") as fh:
        fh.write(f"demo/gone {(tmp_path / 'missing.git').as_uri()}\n")
    result = env.cli(
        "campaign",
        "start",
        "--name",
        "dry",
        "--repos-file",
        str(repos),
        "--engine",
        "command",
        "--command",
        FORGE,
        "--dry-run",
        "--json",
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["would_start"] == 2
    assert [r["check"].split(":")[0] for r in report["repos"]] == ["ok", "ok", "FAIL"]
    assert report["repos"][0]["run_id"] == "dry.demo.calc0"
    assert "no campaign named 'dry'" in refused(env.cli("campaign", "show", "--name", "dry"))


def test_retry_failed_takes_failed_runs_back_from_the_step_that_failed(
    env: Env, tmp_path: Path
) -> None:
    prepare_env(env)
    repos = local_repos(tmp_path / "git", 2)
    blocked = tmp_path / "push-blocked"
    blocked.write_text("the fork refuses pushes until this file is gone")
    hook = tmp_path / "git" / "r0" / "fork" / "calc0.git" / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\n[ ! -f {blocked} ] || {{ echo 'push refused'; exit 1; }}\n")
    hook.chmod(0o755)
    start(env, "again", repos, FORGE, "--max-parallel", "2")
    failed = wait_for(env, "again", lambda s: s["counts"] == {"PUSHED": 1, "FAILED_RETRYABLE": 1})
    (run,) = [r for r in failed["runs"] if r["state"] == "FAILED_RETRYABLE"]
    assert run["repo"] == "demo/calc0"
    blocked.unlink()
    result = json.loads(ok(env.cli("campaign", "retry", "--name", "again", "--failed", "--json")))
    assert result["runs_signalled"] == [run["run_id"]]  # only the failed one
    wait_for(env, "again", lambda s: s["counts"] == {"PUSHED": 2})
    record = json.loads(ok(env.cli("show-run", "--run-id", run["run_id"], "--json")))
    steps = [(h["command"], h["to"]) for h in record["history"]]
    # From the step that failed (validation + push), not from the start.
    assert steps[-3:] == [
        ("retry", "LOCAL_VALIDATING"),
        ("validate", "LOCAL_VALIDATING"),
        ("run-finish", "PUSHED"),
    ]
    assert "say which runs" in refused(env.cli("campaign", "retry", "--name", "again"), code=2)


async def test_a_long_campaign_continues_as_new_and_keeps_its_counts(
    env: Env, tmp_path: Path
) -> None:
    """What lets 1,000+ repositories fit: the campaign's history is cut (continue-as-new) and
    its progress carried; runs keep reporting to the same workflow id."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from contracts import AgentStepRequest, AutoPlan, CampaignSpec, CampaignStart, Engine
    from starter.client import CampaignClient
    from starter.repos_file import read_repos_file
    from workflows.campaign import campaign_workflow_id

    prepare_env(env)
    repos_file = local_repos(tmp_path / "git", 6)

    plan = AutoPlan(
        step=AgentStepRequest(engine=Engine.COMMAND, command=FORGE, skip_network_check=True)
    )
    client = await Client.connect(
        env.settings.temporal_address, data_converter=pydantic_data_converter
    )
    campaigns = CampaignClient(client, env.settings)
    await campaigns.start(
        CampaignStart(
            spec=CampaignSpec(
                name="long", repos=read_repos_file(repos_file), plan=plan, max_parallel=2
            ),
            continue_as_new_after=40,
        )
    )
    handle = client.get_workflow_handle(campaign_workflow_id("long"))
    first_run = (await handle.describe()).run_id
    for _ in range(480):
        status = await campaigns.status("long")
        if status.counts == {"PUSHED": 6}:
            break
        await asyncio.sleep(0.5)
    assert status.counts == {"PUSHED": 6} and status.started == 6
    description = await handle.describe()
    assert description.run_id != first_run  # it continued as new, at least once
    history = await handle.fetch_history()
    assert len(history.events) < 120  # the live link's history stays short


def test_a_campaign_run_with_the_real_codex_cli(env: Env, tmp_path: Path) -> None:
    """The codex engine (the real CLI) against a scripted model server on loopback."""
    from standins.model_server import ScriptedModelServer, run_command, say

    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(
        agent_env={"CODEX_HOME": str(codex_home), "PATH": path},
        git_author_name="Ops",
        git_author_email="ops@example.com",
    )
    repos = local_repos(tmp_path / "git", 1)
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Add multiply(a, b) to calc.py and keep the tests green.\n")
    steps = [run_command(ADD_MULTIPLY), say("Added multiply.\nSTATUS: PASS")]
    with ScriptedModelServer(steps) as server:
        overrides = [arg for arg in server.codex_args() if arg != "-c"]
        args = [
            "campaign",
            "start",
            "--name",
            "codexwave",
            "--repos-file",
            str(repos),
            "--prompt-file",
            str(prompt),
            "--skip-network-check",
            "--commit-title",
            "feat: add multiply",
        ]
        for override in overrides:
            args += ["--codex-config", override]
        ok(env.cli(*args))
        done = wait_for(
            env,
            "codexwave",
            lambda s: (
                s["counts"].get("PUSHED") == 1
                or bool({"NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"} & set(s["counts"]))
            ),
            timeout=180,
        )
    assert done["counts"] == {"PUSHED": 1}, done["runs"]
    record = json.loads(ok(env.cli("show-run", "--run-id", "codexwave.demo.calc0", "--json")))
    assert record["last_agent_step"]["engine"] == "command"  # the validation step came last
    assert record["reports"]["agent_transcript"] != record["reports"]["validation_transcript"]
    assert "Add multiply(a, b)" in json.dumps(server.requests[0])


def test_max_parallel_above_the_agent_slots_is_held_by_the_slots(env: Env, tmp_path: Path) -> None:
    prepare_env(env, agent_slots=2)
    repos = local_repos(tmp_path / "git", 6)
    log = tmp_path / "steps.log"
    start(env, "wide", repos, logged(f"sleep 0.5; {FORGE}", log, "agent"), "--max-parallel", "6")
    wait_for(env, "wide", lambda s: s["counts"].get("PUSHED") == 6)
    assert most_at_once(log) == 2  # the machine's agent slots, whatever --max-parallel says
