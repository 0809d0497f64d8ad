"""`agentpr stats`, `agentpr inspect-run` and `agentpr campaign report`: what runs did, read from
their records (the numbers come from insight/, pure; this module fetches and prints)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from common.errors import Refused, UsageError
from starter.cli import render
from starter.cli.options import JsonOption, RunIdOption

if TYPE_CHECKING:
    from insight.facts import RunFacts
    from insight.stats import InsightStats, StepTiming
    from insight.timeline import RunTimeline
    from starter.client import RunClient

CampaignFilterOption = Annotated[
    str | None, typer.Option("--campaign", help="Only the runs of this campaign.")
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Only runs created in this window: 30m, 12h, 7d, 2w."),
]


def _since(text: str | None, now: datetime) -> datetime | None:
    from insight.durations import parse_duration

    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ValueError as err:
        raise UsageError(f"--since: {err}") from None


def read_facts(campaign: str | None, since: datetime | None, now: datetime) -> list[RunFacts]:
    """What insight counts of every run (of the campaign, created since): runs Temporal cannot
    give a record for are counted on stderr, not silently dropped."""
    from starter.cli.invoke import with_runs

    async def action(runs: RunClient) -> Any:
        return await runs.read_facts(campaign=campaign, started_since=since, now=now)

    facts, unread = with_runs(action)
    if unread:
        run_id, why = next(iter(unread.items()))
        typer.echo(
            f"agentpr: {len(unread)} run(s) not counted (no record): {run_id}: {why}"
            + (" …" if len(unread) > 1 else ""),
            err=True,
        )
    return list(facts)


def stats(
    campaign: CampaignFilterOption = None,
    since: SinceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pass rate, verdicts, top reason codes, where the time goes (p50/p95 per state and agent
    stage), the funnel and cost per run and per merged PR."""
    from insight.stats import summarize

    now = datetime.now(UTC)
    window = _since(since, now)
    summary = summarize(read_facts(campaign, window, now), campaign=campaign, since=window)
    if as_json:
        render.print_json(summary)
        return
    print_stats(summary)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _timing_rows(rows: list[StepTiming], title: str) -> None:
    from insight.durations import spoken

    if not rows:
        return
    print(f"{title:<20} {'stays':>6} {'p50':>9} {'p95':>9} {'total':>9}")
    for row in rows:
        still = f"  ({row.open} still there)" if row.open else ""
        print(
            f"  {row.step:<18} {row.stays:>6} {spoken(row.p50_s):>9} {spoken(row.p95_s):>9} "
            f"{spoken(row.total_s):>9}{still}"
        )


def print_stats(summary: InsightStats) -> None:
    scope = f"campaign {summary.campaign}" if summary.campaign else "all runs"
    if summary.since is not None:
        scope += f" created since {summary.since:%Y-%m-%d %H:%M} UTC"
    print(f"{scope}: {summary.runs} runs")
    if not summary.runs:
        return
    print("  states    " + ", ".join(f"{k} {v}" for k, v in summary.states.items()))
    print(
        f"  pass rate {_pct(summary.pass_rate)} of {summary.graded} graded; verdicts "
        + ", ".join(f"{k} {v}" for k, v in summary.verdicts.items())
    )
    if summary.top_reasons:
        print(
            "  reasons   "
            + ", ".join(f"{r.reason} ({r.verdict}) {r.runs}" for r in summary.top_reasons)
        )
    if summary.stopped_short:
        print("  stopped   " + ", ".join(f"{r.reason} {r.runs}" for r in summary.stopped_short))
    f = summary.funnel
    landed = "-" if f.landed is None else str(f.landed)
    print(
        f"  funnel    targeted {f.targeted} → skipped {f.skipped} → pushed {f.pushed} → "
        f"PR opened {f.pr_opened} → merged {f.merged} → landed {landed} "
        f"(closed unmerged {f.closed_unmerged})"
    )
    print("  cost      " + describe_cost(summary.cost))
    _timing_rows(summary.steps, "time per state")
    _timing_rows(summary.agent_steps, "agent steps")


