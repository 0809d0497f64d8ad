"""Scale-out: a Temporal server that is not `agentpr server` (the `temporal` binary started
directly, in memory), two `agentpr worker` processes sharing a data directory, one campaign.
Both workers execute runs; `kill -9` of one mid-campaign loses no run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from starter.devserver import free_port, temporal_binary
from tests.campaign_steps import FORGE, local_repos
from tests.operator_steps import ok
from tests.run_env import agentpr_command


def wait_for_port(address: str, timeout: float = 60) -> None:
    async def probe() -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await Client.connect(address)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)

    asyncio.run(probe())


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A separate Temporal frontend and the environment both workers and the CLI share."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--headless",
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    agent_env = tmp_path / "agent-env.json"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    agent_env.write_text(json.dumps({"PATH": path}))
    environ = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "AGENTPR_HOME": str(tmp_path / "home"),
        "AGENTPR_TASK_QUEUE": "scale-out",
        "AGENTPR_AGENT_ENV_FILE": str(agent_env),
        "AGENTPR_GIT_AUTHOR_NAME": "Ops",
        "AGENTPR_GIT_AUTHOR_EMAIL": "ops@example.com",
        "AGENTPR_AGENT_SLOTS": "2",
        "COLUMNS": "200",
    }
    try:
        wait_for_port(environ["TEMPORAL_ADDRESS"])
        yield environ
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def cli(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*agentpr_command(), *args], env=environ, capture_output=True, text=True, timeout=120
    )


def start_worker(environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*agentpr_command(), "worker"], env=environ, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


async def activity_identities(address: str, run_ids: list[str]) -> dict[str, set[str]]:
    """Which worker (identity pid@host) started each run's activities, from the histories."""
    client = await Client.connect(address)
    found: dict[str, set[str]] = {}
    for run_id in run_ids:
        history = await client.get_workflow_handle(run_id).fetch_history()
        found[run_id] = {
            event.activity_task_started_event_attributes.identity
            for event in history.events
            if event.HasField("activity_task_started_event_attributes")
        }
    return found


def test_two_workers_share_a_campaign_and_losing_one_loses_no_run(
    cluster: dict[str, str], tmp_path: Path
) -> None:
    ok(cli(cluster, "init-db"))  # search attributes on a frontend agentpr did not start
    repos = local_repos(tmp_path / "git", 8)
    workers = [start_worker(cluster, tmp_path / f"worker{i}.log") for i in (1, 2)]
    try:
        ok(
            cli(
                cluster,
                "campaign",
                "start",
                "--name",
                "scale",
                "--repos-file",
                str(repos),
                "--engine",
                "command",
                "--command",
                f"sleep 1; {FORGE}",
                "--skip-network-check",
                "--max-parallel",
                "4",
                "--commit-title",
                "feat: add the Forge provider",
            )
        )

        def show() -> dict:
            return json.loads(ok(cli(cluster, "campaign", "show", "--name", "scale", "--json")))

        deadline = time.monotonic() + 120
        while show()["counts"].get("PUSHED", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        workers[0].send_signal(signal.SIGKILL)  # mid-campaign, no goodbye
        workers[0].wait(10)
        deadline = time.monotonic() + 400
        while (current := show())["counts"].get("PUSHED", 0) < 8:
            assert time.monotonic() < deadline, current["counts"]
            time.sleep(1)
        assert current["counts"] == {"PUSHED": 8}
        run_ids = [run["run_id"] for run in current["runs"]]
        identities = asyncio.run(activity_identities(cluster["TEMPORAL_ADDRESS"], run_ids))
        everyone = set().union(*identities.values())
        pids = {identity.split("@")[0] for identity in everyone}
        assert {str(w.pid) for w in workers} <= pids, (pids, [w.pid for w in workers])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
