"""Skill packs in a run: the next auto step around discovery and plan approval, the stage an
agent step runs, where a contract sends the run, and when a plan may be approved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts import (
    AgentGrade,
    AgentStepRequest,
    AgentStepResult,
    ApprovePlanRequest,
    Engine,
    RepoContract,
    SkillPackRef,
    Verdict,
)
from contracts.states import RunState
from tests.workflows.rules.records import auto_record
from workflows.rules.auto_driver import AutoStep, DriverState, next_auto_step, validation_command
from workflows.rules.skill_stages import (
    discovery_target,
    refuse_approve_plan,
    remember_stage,
    skill_stage_input,
)

S = RunState
PACK = SkillPackRef(name="forge", version="v1", sha256="a" * 64, stages=["discover", "implement", "fix"])  # fmt: skip
READY = RepoContract(status="ready", reason="fits", toolchain={"test": "make test"})
DRIVER = DriverState(
    auto=True, held=False, step_running=False, iteration_pending=False, tried_at=-1,
    interrupted_retries=0,
)  # fmt: skip


@pytest.mark.parametrize(
    ("state", "fields", "step"),
    [
        (S.DISCOVERY, {}, AutoStep.DISCOVER),
        (S.DISCOVERY, {"repo_contract": READY}, AutoStep.PLAN),
        (S.PLAN_READY, {"repo_contract": READY, "approve_plans": True}, None),  # a person approves
        (S.PLAN_READY, {"repo_contract": READY, "approve_plans": True, "plan_approved_by": "cli"}, AutoStep.PLAN),
        (S.PLAN_READY, {}, None),  # no contract, nothing to implement
        (S.DISCOVERY, {"skills": PACK.model_copy(update={"stages": ["implement"]})}, AutoStep.PLAN),
    ],
)  # fmt: skip
def test_next_auto_step_with_a_pack(state: RunState, fields: dict, step: AutoStep | None) -> None:  # type: ignore[type-arg]
    fields.setdefault("skills", PACK)
    assert next_auto_step(auto_record(state, **fields), DRIVER) == step


def test_validation_runs_the_contract_s_test_command() -> None:
    assert validation_command(auto_record(S.LOCAL_VALIDATING, repo_contract=READY)) == "make test"


@pytest.mark.parametrize(
    ("state", "engine", "stage"),
    [(S.DISCOVERY, Engine.CODEX, "discover"), (S.IMPLEMENTING, Engine.CODEX, "implement"),
     (S.ITERATING, Engine.CLAUDE, "fix"), (S.LOCAL_VALIDATING, Engine.COMMAND, None)],
)  # fmt: skip
def test_the_stage_an_agent_step_runs(state: RunState, engine: Engine, stage: str | None) -> None:
    run = auto_record(state, skills=PACK, repo_contract=READY)
    ask = AgentStepRequest(engine=engine, prompt="p", command="make test")
    chosen = skill_stage_input(run, ask, state, feedback="```text\n- check failed\n```")
    assert (chosen.stage if chosen else None) == stage
    if chosen is not None:
        assert (chosen.contract is None) == (stage == "discover")
        assert (chosen.feedback is not None) == (stage == "fix")


def outcome(verdict: Verdict, contract: RepoContract | None, code: str = "x") -> AgentStepResult:
    return AgentStepResult(
        engine=Engine.CODEX, exit_code=0, duration_s=1, transcript="t", transcript_sha256="s",
        transcript_bytes=1, event_count=1, report="r", contract=contract,
        grade=AgentGrade(verdict=verdict, reason_code=code, next_action="n", at=datetime.now(UTC), reasons=[code]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("attempts", "result", "target"),
    [
        (1, outcome(Verdict.PASS, READY), S.DISCOVERY),
        (1, outcome(Verdict.PASS, READY.model_copy(update={"status": "skip"})), S.SKIPPED),
        (1, outcome(Verdict.HUMAN_REVIEW, READY.model_copy(update={"status": "needs_review"})), S.NEEDS_HUMAN_REVIEW),
        (1, outcome(Verdict.RETRYABLE, None, "contract_invalid"), S.DISCOVERY),  # once more
        (2, outcome(Verdict.RETRYABLE, None, "contract_invalid"), S.NEEDS_HUMAN_REVIEW),
        (1, outcome(Verdict.HUMAN_REVIEW, None, "safety_violation"), S.NEEDS_HUMAN_REVIEW),
    ],
)  # fmt: skip
def test_where_a_discovery_sends_the_run(
    attempts: int, result: AgentStepResult, target: RunState
) -> None:
    run = auto_record(S.DISCOVERY, skills=PACK, discovery_attempts=attempts)
    assert discovery_target(run, result)[0] == target


@pytest.mark.parametrize(
    ("state", "fields", "contract", "allowed"),
    [
        (S.PLAN_READY, {"repo_contract": READY}, None, True),
        (S.PLAN_READY, {}, None, False),
        (S.NEEDS_HUMAN_REVIEW, {}, READY, True),
        (S.NEEDS_HUMAN_REVIEW, {}, None, False),
        (S.PLAN_READY, {"repo_contract": READY}, READY.model_copy(update={"status": "skip"}), False),
        (S.PLAN_READY, {"repo_contract": READY, "skills": None}, None, False),
    ],
)  # fmt: skip
def test_when_a_plan_may_be_approved(
    state: RunState, fields: dict, contract: RepoContract | None, allowed: bool
) -> None:  # type: ignore[type-arg]
    fields.setdefault("skills", PACK)
    refused = refuse_approve_plan(
        auto_record(state, **fields), ApprovePlanRequest(contract=contract)
    )
    assert (refused is None) == allowed


def test_a_campaign_run_asks_for_a_pr_slot_before_requesting_its_pr() -> None:
    from tests.workflows.rules.records import pushed

    paced = DriverState(**{**DRIVER.__dict__, "paces_prs": True})
    run = pushed(mode="auto", auto=auto_record(S.PUSHED).auto, campaign_workflow_id="campaign.x")
    assert next_auto_step(run, paced) == AutoStep.ASK_PR_SLOT
    assert next_auto_step(run.model_copy(update={"pr_slot_asked": True}), paced) is None
    granted = run.model_copy(update={"pr_slot_asked": True, "pr_slot_granted": True})
    assert next_auto_step(granted, paced) == AutoStep.REQUEST_PR
    assert next_auto_step(run, DRIVER) == AutoStep.REQUEST_PR  # runs from before the patch


@pytest.mark.parametrize(
    ("fields", "engine", "state", "remembered"),
    [
        ({}, Engine.CODEX, S.IMPLEMENTING, ("prompt@v1", "implement")),  # --prompt-file: one stage
        ({}, Engine.CLAUDE, S.ITERATING, ("prompt@v1", "fix")),
        ({}, Engine.COMMAND, S.IMPLEMENTING, None),  # a codemod follows no prompt
        ({"skills": PACK}, Engine.CODEX, S.IMPLEMENTING, None),  # the pack's stage comes from the step
    ],
)  # fmt: skip
def test_a_prompt_file_run_counts_as_a_one_stage_pack(
    fields: dict,
    engine: Engine,
    state: RunState,
    remembered: tuple[str, str] | None,  # type: ignore[type-arg]
) -> None:
    run = auto_record(state, **fields)
    step = outcome(Verdict.PASS, None, "ok").model_copy(update={"engine": engine})
    remember_stage(run, step, state)
    kept = [(s.pack, s.stage) for s in run.stage_outcomes]
    assert kept == ([remembered] if remembered else [])
    if remembered:
        assert run.stage_outcomes[0].verdict == "PASS" and run.stage_outcomes[0].reason_code == "ok"
