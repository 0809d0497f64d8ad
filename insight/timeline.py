"""`agentpr inspect-run`: one run's timeline — every applied command with how long the run then
stayed, its agent stages, what it cost, and what happens next (the previous tool's
`inspect-run`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from pydantic import BaseModel, Field

from contracts.run import RunRecord
from contracts.states import RunState
from insight.facts import run_facts
from insight.stats import CostSummary, StepTiming, cost_of, step_timings

S = RunState

# What moves a run on from a state when no grade says more (`<run>` is the run id).
_NEXT_BY_STATE: dict[RunState, str] = {
    S.QUEUED: "prepare the workspace: agentpr run-prepare --run-id <run> (auto mode: the worker does)",
    S.DISCOVERY: "run the discovery step: agentpr run-agent-step --run-id <run> --prompt-file <prompt.md>",
    S.PLAN_READY: "approve the plan: agentpr approve-plan --run-id <run>",
    S.IMPLEMENTING: "run the agent: agentpr run-agent-step --run-id <run> --prompt-file <prompt.md>",
    S.EXECUTING: "run the agent: agentpr run-agent-step --run-id <run> --prompt-file <prompt.md>",
    S.LOCAL_VALIDATING: "commit and push: agentpr run-finish --run-id <run>",
    S.PUSHED: "open the PR: agentpr request-open-pr --run-id <run>, then approve-open-pr",
    S.CI_WAIT: "wait for CI on the PR (GitHub moves the run)",
    S.REVIEW_WAIT: "wait for the maintainers' review and merge (GitHub moves the run)",
    S.ITERATING: "the agent fixes the failing check or requested changes (auto mode), or run-agent-step",
    S.PAUSED: "resume it: agentpr resume --run-id <run> --target-state <state>",
    S.NEEDS_HUMAN_REVIEW: "review the run, then agentpr retry --run-id <run> --target-state <state>",
    S.FAILED: "agentpr retry --run-id <run> --target-state NEEDS_HUMAN_REVIEW",
    S.FAILED_RETRYABLE: "agentpr retry --run-id <run> --target-state <the state that failed>",
    S.DONE: "nothing: the run is finished",
    S.SKIPPED: "nothing: the run was skipped",
    S.FAILED_TERMINAL: "nothing: the run failed for good",
}


class TimelineEntry(BaseModel):
    at: datetime
    command: str
    by: str
    from_state: str | None
    to_state: str
    reason: str | None = None
    # How long the run then stayed in `to_state` (until the next change, or until now while it
    # is still there: `open`); None for a recorded no-op or a terminal state.
    stayed_s: float | None = None
    open: bool = False


class RunTimeline(BaseModel):
    run_id: str
    repo: str
    campaign: str | None = None
    state: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    elapsed_s: float | None = None
    verdict: str | None = None
    reason_code: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    entries: list[TimelineEntry] = Field(default_factory=list)
    # Total time per state, most first: where this run's time went.
    time_by_state: list[StepTiming] = Field(default_factory=list)
    agent_steps: list[StepTiming] = Field(default_factory=list)
    agent_attempts: int = 0
    cost: CostSummary = Field(default_factory=CostSummary)
    next_action: str


def next_action(record: RunRecord) -> str:
    """The grade's advice while the run is where the grade left it, else the state's."""
    advice = _NEXT_BY_STATE[record.state]
    if record.grade is not None and not record.state.is_terminal:
        graded_at = record.grade.at
        moved_since = any(t.at > graded_at and t.to_state != t.from_state for t in record.history)
        if not moved_since:
            advice = record.grade.next_action
    return advice.replace("<run>", record.run_id)


def run_timeline(record: RunRecord, now: datetime) -> RunTimeline:
    facts = run_facts(record, now)
    # Each state change's stay, in order; no-ops (same state) get none.
    stays = iter(facts.stays)
    entries: list[TimelineEntry] = []
    for transition in record.history:
        entry = TimelineEntry(
            at=transition.at,
            command=transition.command,
            by=transition.by.value,
            from_state=transition.from_state.value if transition.from_state else None,
            to_state=transition.to_state.value,
            reason=transition.reason,
        )
        if transition.from_state != transition.to_state and not transition.to_state.is_terminal:
            stay = next(stays, None)
            if stay is not None:
                entry.stayed_s, entry.open = round(stay.seconds, 1), stay.open
        entries.append(entry)
    by_state: dict[str, list[float]] = defaultdict(list)
    still_in: Counter[str] = Counter()
    for stay in facts.stays:
        by_state[stay.state.value].append(stay.seconds)
        still_in[stay.state.value] += stay.open
    agent: dict[str, list[float]] = defaultdict(list)
    for stage, seconds in facts.agent_steps:
        agent[stage].append(seconds)
    start = facts.created_at
    end = now if not record.state.is_terminal else (record.updated_at or now)
    return RunTimeline(
        run_id=record.run_id,
        repo=record.full_name,
        campaign=record.campaign,
        state=record.state.value,
        created_at=start,
        updated_at=record.updated_at,
        elapsed_s=round((end - start).total_seconds(), 1) if start else None,
        verdict=facts.verdict,
        reason_code=facts.reason_code,
        pr_number=record.pr_number,
        pr_url=facts.pr_url,
        entries=entries,
        time_by_state=step_timings(by_state, still_in),
        agent_steps=step_timings(agent, Counter()),
        agent_attempts=record.agent_attempts,
        cost=cost_of([facts], merged=int(facts.merged)),
        next_action=next_action(record),
    )
