"""Which commands may apply, and what record-check / record-review move a run to."""

from __future__ import annotations

import pytest

from contracts import CheckConclusion, Refusal, ReviewState
from contracts.states import RunState
from tests.workflows.rules.records import NOW, record, workspace
from workflows.rules.transitions import (
    check_target,
    record_transition,
    refuse_acting,
    refuse_agent_step,
    refuse_other_pr,
    refuse_prepare,
    refuse_reconcile,
    refuse_resume,
    refuse_transition,
    refuse_unprepared,
    review_target,
)

S = RunState


@pytest.mark.parametrize(
    ("state", "step", "may_interrupt", "expected"),
    [
        (S.QUEUED, None, False, None),
        (S.DONE, None, False, Refusal.RUN_FINISHED),
        (S.SKIPPED, None, True, Refusal.RUN_FINISHED),
        (S.IMPLEMENTING, "run-agent-step", False, Refusal.RUN_BUSY),
        (S.IMPLEMENTING, "run-agent-step", True, None),
    ],
)
def test_refuse_acting(
    state: RunState, step: str | None, may_interrupt: bool, expected: Refusal | None
) -> None:
    refused = refuse_acting(record(state), step, may_interrupt)
    assert (refused.refusal if refused else None) == expected


def test_busy_names_the_step() -> None:
    refused = refuse_acting(record(S.DISCOVERY), "run-prepare")
    assert refused is not None
    assert refused.message == (
        "run r1 is busy: run-prepare is in progress; try again when it finishes"
    )


@pytest.mark.parametrize(
    ("state", "target", "allowed"),
    [
        (S.QUEUED, S.DISCOVERY, True),
        (S.QUEUED, S.LOCAL_VALIDATING, False),
        (S.PUSHED, S.CI_WAIT, True),
        (S.CI_WAIT, S.ITERATING, True),
        (S.PLAN_READY, S.FAILED_RETRYABLE, False),
        (S.DONE, S.DONE, False),
        (S.DISCOVERY, S.DISCOVERY, True),  # same state: a recorded no-op
    ],
)
def test_refuse_transition(state: RunState, target: RunState, allowed: bool) -> None:
    refused = refuse_transition("cmd", record(state), target)
    assert (refused is None) == allowed
    if refused is not None:
        assert refused.refusal == Refusal.ILLEGAL_TRANSITION
        assert refused.message.startswith(f"cmd refused: run r1 cannot go {state} -> {target}")


@pytest.mark.parametrize(
    ("conclusion", "expected"),
    [
        (CheckConclusion.SUCCESS, S.REVIEW_WAIT),
        (CheckConclusion.NEUTRAL, S.REVIEW_WAIT),
        (CheckConclusion.SKIPPED, S.REVIEW_WAIT),
        (CheckConclusion.FAILURE, S.ITERATING),
        (CheckConclusion.TIMED_OUT, S.ITERATING),
        (CheckConclusion.CANCELLED, S.ITERATING),
        (CheckConclusion.ACTION_REQUIRED, S.ITERATING),
        (CheckConclusion.STALE, S.CI_WAIT),
    ],
)
def test_check_target(conclusion: CheckConclusion, expected: RunState) -> None:
    assert check_target(record(S.CI_WAIT), conclusion) == expected


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        (ReviewState.CHANGES_REQUESTED, S.ITERATING),
        (ReviewState.APPROVED, S.REVIEW_WAIT),
        (ReviewState.COMMENTED, S.REVIEW_WAIT),
    ],
)
def test_review_target(review: ReviewState, expected: RunState) -> None:
    assert review_target(record(S.REVIEW_WAIT), review) == expected


@pytest.mark.parametrize(
    ("state", "success_state", "expected"),
    [
        (S.IMPLEMENTING, None, None),
        (S.NEEDS_HUMAN_REVIEW, None, None),
        (S.DISCOVERY, S.PLAN_READY, None),
        (S.IMPLEMENTING, S.PUSHED, Refusal.ILLEGAL_TRANSITION),  # no such edge
        (S.PUSHED, None, Refusal.ILLEGAL_TRANSITION),
        (S.CI_WAIT, None, Refusal.ILLEGAL_TRANSITION),
    ],
)
def test_refuse_agent_step(
    state: RunState, success_state: RunState | None, expected: Refusal | None
) -> None:
    refused = refuse_agent_step(record(state), success_state)
    assert (refused.refusal if refused else None) == expected


def test_small_refusals() -> None:
    assert refuse_resume(record(S.PAUSED)) is None
    assert "use retry" in (refuse_resume(record(S.FAILED)) or _no()).message
    assert (
        refuse_unprepared("run-finish", record(S.DISCOVERY)) or _no()
    ).refusal == Refusal.NOT_PREPARED
    assert refuse_unprepared("run-finish", record(S.DISCOVERY, workspace=workspace())) is None
    assert refuse_prepare(record(S.QUEUED)) is None
    assert (refuse_prepare(record(S.PLAN_READY)) or _no()).refusal == Refusal.ILLEGAL_TRANSITION
    assert (
        refuse_other_pr(record(S.CI_WAIT, pr_number=4), 5) or _no()
    ).refusal == Refusal.PR_MISMATCH
    assert refuse_other_pr(record(S.CI_WAIT, pr_number=4), 4) is None
    assert refuse_other_pr(record(S.CI_WAIT), 5) is None
    assert (refuse_reconcile(record(S.CI_WAIT)) or _no()).refusal == Refusal.NO_PR


def test_record_transition_keeps_where_a_pause_came_from() -> None:
    run = record(S.IMPLEMENTING)
    assert record_transition(run, "pause", "cli", None, S.PAUSED, NOW) == S.IMPLEMENTING
    assert (run.state, run.paused_from, run.history[-1].command) == (
        S.PAUSED,
        S.IMPLEMENTING,
        "pause",
    )
    record_transition(run, "pause", "cli", None, S.PAUSED, NOW)  # a repeat keeps it
    assert run.paused_from == S.IMPLEMENTING
    record_transition(run, "resume", "cli", "go", S.IMPLEMENTING, NOW)
    assert run.paused_from is None and run.history[-1].reason == "go"


def _no() -> object:
    raise AssertionError("expected a refusal")
