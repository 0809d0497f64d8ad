"""A run that follows a skill pack, end to end with the REAL Codex CLI against the scripted
model server: discovery writes a contract (read-only, `--output-schema`), a person approves the
plan, implementation gets the task packet and the contract, validation runs the contract's test
command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from standins.git_repos import Remotes, git, make_remotes
from standins.model_server import ScriptedModelServer, run_command, say
from tests.agent_steps import ADD_MULTIPLY, CODEX, codex_worker
from tests.operator_steps import ok, refused, show, wait_for_state
from tests.run_env import Env, new_run_id

pytestmark = pytest.mark.skipif(
    not CODEX.exists(), reason=f"codex is not installed at {CODEX} (run `make agents`)"
)


def contract(status: str = "ready", **plan: object) -> str:
    return json.dumps(
        {
            "status": status,
            "reason": f"the repository {'has' if status == 'ready' else 'lacks'} an OpenAI client",
            "rules": {"base_branch": "main", "commit_format": "conventional", "pr_checklist": [],
                      "docs_to_update": [], "forbidden_changes": ["lock files"]},
            "toolchain": {"install": None, "test": "python3 -m pytest -q", "lint": None},
            "plan": {"approach": "copy the add() precedent", "target_files": ["calc.py"],
                     "expected_changed_files": 1, "expected_added_lines": 4, **plan},
            "blockers": [],
            "evidence": ["calc.py:1 def add"],
        }
    )  # fmt: skip


@pytest.fixture
def remotes(tmp_path: Path) -> Remotes:
    return make_remotes(tmp_path / "git")


@pytest.fixture
def agent_env(env: Env, tmp_path: Path) -> Env:
    return codex_worker(env, tmp_path)


def staged_run(
    env: Env, remotes: Remotes, server: ScriptedModelServer, *extra: str, repo: str = "calc"
) -> str:
    run_id = new_run_id()
    follow = ["--prompt-version", "v1"] if "--prompt-file" in extra else ["--skills", "change@v1"]
    args = [
        "create-run", "--owner", "demo", "--repo", repo, "--run-id", run_id,
        "--upstream-url", remotes.upstream_url, "--fork-url", remotes.fork_url,
        "--mode", "auto", *follow, "--skip-network-check", *extra,
    ]  # fmt: skip
    for override in server.codex_args():
        if override != "-c":
            args += ["--codex-config", override]
    ok(env.cli(*args))
    return run_id


def test_discover_approve_implement(agent_env: Env, remotes: Remotes, tmp_path: Path) -> None:
    steps = [
        run_command("cat calc.py"),
        say("I read the repository.\n" + contract()),
        run_command(ADD_MULTIPLY),
        run_command("python3 -m pytest -q"),
        say("Added multiply; tests pass.\nSTATUS: PASS"),
    ]
    with ScriptedModelServer(steps) as server:
        run_id = staged_run(agent_env, remotes, server, "--approve-plans")
        record = wait_for_state(agent_env, run_id, {"PLAN_READY", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=180)  # fmt: skip
        assert record["state"] == "PLAN_READY", [
            (h["command"], h["reason"]) for h in record["history"]
        ]
        assert record["skills"]["name"] == "change" and record["prompt_version"] == "v1"
        assert len(record["skills"]["sha256"]) == 64
        assert record["repo_contract"]["plan"]["target_files"] == ["calc.py"]
        assert record["grade"]["reason_code"] == "contract_ready"
        # Discovery was read-only and told to answer in the contract's schema.
        discovery = json.loads(Path(record["reports"]["discovery_runtime"]).read_text())
        argv = discovery["command_line"]
        assert argv[argv.index("--sandbox") + 1] == "read-only" and "--output-schema" in argv
        first = json.dumps(server.requests[0])
        assert "task-packet.json" in first and "Stage: discover" in first
        shown = agent_env.cli("show-contract", "--run-id", run_id)
        assert "contract ready, not approved" in shown.stdout
        assert "test       python3 -m pytest -q" in shown.stdout

        # A person edits the plan and approves it.
        edited = tmp_path / "contract.json"
        edited.write_text(contract(expected_added_lines=10))
        ok(agent_env.cli("approve-plan", "--run-id", run_id, "--edit-file", str(edited)))
        record = wait_for_state(agent_env, run_id, {"PUSHED", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=180)  # fmt: skip
    assert record["state"] == "PUSHED", record["history"][-3:]
    assert record["plan_approved_by"] == "cli"
    assert record["repo_contract"]["plan"]["expected_added_lines"] == 10
    # The implementation stage read its task packet, with the approved contract in it.
    workspace = Path(record["workspace"]["path"])
    packet = json.loads((workspace / ".agentpr_runtime" / "task-packet.json").read_text())
    assert (
        packet["stage"] == "implement" and packet["contract"]["plan"]["expected_added_lines"] == 10
    )
    assert packet["skill_pack"]["label"] == "change@v1"
    implement = json.dumps(server.requests[2])
    assert (
        "Stage: implement" in implement
        and "The approved plan: copy the add() precedent" in implement
    )
    # Validation ran the contract's test command; the packet was never committed.
    assert any("validate" == h["command"] for h in record["history"])
    assert "python3 -m pytest -q" in " ".join(h["reason"] or "" for h in record["history"])
    # Disclosure: the commit says which AI assisted, and the PR body a person approves too.
    fork = remotes.fork_url.removeprefix("file://")
    message = git("--git-dir", fork, "log", "-1", "--format=%B", record["workspace"]["branch"])
    assert "\nAssisted-by: codex\n" in message + "\n" and "Agentpr-Run: " + run_id in message
    tracked = git("-C", str(workspace), "ls-files")
    assert ".agentpr_runtime" not in tracked
    ok(agent_env.cli(
        "request-open-pr", "--run-id", run_id, "--title", "feat: multiply", "--body", "Adds multiply.",
        "--head", "someone:" + record["workspace"]["branch"], "--draft",
    ))  # fmt: skip
    ask = show(agent_env, run_id)["pr_request"]
    assert ask["draft"] is True
    assert "AI assistance: this change was prepared with codex through agentpr" in ask["body"]


def test_a_skip_contract_ends_the_run_skipped(agent_env: Env, remotes: Remotes) -> None:
    with ScriptedModelServer([say(contract("skip"))]) as server:
        run_id = staged_run(agent_env, remotes, server)
        record = wait_for_state(agent_env, run_id, {"SKIPPED", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=120)  # fmt: skip
    assert record["state"] == "SKIPPED"
    assert record["history"][-1]["reason"].startswith("discovery: skip: the repository lacks")


def test_needs_review_and_an_invalid_contract_go_to_a_person(
    agent_env: Env, remotes: Remotes, tmp_path: Path
) -> None:
    steps = [say("I am not sure."), say('{"status": "ready"}')]  # no JSON, then an invalid one
    with ScriptedModelServer(steps) as server:
        run_id = staged_run(agent_env, remotes, server)
        record = wait_for_state(agent_env, run_id, {"NEEDS_HUMAN_REVIEW", "SKIPPED"}, timeout=180)
    assert record["discovery_attempts"] == 2  # taken once more, then a person decides
    assert [h["command"] for h in record["history"]].count("discover") == 2
    assert "invalid contract: reason" in record["history"][-1]["reason"]
    # Approving without a contract is refused with what to do; with one, the run goes on.
    refused(agent_env.cli("approve-plan", "--run-id", run_id))
    bad = tmp_path / "bad.json"
    bad.write_text('{"status": "maybe"}')
    usage = agent_env.cli("approve-plan", "--run-id", run_id, "--edit-file", str(bad))
    assert usage.returncode == 2 and "status" in usage.stderr and "Traceback" not in usage.stderr
    good = tmp_path / "good.json"
    good.write_text(contract())
    ok(agent_env.cli("pause", "--run-id", run_id))  # hold it: no model steps are left
    assert show(agent_env, run_id)["state"] == "PAUSED"


def test_an_implementation_that_strays_from_the_plan_goes_to_a_person(
    agent_env: Env, remotes: Remotes
) -> None:
    stray = "python3 -c \"open('STRAY.md','w').write('unplanned\\n')\""
    steps = [
        say(contract()),
        run_command(ADD_MULTIPLY),
        run_command(stray),
        run_command("python3 -m pytest -q"),
        say("Done.\nSTATUS: PASS"),
    ]
    with ScriptedModelServer(steps) as server:
        run_id = staged_run(agent_env, remotes, server)
        record = wait_for_state(agent_env, run_id, {"NEEDS_HUMAN_REVIEW", "PUSHED", "FAILED_RETRYABLE"}, timeout=180)  # fmt: skip
    assert record["state"] == "NEEDS_HUMAN_REVIEW", record["history"][-2:]
    assert record["grade"]["reason_code"] == "contract_files_outside_plan"
    assert "STRAY.md" in record["grade"]["reasons"][0]


def test_stats_per_pack_and_stage(agent_env: Env, remotes: Remotes, tmp_path: Path) -> None:
    """`skills stats` reads every run's stage outcomes: here one discovery that passed and one
    skip, then one that went to a person; and a `--prompt-file` run, counted as the one-stage
    pack prompt@v1. A repository of its own keeps other tests' runs out of the counts."""
    repo = f"calc-{new_run_id()[-8:]}"
    with ScriptedModelServer([say(contract("skip"))]) as server:
        first = staged_run(agent_env, remotes, server, repo=repo)
        wait_for_state(agent_env, first, {"SKIPPED"}, timeout=120)
    with ScriptedModelServer([say(contract("needs_review"))]) as server:
        second = staged_run(agent_env, remotes, server, repo=repo)
        wait_for_state(agent_env, second, {"NEEDS_HUMAN_REVIEW"}, timeout=120)
    task = tmp_path / "task.md"
    task.write_text("Add multiply to calc.py.")
    steps = [run_command(ADD_MULTIPLY), run_command("python3 -m pytest -q"), say("STATUS: PASS")]
    with ScriptedModelServer(steps) as server:
        third = staged_run(agent_env, remotes, server, "--prompt-file", str(task), repo=repo)
        wait_for_state(agent_env, third, {"PUSHED", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=180)  # fmt: skip
    rows = json.loads(ok(agent_env.cli("skills", "stats", "--repo", f"demo/{repo}", "--json")))
    discover = next(r for r in rows if (r["pack"], r["stage"]) == ("change@v1", "discover"))
    assert discover["runs"] == 2 and discover["steps"] == 2 and discover["pass_rate"] == 0.5
    assert {r["reason_code"] for r in discover["top_reasons"]} == {
        "contract_skip",
        "contract_needs_review",
    }
    assert discover["median_duration_s"] is not None
    prompt = next(r for r in rows if r["pack"] == "prompt@v1")
    assert (prompt["stage"], prompt["runs"], prompt["steps"]) == ("implement", 1, 1)
    text = ok(agent_env.cli("skills", "stats", "--repo", f"demo/{repo}"))
    assert "change@v1" in text and "discover" in text and "prompt@v1" in text
