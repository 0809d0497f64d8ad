"""Money caps, enforced by agentpr: agent steps priced from the policy's price table (REAL
Codex and Claude Code CLIs against the scripted model servers, which report token usage as the
real APIs do), the run's spend in show-run and the search attribute, and a step past the cap
stopped and graded on its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from standins.git_repos import Remotes, make_remotes
from standins.messages_server import ScriptedMessagesServer, run_bash
from standins.messages_server import say as claude_say
from standins.model_server import ScriptedModelServer, run_command, say
from tests.activities.test_agent_step import agent_step
from tests.agent_steps import ADD_MULTIPLY, CODEX, codex_worker, implementing_run, stray_processes
from tests.operator_steps import show
from tests.run_env import Env

CLAUDE = Path(sys.prefix) / "agent-clis" / "node_modules" / ".bin" / "claude"


@pytest.fixture
def remotes(tmp_path: Path) -> Remotes:
    return make_remotes(tmp_path / "git")


def with_prices(env: Env, tmp_path: Path, max_cost_usd: float, per_mtok: float) -> None:
    """A policy whose every model costs `per_mtok` dollars per million tokens, in and out."""
    policy = tmp_path / "manager_policy.json"
    price = {"input_per_mtok": per_mtok, "output_per_mtok": per_mtok}
    policy.write_text(
        json.dumps({"defaults": {"max_cost_usd": max_cost_usd, "prices": {"*": price}}})
    )
    env.reconfigure(policy_file_override=policy)


@pytest.mark.skipif(not CODEX.exists(), reason=f"codex is not installed at {CODEX}")
def test_a_codex_step_past_the_cap_goes_to_a_person_and_no_step_starts_after_it(
    env: Env, remotes: Remotes, tmp_path: Path
) -> None:
    codex_worker(env, tmp_path)
    # Each scripted response reports 100 input + 20 output tokens: at $10,000 per million
    # tokens a response costs $1.20, so three cost $3.60, past the $2 cap.
    with_prices(env, tmp_path, max_cost_usd=2.0, per_mtok=10_000)
    run_id = implementing_run(env, remotes)
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Add multiply(a, b) to calc.py and keep the tests green.\n")
    steps = [
        run_command(ADD_MULTIPLY),
        run_command("python3 -m pytest -q"),
        say("Added multiply; tests pass.\nSTATUS: PASS"),
    ]
    with ScriptedModelServer(steps) as server:
        result = agent_step(env, run_id, prompt, server, "--success-state", "LOCAL_VALIDATING", "--json")  # fmt: skip
    assert result.returncode == 1, result.stderr
    step = json.loads(result.stdout)["agent"]
    assert step["grade"]["reason_code"] == "cost_cap_reached", step["grade"]
    assert step["cost_usd"] == pytest.approx(3.6)
    assert "past the $2.0000 the run had left" in step["grade"]["reasons"][0]
    record = show(env, run_id)
    assert record["state"] == "NEEDS_HUMAN_REVIEW"
    assert record["cost_usd"] == pytest.approx(3.6)
    shown = env.cli("show-run", "--run-id", run_id).stdout
    assert "$3.6000 of $2.00 cap" in shown

    # The run has spent its money: the next step does not start (no request reaches a model).
    env.cli("retry", "--run-id", run_id, "--target-state", "IMPLEMENTING")
    with ScriptedModelServer([say("STATUS: PASS")]) as server:
        again = agent_step(env, run_id, prompt, server, "--json")
        assert server.requests == []
    answer = json.loads(again.stdout)["agent"]
    assert answer["grade"]["reason_code"] == "cost_cap_reached"
    assert "no new agent step starts" in answer["grade"]["reasons"][0]
    assert show(env, run_id)["cost_usd"] == pytest.approx(3.6)


@pytest.mark.skipif(not CLAUDE.exists(), reason=f"claude is not installed at {CLAUDE}")
def test_a_claude_step_is_stopped_when_it_crosses_the_cap(
    env: Env, remotes: Remotes, tmp_path: Path
) -> None:
    """Claude Code reports each message's usage as it goes: agentpr stops the step there."""
    from tests.activities.test_agent_step_claude import configure

    # Each scripted message reports 10 input + 1 output tokens: $0.11 at $10,000 per million.
    with_prices(env, tmp_path, max_cost_usd=0.3, per_mtok=10_000)
    steps = [run_bash(f"echo step {n} && sleep 1") for n in range(8)]
    steps.append(claude_say("Done.\nSTATUS: PASS"))
    with ScriptedMessagesServer(steps) as server:
        configure(env, server, tmp_path / "claude-home")
        run_id = implementing_run(env, remotes)
        prompt = tmp_path / "prompt.md"
        prompt.write_text("Say hello.\n")
        result = env.cli(
            "run-agent-step", "--run-id", run_id, "--engine", "claude", "--prompt-file",
            str(prompt), "--skip-network-check", "--json", timeout=180,
        )  # fmt: skip
        answered = len([r for r in server.requests if "tools" in json.dumps(r)])
    step = json.loads(result.stdout)["agent"]
    assert step["grade"]["reason_code"] == "cost_cap_reached", step["grade"]
    assert "stopped at" in step["grade"]["reasons"][0]
    assert answered < len(steps)  # stopped before the script ran out
    report = json.loads(Path(step["report"]).read_text())
    assert report["stopped_at_cost_cap"] is True
    assert show(env, run_id)["state"] == "NEEDS_HUMAN_REVIEW"
    assert stray_processes(run_id) == []
