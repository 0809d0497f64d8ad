"""What a campaign's controls do to one run."""

from __future__ import annotations

import pytest

from contracts import AgentStepRequest, CampaignControl
from contracts.states import RunState
from tests.workflows.rules.records import record, workspace
from workflows.rules.campaign_control import ControlPlan, control_plan

S = RunState


@pytest.mark.parametrize(
    ("state", "action", "plan"),
    [
        (S.IMPLEMENTING, "pause", ControlPlan("pause", [S.PAUSED], paused_by_campaign=True)),
        (S.CI_WAIT, "pause", ControlPlan("pause", [S.PAUSED], paused_by_campaign=True)),
        (S.NEEDS_HUMAN_REVIEW, "pause", ControlPlan("pause")),  # a human holds it
        (S.PUSHED, "pause", ControlPlan("pause")),  # at the PR gate
        (S.DONE, "cancel", ControlPlan("cancel")),
        (S.QUEUED, "cancel", ControlPlan("cancel", [S.SKIPPED])),
        (S.IMPLEMENTING, "cancel", ControlPlan("cancel", [S.FAILED_TERMINAL])),
        (S.PUSHED, "cancel", ControlPlan("cancel", [S.NEEDS_HUMAN_REVIEW, S.SKIPPED])),
        (S.IMPLEMENTING, "retry", ControlPlan("retry")),  # not failed
    ],
)
def test_control_plan(state: RunState, action: str, plan: ControlPlan) -> None:
    assert control_plan(record(state), CampaignControl(action=action)) == plan  # type: ignore[arg-type]


def test_resume_takes_back_only_what_the_campaign_paused() -> None:
    by_campaign = record(S.PAUSED, paused_from=S.IMPLEMENTING, paused_by_campaign=True)
    assert control_plan(by_campaign, CampaignControl(action="resume")) == ControlPlan(
        "resume", [S.IMPLEMENTING], paused_by_campaign=False
    )
    by_operator = record(S.PAUSED, paused_from=S.IMPLEMENTING)
    assert control_plan(by_operator, CampaignControl(action="resume")).targets == []


@pytest.mark.parametrize(
    ("failed", "came_from", "target"),
    [
        (S.FAILED_RETRYABLE, S.IMPLEMENTING, S.IMPLEMENTING),
        (S.FAILED_RETRYABLE, S.DISCOVERY, S.DISCOVERY),
        (S.FAILED, S.PLAN_READY, S.EXECUTING),
    ],
)
def test_retry_goes_back_where_the_run_failed(
    failed: RunState, came_from: RunState, target: RunState
) -> None:
    plan = control_plan(record(failed, came_from=came_from), CampaignControl(action="retry"))
    assert plan.targets == [target]


def test_a_run_that_failed_from_queued_stays_failed() -> None:
    # It would go back to DISCOVERY, which the table does not allow from FAILED.
    plan = control_plan(record(S.FAILED, came_from=S.QUEUED), CampaignControl(action="retry"))
    assert plan.targets == []


def test_retry_into_iterating_starts_an_iteration() -> None:
    run = record(
        S.FAILED_RETRYABLE,
        came_from=S.ITERATING,
        workspace=workspace(),
        pr_number=9,
        agent_request=AgentStepRequest(prompt="p"),
    )
    assert control_plan(run, CampaignControl(action="retry")) == ControlPlan(
        "retry", [S.ITERATING], iterate=True
    )
