"""Metrics for operators: one Prometheus endpoint per worker (`--metrics-port`) serving the
Temporal SDK's runtime metrics (workflow and activity task latencies, slots, polls…) and
agentpr's own, recorded through the same meter:

- `agentpr_runs{state}`: runs by state, sampled from Temporal's visibility (every runner of a
  namespace sees the same numbers, however many workers there are);
- `agentpr_agent_step_seconds{engine,verdict}` and `agentpr_agent_steps{engine,verdict}`;
- `agentpr_agent_tokens{engine,kind}`: input, cached input, output and reasoning tokens;
- `agentpr_agent_step_cost_usd{engine,verdict}`: what priced steps cost (`_sum`: the spend);
- `agentpr_github_writes{action}`: pull requests created, comments, closes, merges.

Activities record through `activity.metric_meter()`, which Temporal turns into a no-op when the
worker runs without an endpoint, so recording costs nothing there."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from common.settings import Settings
from contracts import search_attributes as sa
from contracts.states import RunState
from contracts.steps import TokenUsage

log = structlog.get_logger("agentpr.metrics")

RUN_WORKFLOW = "IntegrationRunWorkflow"
# Agent steps last seconds to hours: buckets in seconds.
STEP_SECONDS_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime that serves Prometheus at `metrics_host:metrics_port` (None without a
    port: the SDK's default runtime, no endpoint)."""
    if settings.metrics_port is None:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{settings.metrics_host}:{settings.metrics_port}",
                durations_as_seconds=True,
                histogram_bucket_overrides={"agentpr_agent_step_seconds": STEP_SECONDS_BUCKETS},
            ),
        )
    )


def _activity_meter() -> MetricMeter:
    try:
        return activity.metric_meter()
    except RuntimeError:  # outside an activity (a benchmark calling the code directly)
        return MetricMeter.noop


def record_agent_step(
    engine: str, verdict: str, seconds: float, usage: TokenUsage, cost_usd: float | None
) -> None:
    meter = _activity_meter()
    labels = {"engine": engine, "verdict": verdict}
    if cost_usd is not None:  # the histogram's _sum is the money spent
        meter.create_histogram_float(
            "agentpr_agent_step_cost_usd", "What agent steps cost (US dollars).", "usd"
        ).record(cost_usd, labels)
    meter.create_histogram_float(
        "agentpr_agent_step_seconds", "How long agent steps took.", "s"
    ).record(seconds, labels)
    meter.create_counter("agentpr_agent_steps", "Agent steps run.").add(1, labels)
    tokens = meter.create_counter("agentpr_agent_tokens", "Tokens agent steps used.")
    for kind, count in (
        ("input", usage.input_tokens),
        ("cached_input", usage.cached_input_tokens),
        ("output", usage.output_tokens),
        ("reasoning_output", usage.reasoning_output_tokens),
    ):
        if count > 0:
            tokens.add(count, {"engine": engine, "kind": kind})


def record_github_write(action: str) -> None:
    _activity_meter().create_counter(
        "agentpr_github_writes", "Content-creating requests sent to GitHub."
    ).add(1, {"action": action})


CountRuns = Callable[[str], Awaitable[int]]


async def count_runs_by_state(count: CountRuns) -> Mapping[str, int]:
    """Open runs in each state (a finished run's state is in its result, not counted here)."""
    found: dict[str, int] = {}
    for state in RunState:
        query = (
            f"WorkflowType = '{RUN_WORKFLOW}' AND ExecutionStatus = 'Running' "
            f"AND {sa.STATE.name} = '{state.value}'"
        )
        found[state.value] = await count(query)
    return found


async def sample_runs_by_state(
    client: Client, meter: MetricMeter, stop: asyncio.Event, every_s: float = 30.0
) -> None:
    """Keep `agentpr_runs{state}` current until `stop` is set; a failed sample is logged and
    retried at the next tick (the endpoint keeps the last numbers)."""
    gauge = meter.create_gauge("agentpr_runs", "Open runs by state.")

    async def count(query: str) -> int:
        return (await client.count_workflows(query)).count

    while not stop.is_set():
        try:
            for state, number in (await count_runs_by_state(count)).items():
                gauge.set(number, {"state": state})
        except Exception as err:  # noqa: BLE001 — visibility down: keep serving the last sample
            log.warning("runs-by-state sample failed", error=str(err)[:200])
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            pass
