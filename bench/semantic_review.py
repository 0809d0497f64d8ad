"""The optional model's cost (issue 15): the semantic review's added latency per agent step and
its tokens per run.

The same codemod step (write a file, run the repository's tests) on two runs in the same
process and Temporal server: one created without a model (the baseline), one with
`model_review` against the scripted chat-completions stand-in on loopback. The stand-in answers
at once (so the difference is agentpr's own cost: the extra activity, the diff and prompt built
from the workspace, the HTTP call) or after `--model-s` seconds (a real model's answer time);
it counts tokens from the request's size (4 characters a token).

    .venv/bin/python -m bench.semantic_review [--rounds 10] [--model-s 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import Client

from bench.harness import embedded_temporal
from contracts import (
    AgentStepRequest,
    CommandRequest,
    Engine,
    PrepareRequest,
    RunSpec,
    TargetStateRequest,
)
from contracts.states import RunState
from standins.chat_completions import API_KEY, MODEL, ScriptedChatServer, answer
from standins.git_repos import make_remotes
from starter.client import RunClient
from workflows.run import IntegrationRunWorkflow

CODEMOD = (
    "python3 -c \"import time; open('forge.py','a').write('PROVIDER = %r\\\\n' % "
    'time.time_ns())" && python3 -m pytest -q'
)


async def implementing(
    runs: RunClient, run_id: str, upstream: str, fork: str, review: bool
) -> None:
    w = IntegrationRunWorkflow
    await runs.create_run(
        RunSpec(
            run_id=run_id,
            owner="demo",
            repo="calc",
            prompt_version="v1",
            upstream_url=upstream,
            fork_url=fork,
            model_review=review,
        )
    )
    await runs.send(run_id, w.run_prepare, PrepareRequest())
    await runs.send(run_id, w.pause, CommandRequest())
    await runs.send(run_id, w.resume, TargetStateRequest(target_state=RunState.IMPLEMENTING))


async def step(runs: RunClient, run_id: str) -> float:
    w = IntegrationRunWorkflow
    start = time.perf_counter()
    await runs.send(
        run_id,
        w.run_agent_step,
        AgentStepRequest(
            engine=Engine.COMMAND,
            command=CODEMOD,
            skip_preflight=True,
            skip_network_check=True,
            max_minutes=5,
        ),
    )
    took = time.perf_counter() - start
    record = await runs.get_run(run_id)
    if record.state != RunState.IMPLEMENTING:
        await runs.send(run_id, w.retry, TargetStateRequest(target_state=RunState.IMPLEMENTING))
    return took


async def review_time(client: Client, run_id: str) -> float:
    """Median time the review adds inside the run's history: from the agent activity's
    completion to the end of the workflow task after the review activity."""
    events = [e async for e in client.get_workflow_handle(run_id).fetch_history_events()]
    spans: list[float] = []
    for index, event in enumerate(events):
        attrs = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and (
            attrs.activity_type.name == "review_pass"
        ):
            done = next(
                e
                for e in events[index:]
                if e.HasField("workflow_task_completed_event_attributes")
                and e.event_id > event.event_id + 2
            )
            began = events[index - 1].event_time.ToDatetime()  # the task that scheduled it
            spans.append((done.event_time.ToDatetime() - began).total_seconds())
    return statistics.median(spans)


async def bench(rounds: int, model_s: float) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="agentpr-bench-review-"))
    remotes = make_remotes(root / "git")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    agree = answer({"verdict": "agree", "reasons": ["the change adds only the provider"]})
    with ScriptedChatServer(default=agree, estimate_usage=True, delay_s=model_s) as server:
        async with embedded_temporal(
            agent_env={"PATH": path},
            llm_base_url=server.base_url,
            llm_model=MODEL,
            llm_api_key=SecretStr(API_KEY),
        ) as harness:
            runs = harness.runs
            up, fork = remotes.upstream_url, remotes.fork_url
            await implementing(runs, "bench_plain", up, fork, review=False)
            await implementing(runs, "bench_reviewed", up, fork, review=True)
            await step(runs, "bench_plain")  # warm both paths once
            await step(runs, "bench_reviewed")
            plain: list[float] = []
            reviewed: list[float] = []
            for index in range(rounds):
                # Interleaved, in turns first: the machine's drift hits both alike.
                if index % 2:
                    reviewed.append(await step(runs, "bench_reviewed"))
                    plain.append(await step(runs, "bench_plain"))
                else:
                    plain.append(await step(runs, "bench_plain"))
                    reviewed.append(await step(runs, "bench_reviewed"))
            record = await runs.get_run("bench_reviewed")
            in_history = await review_time(harness.client, "bench_reviewed")
    usage = record.model_usage
    return {
        "plain": statistics.median(plain),
        "reviewed": statistics.median(reviewed),
        "calls": usage.calls,
        "prompt": usage.prompt_tokens / usage.calls,
        "completion": usage.completion_tokens / usage.calls,
        "in_history": in_history,
        "diff_chars": record.semantic_review.diff_chars if record.semantic_review else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model-s", type=float, default=0.0)
    args = parser.parse_args()
    r = asyncio.run(bench(args.rounds, args.model_s))
    added = r["reviewed"] - r["plain"]
    print(f"## semantic review (model answers after {args.model_s:g} s)")
    print("| measure | with the review | baseline (no model) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| agent step, codemod + pytest (s, median of {args.rounds}) | {r['reviewed']:.3f} | "
        f"{r['plain']:.3f} | {r['reviewed'] / r['plain']:.2f}x |"
    )
    print(f"| added latency per step, wall clock (s) | {added:.3f} | 0 | |")
    print(f"| added latency per step, in the run's history (s) | {r['in_history']:.3f} | 0 | |")
    print(
        f"| tokens per review ({r['calls']:.0f} calls; diff {r['diff_chars']:.0f} chars) | "
        f"{r['prompt']:.0f} in + {r['completion']:.0f} out | 0 | |"
    )


if __name__ == "__main__":
    main()
