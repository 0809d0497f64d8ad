"""`agentpr campaign report`: one self-contained HTML page about a campaign — a burndown of runs
by state and of PRs open/merged/closed over time, the funnel, failure reasons, where the time
goes, cost, and the table of runs with links to their PRs and their Web UI pages.

Charts: Chart.js 4 (MIT), vendored as insight/chart.umd.min.js and inlined, so the page needs
no network to view. The numbers are computed here; the page's script only draws them, and marks
each canvas `data-drawn` once Chart.js has rendered it (the browser test checks that)."""

from __future__ import annotations

import html
import json
import re
from bisect import bisect_right
from datetime import datetime, timedelta
from importlib import resources
from urllib.parse import quote

from contracts.states import RunState
from insight.durations import spoken
from insight.facts import RunFacts
from insight.stats import InsightStats, summarize
from workflows.states import WORKING_BY_ITSELF

S = RunState
DEFAULT_WEB_UI = "http://localhost:8233"
BURNDOWN_POINTS = 80

# The burndown's bands, in stacking order: where each run stands at a moment.
STATE_GROUPS: list[tuple[str, frozenset[RunState]]] = [
    ("done", frozenset({S.DONE})),
    ("skipped", frozenset({S.SKIPPED})),
    ("failed", frozenset({S.FAILED, S.FAILED_RETRYABLE, S.FAILED_TERMINAL})),
    ("waiting on a person", frozenset({S.NEEDS_HUMAN_REVIEW, S.PAUSED})),
    ("waiting on GitHub", frozenset({S.PUSHED, S.CI_WAIT, S.REVIEW_WAIT})),
    ("working", WORKING_BY_ITSELF),
]
_GROUP_OF = {state: name for name, states in STATE_GROUPS for state in states}


def _moments(start: datetime, end: datetime) -> list[datetime]:
    step = max((end - start) / (BURNDOWN_POINTS - 1), timedelta(seconds=1))
    return [start + step * i for i in range(BURNDOWN_POINTS)]


def burndown(runs: list[RunFacts], moments: list[datetime]) -> dict[str, list[int]]:
    """Per state group, how many runs stood in it at each moment (and how many had not
    started yet)."""
    series = {name: [0] * len(moments) for name, _ in STATE_GROUPS}
    series["not started"] = [0] * len(moments)
    for run in runs:
        times = [at for at, _ in run.changes]
        for i, moment in enumerate(moments):
            k = bisect_right(times, moment)
            group = _GROUP_OF[run.changes[k - 1][1]] if k else "not started"
            series[group][i] += 1
    return series


def pull_requests(runs: list[RunFacts], moments: list[datetime]) -> dict[str, list[int]]:
    """PRs open, merged (so far) and closed unmerged (so far) at each moment."""
    opened = sorted(r.pr_opened_at for r in runs if r.pr_opened_at)
    merged = sorted(r.merged_at for r in runs if r.merged_at)
    closed = sorted(r.closed_at for r in runs if r.closed_at and not r.merged)
    series: dict[str, list[int]] = {"open": [], "merged": [], "closed": []}
    for moment in moments:
        o, m, c = (bisect_right(times, moment) for times in (opened, merged, closed))
        series["open"].append(max(0, o - m - c))
        series["merged"].append(m)
        series["closed"].append(c)
    return series


def web_ui_link(web_ui: str, namespace: str, run_id: str) -> str:
    return f"{web_ui.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(run_id, safe='')}"


def _cell(text: object) -> str:
    return f"<td>{html.escape(str(text))}</td>"


def _link(url: str | None, text: str) -> str:
    if not url:
        return f"<td>{html.escape(text)}</td>"
    return f'<td><a href="{html.escape(url, quote=True)}">{html.escape(text)}</a></td>'


def _table(runs: list[RunFacts], web_ui: str, namespace: str) -> str:
    order = {name: i for i, (name, _) in enumerate(reversed(STATE_GROUPS))}
    rows = []
    for run in sorted(runs, key=lambda r: (order[_GROUP_OF[r.state]], r.repo)):
        verdict = f"{run.verdict} {run.reason_code}" if run.verdict else "-"
        agent = sum(seconds for _, seconds in run.agent_steps)
        cost = f"${run.cost_usd:.2f}" if run.cost_usd is not None else "not priced"
        rows.append(
            '<tr class="run">'
            + _cell(run.repo)
            + _link(web_ui_link(web_ui, namespace, run.run_id), run.run_id)
            + _cell(run.state.value)
            + _cell(verdict)
            + _link(run.pr_url, f"#{run.pr_number}" if run.pr_number else "-")
            + _cell(f"{run.created_at:%Y-%m-%d %H:%M}" if run.created_at else "-")
            + _cell(spoken(agent) if run.agent_steps else "-")
            + _cell(f"{run.tokens.total:,}")
            + _cell(cost)
            + "</tr>"
        )
    return "\n".join(rows)


