"""Insight (issue 16): `agentpr stats` over 5,000 runs and `agentpr campaign report` over 1,000,
each as the command does it — list the campaign's runs from visibility, read every record (a
finished run's record is its workflow result), aggregate, print or write the page — against an
embedded dev server holding that many finished runs.

The runs are synthetic records (standins/run_records.py) returned by a stand-in workflow
registered under the run workflow's name on its own task queue, so Temporal stores and serves
exactly what a finished run leaves. Baselines in the same process: `list-runs` of the same runs
(visibility only), and reading every record without aggregating (`show-run --json` of each).

Each command is timed on its first call (nothing kept: every record read from Temporal) and on
later calls (finished runs' facts kept: only what changed is listed), in process and, for
`stats`, as a fresh `agentpr` process.

    .venv/bin/python -m bench.insight [--stats-runs 5000] [--report-runs 1000] [-n 3]

Targets: stats ≤ 2 s over 5,000 runs, the report ≤ 5 s over 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
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
        kept_facts = home / "cache" / "insight"

        async def stats_command(since: timedelta | None = None) -> None:
            now = datetime.now(UTC)
            window = now - since if since is not None else None
            facts, unread = await runs.read_facts(campaign="big", started_since=window, now=now)
            assert not unread and (since is not None or len(facts) == stats_runs)
            summary = summarize(facts, campaign="big", since=window)
            with open("/dev/null", "w") as sink, contextlib.redirect_stdout(sink):
                print_stats(summary)

        async def stats_facts_not_kept() -> None:
            """A call with the records kept but not the facts: what `stats` did before the
            facts were kept (list every run, read every record from its file)."""
            shutil.rmtree(kept_facts, ignore_errors=True)
            await stats_command()

        async def report_command() -> None:
            now = datetime.now(UTC)
            facts, _ = await runs.read_facts(campaign="wave", started_since=None, now=now)
            page, _ = build_report("wave", facts, now)
            out.write_text(page)

        async def list_only(name: str) -> None:
            await runs.list_runs(campaign=name, limit=None)

        async def read_only(name: str) -> None:
            rows = await runs.list_runs(campaign=name, limit=None)
            records, _ = await runs.read_records(rows)
            (home / "records.json").write_text("\n".join(r.model_dump_json() for r in records))

        def cli_stats() -> None:
            """`agentpr stats --campaign big` as an operator types it: a fresh interpreter."""
            subprocess.run(
                [sys.executable, "-m", "starter.cli", "stats", "--campaign", "big"],
                env={**os.environ, **cli_environ},
                check=True,
                stdout=subprocess.DEVNULL,
            )

        async def cli_command() -> None:
            await asyncio.to_thread(cli_stats)

        cli_environ = {
            "AGENTPR_HOME": str(home),
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "AGENTPR_TASK_QUEUE": settings.task_queue,
            "AGENTPR_ENV_FILE": "0",
        }
        # The first call reads every finished run's record from Temporal and keeps it
        # ($AGENTPR_HOME/cache/finished-runs) and the facts stats counts (cache/insight).
        results = [
            (f"stats over {stats_runs} runs, first call (s)", await timed(stats_command, 1)),
            ("stats, later calls (s)", await timed(stats_command, rounds)),
            (
                "stats --since 7d, later calls (s)",
                await timed(lambda: stats_command(timedelta(days=7)), rounds),
            ),
            ("`agentpr stats`, fresh process, later calls (s)", await timed(cli_command, rounds)),
            ("stats, records kept, facts not (s)", await timed(stats_facts_not_kept, rounds)),
            (
                f"  list-runs of the same {stats_runs} (s)",
                await timed(lambda: list_only("big"), rounds),
            ),
            (
                "  read every record, no aggregation (s)",
                await timed(lambda: read_only("big"), rounds),
            ),
            (
                f"campaign report over {report_runs} runs, first call (s)",
                await timed(report_command, 1),
            ),
            ("campaign report, later calls (s)", await timed(report_command, rounds)),
            (
                f"  list-runs of the same {report_runs} (s)",
                await timed(lambda: list_only("wave"), rounds),
            ),
            ("  read every record, no page (s)", await timed(lambda: read_only("wave"), rounds)),
        ]
        now = datetime.now(UTC)
        records = synthetic_campaign("pure", stats_runs, now - timedelta(days=3))
        pure_stats = time.perf_counter()
        summarize(run_facts(r, now) for r in records)
        pure_stats = time.perf_counter() - pure_stats
        pure_report = time.perf_counter()
        build_report("pure", [run_facts(r, now) for r in records[:report_runs]], now)
        pure_report = time.perf_counter() - pure_report
        for label, seconds in results:
            print(f"{label:<52} {seconds:7.2f}")
        print(f"{'aggregation alone, ' + str(stats_runs) + ' records (s)':<52} {pure_stats:7.2f}")
        print(f"{'page alone, ' + str(report_runs) + ' records (s)':<52} {pure_report:7.2f}")
        print(f"page size {out.stat().st_size / 1024:.0f} KiB")
        kept_size = sum(path.stat().st_size for path in kept_facts.iterdir())
        print(f"kept facts {kept_size / 2**20:.1f} MiB; load average {os.getloadavg()}")
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stats-runs", type=int, default=5000)
    parser.add_argument("--report-runs", type=int, default=1000)
    parser.add_argument("-n", "--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.stats_runs, args.report_runs, args.rounds))