def describe_cost(cost: Any) -> str:
    if cost.total_usd is not None:
        money = (
            f"${cost.total_usd:.2f} total, ${cost.per_run_usd:.2f}/run"
            + (
                f", ${cost.per_merged_pr_usd:.2f}/merged PR"
                if cost.per_merged_pr_usd is not None
                else ""
            )
            + (f" ({cost.note})" if cost.note else "")
        )
    else:
        money = cost.note or "not priced"
    tokens = f"{cost.tokens_total:,} tokens"
    if cost.tokens_per_run is not None:
        tokens += f", {cost.tokens_per_run:,.0f}/run"
    if cost.tokens_per_merged_pr is not None:
        tokens += f", {cost.tokens_per_merged_pr:,.0f}/merged PR"
    return f"{money}; {tokens} (the last agent step of each run)"


def inspect_run(run_id: RunIdOption, as_json: JsonOption = False) -> None:
    """One run's timeline: every command with how long the run then stayed, time per state,
    agent stages, cost and the next action."""
    from insight.timeline import run_timeline
    from starter.cli.invoke import with_runs

    async def action(runs: RunClient) -> Any:
        return await runs.get_run(run_id)

    timeline = run_timeline(with_runs(action), datetime.now(UTC))
    if as_json:
        render.print_json(timeline)
        return
    print_timeline(timeline)


def print_timeline(t: RunTimeline) -> None:
    from insight.durations import spoken

    print(f"{t.run_id}  {t.repo}  state {t.state}  elapsed {spoken(t.elapsed_s)}")
    if t.verdict:
        print(f"  verdict {t.verdict} ({t.reason_code}), {t.agent_attempts} agent attempt(s)")
    if t.pr_number:
        print(f"  PR #{t.pr_number} {t.pr_url or ''}".rstrip())
    for entry in t.entries:
        move = (
            f"{entry.from_state} -> {entry.to_state}"
            if entry.from_state != entry.to_state
            else f"stays {entry.to_state}"
        )
        stayed = ""
        if entry.stayed_s is not None:
            stayed = f"  {spoken(entry.stayed_s)}" + (" so far" if entry.open else "")
        why = f"  ({entry.reason})" if entry.reason else ""
        print(f"  {entry.at:%Y-%m-%d %H:%M:%S}  {entry.command:<20} {move}{stayed}{why}")
    if t.time_by_state:
        print(
            "  time by state  "
            + ", ".join(f"{row.step} {spoken(row.total_s)}" for row in t.time_by_state)
        )
    if t.agent_steps:
        print(
            "  agent steps    "
            + ", ".join(f"{row.step} {spoken(row.total_s)} ({row.stays})" for row in t.agent_steps)
        )
    print(f"  cost           {describe_cost(t.cost)}")
    print(f"  next           {t.next_action}")


def campaign_report(
    name: str, out: Path, ui_url: str | None, as_json: bool, namespace: str | None = None
) -> None:
    from common.settings import Settings
    from insight.report import build_report

    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; name the HTML file to write")
    if not out.parent.exists():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    now = datetime.now(UTC)
    runs = read_facts(name, None, now)
    if not runs:
        raise Refused(f"campaign {name!r} has no runs to report (see `agentpr campaign list`)")
    settings = Settings.from_env()
    page, counts = build_report(
        name,
        runs,
        now,
        web_ui=ui_url,
        namespace=namespace or settings.temporal_namespace,
    )
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {out}: {err.strerror}") from None
    if as_json:
        render.print_json({"name": name, "out": str(out), "runs": len(runs), **counts})
        return
    sys.stdout.write(f"campaign {name}: {len(runs)} runs → {out}\n")


COMMANDS: dict[str, Callable[..., None]] = {
    "stats": stats,
    "inspect-run": inspect_run,
}