def _cost_text(stats: InsightStats) -> list[tuple[str, str]]:
    cost = stats.cost
    money = (
        [
            ("cost", f"${cost.total_usd:.2f}"),
            ("per run", f"${cost.per_run_usd:.2f}" if cost.per_run_usd is not None else "-"),
            (
                "per merged PR",
                f"${cost.per_merged_pr_usd:.2f}" if cost.per_merged_pr_usd is not None else "-",
            ),
        ]
        if cost.total_usd is not None
        else [("cost", "not priced")]
    )
    return [
        ("runs", str(stats.runs)),
        ("pass rate", f"{stats.pass_rate:.0%}" if stats.pass_rate is not None else "-"),
        ("merged PRs", str(stats.funnel.merged)),
        *money,
        ("tokens", f"{cost.tokens_total:,}"),
        (
            "tokens per merged PR",
            f"{cost.tokens_per_merged_pr:,.0f}" if cost.tokens_per_merged_pr else "-",
        ),
    ]


def build_report(
    name: str,
    runs: list[RunFacts],
    now: datetime,
    *,
    web_ui: str | None = None,
    namespace: str = "default",
) -> tuple[str, dict[str, int]]:
    """The page of the campaign's runs (their facts as of `now`), and the counts it shows (for
    the door to print)."""
    stats = summarize(runs, campaign=name)
    starts = [r.created_at for r in runs if r.created_at]
    start = min(starts) if starts else now
    finished = all(r.state.is_terminal for r in runs)
    ends = [r.updated_at for r in runs if r.updated_at]
    end = max(ends) if finished and ends else now
    moments = _moments(start, max(end, start + timedelta(minutes=1)))
    funnel = stats.funnel
    data = {
        "moments": [f"{m:%m-%d %H:%M}" for m in moments],
        "burndown": burndown(runs, moments),
        "pullRequests": pull_requests(runs, moments),
        "funnel": {
            "targeted": funnel.targeted,
            "skipped": funnel.skipped,
            "pushed": funnel.pushed,
            "PR opened": funnel.pr_opened,
            "merged": funnel.merged,
            **({"landed": funnel.landed} if funnel.landed is not None else {}),
        },
        "reasons": {r.reason: r.runs for r in summarize(runs, top=12).stopped_short},
        "steps": {
            "labels": [row.step for row in stats.steps],
            "p50": [round(row.p50_s / 60, 1) for row in stats.steps],
            "p95": [round(row.p95_s / 60, 1) for row in stats.steps],
        },
    }
    cards = "".join(
        f'<div class="card"><span>{html.escape(k)}</span><b>{html.escape(v)}</b></div>'
        for k, v in _cost_text(stats)
    )
    fills = {
        "{{title}}": html.escape(f"campaign {name}"),
        "{{generated}}": f"{now:%Y-%m-%d %H:%M} UTC",
        "{{landed_note}}": "" if funnel.landed is not None else "(landed: no PR closed yet)",
        "{{cards}}": cards,
        "{{rows}}": _table(runs, web_ui or DEFAULT_WEB_UI, namespace),
        # JSON in a script element: "<" escaped so no value can close the element.
        "{{data}}": json.dumps(data).replace("<", "\\u003c"),
    }
    template = resources.files("insight").joinpath("report.html").read_text(encoding="utf-8")
    # Filled part by part, so text from a run can never be read as a placeholder.
    parts = re.split(r"(\{\{[a-z_]+\}\})", template)
    chart_js = resources.files("insight").joinpath("chart.umd.min.js").read_text(encoding="utf-8")
    fills["{{chart_js}}"] = chart_js
    page = "".join(fills.get(part, part) for part in parts)
    return page, {
        "merged": funnel.merged,
        "pr_opened": funnel.pr_opened,
        "bytes": len(page.encode()),
    }
