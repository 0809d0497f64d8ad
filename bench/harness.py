"""One embedded dev server and one in-process worker for a benchmark run."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from activities.chat_model import close_chat_models
from common.connection import connect
from common.settings import Settings
from starter.client import RunClient
from starter.devserver import DevServer, free_port
from worker import build_workers


def process_bytes(pid: int, field: str = "VmRSS") -> int:
    """A size from /proc/<pid>/status (VmRSS: resident now, VmHWM: its peak), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for pid {pid}")


@dataclass
class Harness:
    client: Client
    settings: Settings
    runs: RunClient


@asynccontextmanager
async def embedded_temporal(**settings_fields: Any) -> AsyncIterator[Harness]:
    home = Path(tempfile.mkdtemp(prefix="agentpr-bench-"))
    settings = Settings(home=home, task_queue=f"bench-{uuid.uuid4().hex[:6]}", **settings_fields)
    server = DevServer(settings, port=free_port(), ui_port=free_port(), headless=True)
    server.start()
    try:
        await server.wait_ready()
        settings = settings.model_copy(update={"temporal_address": server.address})
        client = await connect(settings)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(close_chat_models)
            for worker in build_workers(client, settings):
                await stack.enter_async_context(worker)
            yield Harness(client=client, settings=settings, runs=RunClient(client, settings))
    finally:
        server.stop()
