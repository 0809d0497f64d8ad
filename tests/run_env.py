"""What a test works with besides the fixtures: the repository's paths, the agentpr command, the
session's server, a worker on its own task queue (Env), fresh run ids."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from activities.chat_model import close_chat_models
from common.connection import connect
from common.settings import Settings
from starter.devserver import free_port
from worker import build_workers

__all__ = [
    "REPO_ROOT",
    "Env",
    "ServerInfo",
    "WorkerThread",
    "agentpr_command",
    "free_port",
    "new_run_id",
    "settings_environ",
    "shared_path",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


SHARED = REPO_ROOT.parent / "shared"


def shared_path(relative: str) -> Path:
    """A file from ../shared, or skip: the shared material is absent on this checkout."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"../shared/{relative} is absent (shared material is not next to the checkout)")
    return path


def agentpr_command() -> list[str]:
    script = Path(sys.executable).parent / "agentpr"
    return [str(script)] if script.exists() else [sys.executable, "-m", "starter.cli"]


@dataclass
class ServerInfo:
    address: str
    home: Path
    namespace: str = "default"


class WorkerThread:
    """A real worker on its own event loop and thread, so tests may block (subprocess.run of
    the CLI) while workflows make progress."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"worker did not start: {self._error!r}")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # noqa: BLE001 - reported to the test thread
            self._error = err
            self._ready.set()

    async def _main(self) -> None:
        client = await connect(self.settings)
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            stack.push_async_callback(close_chat_models)
            for worker in build_workers(client, self.settings):
                await stack.enter_async_context(worker)
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def settings_environ(settings: Settings) -> dict[str, str]:
    env = {
        "AGENTPR_HOME": str(settings.home),
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "AGENTPR_TASK_QUEUE": settings.task_queue,
        "AGENTPR_GITHUB_API_URL": settings.github_api_url,
        "AGENTPR_TELEGRAM_API_URL": settings.telegram_api_url,
        "AGENTPR_PYPI_URL": settings.pypi_url,
        "AGENTPR_NPM_REGISTRY_URL": settings.npm_registry_url,
        # A developer's own .env in the checkout must not reach the tests' CLI calls.
        "AGENTPR_ENV_FILE": "0",
    }
    optional = {
        "AGENTPR_WORKSPACE_ROOT": settings.workspace_root_override,
        "AGENTPR_POLICY_FILE": settings.policy_file_override,
        "AGENTPR_GITHUB_TOKEN": settings.github_token.get_secret_value()
        if settings.github_token
        else None,
        "AGENTPR_TELEGRAM_BOT_TOKEN": settings.telegram_bot_token.get_secret_value()
        if settings.telegram_bot_token
        else None,
        "AGENTPR_CODEX_BIN": settings.codex_bin,
        "AGENTPR_GIT_AUTHOR_NAME": settings.git_author_name,
        "AGENTPR_GIT_AUTHOR_EMAIL": settings.git_author_email,
        "AGENTPR_LLM_BASE_URL": settings.llm_base_url,
        "AGENTPR_LLM_MODEL": settings.llm_model,
        "AGENTPR_LLM_API_KEY": settings.llm_api_key.get_secret_value()
        if settings.llm_api_key
        else None,
    }
    env.update({key: str(value) for key, value in optional.items() if value is not None})
    return env


@dataclass
class Env:
    """What one test works with: its task queue, data dir and environment for the CLI."""

    settings: Settings
    worker: WorkerThread | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def environ(self) -> dict[str, str]:
        """The CLI sees the same settings as the worker, through the environment."""
        return {**os.environ, **settings_environ(self.settings), "COLUMNS": "200", **self.extra}

    def reconfigure(self, **fields: object) -> None:
        """Change settings for both the worker (restarted) and later CLI calls."""
        running = self.worker is not None
        self.stop_worker()
        self.settings = self.settings.model_copy(update=fields)
        if running:
            self.start_worker()

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `agentpr ARGS` as an operator types it."""
        return subprocess.run(
            [*agentpr_command(), *args],
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.settings.home,
        )

    def start_worker(self) -> None:
        self.worker = WorkerThread(self.settings)
        self.worker.start()

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


def new_run_id() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"
