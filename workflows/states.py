"""Every grouping of run states the workflows decide by, in one place.

The 17 states themselves and the previous tool's transition table are the vocabulary every
layer shares, so they live in `contracts/states.py`; which states a rule treats alike lives
here. Pure: no Temporal, no I/O. Each name says what the group is for, so two groups that
differ by one state cannot be taken for each other.
"""

from __future__ import annotations

from contracts.states import RunState

S = RunState

# GitHub's checks and reviews move a run only while it waits on them. (A merge or a close
# moves it from anywhere short of terminal, except PAUSED: the operator holds it.)
WAITING_ON_GITHUB: frozenset[RunState] = frozenset({S.CI_WAIT, S.REVIEW_WAIT})

# An agent step here changes code: a read-only sandbox cannot do it (preflight refuses), and
# the grade expects changes and passing tests. PLAN_READY because the agent implements from
# there; NEEDS_HUMAN_REVIEW because a step run from there is a fix-up after review.
STEP_CHANGES_CODE: frozenset[RunState] = frozenset(
    {
        S.PLAN_READY,
        S.IMPLEMENTING,
        S.ITERATING,
        S.LOCAL_VALIDATING,
        S.EXECUTING,
        S.NEEDS_HUMAN_REVIEW,
    }
)

# Where an agent step may run: exploring (DISCOVERY) or changing code.
AGENT_STEP_ALLOWED: frozenset[RunState] = frozenset({S.DISCOVERY, *STEP_CHANGES_CODE})

# Where `run-prepare` may (re)build the workspace.
WORKSPACE_PREPARED_FROM: frozenset[RunState] = frozenset({S.QUEUED, S.DISCOVERY})

# Runs that act by themselves (an agent or a validation step may be running or next): a
# campaign's --max-parallel gate counts these. Runs waiting on a human, on GitHub or failed
# do not count.
WORKING_BY_ITSELF: frozenset[RunState] = frozenset(
    {
        S.QUEUED,
        S.DISCOVERY,
        S.PLAN_READY,
        S.IMPLEMENTING,
        S.LOCAL_VALIDATING,
        S.EXECUTING,
        S.ITERATING,
    }
)

# What a campaign's pause holds: runs that would otherwise act by themselves or be moved by
# GitHub. Runs waiting for a human, or failed, are already still.
HELD_BY_CAMPAIGN_PAUSE: frozenset[RunState] = frozenset(
    {*WORKING_BY_ITSELF, S.CI_WAIT, S.REVIEW_WAIT}
)

# Where a campaign's retry applies.
RETRIED_BY_CAMPAIGN: frozenset[RunState] = frozenset({S.FAILED_RETRYABLE, S.FAILED})

# An auto-mode run drives itself from these; every other state is a gate it stops at.
AUTO_PLANS_FROM: frozenset[RunState] = frozenset({S.DISCOVERY, S.PLAN_READY})
AUTO_IMPLEMENTS_FROM: frozenset[RunState] = frozenset({S.IMPLEMENTING, S.EXECUTING})


def step_changes_code(state: RunState) -> bool:
    return state in STEP_CHANGES_CODE
