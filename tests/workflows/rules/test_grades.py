"""Where a grade moves a run, and where a failed auto step parks it."""

from __future__ import annotations

import pytest

from contracts import Verdict
from contracts.states import RunState
from workflows.rules.grades import parking_state, target_for_grade

S = RunState
V = Verdict


@pytest.mark.parametrize(
    ("state", "verdict", "success", "expected"),
    [
        (S.IMPLEMENTING, V.PASS, S.LOCAL_VALIDATING, S.LOCAL_VALIDATING),
        (S.IMPLEMENTING, V.PASS, None, S.IMPLEMENTING),
        (S.IMPLEMENTING, V.HUMAN_REVIEW, S.LOCAL_VALIDATING, S.NEEDS_HUMAN_REVIEW),
        (S.IMPLEMENTING, V.RETRYABLE, None, S.FAILED_RETRYABLE),
        (S.PLAN_READY, V.RETRYABLE, None, S.FAILED),  # no FAILED_RETRYABLE edge there
        (S.EXECUTING, V.RETRYABLE, None, S.FAILED),
        (S.DISCOVERY, V.PASS, S.PLAN_READY, S.PLAN_READY),
        (S.NEEDS_HUMAN_REVIEW, V.HUMAN_REVIEW, None, S.NEEDS_HUMAN_REVIEW),
    ],
)
def test_target_for_grade(
    state: RunState, verdict: Verdict, success: RunState | None, expected: RunState
) -> None:
    assert target_for_grade(state, verdict, success) == expected


@pytest.mark.parametrize(
    ("state", "parked"),
    [
        (S.DISCOVERY, S.FAILED_RETRYABLE),
        (S.IMPLEMENTING, S.FAILED_RETRYABLE),
        (S.PLAN_READY, S.NEEDS_HUMAN_REVIEW),
        (S.PUSHED, S.NEEDS_HUMAN_REVIEW),
        (S.QUEUED, S.FAILED),
        (S.DONE, None),
    ],
)
def test_parking_state(state: RunState, parked: RunState | None) -> None:
    assert parking_state(state) == parked
