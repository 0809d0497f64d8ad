"""What a run knows survives continue-as-new: a failing check that arrives just as
continue-as-new is due still gets its iteration in the new run (before, the new run sat in
ITERATING with nothing pending)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts import (
    AgentStepRequest,
    AutoPlan,
    Engine,
    ReconcileRequest,
    ReviewRequest,
    ReviewState,
    RunMode,
    RunSpec,
    RunStart,
)
from contracts.states import RunState
from standins.github_api import FakeGitHub
from starter.client import RunClient
from tests.operator_steps import BODY, TITLE, TOKEN, approve, ok, show
from tests.run_env import Env, new_run_id
from workflows.run import IntegrationRunWorkflow

# Each run of the codemod changes the tree (as an agent's fix would) and runs the tests.
CODEMOD = (
    "python3 -c \"import time; open('iteration.txt','a').write(str(time.time_ns())+'\\\\n')\""
    " && python3 -m pytest -q"
)
THRESHOLD = 80  # history events after which the run continues as new
# A sync-github round trip adds more events than this before the run's loop looks again.
WINDOW = 6


async def wait_for(runs: RunClient, run_id: str, done: object, timeout: float = 180) -> object:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        record = await runs.get_run(run_id)
        if done(record):  # type: ignore[operator]
            return record
        assert asyncio.get_running_loop().time() < deadline, (record.state, record.history[-3:])
        await asyncio.sleep(0.3)


async def test_a_failing_check_at_continue_as_new_still_iterates(
    env: Env,
    github: FakeGitHub,
    client: Client,  # noqa: F811
) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(
        github_token=SecretStr(TOKEN),
        github_api_url=github.base_url,
        git_author_name="Ops",
        git_author_email="ops@example.com",
        agent_env={"PATH": path},
        agent_grace_s=2.0,
    )
    runs = RunClient(client, env.settings)
    run_id = new_run_id()
    plan = AutoPlan(
        step=AgentStepRequest(engine=Engine.COMMAND, command=CODEMOD, skip_network_check=True),
        commit_title=TITLE,
        pr_body=BODY,
    )
    spec = RunSpec(
        run_id=run_id, owner="demo", repo="calc", prompt_version="v1", mode=RunMode.AUTO, auto=plan
    )
    await client.start_workflow(
        IntegrationRunWorkflow.run,
        RunStart(spec=spec, continue_as_new_after=THRESHOLD),
        id=run_id,
        task_queue=env.settings.task_queue,
    )
    # The run drives itself (continuing as new on the way) to the PR gate.
    await wait_for(runs, run_id, lambda r: r.state == RunState.PUSHED and r.pr_request)
    shown = json.loads(ok(env.cli("show-pr-request", "--run-id", run_id, "--json")))
    ok(approve(env, run_id, shown, "--confirm"))
    record = await runs.get_run(run_id)
    assert record.state == RunState.CI_WAIT and record.pr_number is not None

    # Walk the history up to just below the threshold with recorded no-op reviews.
    handle = client.get_workflow_handle(run_id)
    for _ in range(200):
        description = await handle.describe()
        if 1 <= THRESHOLD - description.history_length <= WINDOW:
            break
        await runs.send(
            run_id,
            IntegrationRunWorkflow.record_review,
            ReviewRequest(review_state=ReviewState.COMMENTED),
        )
    else:
        raise AssertionError("never got within reach of the threshold")
    run_at_failure = description.run_id

    # CI fails; sync-github finds it. The run moves to ITERATING (auto mode iterates by itself)
    # and is due to continue as new in the same breath.
    github.set_check_run("demo", "calc", record.head_sha or "", "tests", conclusion="failure")
    await runs.send(run_id, IntegrationRunWorkflow.reconcile_github, ReconcileRequest())

    history = await client.get_workflow_handle(run_id, run_id=run_at_failure).fetch_history()
    last = history.events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    (carried_over,) = pydantic_data_converter.payload_converter.from_payloads(
        last.workflow_execution_continued_as_new_event_attributes.input.payloads, [RunStart]
    )
    assert carried_over.record.state == RunState.ITERATING
    assert carried_over.carried.iterate_pending

    # The new run takes the iteration: agent, grade, push, back to CI_WAIT.
    done = await wait_for(
        runs,
        run_id,
        lambda r: (
            r.iterations == 1
            and r.state
            in (RunState.CI_WAIT, RunState.NEEDS_HUMAN_REVIEW, RunState.FAILED_RETRYABLE)
        ),
    )
    assert done.state == RunState.CI_WAIT, done.history[-3:]  # type: ignore[attr-defined]
    assert [h.command for h in done.history[-3:]] == ["iterate"] * 3  # type: ignore[attr-defined]
    assert show(env, run_id)["iterations"] == 1
