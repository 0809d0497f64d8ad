"""IntegrationRunWorkflow through the shared client module, against the real dev server."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from common.errors import Refused
from contracts import (
    Actor,
    CampaignControl,
    CheckConclusion,
    CheckRequest,
    CommandRequest,
    ContractRequest,
    LinkPrRequest,
    ReviewRequest,
    ReviewState,
    RunSpec,
    RunStart,
    TargetStateRequest,
)
from contracts import search_attributes as sa
from contracts.states import RunState
from starter.client import RunClient
from tests.run_env import Env, new_run_id
from workflows.run import IntegrationRunWorkflow


async def new_run(runs: RunClient, **fields: object) -> str:
    run_id = new_run_id()
    await runs.create_run(
        RunSpec(run_id=run_id, owner="mem0ai", repo="mem0", prompt_version="v1", **fields)
    )
    return run_id


async def history_length(client: Client, run_id: str) -> int:
    history = await client.get_workflow_handle(run_id).fetch_history()
    return len(history.events)


@pytest.fixture
def runs(client: Client, env: Env) -> RunClient:
    return RunClient(client, env.settings)


async def test_record_starts_queued_with_creation_entry(runs: RunClient) -> None:
    run_id = await new_run(runs)
    record = await runs.get_run(run_id)
    assert record.state == RunState.QUEUED
    assert (record.owner, record.repo, record.prompt_version) == ("mem0ai", "mem0", "v1")
    assert [(h.from_state, h.to_state, h.command, h.by) for h in record.history] == [
        (None, RunState.QUEUED, "create-run", Actor.CLI)
    ]
    assert record.pr_number is None and record.grade is None


async def test_repeated_pause_resume_cycles_all_apply(runs: RunClient) -> None:
    """The previous tool's dedup swallowed a second pause after a resume."""
    run_id = await new_run(runs)
    await runs.send(run_id, IntegrationRunWorkflow.start_discovery, CommandRequest())
    for _ in range(5):
        paused = await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest())
        assert (paused.from_state, paused.to_state, paused.applied) == (
            RunState.DISCOVERY,
            RunState.PAUSED,
            True,
        )
        resumed = await runs.send(
            run_id,
            IntegrationRunWorkflow.resume,
            TargetStateRequest(target_state=RunState.DISCOVERY),
        )
        assert resumed.to_state == RunState.DISCOVERY and resumed.applied
    record = await runs.get_run(run_id)
    assert [h.command for h in record.history] == (
        ["create-run", "start-discovery"] + ["pause", "resume"] * 5
    )


async def test_illegal_command_is_refused_before_it_enters_history(
    runs: RunClient, client: Client
) -> None:
    run_id = await new_run(runs)
    await runs.get_run(run_id)  # first workflow task done
    before = await history_length(client, run_id)
    with pytest.raises(Refused) as refusal:
        await runs.send(run_id, IntegrationRunWorkflow.mark_local_validated, CommandRequest())
    assert str(refusal.value) == (
        f"mark-local-validated refused: run {run_id} cannot go QUEUED -> LOCAL_VALIDATING; "
        "allowed from QUEUED: EXECUTING, DISCOVERY, PAUSED, FAILED, SKIPPED, FAILED_TERMINAL"
    )
    with pytest.raises(Refused, match="not paused"):
        await runs.send(
            run_id,
            IntegrationRunWorkflow.resume,
            TargetStateRequest(target_state=RunState.DISCOVERY),
        )
    assert await history_length(client, run_id) == before
    record = await runs.get_run(run_id)
    assert record.state == RunState.QUEUED and len(record.history) == 1


