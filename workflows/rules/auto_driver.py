"""The next step an auto-mode run takes by itself. It stops at every human gate: PR approval,
NEEDS_HUMAN_REVIEW, a failure, a pause."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts import ReasonCode, RunRecord
from contracts.states import RunState
from workflows.states import AUTO_IMPLEMENTS_FROM, AUTO_PLANS_FROM

# An agent step whose worker was lost is taken again this many times before a person must.
AUTO_INTERRUPTED_RETRIES = 3


class AutoStep(StrEnum):
    RETRY_INTERRUPTED = "retry-interrupted"  # a worker was lost under the agent: again
    START = "start-discovery"
    CHECK_POLICY = "check-maintainer-policy"  # the maintainers' rules, before any fork
    PREPARE = "run-prepare"
    DISCOVER = "discover"  # a skill pack's discovery stage writes the contract (read-only)
    PLAN = "plan"  # mark-plan-ready, start-implementation (the contract or the prompt is the plan)
    IMPLEMENT = "implement"  # preflight + the agent step
    VALIDATE_AND_PUSH = "validate-and-push"  # the test command, then run-finish
    ASK_PR_SLOT = "ask-pr-slot"  # a campaign run asks for a PR slot (per-owner cap)
    REQUEST_PR = "request-open-pr"  # write the request; a human approves


@dataclass(frozen=True)
class DriverState:
    """What the workflow knows besides the record: whether it drives itself, whether a pause
    holds it, whether a step or an iteration is under way, and what it already tried."""

    auto: bool
    held: bool
    step_running: bool
    iteration_pending: bool
    tried_at: int  # history length when the driver last acted
    interrupted_retries: int
    # Read the maintainers' rules before preparing (runs started before this existed do not).
    checks_policy: bool = False
    # Campaign runs wait for a PR slot from their campaign (runs started before do not).
    paces_prs: bool = False


def next_auto_step(record: RunRecord, driver: DriverState) -> AutoStep | None:
    """None: not auto, a gate, a failure, a pause, or a step already tried on this record (a
    step that left the record unchanged is not tried again until something else changes it,
    so the loop cannot spin)."""
    if (
        not driver.auto
        or driver.held
        or driver.step_running
        or driver.iteration_pending
        or len(record.history) == driver.tried_at
    ):
        return None
    state = record.state
    if (
        state == RunState.FAILED_RETRYABLE
        and record.grade is not None
        and record.grade.reason_code == ReasonCode.AGENT_STEP_INTERRUPTED
        and driver.interrupted_retries < AUTO_INTERRUPTED_RETRIES
    ):
        return AutoStep.RETRY_INTERRUPTED
    if state == RunState.QUEUED:
        return AutoStep.START
    if state == RunState.DISCOVERY and record.workspace is None:
        if driver.checks_policy and record.maintainer_policy is None:
            return AutoStep.CHECK_POLICY
        return AutoStep.PREPARE
    if record.auto is None or record.workspace is None:
        return None  # nothing to run: an operator takes it from here
    if state in AUTO_PLANS_FROM:
        if discovers(record) and record.repo_contract is None:
            return AutoStep.DISCOVER if state == RunState.DISCOVERY else None
        if state == RunState.PLAN_READY and waits_for_plan_approval(record):
            return None  # a person approves the plan (approve-plan)
        return AutoStep.PLAN
    if state in AUTO_IMPLEMENTS_FROM:
        return AutoStep.IMPLEMENT
    if state == RunState.LOCAL_VALIDATING:
        return AutoStep.VALIDATE_AND_PUSH
    if state == RunState.PUSHED and record.pr_request is None and record.pr_number is None:
        if driver.paces_prs and record.campaign_workflow_id and not record.pr_slot_granted:
            return None if record.pr_slot_asked else AutoStep.ASK_PR_SLOT
        return AutoStep.REQUEST_PR
    return None


def discovers(record: RunRecord) -> bool:
    """The run's skill pack has a discovery stage: a contract comes before any change."""
    return record.skills is not None and "discover" in record.skills.stages


def waits_for_plan_approval(record: RunRecord) -> bool:
    return record.approve_plans and record.plan_approved_by is None


def validation_command(record: RunRecord) -> str | None:
    """The operator's validation command, else the contract's test command (as the
    repository's CI runs it), else the repository's first detected test command."""
    assert record.auto is not None
    detected = record.governance.test_commands if record.governance else []
    contract = record.repo_contract.toolchain.test if record.repo_contract else None
    return record.auto.validation_command or contract or (detected[0] if detected else None)
