"""`agentpr campaign report`'s page from a campaign's records: what it counts, and what a real
browser shows of it offline (the charts drawn, the table of runs)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.run import RunRecord
from insight.facts import RunFacts, run_facts
from insight.report import build_report, burndown, pull_requests
from standins.run_records import synthetic_campaign
from tests.insight.browser import render

NOW = datetime(2026, 5, 1, tzinfo=UTC)
CHARTS = {"burndown", "pull-requests", "funnel", "reasons", "steps"}


def facts_of(records: list[RunRecord]) -> list[RunFacts]:
    return [run_facts(record, NOW) for record in records]


def report_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


def test_the_burndown_accounts_for_every_run_at_every_moment() -> None:
    records = synthetic_campaign("w", 60, NOW - timedelta(days=2))
    end = max(r.updated_at for r in records if r.updated_at)
    runs = [run_facts(r, end) for r in records]
    moments = [NOW - timedelta(days=3), NOW - timedelta(days=1), end]
    bands = burndown(runs, moments)
    assert [sum(band[i] for band in bands.values()) for i in range(3)] == [60, 60, 60]
    assert bands["not started"][0] == 60 and bands["not started"][2] == 0
    assert bands["done"][2] == sum(r.state.value == "DONE" for r in records)
    prs = pull_requests(runs, moments)
    assert prs["merged"][-1] == sum(r.merged for r in runs)
    assert prs["open"][-1] == sum(
        r.pr_opened_at is not None and r.closed_at is None and not r.merged for r in runs
    )


def test_the_page_carries_its_numbers_and_links() -> None:
    records = synthetic_campaign("wave", 40, NOW - timedelta(days=2))
    page, counts = build_report("wave", facts_of(records), NOW, web_ui="http://ui.example:8233/")
    data = report_data(page)
    assert data["funnel"]["targeted"] == 40
    assert 0 < data["funnel"]["landed"] <= data["funnel"]["merged"]
    assert counts["merged"] == data["funnel"]["merged"] > 0
    assert page.count('<tr class="run">') == 40
    assert 'href="http://ui.example:8233/namespaces/default/workflows/wave.0"' in page
    assert 'href="https://github.com/org0/repo0/pull/1"' in page
    assert "landed: no PR closed yet" not in page and "not priced" not in page
    # Offline: no script or stylesheet comes from anywhere else.
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)


def test_a_real_browser_draws_every_chart_and_the_table(tmp_path: Path) -> None:
    records = synthetic_campaign("wave", 120, NOW - timedelta(days=2))
    page, _ = build_report("wave", facts_of(records), NOW)
    path = tmp_path / "report.html"
    path.write_text(page)

    shown = render(path, tmp_path)
    drawn = shown.drawn_canvases()
    assert set(drawn) == CHARTS, drawn
    assert all(width > 200 and height > 200 for width, height in drawn.values()), drawn
    assert 'data-charts-drawn="5"' in shown.dom
    assert shown.dom.count('<tr class="run">') == 120
    assert shown.png_size == (1280, 2000)

    # Not a blank page: the same browser's screenshot of an empty page is a few KB.
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><title>blank</title>")
    empty = render(blank, tmp_path / "blank")
    assert len(shown.png) > 10 * len(empty.png), (len(shown.png), len(empty.png))