async def test_idempotency_key_applies_at_most_once(runs: RunClient) -> None:
    run_id = await new_run(runs)
    first = await runs.send(
        run_id, IntegrationRunWorkflow.pause, CommandRequest(idempotency_key="k-1")
    )
    await runs.send(
        run_id,
        IntegrationRunWorkflow.resume,
        TargetStateRequest(target_state=RunState.DISCOVERY),
    )
    again = await runs.send(
        run_id, IntegrationRunWorkflow.pause, CommandRequest(idempotency_key="k-1")
    )
    assert first.applied and not first.duplicate
    assert again.duplicate and not again.applied
    assert (again.from_state, again.to_state) == (RunState.QUEUED, RunState.PAUSED)
    record = await runs.get_run(run_id)
    assert record.state == RunState.DISCOVERY
    assert [h.command for h in record.history] == ["create-run", "pause", "resume"]
    with pytest.raises(Refused, match="already used for 'pause'"):
        await runs.send(
            run_id, IntegrationRunWorkflow.start_discovery, CommandRequest(idempotency_key="k-1")
        )


async def test_pr_lifecycle_checks_reviews_and_done(runs: RunClient, client: Client) -> None:
    run_id = await new_run(runs)
    steps = [
        (IntegrationRunWorkflow.start_discovery, CommandRequest()),
        (
            IntegrationRunWorkflow.mark_plan_ready,
            ContractRequest(contract_path="/tmp/c.md", contract_sha256="ab" * 32),
        ),
        (IntegrationRunWorkflow.start_implementation, CommandRequest()),
        (IntegrationRunWorkflow.mark_local_validated, CommandRequest()),
        (IntegrationRunWorkflow.pause, CommandRequest(reason="finish by hand")),
        (IntegrationRunWorkflow.resume, TargetStateRequest(target_state=RunState.PUSHED)),
        (IntegrationRunWorkflow.link_pr, LinkPrRequest(pr_number=41)),
        (IntegrationRunWorkflow.record_check, CheckRequest(conclusion=CheckConclusion.FAILURE)),
        (IntegrationRunWorkflow.retry, TargetStateRequest(target_state=RunState.IMPLEMENTING)),
    ]
    for update, request in steps:
        await runs.send(run_id, update, request)
    record = await runs.get_run(run_id)
    assert record.state == RunState.IMPLEMENTING
    assert record.pr_number == 41
    assert record.contract is not None and record.reports["contract"] == "/tmp/c.md"
    assert [c.conclusion for c in record.checks] == [CheckConclusion.FAILURE]
    with pytest.raises(Refused, match="tracks PR #41, not #42"):
        await runs.send(
            run_id,
            IntegrationRunWorkflow.record_check,
            CheckRequest(conclusion=CheckConclusion.SUCCESS, pr_number=42),
        )
    # Back through validation to CI, then green checks, reviews and done.
    await runs.send(run_id, IntegrationRunWorkflow.mark_local_validated, CommandRequest())
    await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest())
    await runs.send(
        run_id, IntegrationRunWorkflow.resume, TargetStateRequest(target_state=RunState.CI_WAIT)
    )
    ok = await runs.send(
        run_id,
        IntegrationRunWorkflow.record_check,
        CheckRequest(conclusion=CheckConclusion.SUCCESS, pr_number=41, by=Actor.WEBHOOK),
    )
    assert ok.to_state == RunState.REVIEW_WAIT
    approved = await runs.send(
        run_id,
        IntegrationRunWorkflow.record_review,
        ReviewRequest(review_state=ReviewState.APPROVED),
    )
    assert approved.from_state == approved.to_state == RunState.REVIEW_WAIT
    done = await runs.send(run_id, IntegrationRunWorkflow.mark_done, CommandRequest())
    assert done.to_state == RunState.DONE
    # The workflow completes; its record stays readable and commands are refused.
    result = await client.get_workflow_handle_for(IntegrationRunWorkflow.run, run_id).result()
    assert result.record.state == RunState.DONE
    with pytest.raises(Refused, match=f"run {run_id} is finished \\(DONE\\)"):
        await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest())
    final = await runs.get_run(run_id)
    assert final.history[-1].command == "mark-done"
    assert [r.review_state for r in final.reviews] == [ReviewState.APPROVED]
    assert final.checks[-1].by == Actor.WEBHOOK


