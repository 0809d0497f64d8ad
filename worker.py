"""Build and run the agentpr worker: connect to Temporal, host the workflows and activities."""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities import build_activities
from common.connection import connect
from common.logs import configure_logging
from common.settings import Settings
from workflows.run import IntegrationRunWorkflow

WORKFLOWS = [IntegrationRunWorkflow]

log = structlog.get_logger("agentpr.worker")


def build_worker(client: Client, settings: Settings) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings),
        # Sync activities (git, PyGithub, file scans) run here, never on the event loop.
        activity_executor=ThreadPoolExecutor(max_workers=8),
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    client = await connect(settings)
    configure_logging(secrets=settings.secret_values)
    worker = build_worker(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        address=settings.temporal_address,
        namespace=settings.temporal_namespace,
        task_queue=settings.task_queue,
    )
    async with worker:
        await stop.wait()
        log.info("worker stopping")
    log.info("worker stopped")
