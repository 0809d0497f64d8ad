"""Where an agent step's grade moves the run (the previous tool's convergence)."""

from __future__ import annotations

from contracts import Verdict
from contracts.states import RunState, can_transition


def target_for_grade(state: RunState, verdict: Verdict, success_state: RunState | None) -> RunState:
    """PASS → the success state (or stay); HUMAN_REVIEW → NEEDS_HUMAN_REVIEW; RETRYABLE →
    FAILED_RETRYABLE. Where the table has no such edge (RETRYABLE in PLAN_READY), the nearest
    failure state it allows, else stay: the grade still records the verdict."""
    if verdict == Verdict.PASS:
        target = success_state or state
    elif verdict == Verdict.HUMAN_REVIEW:
        target = RunState.NEEDS_HUMAN_REVIEW
    else:
        target = RunState.FAILED_RETRYABLE
    if not can_transition(state, target):
        target = RunState.FAILED if can_transition(state, RunState.FAILED) else state
    return target


def parking_state(state: RunState) -> RunState | None:
    """Where an auto-mode step that failed (its retries spent) parks the run, so that `retry`
    takes it back; None when the table allows none of them."""
    for target in (RunState.FAILED_RETRYABLE, RunState.NEEDS_HUMAN_REVIEW, RunState.FAILED):
        if can_transition(state, target) and target != state:
            return target
    return None
