"""Money: token usage priced from the policy's table, what a step spent as its stream goes by
(Claude's per-message usage counted once per message, Codex's per turn), and the cap over the
grade."""

from __future__ import annotations

import json

import pytest

from activities.step_spend import StepSpend, step_cost_usd
from contracts import ReasonCode, Verdict
from contracts.policy import ModelPrice, RunPolicy
from contracts.states import RunState
from contracts.steps import TokenUsage
from grading.rules import GradeOutcome
from grading.spend import grade_spend

PRICE = ModelPrice(input_per_mtok=1.25, cached_input_per_mtok=0.125, output_per_mtok=10)


def test_usage_is_priced_per_million_tokens_with_cached_input_cheaper() -> None:
    usage = TokenUsage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    assert usage.cost_usd(PRICE) == pytest.approx(0.75 + 0.05 + 1.0)
    plain = ModelPrice(input_per_mtok=2, output_per_mtok=8)
    assert usage.cost_usd(plain) == pytest.approx(2.0 + 0.8)  # cached input at the input price


def test_the_price_table_names_models_or_falls_back_to_any() -> None:
    policy = RunPolicy(
        prices={"gpt-5-codex": PRICE, "*": ModelPrice(input_per_mtok=3, output_per_mtok=15)}
    )
    assert policy.price_for("gpt-5-codex") == PRICE
    assert policy.price_for("other").input_per_mtok == 3  # type: ignore[union-attr]
    assert policy.price_for(None).input_per_mtok == 3  # type: ignore[union-attr]
    assert RunPolicy().price_for("gpt-5-codex") is None


def line(event: dict) -> bytes:  # type: ignore[type-arg]
    return (json.dumps(event) + "\n").encode()


def test_a_stream_s_spend_as_it_goes() -> None:
    spend = StepSpend(ModelPrice(input_per_mtok=1_000_000, output_per_mtok=1_000_000))
    usage = {"input_tokens": 3, "cache_read_input_tokens": 2, "output_tokens": 1}
    message = {"id": "msg_1", "usage": usage}
    # Claude: one assistant event per content block, the same message's usage on each.
    spend.feed(line({"type": "assistant", "message": message}))
    spend.feed(line({"type": "assistant", "message": message}))
    assert spend.spent_usd() == pytest.approx(6.0)
    spend.feed(line({"type": "assistant", "message": {**message, "id": "msg_2"}}))
    assert spend.spent_usd() == pytest.approx(12.0)
    # Codex: usage when a turn completes.
    spend.feed(line({"type": "turn.completed", "usage": {"input_tokens": 4, "output_tokens": 1}}))
    assert spend.spent_usd() == pytest.approx(17.0)
    spend.feed(b'not json but has "usage"\n')
    spend.feed(line({"type": "item.completed", "item": {"type": "command_execution"}}))
    assert spend.spent_usd() == pytest.approx(17.0)


def test_without_a_price_the_engine_s_own_figure_counts() -> None:
    spend = StepSpend(None)
    spend.feed(line({"type": "assistant", "message": {"id": "m", "usage": {"input_tokens": 9}}}))
    assert spend.spent_usd() is None
    spend.feed(line({"type": "result", "subtype": "success", "total_cost_usd": 0.42}))
    assert spend.spent_usd() == 0.42
    assert step_cost_usd(TokenUsage(input_tokens=10), None, 0.42) == 0.42
    assert step_cost_usd(TokenUsage(input_tokens=10), None, None) is None


PASS = GradeOutcome(verdict=Verdict.PASS, reason_code=ReasonCode.TESTS_PASSED, next_action="n")
SAFETY = GradeOutcome(
    verdict=Verdict.HUMAN_REVIEW, reason_code=ReasonCode.SAFETY_VIOLATION, next_action="n",
    reasons=["rm -rf /"],
)  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "cost", "cap", "stopped", "code"),
    [
        (PASS, 1.0, None, False, ReasonCode.TESTS_PASSED),  # no cap
        (PASS, 1.0, 2.0, False, ReasonCode.TESTS_PASSED),  # under it
        (PASS, 2.5, 2.0, False, ReasonCode.COST_CAP_REACHED),  # Codex: over at the end
        (PASS, 1.9, 2.0, True, ReasonCode.COST_CAP_REACHED),  # stopped at it
        (PASS, None, 2.0, False, ReasonCode.COST_UNPRICED),  # a cap nobody can check
        (SAFETY, 2.5, 2.0, False, ReasonCode.SAFETY_VIOLATION),  # safety stays first
    ],
)  # fmt: skip
def test_the_cap_over_the_grade(
    outcome: GradeOutcome, cost: float | None, cap: float | None, stopped: bool, code: str
) -> None:
    graded = grade_spend(outcome, cost, cap, stopped, "gpt-x", RunState.IMPLEMENTING)
    assert graded.reason_code == code
    if code != ReasonCode.TESTS_PASSED:
        assert graded.verdict == Verdict.HUMAN_REVIEW
    if outcome is SAFETY:
        assert "past the $2.0000" in graded.reasons[-1]
