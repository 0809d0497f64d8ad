"""Webhook ingestion benchmark (issue 6): signed deliveries per second through the bridge
(signature check, SQLite dedup claim/complete, run lookup in visibility, workflow signal), with
10% replayed deliveries, zero lost; p95 time to answer. Baseline in the same process: the same
signals sent straight to the workflows with the Temporal client (no HTTP, no dedup, no lookup).

    .venv/bin/python -m bench.webhook [--deliveries 1000 --runs 20 --concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import aiohttp
from aiohttp import web
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.harness import embedded_temporal
from contracts import GitHubEvent, RunSpec, RunStart
from contracts import search_attributes as sa
from standins import github_webhooks as hooks
from starter.devserver import free_port
from starter.webhook.bridge import WebhookBridge
from starter.webhook.deliveries import DeliveryStore
from workflows.run import IntegrationRunWorkflow

SECRET = "bench-secret"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def main(deliveries: int, runs: int, concurrency: int) -> None:
    async with embedded_temporal() as harness:
        client = harness.client
        heads = [uuid.uuid4().hex + uuid.uuid4().hex[:8] for _ in range(runs)]
        for index, head in enumerate(heads):
            run_id = f"bench_hook_{index}"
            await client.start_workflow(
                IntegrationRunWorkflow.run,
                RunStart(
                    spec=RunSpec(run_id=run_id, owner="bench", repo="hooks", prompt_version="v1")
                ),
                id=run_id,
                task_queue=harness.settings.task_queue,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.REPO, "bench/hooks"),
                        SearchAttributePair(sa.STATE, "QUEUED"),
                        SearchAttributePair(sa.HEAD_SHA, head),
                    ]
                ),
            )
        await asyncio.sleep(1.0)  # visibility catches up with the starts

        store = DeliveryStore(harness.settings.home / "bench_deliveries.sqlite")
        bridge = WebhookBridge(harness.runs, store, SECRET)
        runner = web.AppRunner(bridge.app(), access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}/github/webhook"

        planned = []
        for index in range(deliveries):
            head = heads[index % runs]
            event, payload = hooks.check_run_completed(
                "bench/hooks",
                name=f"check-{index}",
                conclusion="success",
                head_sha=head,
                head_branch="agentpr/x",
            )
            planned.append((str(uuid.uuid4()), event, json.dumps(payload).encode()))
        replays = planned[: deliveries // 10]  # GitHub redeliveries: must change nothing
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        async def post(
            session: aiohttp.ClientSession, delivery: str, event: str, body: bytes
        ) -> None:
            headers = {
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": hooks.sign(SECRET, body),
                "Content-Type": "application/json",
            }
            async with gate:
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - start)

        async with aiohttp.ClientSession() as session:
            start = time.perf_counter()
            await asyncio.gather(*(post(session, *item) for item in planned + replays))
            elapsed = time.perf_counter() - start
        await runner.cleanup()

        # Zero lost: every unique delivery became exactly one fact on its run.
        facts = 0
        for index in range(runs):
            record = await harness.runs.get_run(f"bench_hook_{index}")
            facts += len(record.github_facts)
        # The baseline: the same number of signals straight from the client.
        handles = [
            client.get_workflow_handle_for(IntegrationRunWorkflow.run, f"bench_hook_{i}")
            for i in range(runs)
        ]

        async def signal(index: int) -> None:
            async with gate:
                await handles[index % runs].signal(
                    IntegrationRunWorkflow.github_event,
                    GitHubEvent(
                        delivery_id=f"direct-{index}",
                        kind="check_run",
                        repo="bench/hooks",
                        head_sha=heads[index % runs],
                        name=f"direct-{index}",
                        conclusion="success",
                    ),
                )

        start = time.perf_counter()
        await asyncio.gather(*(signal(i) for i in range(deliveries)))
        direct_elapsed = time.perf_counter() - start
        store.close()

    total = len(planned) + len(replays)
    ours, base = total / elapsed, deliveries / direct_elapsed
    print(
        f"## webhook ingestion ({deliveries} deliveries + {len(replays)} replays, "
        f"{runs} runs, {concurrency} in flight)"
    )
    print("| measure | bridge | baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| deliveries/s | {ours:.0f} | {base:.0f} (client signals, no HTTP/dedup/lookup) | "
        f"{ours / base:.2f}x |"
    )
    print(
        f"| answer p50 / p95 (ms) | {statistics.median(latencies) * 1000:.1f} / "
        f"{p95(latencies) * 1000:.1f} | | |"
    )
    print(
        f"\nstatuses: {statuses}; facts recorded {facts} of {deliveries} unique deliveries "
        f"({'zero lost' if facts == deliveries else 'LOST OR DOUBLED'})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.deliveries, args.runs, args.concurrency))
