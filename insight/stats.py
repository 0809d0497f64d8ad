"""`agentpr stats`: over many runs — pass rate and verdicts, the reason codes that come back,
where the time goes (p50/p95 of every stay in each state, of each agent stage), the funnel and
the cost per run and per merged PR. The previous tool's `get-global-stats` and
`run-bottlenecks`, over Temporal's records."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from contracts.states import RunState
from insight.facts import RunFacts


class ReasonCount(BaseModel):
    reason: str
    runs: int
    verdict: str | None = None


class StepTiming(BaseModel):
    """How long runs spend in one step (a state, or an agent stage). `open` stays are runs
    still there, counted up to now: a step runs wait in for days shows as such."""

    step: str
    stays: int
    open: int = 0
    p50_s: float
    p95_s: float
    total_s: float


class Funnel(BaseModel):
    targeted: int = 0
    skipped: int = 0
    pushed: int = 0
    pr_opened: int = 0
    merged: int = 0
    closed_unmerged: int = 0
    # None while no run has had its landing checked (no PR of the campaign closed yet).
    landed: int | None = None


class CostSummary(BaseModel):
    """Money where records are priced (`cost_usd`), tokens always (the last agent step's usage
    each run remembers)."""

    priced_runs: int = 0
    total_usd: float | None = None
    per_run_usd: float | None = None
    per_merged_pr_usd: float | None = None
    tokens_total: int = 0
    tokens_per_run: float | None = None
    tokens_per_merged_pr: float | None = None
    note: str = ""


class InsightStats(BaseModel):
    runs: int
    campaign: str | None = None
    since: datetime | None = None
    states: dict[str, int] = Field(default_factory=dict)
    graded: int = 0
    pass_rate: float | None = None
    verdicts: dict[str, int] = Field(default_factory=dict)
    top_reasons: list[ReasonCount] = Field(default_factory=list)
    stopped_short: list[ReasonCount] = Field(default_factory=list)
    steps: list[StepTiming] = Field(default_factory=list)
    agent_steps: list[StepTiming] = Field(default_factory=list)
    funnel: Funnel = Field(default_factory=Funnel)
    cost: CostSummary = Field(default_factory=CostSummary)


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def step_timings(stays: dict[str, list[float]], open_stays: Counter[str]) -> list[StepTiming]:
    rows = []
    for step, seconds in stays.items():
        seconds.sort()
        rows.append(
            StepTiming(
                step=step,
                stays=len(seconds),
                open=open_stays[step],
                p50_s=round(percentile(seconds, 0.5), 1),
                p95_s=round(percentile(seconds, 0.95), 1),
                total_s=round(sum(seconds), 1),
            )
        )
    return sorted(rows, key=lambda row: row.total_s, reverse=True)


def funnel_of(runs: list[RunFacts]) -> Funnel:
    landed = [run.landed for run in runs if run.landed is not None]
    return Funnel(
        targeted=len(runs),
        skipped=sum(run.state == RunState.SKIPPED for run in runs),
        pushed=sum(run.pushed for run in runs),
        pr_opened=sum(run.pr_opened_at is not None for run in runs),
        merged=sum(run.merged for run in runs),
        closed_unmerged=sum(run.closed_at is not None and not run.merged for run in runs),
        landed=sum(landed) if landed else None,
    )


def cost_of(runs: list[RunFacts], merged: int) -> CostSummary:
    priced = [run.cost_usd for run in runs if run.cost_usd is not None]
    tokens = sum(run.tokens.total for run in runs)
    total = round(sum(priced), 4) if priced else None
    return CostSummary(
        priced_runs=len(priced),
        total_usd=total,
        per_run_usd=round(total / len(priced), 4) if total is not None else None,
        per_merged_pr_usd=round(total / merged, 4) if total is not None and merged else None,
        tokens_total=tokens,
        tokens_per_run=round(tokens / len(runs), 1) if runs else None,
        tokens_per_merged_pr=round(tokens / merged, 1) if merged else None,
        note=(
            ""
            if len(priced) == len(runs)
            else "not priced: runs record tokens, not money"
            if not priced
            else f"{len(runs) - len(priced)} of {len(runs)} runs not priced"
        ),
    )


def summarize(
    facts: Iterable[RunFacts],
    *,
    campaign: str | None = None,
    since: datetime | None = None,
    top: int = 5,
) -> InsightStats:
    runs = list(facts)
    verdicts: Counter[str] = Counter()
    reasons: Counter[tuple[str, str]] = Counter()
    stopped: Counter[str] = Counter()
    # Keyed by the state itself, named at the end: `.value` on 40,000 stays costs more than
    # the rest of the loop.
    stays: dict[RunState, list[float]] = defaultdict(list)
    open_stays: Counter[RunState] = Counter()
    agent: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        verdicts[run.verdict or "ungraded"] += 1
        if run.verdict is not None and run.reason_code:
            reasons[(run.verdict, run.reason_code)] += 1
        why = run.failure_reason
        if why is not None:
            stopped[why] += 1
        for stay in run.stays:
            stays[stay.state].append(stay.seconds)
            if stay.open:
                open_stays[stay.state] += 1
        for stage, seconds in run.agent_steps:
            agent[stage].append(seconds)
    graded = len(runs) - verdicts.get("ungraded", 0)
    funnel = funnel_of(runs)
    return InsightStats(
        runs=len(runs),
        campaign=campaign,
        since=since,
        states={state.value: n for state, n in Counter(run.state for run in runs).most_common()},
        graded=graded,
        pass_rate=round(verdicts.get("PASS", 0) / graded, 3) if graded else None,
        verdicts=dict(verdicts.most_common()),
        top_reasons=[
            ReasonCount(reason=code, verdict=verdict, runs=n)
            for (verdict, code), n in reasons.most_common(top)
        ],
        stopped_short=[ReasonCount(reason=r, runs=n) for r, n in stopped.most_common(top)],
        steps=step_timings(
            {state.value: seconds for state, seconds in stays.items()},
            Counter({state.value: n for state, n in open_stays.items()}),
        ),
        agent_steps=step_timings(agent, Counter()),
        funnel=funnel,
        cost=cost_of(runs, funnel.merged),
    )
