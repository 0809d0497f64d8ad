"""Insight (issue 16): `agentpr stats` over 5,000 runs and `agentpr campaign report` over 1,000,
each as the command does it — list the campaign's runs from visibility, read every record (a
finished run's record is its workflow result), aggregate, print or write the page — against an
embedded dev server holding that many finished runs.

The runs are synthetic records (standins/run_records.py) returned by a stand-in workflow
registered under the run workflow's name on its own task queue, so Temporal stores and serves
exactly what a finished run leaves. Baselines in the same process: `list-runs` of the same runs
(visibility only), and reading every record without aggregating (`show-run --json` of each).

    .venv/bin/python -m bench.insight [--stats-runs 5000] [--report-runs 1000] [-n 3]

Targets: stats ≤ 2 s over 5,000 runs, the report ≤ 5 s over 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from common.connection import connect
from common.settings import Settings
from contracts import RunResult
from contracts import search_attributes as sa
from insight.facts import run_facts
from insight.report import build_report
from insight.stats import summarize
from standins.run_records import synthetic_campaign
from starter.cli.insight import print_stats
from starter.client import RUN_WORKFLOW, RunClient
from starter.devserver import DevServer, free_port


@workflow.defn(name=RUN_WORKFLOW, sandboxed=False)
class FinishedRun:
    """A run that has finished: its result is the record it was given."""

    @workflow.run
    async def run(self, result: RunResult) -> RunResult:
        return result


async def seed(client: Any, queue: str, name: str, runs: int) -> None:
    """`runs` finished runs of campaign `name`, 32 started at a time."""
    records = synthetic_campaign(name, runs, datetime.now(UTC) - timedelta(days=3))
    gate = asyncio.Semaphore(32)

    async def one(record: Any) -> None:
        async with gate:
            handle = await client.start_workflow(
                RUN_WORKFLOW,
                RunResult(record=record),
                id=record.run_id,
                task_queue=queue,
                result_type=RunResult,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.CAMPAIGN, name),
                        SearchAttributePair(sa.STATE, record.state.value),
                        SearchAttributePair(sa.REPO, record.full_name),
                    ]
                ),
            )
            await handle.result()

    await asyncio.gather(*(one(r) for r in records))


async def visible(runs: RunClient, name: str, count: int) -> None:
    """Visibility is eventually consistent: wait until every run is listed."""
    for _ in range(600):
        if len(await runs.list_runs(campaign=name, limit=None)) >= count:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"campaign {name}: not every run became visible")


async def timed(action: Callable[[], Awaitable[Any]], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def main(stats_runs: int, report_runs: int, rounds: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="agentpr-bench-insight-"))
    settings = Settings(home=home, task_queue=f"bench-{uuid.uuid4().hex[:6]}")
    server = DevServer(settings, port=free_port(), ui_port=free_port(), headless=True)
    server.start()
    try:
        await server.wait_ready()
        settings = settings.model_copy(update={"temporal_address": server.address})
        client = await connect(settings)
        runs = RunClient(client, settings)
        async with Worker(client, task_queue=settings.task_queue, workflows=[FinishedRun]):
            started = time.perf_counter()
            await seed(client, settings.task_queue, "big", stats_runs)
            await seed(client, settings.task_queue, "wave", report_runs)
            await visible(runs, "big", stats_runs)
            await visible(runs, "wave", report_runs)
            print(
                f"seeded {stats_runs + report_runs} finished runs in {time.perf_counter() - started:.0f}s"
            )

        out = home / "report.html"

        async def stats_command() -> None:
            rows = await runs.list_runs(campaign="big", limit=None)
            records, unread = await runs.read_records(rows)
            assert len(records) == stats_runs and not unread
            now = datetime.now(UTC)
            summary = summarize((run_facts(r, now) for r in records), campaign="big")
            with open("/dev/null", "w") as sink:
                import contextlib

                with contextlib.redirect_stdout(sink):
                    print_stats(summary)

        async def report_command() -> None:
            rows = await runs.list_runs(campaign="wave", limit=None)
            records, _ = await runs.read_records(rows)
            page, _ = build_report("wave", records, datetime.now(UTC))
            out.write_text(page)

        async def list_only(name: str) -> None:
            await runs.list_runs(campaign=name, limit=None)

        async def read_only(name: str) -> None:
            rows = await runs.list_runs(campaign=name, limit=None)
            records, _ = await runs.read_records(rows)
            (home / "records.json").write_text("\n".join(r.model_dump_json() for r in records))

        # The first call reads every finished run's record from Temporal and keeps it
        # ($AGENTPR_HOME/cache/finished-runs); the timed calls read the kept records.
        cold = time.perf_counter()
        await stats_command()
        cold = time.perf_counter() - cold
        results = [
            (f"stats over {stats_runs} runs, first call (s)", cold),
            (f"stats over {stats_runs} runs (s)", await timed(stats_command, rounds)),
            (
                f"  list-runs of the same {stats_runs} (s)",
                await timed(lambda: list_only("big"), rounds),
            ),
            (
                "  read every record, no aggregation (s)",
                await timed(lambda: read_only("big"), rounds),
            ),
            (f"campaign report over {report_runs} runs (s)", await timed(report_command, rounds)),
            ("  read every record, no page (s)", await timed(lambda: read_only("wave"), rounds)),
        ]
        now = datetime.now(UTC)
        records = synthetic_campaign("pure", stats_runs, now - timedelta(days=3))
        pure_stats = time.perf_counter()
        summarize(run_facts(r, now) for r in records)
        pure_stats = time.perf_counter() - pure_stats
        pure_report = time.perf_counter()
        build_report("pure", records[:report_runs], now)
        pure_report = time.perf_counter() - pure_report
        for label, seconds in results:
            print(f"{label:<46} {seconds:7.2f}")
        print(f"{'aggregation alone, ' + str(stats_runs) + ' records (s)':<46} {pure_stats:7.2f}")
        print(f"{'page alone, ' + str(report_runs) + ' records (s)':<46} {pure_report:7.2f}")
        print(f"page size {out.stat().st_size / 1024:.0f} KiB")
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stats-runs", type=int, default=5000)
    parser.add_argument("--report-runs", type=int, default=1000)
    parser.add_argument("-n", "--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.stats_runs, args.report_runs, args.rounds))
