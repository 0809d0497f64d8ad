"""One run's facts as insight counts them, derived once from its record: when it reached which
state and for how long it stayed, whether it pushed, when its PR opened, merged or closed, what
its agent steps cost.

Cost: `RunRecord.cost_usd`, priced from the policy's price table; a run whose steps nobody
could price is "not priced" and insight shows its tokens instead. Landed: the check the run
makes once its PR closes (`RunRecord.landed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.run import RunRecord
from contracts.states import RunState

# The commands after which a run has a PR on GitHub (opened by agentpr, or linked by a person).
PR_OPENING_COMMANDS = frozenset({"approve-open-pr", "link-pr"})
# GitHub's close of the PR (webhook or polling), merged (→ DONE) or not.
PR_CLOSED_COMMAND = "github:pr_closed"
# How a stopped run's last command reads as its reason, where the command alone says little.
_STOPPED_BY = {PR_CLOSED_COMMAND: "PR closed unmerged"}


def run_cost_usd(record: RunRecord) -> float | None:
    """What the run's agent steps cost in US dollars; None: not priced."""
    if record.cost_usd == 0 and record.unpriced_agent_steps:
        return None
    return record.cost_usd


def run_landed(record: RunRecord) -> bool | None:
    """Whether the change is on the default branch (None: not checked, or could not be)."""
    return record.landed.landed if record.landed is not None else None


@dataclass(slots=True)
class Stay:
    """A stretch of time the run spent in one state; `open` while it is still there."""

    state: RunState
    seconds: float
    open: bool = False


@dataclass(slots=True)
class Tokens:
    input: int = 0
    cached_input: int = 0
    output: int = 0
    reasoning_output: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output


@dataclass(slots=True)
class RunFacts:
    run_id: str
    repo: str
    campaign: str | None
    state: RunState
    created_at: datetime | None
    updated_at: datetime | None
    verdict: str | None
    reason_code: str | None
    pr_number: int | None
    pr_url: str | None
    pushed: bool
    pr_opened_at: datetime | None
    merged_at: datetime | None
    closed_at: datetime | None
    landed: bool | None
    cost_usd: float | None
    tokens: Tokens
    stays: list[Stay] = field(default_factory=list)
    # (stage label, seconds) per agent step the record remembers: its skill stages, else the
    # last agent step.
    agent_steps: list[tuple[str, float]] = field(default_factory=list)
    # Where the state changed: (when, the state entered), in order.
    changes: list[tuple[datetime, RunState]] = field(default_factory=list)
    # The command that moved the run to where it is.
    last_command: str | None = None

    @property
    def merged(self) -> bool:
        return self.merged_at is not None

    @property
    def failure_reason(self) -> str | None:
        """Why a run that stopped short stopped: its grade's reason code, else the command
        that moved it there (a failed step, a closed PR)."""
        if self.state not in STOPPED_SHORT:
            return None
        if self.reason_code and self.verdict != "PASS":
            return self.reason_code
        if self.last_command:
            return _STOPPED_BY.get(self.last_command, self.last_command)
        return self.state.value


# Runs that ended, or wait, short of a merged PR because something went wrong or was refused.
STOPPED_SHORT: frozenset[RunState] = frozenset(
    {
        RunState.FAILED,
        RunState.FAILED_RETRYABLE,
        RunState.FAILED_TERMINAL,
        RunState.NEEDS_HUMAN_REVIEW,
        RunState.SKIPPED,
    }
)


def _pr_url(record: RunRecord) -> str | None:
    if record.pr_url:
        return record.pr_url
    if record.pr_number is not None and record.upstream_url is None:
        return f"https://github.com/{record.full_name}/pull/{record.pr_number}"
    return None


def run_facts(record: RunRecord, now: datetime) -> RunFacts:
    """Everything insight counts about one run, in one pass over its history."""
    facts = settled_facts(record)
    add_open_stay(facts, now)
    return facts


def add_open_stay(facts: RunFacts, now: datetime) -> None:
    """Add the stay the run is still in, counted up to `now`, to settled facts the caller owns
    (a run that ended in a final state has none). In place: `stats` does this for every kept
    run on every call."""
    if not facts.changes:
        return
    since, state = facts.changes[-1]
    if not state.is_terminal:
        facts.stays.append(Stay(state, max(0.0, (now - since).total_seconds()), open=True))


def settled_facts(record: RunRecord) -> RunFacts:
    """The run's facts without the stay it is still in: they do not change with the clock, so
    a finished run's can be kept (insight.finished_runs) and given their `now` when read."""
    stays: list[Stay] = []
    changes: list[tuple[datetime, RunState]] = []
    pushed = record.commit is not None
    opened_at = merged_at = closed_at = None
    last_command = None
    previous = None
    for transition in record.history:
        if previous is not None and transition.to_state != previous.to_state:
            stays.append(
                Stay(previous.to_state, max(0.0, (transition.at - previous.at).total_seconds()))
            )
        if previous is None or transition.to_state != previous.to_state:
            changes.append((transition.at, transition.to_state))
            last_command = transition.command
            previous = transition
        if transition.to_state == RunState.PUSHED:
            pushed = True
        if opened_at is None and transition.command in PR_OPENING_COMMANDS:
            opened_at = transition.at
        if transition.to_state == RunState.DONE and record.pr_number is not None:
            merged_at = merged_at or transition.at
        elif transition.command == PR_CLOSED_COMMAND and closed_at is None:
            closed_at = transition.at
    if opened_at is None and record.pr_number is not None:
        opened_at = record.updated_at  # linked before the history said how (old records)
    usage = record.last_agent_step.usage if record.last_agent_step else None
    tokens = (
        Tokens(
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens,
            usage.reasoning_output_tokens,
        )
        if usage
        else Tokens()
    )
    agent_steps = [(f"{o.stage}", o.duration_s) for o in record.stage_outcomes]
    if not agent_steps and record.last_agent_step is not None:
        agent_steps = [("agent step", record.last_agent_step.duration_s)]
    return RunFacts(
        run_id=record.run_id,
        repo=record.full_name,
        campaign=record.campaign,
        state=record.state,
        created_at=record.created_at or (record.history[0].at if record.history else None),
        updated_at=record.updated_at,
        verdict=record.grade.verdict.value if record.grade else None,
        reason_code=record.grade.reason_code if record.grade else None,
        pr_number=record.pr_number,
        pr_url=_pr_url(record),
        pushed=pushed,
        pr_opened_at=opened_at,
        merged_at=merged_at,
        closed_at=closed_at,
        landed=run_landed(record),
        cost_usd=run_cost_usd(record),
        tokens=tokens,
        stays=stays,
        agent_steps=agent_steps,
        changes=changes,
        last_command=last_command,
    )
