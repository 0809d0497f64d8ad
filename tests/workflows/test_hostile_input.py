"""Workflow code never fails on data (issue 13, defect 1): hostile values from GitHub, a
reviewer or an operator, thrown at every field that reaches the run, leave a run that still
answers its query and obeys pause. The values are sent raw (dicts, not our models), as a
careless or hostile door would, so nothing on the client side clips them first."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from contracts import CommandRequest, LinkPrRequest, RunSpec, TargetStateRequest
from contracts.states import RunState
from starter.client import RunClient
from tests.run_env import Env, new_run_id
from workflows.run import IntegrationRunWorkflow

LONG = "x" * 5_000
HUGE_TEXT = "y" * 300_000
HUGE_INT = 2**70


@pytest.fixture
def runs(client: Client, env: Env) -> RunClient:
    return RunClient(client, env.settings)


async def run_waiting_on_ci(runs: RunClient) -> str:
    run_id = new_run_id()
    await runs.create_run(RunSpec(run_id=run_id, owner="mem0ai", repo="mem0", prompt_version="v1"))
    await runs.send(run_id, IntegrationRunWorkflow.start_discovery, CommandRequest())
    await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest())
    await runs.send(
        run_id, IntegrationRunWorkflow.resume, TargetStateRequest(target_state=RunState.PUSHED)
    )
    await runs.send(run_id, IntegrationRunWorkflow.link_pr, LinkPrRequest(pr_number=41))
    return run_id


def hostile_facts() -> list[dict[str, Any]]:
    base: dict[str, Any] = {"delivery_id": "d-1", "kind": "check_run", "repo": "mem0ai/mem0"}
    return [
        {**base, "delivery_id": LONG, "name": "lint", "conclusion": "failure", "pr_number": 41},
        {**base, "delivery_id": "d-2", "name": LONG, "conclusion": "failure", "pr_number": 41},
        {**base, "delivery_id": "d-3", "name": "ci", "conclusion": "success", "head_sha": LONG},
        {**base, "delivery_id": "d-4", "name": "ci", "conclusion": "failure", "detail": HUGE_TEXT},
        {
            **base,
            "delivery_id": "d-5",
            "name": "ci",
            "conclusion": "failure",
            "pr_number": HUGE_INT,
        },
        {**base, "delivery_id": "d-6", "repo": LONG, "name": "ci", "conclusion": "failure"},
        {**base, "delivery_id": "d-7", "name": "ci", "conclusion": "no-such-conclusion"},
        {
            **base,
            "delivery_id": "d-8",
            "kind": "review",
            "review_id": HUGE_INT,
            "review_state": "changes_requested",
            "detail": HUGE_TEXT,
        },
        {**base, "delivery_id": "d-9", "kind": "pr_closed", "pr_number": -5, "merged": "maybe"},
        {"kind": "nonsense"},
    ]


async def still_answers(runs: RunClient, client: Client, run_id: str) -> None:
    record = await runs.get_run(run_id)
    assert record.run_id == run_id
    paused = await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest())
    assert paused.to_state == RunState.PAUSED
    for fact in record.github_facts:
        assert len(fact.delivery_id) <= 200 and len(fact.fact_key) <= 1_000
        assert len(fact.detail) <= 20_000 and len(fact.summary) <= 1_000


async def test_hostile_github_facts_leave_a_run_that_answers(
    runs: RunClient, client: Client
) -> None:
    run_id = await run_waiting_on_ci(runs)
    handle = client.get_workflow_handle(run_id)
    for fact in hostile_facts():
        await handle.signal("github_event", fact)
    await still_answers(runs, client, run_id)


async def test_hostile_operator_values_are_refused_and_the_run_answers(
    runs: RunClient, client: Client
) -> None:
    run_id = await run_waiting_on_ci(runs)
    handle = client.get_workflow_handle(run_id)
    hostile: list[tuple[str, dict[str, Any]]] = [
        ("link_pr", {"pr_number": HUGE_INT}),
        ("link_pr", {"pr_number": 2**63}),
        ("record_check", {"conclusion": "failure", "check_name": LONG, "pr_number": 41}),
        ("record_check", {"conclusion": "failure", "pr_number": HUGE_INT}),
        ("record_review", {"review_state": "approved", "pr_number": HUGE_INT}),
        ("pause", {"reason": HUGE_TEXT}),
        ("pause", {"idempotency_key": LONG}),
    ]
    for update, request in hostile:
        try:
            await handle.execute_update(update, request)
        except WorkflowUpdateFailedError:
            pass
    record = await runs.get_run(run_id)
    assert record.pr_number == 41
    await still_answers(runs, client, run_id)
