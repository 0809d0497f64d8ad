"""The run's 17 states and exactly the transitions of the previous tool (its seed README says
"15 states"; its own table names 17: 14 working states and 3 terminal ones).

Pure: no Temporal, no I/O. The workflows, grading (for next-action texts) and the doors (for
refusals and menus) all ask this module; which states a rule treats alike is
`workflows/states.py`.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "QUEUED"
    EXECUTING = "EXECUTING"
    DISCOVERY = "DISCOVERY"
    PLAN_READY = "PLAN_READY"
    IMPLEMENTING = "IMPLEMENTING"
    LOCAL_VALIDATING = "LOCAL_VALIDATING"
    PUSHED = "PUSHED"
    CI_WAIT = "CI_WAIT"
    REVIEW_WAIT = "REVIEW_WAIT"
    ITERATING = "ITERATING"
    PAUSED = "PAUSED"
    NEEDS_HUMAN_REVIEW = "NEEDS_HUMAN_REVIEW"
    FAILED = "FAILED"
    FAILED_RETRYABLE = "FAILED_RETRYABLE"
    DONE = "DONE"
    SKIPPED = "SKIPPED"
    FAILED_TERMINAL = "FAILED_TERMINAL"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


S = RunState

TERMINAL_STATES: frozenset[RunState] = frozenset({S.DONE, S.SKIPPED, S.FAILED_TERMINAL})

ALLOWED_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    S.QUEUED: frozenset(
        {S.EXECUTING, S.DISCOVERY, S.PAUSED, S.SKIPPED, S.FAILED, S.FAILED_TERMINAL}
    ),
    S.EXECUTING: frozenset({S.PUSHED, S.PAUSED, S.FAILED, S.NEEDS_HUMAN_REVIEW}),
    S.DISCOVERY: frozenset(
        {
            S.PLAN_READY,
            S.PAUSED,
            S.SKIPPED,
            S.FAILED,
            S.FAILED_RETRYABLE,
            S.FAILED_TERMINAL,
            S.NEEDS_HUMAN_REVIEW,
        }
    ),
    S.PLAN_READY: frozenset({S.IMPLEMENTING, S.PAUSED, S.SKIPPED, S.FAILED, S.NEEDS_HUMAN_REVIEW}),
    S.IMPLEMENTING: frozenset(
        {
            S.LOCAL_VALIDATING,
            S.PAUSED,
            S.FAILED,
            S.FAILED_RETRYABLE,
            S.FAILED_TERMINAL,
            S.NEEDS_HUMAN_REVIEW,
        }
    ),
    S.LOCAL_VALIDATING: frozenset(
        {S.PUSHED, S.PAUSED, S.FAILED, S.FAILED_RETRYABLE, S.FAILED_TERMINAL, S.NEEDS_HUMAN_REVIEW}
    ),
    S.PUSHED: frozenset({S.CI_WAIT, S.PAUSED, S.FAILED, S.NEEDS_HUMAN_REVIEW, S.DONE}),
    S.CI_WAIT: frozenset(
        {
            S.REVIEW_WAIT,
            S.ITERATING,
            S.PAUSED,
            S.FAILED,
            S.FAILED_RETRYABLE,
            S.FAILED_TERMINAL,
            S.NEEDS_HUMAN_REVIEW,
        }
    ),
    S.REVIEW_WAIT: frozenset(
        {S.ITERATING, S.PAUSED, S.DONE, S.FAILED, S.FAILED_RETRYABLE, S.NEEDS_HUMAN_REVIEW}
    ),
    S.ITERATING: frozenset(
        {
            S.IMPLEMENTING,
            S.LOCAL_VALIDATING,
            S.PAUSED,
            S.FAILED,
            S.FAILED_RETRYABLE,
            S.FAILED_TERMINAL,
            S.NEEDS_HUMAN_REVIEW,
        }
    ),
    S.PAUSED: frozenset(
        {
            S.DISCOVERY,
            S.PLAN_READY,
            S.IMPLEMENTING,
            S.LOCAL_VALIDATING,
            S.PUSHED,
            S.CI_WAIT,
            S.REVIEW_WAIT,
            S.ITERATING,
            S.EXECUTING,
            S.NEEDS_HUMAN_REVIEW,
            S.FAILED,
            S.SKIPPED,
            S.FAILED_TERMINAL,
        }
    ),
    S.NEEDS_HUMAN_REVIEW: frozenset(
        {
            S.EXECUTING,
            S.IMPLEMENTING,
            S.ITERATING,
            S.PAUSED,
            S.FAILED,
            S.SKIPPED,
            S.DONE,
            S.FAILED_TERMINAL,
        }
    ),
    S.FAILED: frozenset({S.EXECUTING, S.PAUSED, S.NEEDS_HUMAN_REVIEW, S.FAILED_TERMINAL}),
    S.FAILED_RETRYABLE: frozenset(
        {
            S.EXECUTING,
            S.DISCOVERY,
            S.IMPLEMENTING,
            S.LOCAL_VALIDATING,
            S.ITERATING,
            S.FAILED,
            S.NEEDS_HUMAN_REVIEW,
            S.SKIPPED,
            S.FAILED_TERMINAL,
        }
    ),
    S.DONE: frozenset(),
    S.SKIPPED: frozenset(),
    S.FAILED_TERMINAL: frozenset(),
}


def can_transition(current: RunState, target: RunState) -> bool:
    """Whether `target` may follow `current`. Same-state is a recorded no-op, except from a
    terminal state, where nothing applies any more."""
    if current.is_terminal:
        return False
    return target == current or target in ALLOWED_TRANSITIONS[current]


def allowed_from(current: RunState) -> list[RunState]:
    """Targets from `current`, in the table's (declaration) order, for messages and menus."""
    allowed = ALLOWED_TRANSITIONS[current]
    return [s for s in RunState if s in allowed]


def describe_allowed(current: RunState) -> str:
    targets = allowed_from(current)
    if not targets:
        return f"{current} is terminal; no transition is allowed"
    return f"allowed from {current}: " + ", ".join(targets)


def path_to(current: RunState, target: RunState) -> list[RunState]:
    """The shortest chain of legal transitions from `current` to `target` (excluding
    `current`); empty when already there or unreachable. Used when GitHub reports a fact that
    skips states, e.g. a PR merged while its run still waits for CI."""
    if current == target:
        return []
    frontier: list[list[RunState]] = [[current]]
    seen = {current}
    while frontier:
        chain = frontier.pop(0)
        for step in allowed_from(chain[-1]):
            if step in seen:
                continue
            if step == target:
                return [*chain[1:], step]
            seen.add(step)
            # Never route through PAUSED or a terminal state on the way.
            if step != RunState.PAUSED and not step.is_terminal:
                frontier.append([*chain, step])
    return []
