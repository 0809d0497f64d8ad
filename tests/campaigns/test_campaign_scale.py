"""Large campaigns (issue 16: 10,000 repositories): past PACK_PROGRESS_OVER runs the campaign
carries its runs' progress packed across continue-as-new, answers `campaign show` with it packed
and returns it packed — and the CLI shows every run as before."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.campaign_steps import FORGE, prepare_env, status, wait_for
from tests.run_env import Env


async def test_a_campaign_past_the_packing_size_continues_as_new_and_shows_every_run(
    env: Env, tmp_path: Path
) -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from contracts import (
        AgentStepRequest,
        AutoPlan,
        CampaignCarried,
        CampaignRepo,
        CampaignSpec,
        CampaignStart,
        CampaignStatus,
        Engine,
        RunProgress,
        packed,
    )
    from contracts.campaign import PACK_PROGRESS_OVER
    from contracts.states import RunState
    from starter.client import CampaignClient
    from workflows.campaign import campaign_run_id, campaign_workflow_id

    prepare_env(env)
    # As if the campaign had already continued as new with this many runs done: they are
    # carried packed; 12 more repositories get runs now (excluded: each ends SKIPPED at once,
    # before any GitHub call), and the history is cut every 20 events.
    done = [CampaignRepo(owner="fleet", repo=f"done{i}") for i in range(PACK_PROGRESS_OVER + 8)]
    fresh = [CampaignRepo(owner="fleet", repo=f"new{i}") for i in range(12)]
    now = datetime.now(UTC)
    carried = CampaignCarried(
        runs=[
            RunProgress(
                run_id=campaign_run_id("big", repo),
                repo=repo.full_name,
                state=RunState.DONE,
                pr_number=i + 1,
                updated_at=now,
                cost_usd=0.01,
            )
            for i, repo in enumerate(done)
        ],
        outcome_seen=[campaign_run_id("big", repo) for repo in done],
    )
    plan = AutoPlan(
        step=AgentStepRequest(engine=Engine.COMMAND, command=FORGE, skip_network_check=True)
    )
    client = await Client.connect(
        env.settings.temporal_address, data_converter=pydantic_data_converter
    )
    await CampaignClient(client, env.settings).start(
        CampaignStart(
            spec=CampaignSpec(
                name="big",
                repos=[*done, *fresh],
                plan=plan,
                max_parallel=4,
                exclude=["^fleet/new"],
            ),
            started=len(done),
            carried=packed(carried),
            continue_as_new_after=20,
        )
    )
    handle = client.get_workflow_handle(campaign_workflow_id("big"), result_type=CampaignStatus)
    first_run = (await handle.describe()).run_id

    final = wait_for(env, "big", lambda s: s["finished"], timeout=300)
    assert final["counts"] == {"DONE": len(done), "SKIPPED": len(fresh)}
    assert len(final["runs"]) == len(done) + len(fresh)  # every run, unpacked for the CLI
    assert {r["repo"] for r in final["runs"] if r["state"] == "SKIPPED"} == {
        repo.full_name for repo in fresh
    }
    assert final["cost_usd"] == round(0.01 * len(done), 4)
    assert (await handle.describe()).run_id != first_run  # it continued as new with them
    # The campaign's result carries the runs packed; the Web UI's input of a large campaign
    # shows the spec and a packed blob of its progress.
    result = await handle.result()
    assert result.packed_runs and not result.runs
    shown = status(env, "big")
    assert shown["counts"] == final["counts"] and len(shown["runs"]) == len(final["runs"])


async def test_runs_that_end_at_once_do_not_keep_the_history_growing(
    env: Env, tmp_path: Path
) -> None:
    """Runs that end as soon as they start (here: excluded) keep room free under
    --max-parallel, so the campaign would go on starting runs without ever looking up: its
    history must still be cut (found with 10,000 such runs: one 30 MB history)."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from contracts import (
        AgentStepRequest,
        AutoPlan,
        CampaignRepo,
        CampaignSpec,
        CampaignStart,
        Engine,
    )
    from starter.client import CampaignClient
    from workflows.campaign import campaign_workflow_id

    prepare_env(env)
    client = await Client.connect(
        env.settings.temporal_address, data_converter=pydantic_data_converter
    )
    repos = [CampaignRepo(owner="fleet", repo=f"quick{i}") for i in range(100)]
    await CampaignClient(client, env.settings).start(
        CampaignStart(
            spec=CampaignSpec(
                name="quick",
                repos=repos,
                plan=AutoPlan(step=AgentStepRequest(engine=Engine.COMMAND, command=FORGE)),
                max_parallel=25,
                exclude=["^fleet/"],
            ),
            continue_as_new_after=60,
        )
    )
    final = wait_for(env, "quick", lambda s: s["finished"], timeout=300)
    assert final["counts"] == {"SKIPPED": 100}
    workflow_id = campaign_workflow_id("quick")
    lengths = []
    async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        history = await client.get_workflow_handle(
            workflow_id, run_id=execution.run_id
        ).fetch_history()
        lengths.append(len(history.events))
    # Cut after at most one batch past the limit (25 starts and their news), every time.
    assert len(lengths) >= 3 and max(lengths) < 300, lengths
