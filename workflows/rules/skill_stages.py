"""Skill packs in a run: which stage an agent step runs, what a discovery's contract does to
the run, and when a plan may be approved."""

from __future__ import annotations

from contracts import (
    AgentStepRequest,
    AgentStepResult,
    ApprovePlanRequest,
    Engine,
    Refusal,
    RunRecord,
    SkillStage,
    SkillStageInput,
    StageOutcome,
    Verdict,
)
from contracts.states import RunState
from workflows.rules.refusal import Refused

# A discovery that ends without a valid contract is taken once more, then a person decides.
DISCOVERY_ATTEMPTS = 2


def stage_for(state: RunState) -> SkillStage:
    if state == RunState.DISCOVERY:
        return "discover"
    if state == RunState.ITERATING:
        return "fix"
    return "implement"


def skill_stage_input(
    record: RunRecord, ask: AgentStepRequest, state: RunState, feedback: str | None = None
) -> SkillStageInput | None:
    """The stage an agent step runs (None: no pack, or a plain command such as validation)."""
    pack = record.skills
    if pack is None or ask.engine == Engine.COMMAND:
        return None
    stage = stage_for(state)
    if stage not in pack.stages:
        stage = "implement"  # a pack without a fix stage fixes with its implement stage
    task = record.auto.step.prompt if record.auto and record.auto.step.prompt else ask.prompt
    return SkillStageInput(
        pack=pack,
        stage=stage,
        task=task or "",
        contract=record.repo_contract if stage != "discover" else None,
        feedback=feedback if stage == "fix" else None,
    )


def discovery_target(record: RunRecord, outcome: AgentStepResult) -> tuple[RunState, str]:
    """Where a discovery stage leaves the run, and why.

    ready → stays in DISCOVERY with its contract (the plan step follows); skip → SKIPPED;
    needs_review or anything a person must see → NEEDS_HUMAN_REVIEW; no valid contract (or a
    transient failure) → DISCOVERY again, once, then NEEDS_HUMAN_REVIEW."""
    contract = outcome.contract
    grade = outcome.grade
    if contract is not None and grade.verdict == Verdict.PASS:
        if contract.status == "skip":
            return RunState.SKIPPED, f"discovery: skip: {contract.reason}"
        return RunState.DISCOVERY, f"discovery: contract ready: {contract.reason}"
    if grade.verdict == Verdict.RETRYABLE and record.discovery_attempts < DISCOVERY_ATTEMPTS:
        return (
            RunState.DISCOVERY,
            f"discovery again: {grade.reasons[0] if grade.reasons else grade.reason_code}",
        )
    why = grade.reasons[0] if grade.reasons else grade.reason_code
    return RunState.NEEDS_HUMAN_REVIEW, f"discovery: {why}"


def refuse_approve_plan(record: RunRecord, request: ApprovePlanRequest) -> Refused | None:
    """A plan is approved at PLAN_READY, or — with a contract written by a person — when
    discovery left the run for a human."""
    if record.skills is None:
        return Refused(
            f"approve-plan refused: run {record.run_id} has no skill pack (its prompt is the plan)",
            Refusal.ILLEGAL_TRANSITION,
        )
    if request.contract is not None and request.contract.status != "ready":
        return Refused(
            "approve-plan refused: an approved contract has status ready; to skip the "
            f"repository, agentpr retry --run-id {record.run_id} --target-state SKIPPED",
            Refusal.ILLEGAL_TRANSITION,
        )
    if record.state == RunState.PLAN_READY and record.repo_contract is not None:
        return None
    if record.state == RunState.NEEDS_HUMAN_REVIEW and request.contract is not None:
        return None
    need = (
        " with --edit-file (discovery wrote no usable contract)"
        if record.state == RunState.NEEDS_HUMAN_REVIEW
        else ""
    )
    return Refused(
        f"approve-plan refused: run {record.run_id} is {record.state}; plans are approved at "
        f"PLAN_READY, or from NEEDS_HUMAN_REVIEW{need}",
        Refusal.ILLEGAL_TRANSITION,
    )


REMEMBERED_STAGES = 50


# A run without a pack follows its prompt (`--prompt-file`) as a one-stage pack of this name, so
# `skills stats` compares prompt versions with packs.
PROMPT_PACK = "prompt"


def remember_stage(record: RunRecord, outcome: AgentStepResult, state: RunState) -> None:
    """Keep the stage an agent step ran for `skills stats`: the pack's own, or for a run
    whose prompt is the plan, `prompt@<prompt version>` (implement, or fix when iterating)."""
    stage = outcome.stage
    if stage is None and record.skills is None and outcome.engine != Engine.COMMAND:
        stage = StageOutcome(
            pack=f"{PROMPT_PACK}@{record.prompt_version}",
            stage="fix" if state == RunState.ITERATING else "implement",
            verdict=outcome.grade.verdict.value,
            reason_code=outcome.grade.reason_code,
            duration_s=outcome.duration_s,
        )
    if stage is not None:
        record.stage_outcomes.append(stage)
        del record.stage_outcomes[:-REMEMBERED_STAGES]
