"""The next step an auto-mode run takes by itself, and where it stops."""

from __future__ import annotations

import pytest

from contracts import AgentStepRequest, GovernanceSummary, MaintainerPolicy, RunRecord, Verdict
from contracts.states import RunState
from tests.workflows.rules.records import auto_record, grade, pr_ask, record
from workflows.rules.auto_driver import (
    AUTO_INTERRUPTED_RETRIES,
    AutoStep,
    DriverState,
    next_auto_step,
    validation_command,
)

S = RunState


def driver(**changes: object) -> DriverState:
    fields: dict[str, object] = dict(
        auto=True,
        held=False,
        step_running=False,
        iteration_pending=False,
        tried_at=-1,
        interrupted_retries=0,
    )
    fields.update(changes)
    return DriverState(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("run", "step"),
    [
        (auto_record(S.QUEUED, workspace=None), AutoStep.START),
        (auto_record(S.DISCOVERY, workspace=None), AutoStep.PREPARE),
        (auto_record(S.DISCOVERY), AutoStep.PLAN),
        (auto_record(S.PLAN_READY), AutoStep.PLAN),
        (auto_record(S.IMPLEMENTING), AutoStep.IMPLEMENT),
        (auto_record(S.EXECUTING), AutoStep.IMPLEMENT),
        (auto_record(S.LOCAL_VALIDATING), AutoStep.VALIDATE_AND_PUSH),
        (auto_record(S.PUSHED), AutoStep.REQUEST_PR),
        # gates: a human decides
        (auto_record(S.PUSHED, pr_request=pr_ask()), None),
        (auto_record(S.NEEDS_HUMAN_REVIEW), None),
        (auto_record(S.CI_WAIT, pr_number=3), None),
        (auto_record(S.PAUSED), None),
        (auto_record(S.FAILED_RETRYABLE, grade=grade(Verdict.RETRYABLE, "tests_failing")), None),
        (
            auto_record(
                S.FAILED_RETRYABLE, grade=grade(Verdict.RETRYABLE, "agent_step_interrupted")
            ),
            AutoStep.RETRY_INTERRUPTED,
        ),
        # an auto run without a plan prepares its workspace and waits for an operator
        (record(S.DISCOVERY, mode="auto", workspace=None), AutoStep.PREPARE),
    ],
    ids=lambda value: value.state if isinstance(value, RunRecord) else str(value),
)
def test_next_auto_step(run: RunRecord, step: AutoStep | None) -> None:
    assert next_auto_step(run, driver()) == step


@pytest.mark.parametrize(
    "blocked",
    [
        {"auto": False},
        {"held": True},
        {"step_running": True},
        {"iteration_pending": True},
        {"tried_at": 2},  # this record (two transitions) was already tried
    ],
)
def test_nothing_is_due_while_blocked(blocked: dict[str, object]) -> None:
    assert next_auto_step(auto_record(S.IMPLEMENTING), driver(**blocked)) is None


def test_interrupted_steps_are_retried_a_few_times_only() -> None:
    run = auto_record(S.FAILED_RETRYABLE, grade=grade(Verdict.RETRYABLE, "agent_step_interrupted"))
    assert next_auto_step(run, driver(interrupted_retries=AUTO_INTERRUPTED_RETRIES)) is None


def test_validation_command_prefers_the_plan() -> None:
    run = auto_record(
        S.LOCAL_VALIDATING, governance=GovernanceSummary(test_commands=["make test", "pytest"])
    )
    assert validation_command(run) == "make test"
    assert run.auto is not None
    run.auto.validation_command = "tox -e py"
    assert validation_command(run) == "tox -e py"
    run.auto.validation_command = None
    run.governance = None
    assert validation_command(run) is None
    assert isinstance(run.auto.step, AgentStepRequest)


@pytest.mark.parametrize(
    ("run", "checks_policy", "step"),
    [
        (auto_record(S.DISCOVERY, workspace=None), True, AutoStep.CHECK_POLICY),
        (
            auto_record(S.DISCOVERY, workspace=None, maintainer_policy=MaintainerPolicy()),
            True,
            AutoStep.PREPARE,
        ),
        # runs recorded before the maintainers' rules existed go on as they were
        (auto_record(S.DISCOVERY, workspace=None), False, AutoStep.PREPARE),
        (auto_record(S.QUEUED, workspace=None), True, AutoStep.START),
        (auto_record(S.DISCOVERY), True, AutoStep.PLAN),  # prepared already: never read again
    ],
)
def test_the_maintainers_rules_come_before_prepare(
    run: RunRecord, checks_policy: bool, step: AutoStep
) -> None:
    assert next_auto_step(run, driver(checks_policy=checks_policy)) == step