async def test_search_attributes_follow_the_state(runs: RunClient, client: Client) -> None:
    run_id = await new_run(runs)
    await runs.send(run_id, IntegrationRunWorkflow.start_discovery, CommandRequest())
    await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest())
    await runs.send(
        run_id, IntegrationRunWorkflow.resume, TargetStateRequest(target_state=RunState.PUSHED)
    )
    await runs.send(run_id, IntegrationRunWorkflow.link_pr, LinkPrRequest(pr_number=7))
    description = await client.get_workflow_handle(run_id).describe()
    attrs = description.typed_search_attributes
    assert attrs.get(sa.STATE) == "CI_WAIT"
    assert attrs.get(sa.REPO) == "mem0ai/mem0"
    assert attrs.get(sa.PR) == 7
    for _ in range(50):  # visibility trails an upsert by milliseconds
        listed = await runs.list_runs(state=RunState.CI_WAIT, repo="mem0ai/mem0")
        if any(row.run_id == run_id for row in listed):
            break
        await asyncio.sleep(0.1)
    row = next(row for row in listed if row.run_id == run_id)
    assert (row.state, row.pr_number, row.status) == (RunState.CI_WAIT, 7, "RUNNING")


async def test_the_campaigns_money_stop_comes_and_goes(runs: RunClient, client: Client) -> None:
    """`budget_spent` holds the run's agent steps back; `budget_restored` (a raised cap)
    lets them start again."""
    run_id = await new_run(runs)
    handle = client.get_workflow_handle_for(IntegrationRunWorkflow.run, run_id)

    async def money_spent_after(control: CampaignControl) -> str | None:
        await handle.signal(IntegrationRunWorkflow.campaign_control, control)
        while True:  # a signal is handled in the run's next workflow task
            record = await runs.get_run(run_id)
            if (record.campaign_money_spent is None) == (control.action == "budget_restored"):
                return record.campaign_money_spent
            await asyncio.sleep(0.05)

    spent = CampaignControl(action="budget_spent", by=Actor.WORKFLOW, reason="spent $3 of $2")
    assert await asyncio.wait_for(money_spent_after(spent), 30) == "spent $3 of $2"
    restored = CampaignControl(action="budget_restored", reason="cap $2 → $4")
    assert await asyncio.wait_for(money_spent_after(restored), 30) is None


async def test_continue_as_new_keeps_record_and_keys(
    runs: RunClient, client: Client, env: Env
) -> None:
    run_id = new_run_id()
    spec = RunSpec(run_id=run_id, owner="mem0ai", repo="mem0", prompt_version="v1")
    handle = await client.start_workflow(
        IntegrationRunWorkflow.run,
        RunStart(spec=spec, continue_as_new_after=20),
        id=run_id,
        task_queue=env.settings.task_queue,
    )
    first_run = handle.result_run_id
    await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest(idempotency_key="once"))
    for _ in range(6):
        await runs.send(
            run_id,
            IntegrationRunWorkflow.resume,
            TargetStateRequest(target_state=RunState.DISCOVERY),
        )
        await runs.send(run_id, IntegrationRunWorkflow.pause, CommandRequest())
    description = await client.get_workflow_handle(run_id).describe()
    assert description.run_id != first_run  # it continued as new at least once
    again = await runs.send(
        run_id, IntegrationRunWorkflow.pause, CommandRequest(idempotency_key="once")
    )
    assert again.duplicate
    record = await runs.get_run(run_id)
    assert len(record.history) == 1 + 1 + 12
    assert record.state == RunState.PAUSED
    # Visibility is eventually consistent: the newest link of the chain may be indexed a moment
    # after the command that made it answered (seen on a loaded 2-core CI machine).
    for _ in range(50):
        listed = await runs.list_runs(repo="mem0ai/mem0", limit=1000)
        if run_id in [row.run_id for row in listed]:
            break
        await asyncio.sleep(0.2)
    assert [row.run_id for row in listed].count(run_id) == 1
