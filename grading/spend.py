"""The run's money cap over an agent step's grade: a step that crossed the cap (stopped, or
over it when Codex reported its usage at the end) or that nobody could price while a cap is
set goes to a person, whatever else it did — except a safety violation, which stays first."""

from __future__ import annotations

from contracts import ReasonCode, Verdict
from contracts.states import RunState
from grading.next_actions import next_action
from grading.rules import GradeOutcome


def grade_spend(
    outcome: GradeOutcome,
    cost_usd: float | None,
    cap_usd: float | None,
    stopped: bool,
    model: str | None,
    state: RunState,
) -> GradeOutcome:
    if cap_usd is None:
        return outcome
    if cost_usd is None:
        if outcome.verdict == Verdict.HUMAN_REVIEW:
            return outcome  # already a person's; the cap cannot be checked, said below
        code = ReasonCode.COST_UNPRICED
        headline = (
            f"the run has a money cap but the step could not be priced: no price for model "
            f"{model or '(the engine default)'} in the policy's prices"
        )
    elif stopped or cost_usd > cap_usd:
        code = ReasonCode.COST_CAP_REACHED
        how = "stopped at" if stopped else "ended at"
        headline = (
            f"the step {how} ${cost_usd:.4f}, past the ${cap_usd:.4f} the run had left "
            "under its money cap"
        )
    else:
        return outcome
    if outcome.reason_code == ReasonCode.SAFETY_VIOLATION:
        return outcome.model_copy(update={"reasons": [*outcome.reasons, headline]})
    return GradeOutcome(
        verdict=Verdict.HUMAN_REVIEW,
        reason_code=code,
        next_action=next_action(Verdict.HUMAN_REVIEW, code, state),
        reasons=[headline, *outcome.reasons],
    )
