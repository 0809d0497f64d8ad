"""The worker's memory bounds: a capped workflow cache and workflow code shared between runs.

A run evicted from a small cache must still answer (replayed from its history), and the shared
code must not make runs share module state: each run executes its module afresh."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from temporalio.client import Client

from common.errors import UsageError
from common.settings import Settings
from contracts import CommandRequest, RunSpec, TargetStateRequest
from contracts.states import RunState
from starter.client import RunClient
from tests.run_env import Env, new_run_id
from worker import share_workflow_code
from workflows.run import IntegrationRunWorkflow


def test_sandbox_style_imports_share_code_but_not_module_state() -> None:
    share_workflow_code()
    share_workflow_code()  # installed once
    assert sum(type(f).__name__ == "_SharedCodeFinder" for f in sys.meta_path) == 1
    original = sys.modules.pop("workflows.run")
    try:
        # What the sandbox does for every run: import the module into a fresh namespace.
        first = importlib.import_module("workflows.run")
        del sys.modules["workflows.run"]
        second = importlib.import_module("workflows.run")
    finally:
        sys.modules["workflows.run"] = original
        sys.modules["workflows"].run = original  # type: ignore[attr-defined]
    assert first is not second
    assert first.IntegrationRunWorkflow is not second.IntegrationRunWorkflow
    first.SOME_STATE = "run one's"  # type: ignore[attr-defined]
    assert not hasattr(second, "SOME_STATE")
    pause = first.IntegrationRunWorkflow.pause
    assert pause.__code__ is second.IntegrationRunWorkflow.pause.__code__


async def test_runs_evicted_from_a_one_run_cache_still_answer(env: Env, client: Client) -> None:
    env.reconfigure(workflow_cache=1)
    runs = RunClient(client, env.settings)
    run_ids = [new_run_id() for _ in range(3)]
    for run_id in run_ids:
        await runs.create_run(RunSpec(run_id=run_id, owner="o", repo="r", prompt_version="v1"))
    # Each command lands on a run that another run pushed out of the cache.
    for command in (IntegrationRunWorkflow.start_discovery, IntegrationRunWorkflow.pause):
        for run_id in run_ids:
            await runs.send(run_id, command, CommandRequest())
    for run_id in run_ids:
        resumed = await runs.send(
            run_id,
            IntegrationRunWorkflow.resume,
            TargetStateRequest(target_state=RunState.DISCOVERY),
        )
        assert resumed.to_state == RunState.DISCOVERY
        record = await runs.get_run(run_id)
        assert [h.command for h in record.history] == [
            "create-run",
            "start-discovery",
            "pause",
            "resume",
        ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AGENTPR_WORKFLOW_CACHE", "lots", "AGENTPR_WORKFLOW_CACHE: expected a number, got 'lots'"),
        ("AGENTPR_WORKFLOW_CACHE", "0", "AGENTPR_WORKFLOW_CACHE: expected at least 1, got '0'"),
        ("AGENTPR_AGENT_SLOTS", "two", "AGENTPR_AGENT_SLOTS: expected a number, got 'two'"),
        (
            "AGENTPR_GITHUB_WRITES_PER_MINUTE",
            "fast",
            "AGENTPR_GITHUB_WRITES_PER_MINUTE: expected a number, got 'fast'",
        ),
    ],
)
def test_bad_numbers_are_one_line(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        Settings.from_env({"AGENTPR_HOME": str(tmp_path), name: value})
    assert caught.value.message == message


def test_numbers_parse(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "AGENTPR_HOME": str(tmp_path),
            "AGENTPR_WORKFLOW_CACHE": "64",
            "AGENTPR_GITHUB_WRITES_PER_MINUTE": "12.5",
        }
    )
    assert (settings.workflow_cache, settings.github_writes_per_minute) == (64, 12.5)
    assert Settings.from_env({"AGENTPR_HOME": str(tmp_path)}).workflow_cache == 500


def test_the_worker_refuses_a_bad_cache_size_in_one_line(env: Env) -> None:
    env.extra["AGENTPR_WORKFLOW_CACHE"] = "-3"
    done = env.cli("worker", timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == "agentpr: AGENTPR_WORKFLOW_CACHE: expected at least 1, got '-3'"


def scrape(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def wait_for_metric(port: int, *needles: str, timeout: float = 60) -> str:
    """Until every needle is on a line of /metrics (a needle `name{a="b"` is the metric's name
    and one label: Prometheus sorts the labels)."""
    import time

    def seen(needle: str, lines: list[str]) -> bool:
        name, _, label = needle.partition("{")
        return any(line.startswith(name) and label in line for line in lines)

    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = scrape(port)
        except OSError:
            text = ""
        if all(seen(needle, text.splitlines()) for needle in needles):
            return text
        time.sleep(0.2)
    raise AssertionError(f"never saw {needles} in /metrics:\n{text[-2000:]}")


def test_the_worker_serves_prometheus_metrics(env: Env, tmp_path: Path) -> None:
    """`agentpr worker --metrics-port`: the SDK's metrics and agentpr's (runs by state, agent
    steps and their duration) on one endpoint, as Prometheus scrapes it."""
    import subprocess

    from standins.git_repos import make_remotes
    from tests.agent_steps import ADD_MULTIPLY, implementing_run
    from tests.operator_steps import show
    from tests.run_env import agentpr_command, free_port

    env.stop_worker()  # this test's worker is the CLI's
    port = free_port()
    environ = {**env.environ, "AGENTPR_METRICS_SAMPLE_S": "0.5"}
    worker = subprocess.Popen(
        [*agentpr_command(), "worker", "--metrics-port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_metric(port, 'agentpr_runs{state="QUEUED"', "temporal_")
        run_id = implementing_run(env, make_remotes(tmp_path / "git"))
        step = env.cli(
            "run-agent-step", "--run-id", run_id, "--engine", "command", "--command",
            ADD_MULTIPLY, "--skip-preflight", "--success-state", "LOCAL_VALIDATING",
            timeout=120,
        )  # fmt: skip
        assert step.returncode in (0, 1), step.stderr  # graded either way
        state = show(env, run_id)["state"]
        text = wait_for_metric(
            port,
            'agentpr_agent_steps{engine="command"',
            "agentpr_agent_step_seconds_bucket",
            f'agentpr_runs{{state="{state}"',
        )
        assert "temporal_activity_execution_latency" in text or "temporal_workflow" in text
        # A second worker on the same port: one line, not a traceback.
        clash = env.cli("worker", "--metrics-port", str(port), timeout=30)
        assert clash.returncode == 1 and "Traceback" not in clash.stderr
        assert f"cannot serve metrics on 127.0.0.1:{port}" in clash.stderr
    finally:
        worker.terminate()
        worker.wait(timeout=30)
