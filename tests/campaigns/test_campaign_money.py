"""A campaign's money cap, end to end: the REAL Codex CLI against the scripted model server
(which reports token usage as the real API does), agent steps priced from the policy's price
table, the worker, real git, `campaign apply -f`, and the Telegram bot as a real process
against the loopback Bot API. Past the cap the campaign starts no new run, its runs start no
new agent step, and the operator is told; given more money (`campaign apply -f` with a higher
cap) it goes on."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from standins.model_server import ScriptedModelServer, run_command, say
from standins.telegram_api import FakeTelegram
from tests.agent_steps import ADD_MULTIPLY, CODEX, codex_worker
from tests.campaign_steps import local_repos, wait_for
from tests.operator_steps import ok, refused, show, wait_for_state
from tests.run_env import Env, agentpr_command, new_run_id

BOT_TOKEN = "123456:TestBotTokenSecretValue"
OPERATOR = 111


@contextmanager
def telegram_bot(env: Env, telegram: FakeTelegram) -> Iterator[None]:
    """`agentpr run-telegram-bot` against the loopback Bot API: it hosts the notify queue and
    sends each notification to the operator's chat."""
    environ = {
        **env.environ,
        "AGENTPR_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "AGENTPR_TELEGRAM_API_URL": telegram.base_url,
    }
    with open(env.settings.home / "bot.log", "w") as log:
        process = subprocess.Popen(
            [*agentpr_command(), "run-telegram-bot", "--allow-chat-id", str(OPERATOR)],
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            process.terminate()
            process.wait(20)


def priced_policy(tmp_path: Path, per_mtok: float) -> Path:
    """Every model costs `per_mtok` dollars per million tokens, in and out; no run cap."""
    policy = tmp_path / "manager_policy.json"
    price = {"input_per_mtok": per_mtok, "output_per_mtok": per_mtok}
    policy.write_text(json.dumps({"defaults": {"prices": {"*": price}}}))
    return policy


def campaign_spec(
    path: Path, name: str, repos: Path, prompt: Path, server: ScriptedModelServer, cap: float
) -> Path:
    overrides = [arg for arg in server.codex_args() if arg != "-c"]
    path.write_text(
        f"""\
name: {name}
targets: {{repos_file: {repos}}}
prompt_file: {prompt}
engine: codex
codex_config: {json.dumps(overrides)}
validation_command: "python3 -m pytest -q"
skip_network_check: true
commit: {{title: "feat: add multiply"}}
rollout: {{max_parallel: 1}}
budget: {{max_cost_usd: {cap}}}
"""
    )
    return path


@pytest.mark.skipif(not CODEX.exists(), reason=f"codex is not installed at {CODEX}")
def test_a_campaign_past_its_money_cap_starts_no_new_agent_step_until_given_more(
    env: Env, tmp_path: Path
) -> None:
    codex_worker(env, tmp_path)
    # Each scripted response reports 100 input + 20 output tokens: at $10,000 per million
    # tokens a response costs $1.20, so the first run's two cost $2.40, past the $2 cap.
    env.reconfigure(policy_file_override=priced_policy(tmp_path, per_mtok=10_000))
    env.extra["AGENTPR_TELEGRAM_BOT_TOKEN"] = BOT_TOKEN  # a bot is configured: notify
    repos = local_repos(tmp_path / "git", 2)
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Add multiply(a, b) to calc.py and keep the tests green.\n")
    name = f"money-{new_run_id()[-6:]}"
    first, second = f"{name}.demo.calc0", f"{name}.demo.calc1"
    spent = "the campaign has spent $2.40 of its $2.00 cap"
    one_run = [run_command(ADD_MULTIPLY), say("Added multiply; tests pass.\nSTATUS: PASS")]
    with (
        FakeTelegram(BOT_TOKEN) as telegram,
        telegram_bot(env, telegram),
        ScriptedModelServer(one_run * 2) as server,
    ):
        spec = campaign_spec(tmp_path / "wave.yaml", name, repos, prompt, server, cap=2)
        ok(env.cli("campaign", "apply", "-f", str(spec), "--json", timeout=120))
        # The first run's step crossed the cap; the run goes on to PUSHED (its step had
        # finished), and then nothing works: the cap holds the second back (without it that
        # run would start as the first one stops working).
        shown = wait_for(env, name, lambda s: s["active"] == 0, timeout=180)
        assert shown["money_spent"] == spent
        assert shown["cost_usd"] == pytest.approx(2.4)
        assert shown["counts"] == {"PUSHED": 1, "NOT_STARTED": 1}, shown["runs"]
        assert [run["run_id"] for run in shown["runs"]] == [first]
        text = ok(env.cli("campaign", "show", "--name", name))
        assert f"money spent: {spent}" in text and "cost so far $2.40" in text
        # Never started: no run, so no agent step.
        assert "no run with id" in refused(env.cli("show-run", "--run-id", second))
        (told,) = telegram.wait_for_sent(1, chat_id=OPERATOR, timeout=60)
        assert told["text"] == f"campaign {name}: {spent}"

        record = show(env, first)
        assert record["cost_usd"] == pytest.approx(2.4)
        assert record["campaign_money_spent"] == spent
        assert "$2.4000" in ok(env.cli("show-run", "--run-id", first))
        asked = len(server.requests)
        assert asked == len(one_run)

        # The run was mid-way when the cap came: taken back to implementing, it starts no new
        # agent step (no request reaches the model) and waits for a person.
        ok(env.cli("pause", "--run-id", first))
        ok(env.cli("resume", "--run-id", first, "--target-state", "IMPLEMENTING"))
        record = wait_for_state(
            env, first, {"NEEDS_HUMAN_REVIEW", "LOCAL_VALIDATING", "PUSHED", "FAILED_RETRYABLE"}
        )
        assert record["state"] == "NEEDS_HUMAN_REVIEW"
        assert len(server.requests) == asked
        grade = record["grade"]
        assert grade["reason_code"] == "cost_cap_reached", grade
        assert grade["reasons"] == [f"campaign {name}: {spent}: no new agent step starts"]
        assert grade["next_action"].startswith(
            f"the campaign's money is spent (agentpr campaign show --name {name})"
        )
        assert record["cost_usd"] == pytest.approx(2.4)
        needs_human = telegram.wait_for_sent(2, chat_id=OPERATOR, timeout=60)[-1]["text"]
        assert needs_human.startswith(f"🙋 {first} (demo/calc0) needs a human")
        assert "cost_cap_reached" in needs_human and "campaign's money is spent" in needs_human
        # The run no longer works by itself, and still no other run starts.
        after = wait_for(env, name, lambda s: "NEEDS_HUMAN_REVIEW" in s["counts"], timeout=60)
        assert after["counts"] == {"NEEDS_HUMAN_REVIEW": 1, "NOT_STARTED": 1}
        assert after["cost_usd"] == pytest.approx(2.4)

        # More money: the spec again with a $10 cap. The dry run says the stop lifts; applied,
        # the second repository's run starts and its agent step runs ($4.80 in all), and the
        # first run may start agent steps again.
        campaign_spec(spec, name, repos, prompt, server, cap=10)
        lifts = "budget.max_cost_usd $2.00 → $10.00: the money stop lifts ($2.40 spent)"
        preview = apply_json(env, spec, "--dry-run")
        assert preview["money"].startswith(lifts) and not preview["applied"]
        assert apply_json(env, spec)["money_restored"]
        assert told_after(telegram, f"campaign {name}: {lifts}; runs start again")
        shown = wait_for(env, name, lambda s: s["counts"].get("PUSHED") == 1, timeout=180)
        assert shown["counts"] == {"NEEDS_HUMAN_REVIEW": 1, "PUSHED": 1}
        assert shown["money_spent"] is None and shown["cost_usd"] == pytest.approx(4.8)
        text = ok(env.cli("campaign", "show", "--name", name))
        assert "money spent" not in text and "cost so far $4.80" in text
        assert len(server.requests) == 2 * asked
        assert show(env, first)["campaign_money_spent"] is None


def apply_json(env: Env, spec: Path, *flags: str) -> dict:
    return json.loads(
        ok(env.cli("campaign", "apply", "-f", str(spec), *flags, "--json", timeout=120))
    )


def told_after(telegram: FakeTelegram, text: str, timeout: float = 60) -> bool:
    """Whether the operator is told `text` (other news may come before it)."""
    deadline = time.monotonic() + timeout
    seen = 1
    while time.monotonic() < deadline:
        sent = telegram.wait_for_sent(seen, chat_id=OPERATOR, timeout=deadline - time.monotonic())
        if any(message["text"] == text for message in sent):
            return True
        seen = len(sent) + 1
    return False
