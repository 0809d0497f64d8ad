"""A fleet campaign (issue 16): 10,000 repositories in one campaign, the worker under 400 MiB,
the campaign's history kept short (continue-as-new) and its carried input under Temporal's
2 MB payload limit.

Two ways to fill it:
- `--runs real`: every repository is excluded by the campaign's `exclude` pattern, so each run
  is a real run workflow that starts, checks the maintainers' rules (the operator's list: no
  GitHub call), ends SKIPPED and reports to the campaign; the worker is an `agentpr worker`
  subprocess. A real run's first workflow task costs ~0.2 s of CPU in the sandbox, so on this
  2-core machine this takes ~1 hour for 10,000.
- `--runs standin` (default): the real CampaignWorkflow (sandboxed, as deployed) on a worker
  subprocess whose run workflow is a stand-in under the run workflow's name: it reports
  QUEUED → SKIPPED to the campaign as a real run does and returns a 3 KB result (a run
  record's size) — every start, signal, result and continue-as-new the campaign handles for
  10,000 repositories, in minutes. The run workflows' own memory is bounded by the workflow
  cache (bench/campaign.py: 5,000 runs waiting at the PR gate).
The worker's RSS is sampled every second (and its peak read from VmHWM).

Baseline, same server, same process: a bare parent workflow that starts as many bare children
(50 at a time, each returning at once) and continues as new as often, on a worker subprocess
hosting only those two workflows.

Also: the packed progress of 10,000 runs that each have a PR (the payload a campaign carries
when every run has a PR, URL and cost), measured without a server.

    .venv/bin/python -m bench.campaign_fleet [--repos 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from bench.campaign import pollers, rss_settled, stop
    from bench.harness import Harness, embedded_temporal, process_bytes
    from common.settings import Settings

MIB = 1024 * 1024


# What a finished run returns (its record): the campaign's history holds one per child.
RESULT = "r" * 3_000


@workflow.defn(sandboxed=False)
class BareChild:
    @workflow.run
    async def run(self) -> str:
        return RESULT


@workflow.defn(name="IntegrationRunWorkflow", sandboxed=False)
class StandInRun:
    """A run that reports QUEUED then SKIPPED to its campaign and ends (see the docstring)."""

    @workflow.run
    async def run(self, start: Any) -> Any:
        from contracts import Actor, RunProgress, RunRecord, RunResult, RunStart, Transition
        from contracts.states import RunState

        spec = RunStart.model_validate(start).spec
        assert spec.campaign_workflow_id is not None
        campaign = workflow.get_external_workflow_handle(spec.campaign_workflow_id)
        for seq, state in enumerate((RunState.DISCOVERY, RunState.SKIPPED), start=1):
            progress = RunProgress(
                run_id=spec.run_id,
                repo=f"{spec.owner}/{spec.repo}",
                state=state,
                seq=seq,
                updated_at=workflow.now(),
                note="excluded: campaign exclude list" if state == RunState.SKIPPED else None,
            )
            await campaign.signal("run_progress", progress)
        # The record a skipped run returns (the campaign decodes every child's result).
        now = workflow.now()
        steps = [
            (None, RunState.QUEUED, "create-run"),
            (RunState.QUEUED, RunState.DISCOVERY, "start-discovery"),
            (RunState.DISCOVERY, RunState.SKIPPED, "check-maintainer-policy"),
        ]
        record = RunRecord(
            **spec.model_dump(include=set(RunRecord.model_fields)),
            state=RunState.SKIPPED,
            history=[
                Transition(
                    from_state=a,
                    to_state=b,
                    by=Actor.WORKFLOW,
                    at=now,
                    command=c,
                    reason="auto: maintainers' rules: excluded: campaign exclude list",
                )
                for a, b, c in steps
            ],  # fmt: skip
        )
        return RunResult(record=record)


@workflow.defn(sandboxed=False)
class BareFleet:
    """Starts `count` bare children, 50 at a time, continuing as new as the campaign does."""

    @workflow.run
    async def run(self, count: int, done: int = 0) -> int:
        while done < count:
            batch = range(done, min(done + 50, count))
            await asyncio.gather(
                *(
                    workflow.execute_child_workflow(
                        BareChild.run, id=f"{workflow.info().workflow_id}.{i}"
                    )
                    for i in batch
                )
            )
            done = batch.stop
            if workflow.info().get_current_history_length() >= 10_000:
                workflow.continue_as_new(args=[count, done])
        return done


def host_worker(kind: str) -> None:
    """`--host-worker bare|standin`: the baseline's worker subprocess, or the campaign's with
    stand-in runs (until SIGTERM)."""
    import worker as worker_module
    from common.connection import connect
    from workflows.campaign import CampaignWorkflow

    settings = Settings.from_env()

    async def main() -> None:
        client = await connect(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if kind == "bare":
            hosted = Worker(
                client, task_queue=settings.task_queue, workflows=[BareFleet, BareChild]
            )
        else:
            worker_module.share_workflow_code()
            hosted = Worker(
                client,
                task_queue=settings.task_queue,
                workflows=[CampaignWorkflow, StandInRun],
                workflow_runner=worker_module.workflow_runner(),
                max_cached_workflows=settings.workflow_cache,
            )
        async with hosted:
            await stop.wait()

    asyncio.run(main())


class Sampler:
    """A worker subprocess's RSS every second while it works."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            self.samples.append(process_bytes(self.pid))
            await asyncio.sleep(1.0)

    def __enter__(self) -> Sampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


