"""`agentpr server`, `worker` and `up` as real processes: the data-dir lock, graceful stops,
and a run surviving `kill -9` of both server and worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from common.settings import Settings
from tests.operator_steps import created_run
from tests.run_env import Env, agentpr_command, free_port, new_run_id

pytestmark = pytest.mark.slow


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


class Processes:
    """Start agentpr processes for one test and make sure none outlives it."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        log = open(self.env.settings.home / f"{args[0]}-{len(self.started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [*agentpr_command(), *args],
            env=self.env.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def output(self, index: int) -> str:
        process = self.started[index]
        return (self.env.settings.home / f"{process.args[1]}-{index}.log").read_text()

    def cleanup(self) -> None:
        for process in self.started:
            for pid in [*children(process.pid), process.pid] if alive(process.pid) else []:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(10)


@pytest.fixture
def own_server_env(tmp_path: Path) -> Iterator[tuple[Env, Processes]]:
    """An environment with its own server (these tests kill servers), no in-process worker."""
    port = free_port()
    settings = Settings(
        home=tmp_path / "home", temporal_address=f"127.0.0.1:{port}", task_queue="agentpr-kill-test"
    )
    settings.home.mkdir()
    env = Env(settings=settings)
    processes = Processes(env)
    try:
        yield env, processes
    finally:
        processes.cleanup()


def server_ready(env: Env) -> bool:
    return env.cli("list-runs", "--json").returncode == 0


def port_of(env: Env) -> str:
    return env.settings.temporal_address.rsplit(":", 1)[1]


def test_second_server_on_the_same_data_dir_is_refused(
    own_server_env: tuple[Env, Processes],
) -> None:
    env, processes = own_server_env
    first = processes.start("server", "--headless", "--port", port_of(env))
    wait_until(lambda: server_ready(env), 30, "the first server")
    second = env.cli("server", "--headless", "--port", str(free_port()), timeout=30)
    assert second.returncode == 1
    assert second.stderr.strip() == (
        f"agentpr: another agentpr server (pid {first.pid}) is already using {env.settings.home}; "
        "stop it first or set AGENTPR_HOME to another directory"
    )
    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0
    assert "stopped" in processes.output(0)
    assert not any(alive(pid) for pid in children(first.pid))


def test_run_survives_kill_9_of_server_and_worker(own_server_env: tuple[Env, Processes]) -> None:
    env, processes = own_server_env
    server = processes.start("server", "--headless", "--port", port_of(env))
    wait_until(lambda: server_ready(env), 30, "the server")
    worker = processes.start("worker")
    run_id = created_run(env)
    for args in (("start-discovery",), ("pause",)):
        result = env.cli(*args, "--run-id", run_id)
        assert result.returncode == 0, result.stderr

    temporal_pids = children(server.pid)
    assert temporal_pids, "the server supervisor should have a temporal child"
    for pid in [*temporal_pids, server.pid, worker.pid]:
        os.kill(pid, signal.SIGKILL)
    for process in (server, worker):
        assert process.wait(10) == -signal.SIGKILL
    wait_until(lambda: not any(alive(pid) for pid in temporal_pids), 10, "temporal to die")
    assert env.cli("list-runs").returncode == 1  # really down

    processes.start("server", "--headless", "--port", port_of(env))
    wait_until(lambda: server_ready(env), 30, "the restarted server")
    processes.start("worker")
    result = env.cli("resume", "--run-id", run_id, "--target-state", "DISCOVERY", timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{run_id}: PAUSED -> DISCOVERY (resume)"
    shown = env.cli("show-run", "--run-id", run_id, "--json")
    record = json.loads(shown.stdout)
    assert [(h["command"], h["to"]) for h in record["history"]] == [
        ("create-run", "QUEUED"),
        ("start-discovery", "DISCOVERY"),
        ("pause", "PAUSED"),
        ("resume", "DISCOVERY"),
    ]


def test_up_serves_the_web_ui_and_ctrl_c_stops_both(own_server_env: tuple[Env, Processes]) -> None:
    env, processes = own_server_env
    ui_port = free_port()
    up = processes.start("up", "--port", port_of(env), "--ui-port", str(ui_port))
    wait_until(lambda: "Ctrl-C stops both" in processes.output(0), 60, "agentpr up")
    output = processes.output(0)
    ui_url = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows"
    assert f"Web UI: {ui_url}" in output
    assert "worker running on task queue 'agentpr-kill-test'" in output
    run_id = new_run_id()
    assert (
        env.cli(
            "create-run",
            "--owner",
            "mem0ai",
            "--repo",
            "mem0",
            "--prompt-version",
            "v1",
            "--run-id",
            run_id,
        ).returncode
        == 0
    )
    assert env.cli("pause", "--run-id", run_id).returncode == 0
    # The Web UI answers, and its API filters runs by our search attribute.
    with urllib.request.urlopen(ui_url, timeout=10) as response:
        assert response.status == 200
    query = urllib.request.quote('AgentprState="PAUSED"')
    api = f"http://127.0.0.1:{ui_port}/api/v1/namespaces/default/workflows?query={query}"
    with urllib.request.urlopen(api, timeout=10) as response:
        listed = json.loads(response.read())
    assert [w["execution"]["workflowId"] for w in listed["executions"]] == [run_id]

    kids = children(up.pid)
    assert len(kids) == 2  # temporal server and worker
    up.send_signal(signal.SIGINT)
    assert up.wait(40) == 0
    assert processes.output(0).rstrip().endswith("stopped")
    wait_until(lambda: not any(alive(pid) for pid in kids), 10, "children to exit")
