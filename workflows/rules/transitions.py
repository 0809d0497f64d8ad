"""May a command apply, and the one way a transition changes the record."""

from __future__ import annotations

from datetime import datetime

from contracts import (
    Actor,
    CheckConclusion,
    Refusal,
    ReviewState,
    RunRecord,
    Transition,
)
from contracts.states import RunState, can_transition, describe_allowed
from workflows.rules.refusal import Refused
from workflows.states import AGENT_STEP_ALLOWED, WORKSPACE_PREPARED_FROM

# GitHub's check conclusions: passing ones move a run on to review, failing ones to iteration;
# `stale` is recorded only.
CHECK_PASSING = frozenset(
    {CheckConclusion.SUCCESS, CheckConclusion.NEUTRAL, CheckConclusion.SKIPPED}
)
CHECK_FAILING = frozenset(
    {
        CheckConclusion.FAILURE,
        CheckConclusion.TIMED_OUT,
        CheckConclusion.CANCELLED,
        CheckConclusion.ACTION_REQUIRED,
    }
)


def busy_message(run_id: str, step: str | None) -> str:
    return f"run {run_id} is busy: {step} is in progress; try again when it finishes"


def refuse_acting(
    record: RunRecord, step: str | None, may_interrupt: bool = False
) -> Refused | None:
    """A finished run takes no command; a run with a step in progress takes none either,
    unless the command may interrupt it (pause stops an agent or an auto step)."""
    if record.state.is_terminal:
        return Refused(
            f"run {record.run_id} is finished ({record.state}); no command applies",
            Refusal.RUN_FINISHED,
        )
    if step is not None and not may_interrupt:
        return Refused(busy_message(record.run_id, step), Refusal.RUN_BUSY)
    return None


def refuse_transition(command: str, record: RunRecord, target: RunState) -> Refused | None:
    current = record.state
    if can_transition(current, target):
        return None
    return Refused(
        f"{command} refused: run {record.run_id} cannot go {current} -> {target}; "
        + describe_allowed(current),
        Refusal.ILLEGAL_TRANSITION,
    )


# Steps that change the PR branch: after a human takeover nobody asks agentpr for them again.
AUTOMATING = frozenset(
    {
        RunState.EXECUTING,
        RunState.DISCOVERY,
        RunState.PLAN_READY,
        RunState.IMPLEMENTING,
        RunState.LOCAL_VALIDATING,
        RunState.ITERATING,
    }
)


def refuse_after_takeover(command: str, record: RunRecord, target: RunState) -> Refused | None:
    if record.taken_over_by is None or target not in AUTOMATING:
        return None
    return Refused(
        f"{command} refused: {record.taken_over_by} took over PR #{record.pr_number} of run "
        f"{record.run_id} (pushed a commit agentpr did not); agentpr no longer changes it",
        Refusal.HUMAN_TOOK_OVER,
    )


def refuse_resume(record: RunRecord) -> Refused | None:
    if record.state == RunState.PAUSED:
        return None
    return Refused(
        f"run {record.run_id} is not paused (state {record.state}); resume applies "
        "to PAUSED runs — use retry to move a failed run",
        Refusal.ILLEGAL_TRANSITION,
    )


def refuse_unprepared(command: str, record: RunRecord) -> Refused | None:
    if record.workspace is not None:
        return None
    return Refused(
        f"{command} refused: run {record.run_id} has no workspace yet; run "
        "`agentpr run-prepare` first",
        Refusal.NOT_PREPARED,
    )


def refuse_prepare(record: RunRecord) -> Refused | None:
    if record.state in WORKSPACE_PREPARED_FROM:
        return None
    return Refused(
        f"run-prepare refused: run {record.run_id} is {record.state}; the workspace "
        "is prepared from QUEUED or DISCOVERY",
        Refusal.ILLEGAL_TRANSITION,
    )


def refuse_agent_step(record: RunRecord, success_state: RunState | None) -> Refused | None:
    state = record.state
    if state not in AGENT_STEP_ALLOWED:
        return Refused(
            f"run-agent-step refused: run {record.run_id} is {state}; agent steps run in "
            "DISCOVERY, PLAN_READY, IMPLEMENTING, LOCAL_VALIDATING, ITERATING, EXECUTING or "
            "NEEDS_HUMAN_REVIEW",
            Refusal.ILLEGAL_TRANSITION,
        )
    if success_state is not None and not can_transition(state, success_state):
        return Refused(
            f"run-agent-step refused: --success-state {success_state} cannot follow "
            f"{state}; " + describe_allowed(state),
            Refusal.ILLEGAL_TRANSITION,
        )
    return None


def refuse_other_pr(record: RunRecord, pr_number: int | None) -> Refused | None:
    linked = record.pr_number
    if pr_number is not None and linked is not None and pr_number != linked:
        return Refused(
            f"run {record.run_id} tracks PR #{linked}, not #{pr_number}", Refusal.PR_MISMATCH
        )
    return None


def refuse_reconcile(record: RunRecord) -> Refused | None:
    if record.pr_number is None:
        return Refused(f"run {record.run_id} has no PR to reconcile", Refusal.NO_PR)
    return None


def check_target(record: RunRecord, conclusion: CheckConclusion) -> RunState:
    """Where `record-check` moves the run: on to review, back to iteration, or nowhere."""
    if conclusion in CHECK_PASSING:
        return RunState.REVIEW_WAIT
    if conclusion in CHECK_FAILING:
        return RunState.ITERATING
    return record.state  # stale: recorded, no move


def review_target(record: RunRecord, review_state: ReviewState) -> RunState:
    if review_state == ReviewState.CHANGES_REQUESTED:
        return RunState.ITERATING
    return record.state  # approval or comment: recorded; the merge moves the run


def record_transition(
    record: RunRecord,
    command: str,
    by: Actor,
    reason: str | None,
    target: RunState,
    now: datetime,
) -> RunState:
    """Append the transition and move the record; returns the state it left. The only place
    a run's state changes."""
    source = record.state
    record.history.append(
        Transition(
            from_state=source, to_state=target, by=by, at=now, command=command, reason=reason
        )
    )
    if target == RunState.PAUSED and source != RunState.PAUSED:
        record.paused_from = source
    elif target != RunState.PAUSED:
        record.paused_from = None
    record.state = target
    record.updated_at = now
    return source
