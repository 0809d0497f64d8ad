"""Build and run the agentpr worker: connect to Temporal, host the workflows and activities.

One process polls two task queues: the orchestration queue (workflows and light activities:
workspace, checks, finish) and the agent queue (agent steps, capped at `agent_slots` at once
per worker, so a campaign cannot start more agents than the machine can hold).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.abc
import importlib.machinery
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from types import CodeType, ModuleType

import structlog
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import build_activities
from activities.agent import AgentActivities
from activities.chat_model import close_chat_models
from activities.github import GitHubActivities
from activities.redacted_failures import RedactActivityFailures
from common.connection import connect
from common.errors import Refused
from common.logs import configure_logging
from common.metrics import metrics_runtime, sample_runs_by_state
from common.settings import Settings
from workflows.campaign import CampaignWorkflow
from workflows.run import IntegrationRunWorkflow

WORKFLOWS = [IntegrationRunWorkflow, CampaignWorkflow]

log = structlog.get_logger("agentpr.worker")


class _SharedCodeLoader(importlib.machinery.SourceFileLoader):
    """Reads and unmarshals a module's compiled code once per process.

    Temporal's sandbox executes a workflow's module afresh for every run it holds, so that no
    two runs share module state; that part stays. But each of those imports also unmarshals
    the module's bytecode again: ~150 KiB of code objects for workflows/run.py, for every run
    in the worker's cache. Code objects are immutable, so every run can execute the same ones
    (its module dict, functions and classes remain its own). Kept for the life of the process:
    a workflow file replaced on disk reaches runs only when the worker restarts, as it does for
    the worker's own (non-sandboxed) import of the same module."""

    _compiled: dict[str, CodeType] = {}

    def get_code(self, fullname: str) -> CodeType:
        code = self._compiled.get(self.path)
        if code is None:
            code = self._compiled[self.path] = super().get_code(fullname)  # type: ignore[assignment]
        return code  # type: ignore[return-value]


class _SharedCodeFinder(importlib.abc.MetaPathFinder):
    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.package and not fullname.startswith(f"{self.package}."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _SharedCodeLoader(fullname, spec.loader.path)
        return spec


def share_workflow_code() -> None:
    """Install the shared-code loader for the `workflows` package (once per process): the
    sandbox executes its modules again for every run."""
    if not any(isinstance(finder, _SharedCodeFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SharedCodeFinder("workflows"))


def workflow_runner() -> SandboxedWorkflowRunner:
    """Temporal's sandbox, with `zoneinfo` let through: a campaign's rollout windows are in
    its time zone, and the sandbox's proxied ZoneInfo is refused by `datetime.astimezone`.
    Time-zone data is the machine's and does not change under a running worker.

    The rules (`workflows.rules`, `workflows.states`) are let through too: pure functions and
    constants — no Temporal, no I/O, no clock, no module state — so executing them again for
    every run (as the sandbox does with workflow code) bought nothing and cost each run's first
    workflow task ~60 ms of CPU (bench/campaign_fleet.py)."""
    default = SandboxRestrictions.default
    members = default.invalid_module_members
    return SandboxedWorkflowRunner(
        restrictions=dataclasses.replace(
            default.with_passthrough_modules("zoneinfo", "workflows.rules", "workflows.states"),
            invalid_module_members=dataclasses.replace(
                members,
                children={k: v for k, v in members.children.items() if k != "zoneinfo"},
            ),
        )
    )


def build_workers(client: Client, settings: Settings) -> list[Worker]:
    # PyGithub (and its nacl extension) is imported here, before any worker runs: imported first
    # inside an activity thread while a workflow task runs, it meets the workflow sandbox's
    # swapped sys.modules and fails to initialise for the life of the process (seen in
    # `make demo`). Not at module level: `import worker` stays light for the CLI.
    import github  # noqa: F401

    share_workflow_code()
    # Activity errors and heartbeats land in history: redacted on every queue.
    redacting = [RedactActivityFailures(settings.redactor)]
    orchestration = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        max_cached_workflows=settings.workflow_cache,
        activities=build_activities(settings),
        # Sync activities (git, PyGithub, file scans) run here, never on the event loop.
        activity_executor=ThreadPoolExecutor(max_workers=8),
        graceful_shutdown_timeout=timedelta(seconds=10),
        interceptors=redacting,
    )
    agents = Worker(
        client,
        task_queue=settings.agent_task_queue,
        activities=[AgentActivities(settings).run_agent],
        activity_executor=ThreadPoolExecutor(max_workers=settings.agent_slots),
        max_concurrent_activities=settings.agent_slots,
        # Long enough for an agent to be stopped (SIGINT, grace, SIGKILL) on shutdown.
        graceful_shutdown_timeout=timedelta(seconds=settings.agent_grace_s + 10),
        interceptors=redacting,
    )
    github_writes = Worker(
        client,
        task_queue=settings.github_task_queue,
        activities=[
            GitHubActivities(settings).create_pull_request,
            GitHubActivities(settings).act_on_pull_request,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=4),
        # Enforced by the server for the whole queue, whatever the number of workers.
        max_task_queue_activities_per_second=settings.github_writes_per_minute / 60,
        graceful_shutdown_timeout=timedelta(seconds=10),
        interceptors=redacting,
    )
    return [orchestration, agents, github_writes]


async def run_workers(workers: list[Worker], stop: asyncio.Event) -> None:
    async with AsyncExitStack() as stack:
        stack.push_async_callback(close_chat_models)  # after the workers stopped
        for worker in workers:
            await stack.enter_async_context(worker)
        await stop.wait()


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    runtime = serving_metrics(settings)
    client = await connect(settings, runtime)
    configure_logging(secrets=settings.secret_values)
    workers = build_workers(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        address=settings.temporal_address,
        namespace=settings.temporal_namespace,
        task_queues=[settings.task_queue, settings.agent_task_queue, settings.github_task_queue],
        agent_slots=settings.agent_slots,
        workflow_cache=settings.workflow_cache,
    )
    sampler = (
        asyncio.create_task(
            sample_runs_by_state(client, runtime.metric_meter, stop, settings.metrics_sample_s)
        )
        if runtime is not None
        else None
    )
    if runtime is not None:
        log.info(
            "metrics served",
            url=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics",
        )
    await run_workers(workers, stop)
    if sampler is not None:
        await sampler
    log.info("worker stopped")


def serving_metrics(settings: Settings) -> Runtime | None:
    """The runtime serving `/metrics`, or one line when its port cannot be bound."""
    try:
        return metrics_runtime(settings)
    except ValueError as err:  # how the SDK core reports a port it cannot bind
        raise Refused(
            f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
            f"{' '.join(str(err).split())[:200]}"
        ) from None