def spawn_worker(argv: list[str], settings: Settings, queue: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTPR_HOME": str(settings.home),
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "AGENTPR_TASK_QUEUE": queue,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def executions(client: Client, workflow_id: str) -> list[dict[str, int]]:
    """Each execution of the workflow (one per continue-as-new): its events and input bytes."""
    out = []
    async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        history = await client.get_workflow_handle(
            workflow_id, run_id=execution.run_id
        ).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        out.append(
            {
                "events": len(history.events),
                "input_bytes": sum(len(p.data) for p in started.input.payloads),
            }
        )
    return out


async def measure(
    harness: Harness,
    argv: list[str],
    queue: str,
    start: Any,
    finished: Any,
) -> dict[str, Any]:
    client, settings = harness.client, harness.settings
    process = spawn_worker(argv, settings, queue)
    try:
        deadline = time.monotonic() + 60
        while await pollers(client, queue) == 0:  # polling: imports done, workers up
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {argv} did not start (exit {process.poll()})")
            await asyncio.sleep(0.2)
        idle = await rss_settled(process.pid)
        began = time.perf_counter()
        with Sampler(process.pid) as sampler:
            workflow_id = await start(client, queue)
            while not await finished(client, workflow_id):
                if process.poll() is not None:
                    raise RuntimeError(f"worker {argv} exited {process.returncode}")
                await asyncio.sleep(2)
        seconds = time.perf_counter() - began
        peak = process_bytes(process.pid, "VmHWM")
        runs = await executions(client, workflow_id)
        return {
            "idle": idle,
            "peak": peak,
            "end": sampler.samples[-1] if sampler.samples else peak,
            "seconds": seconds,
            "executions": len(runs),
            "max_events": max(r["events"] for r in runs),
            "max_input": max(r["input_bytes"] for r in runs),
        }
    finally:
        await asyncio.to_thread(stop, process)


async def bench_fleet(repos: int, runs: str) -> dict[str, dict[str, Any]]:
    from contracts import (
        AgentStepRequest,
        AutoPlan,
        CampaignRepo,
        CampaignSpec,
        CampaignStart,
        CampaignStatus,
        Engine,
    )
    from starter.client import CampaignClient
    from workflows.campaign import campaign_workflow_id

    async with embedded_temporal() as harness:
        tag = uuid.uuid4().hex[:4]
        name = f"fleet-{tag}"
        spec = CampaignSpec(
            name=name,
            repos=[CampaignRepo(owner=f"org{i % 997}", repo=f"project-{i}") for i in range(repos)],
            plan=AutoPlan(step=AgentStepRequest(engine=Engine.COMMAND, command="true")),
            max_parallel=50,
            exclude=["^org"],
        )

        async def start_ours(client: Client, queue: str) -> str:
            settings = harness.settings.model_copy(update={"task_queue": queue})
            await CampaignClient(client, settings).start(CampaignStart(spec=spec))
            return campaign_workflow_id(name)

        async def ours_finished(client: Client, workflow_id: str) -> bool:
            handle = client.get_workflow_handle(workflow_id, result_type=CampaignStatus)
            description = await handle.describe()
            return description.status is not None and description.status.name == "COMPLETED"

        async def start_bare(client: Client, queue: str) -> str:
            workflow_id = f"bare-fleet-{tag}"
            await client.start_workflow(
                BareFleet.run, args=[repos, 0], id=workflow_id, task_queue=queue
            )
            return workflow_id

        async def bare_finished(client: Client, workflow_id: str) -> bool:
            description = await client.get_workflow_handle(workflow_id).describe()
            return description.status is not None and description.status.name == "COMPLETED"

        agentpr = str(Path(sys.executable).parent / "agentpr")
        me = [sys.executable, "-m", "bench.campaign_fleet", "--host-worker"]
        queue = harness.settings.task_queue
        argv = [agentpr, "worker"] if runs == "real" else [*me, "standin"]
        ours = await measure(harness, argv, f"{queue}-fleet", start_ours, ours_finished)
        status = await CampaignClient(
            harness.client, harness.settings.model_copy(update={"task_queue": f"{queue}-fleet"})
        ).status(name)
        ours["counts"] = status.counts
        ours["runs_shown"] = len(status.runs)
        bare = await measure(harness, [*me, "bare"], f"{queue}-bare", start_bare, bare_finished)
        return {"ours": ours, "bare": bare}


def packed_with_prs(repos: int) -> dict[str, float]:
    """The carried progress of `repos` runs that each have a PR, packed and not."""
    from contracts import CampaignCarried, RunProgress, packed
    from contracts.states import RunState

    now = datetime.now(UTC)
    runs = [
        RunProgress(
            run_id=f"forge-wave-1.org{i % 997}.project-{i}",
            repo=f"org{i % 997}/project-{i}",
            state=RunState.CI_WAIT,
            verdict="PASS",
            reason_code="tests_passed",
            pr_number=100 + i,
            pr_url=f"https://github.com/org{i % 997}/project-{i}/pull/{100 + i}",
            pr_requested=True,
            seq=120 + i % 37,
            updated_at=now - timedelta(seconds=i),
            default_branch="main" if i % 3 else "master",
            language="Python",
            cost_usd=round(0.1 + (i % 97) / 100, 4),
        )
        for i in range(repos)
    ]
    carried = CampaignCarried(runs=runs, outcome_seen=[r.run_id for r in runs])
    began = time.perf_counter()
    text = packed(carried)
    pack_s = time.perf_counter() - began
    return {"json": len(carried.model_dump_json()), "packed": len(text), "pack_s": pack_s}


def report(repos: int, runs: str, fleet: dict[str, dict[str, Any]], pack: dict[str, float]) -> None:
    ours, bare = fleet["ours"], fleet["bare"]
    how = "real run workflows, excluded" if runs == "real" else "stand-in runs"
    print(f"\nfleet campaign, {repos:,} repositories ({how}: start → SKIPPED)")
    print(f"  counts: {ours['counts']}; runs shown by `campaign show`: {ours['runs_shown']:,}")
    print("| measure | agentpr | bare parent + children | ratio |")
    print("|---|---|---|---|")
    for key, label in (("peak", "worker peak RSS (VmHWM, MiB)"), ("end", "worker RSS at the end (MiB)"), ("idle", "worker RSS idle, before (MiB)")):  # fmt: skip
        print(f"| {label} | {ours[key] / MIB:.0f} | {bare[key] / MIB:.0f} | {ours[key] / bare[key]:.2f}x |")  # fmt: skip
    print(f"| wall time (s) | {ours['seconds']:.0f} | {bare['seconds']:.0f} | {ours['seconds'] / bare['seconds']:.2f}x |")  # fmt: skip
    print(f"| executions (continue-as-new + 1) | {ours['executions']} | {bare['executions']} | — |")  # fmt: skip
    print(f"| longest execution's history (events) | {ours['max_events']:,} | {bare['max_events']:,} | — |")  # fmt: skip
    print(f"| largest input carried (KiB) | {ours['max_input'] / 1024:.0f} | {bare['max_input'] / 1024:.1f} | — |")  # fmt: skip
    print(
        f"\npacked progress of {repos:,} runs with PRs: {pack['packed'] / 1024:.0f} KiB "
        f"(JSON {pack['json'] / 1024:.0f} KiB, {pack['json'] / pack['packed']:.1f}x smaller; "
        f"packing {pack['pack_s'] * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=10_000)
    parser.add_argument("--runs", choices=["standin", "real"], default="standin")
    parser.add_argument("--host-worker", choices=["bare", "standin"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    # As bench/campaign.py: a deployed worker has its .pyc files (sandboxed runs import
    # workflows/run.py afresh each); without them every run compiles it from source.
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or tempfile.mkdtemp(prefix="agentpr-bench-pyc-")
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix = prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    if args.host_worker:
        host_worker(args.host_worker)
        return
    pack = packed_with_prs(args.repos)
    fleet = asyncio.run(bench_fleet(args.repos, args.runs))
    report(args.repos, args.runs, fleet, pack)


if __name__ == "__main__":
    main()
