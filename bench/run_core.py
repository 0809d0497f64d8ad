"""Run-core benchmarks (issue 3), in one process against one embedded dev server:

(a) update round trip of `pause` through IntegrationRunWorkflow vs a trivial update on a bare
    workflow; (b) `create-run` (start with search attributes) for 500 runs vs bare starts.

    make bench            # or: .venv/bin/python -m bench.run_core [--runs 500 --updates 300]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import BareWorkflow
from bench.harness import embedded_temporal
from contracts import CommandRequest, RunSpec, TargetStateRequest
from contracts.states import RunState
from starter.client import RunClient
from workflows.run import IntegrationRunWorkflow


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000


async def bench_updates(client: Client, runs: RunClient, queue: str, n: int) -> dict[str, float]:
    run_id = f"bench_{uuid.uuid4().hex[:10]}"
    await runs.create_run(RunSpec(run_id=run_id, owner="bench", repo="core", prompt_version="v1"))
    await runs.send(run_id, IntegrationRunWorkflow.start_discovery, CommandRequest())
    bare = await client.start_workflow(
        BareWorkflow.run, id=f"bare_{uuid.uuid4().hex[:10]}", task_queue=queue
    )
    resume = TargetStateRequest(target_state=RunState.DISCOVERY)
    ours: list[float] = []
    base: list[float] = []
    # Warm up both paths, then interleave so drift hits both equally.
    for _ in range(10):
        await bare.execute_update(BareWorkflow.set_value, "warm")
    for i in range(n):
        base.append(await timed(lambda: bare.execute_update(BareWorkflow.set_value, f"v{i}")))
        ours.append(
            await timed(lambda: runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest()))
        )
        await runs.send(run_id, IntegrationRunWorkflow.resume, resume)
    return {
        "ours_p50": statistics.median(ours),
        "ours_p95": percentile(ours, 0.95),
        "bare_p50": statistics.median(base),
        "bare_p95": percentile(base, 0.95),
    }


async def bench_starts(
    client: Client, runs: RunClient, queue: str, n: int, concurrency: int = 16
) -> dict[str, float]:
    gate = asyncio.Semaphore(concurrency)
    tag = uuid.uuid4().hex[:6]

    async def ours(i: int) -> None:
        async with gate:
            await runs.create_run(
                RunSpec(
                    run_id=f"bench_{tag}_{i}",
                    owner="bench",
                    repo=f"repo{i % 50}",
                    prompt_version="v1",
                )
            )

    async def bare(i: int) -> None:
        async with gate:
            await client.start_workflow(BareWorkflow.run, id=f"bare_{tag}_{i}", task_queue=queue)

    async def batch(make: Callable[[int], Awaitable[None]]) -> float:
        start = time.perf_counter()
        await asyncio.gather(*(make(i) for i in range(n)))
        return n / (time.perf_counter() - start)

    bare_rate = await batch(bare)
    ours_rate = await batch(ours)
    # Let both sets run their first workflow task before the process measures memory.
    await runs.get_run(f"bench_{tag}_{n - 1}")
    return {"ours_per_s": ours_rate, "bare_per_s": bare_rate}


async def main(runs_n: int, updates_n: int) -> None:
    async with embedded_temporal() as harness:
        client, runs = harness.client, harness.runs
        bare_queue = harness.settings.task_queue + "-bare"
        async with Worker(client, task_queue=bare_queue, workflows=[BareWorkflow]):
            updates = await bench_updates(client, runs, bare_queue, updates_n)
            starts = await bench_starts(client, runs, bare_queue, runs_n)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"## run core ({updates_n} updates, {runs_n} starts; server, worker and driver on one machine)"
    )
    print("| measure | agentpr | bare baseline | ratio |")
    print("|---|---|---|---|")
    for q in ("p50", "p95"):
        ours, bare = updates[f"ours_{q}"], updates[f"bare_{q}"]
        print(f"| update round trip {q} (ms) | {ours:.1f} | {bare:.1f} | {ours / bare:.2f}x |")
    ours, bare = starts["ours_per_s"], starts["bare_per_s"]
    print(f"| create-run throughput (runs/s) | {ours:.0f} | {bare:.0f} | {ours / bare:.2f}x |")
    print(f"\npeak RSS of the benchmark process (client + both workers): {rss_mb:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--updates", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.updates))
