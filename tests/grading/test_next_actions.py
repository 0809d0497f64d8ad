"""What the operator is told to do next, for every reason code."""

from __future__ import annotations

from contracts import ReasonCode
from contracts.states import RunState
from grading.next_actions import _HUMAN_ACTIONS
from tests.transcript_builders import Codex, grade_of, passing_codex


def test_next_actions_name_agentpr_commands() -> None:
    retry = grade_of(
        Codex().failed("429 Too Many Requests").evidence(),
        exit_code=1,
        state=RunState.LOCAL_VALIDATING,
    )
    assert retry.next_action.startswith(
        "retry the agent step (rate_limited): agentpr retry "
        "--run-id <run> --target-state LOCAL_VALIDATING"
    )
    assert "agentpr run-agent-step --run-id <run>" in retry.next_action
    # PLAN_READY has no FAILED_RETRYABLE edge: the run lands in FAILED, back via review
    retry = grade_of(Codex().failed("429").evidence(), exit_code=1, state=RunState.PLAN_READY)
    assert "--target-state NEEDS_HUMAN_REVIEW" in retry.next_action
    retry = grade_of(Codex().failed("429").evidence(), exit_code=1, state=RunState.EXECUTING)
    assert "--target-state EXECUTING" in retry.next_action
    passed = grade_of(passing_codex().evidence())
    assert passed.next_action == (
        "review the diff in the workspace, then agentpr mark-local-validated --run-id <run>"
    )
    assert (
        "run-finish"
        in grade_of(passing_codex().evidence(), state=RunState.LOCAL_VALIDATING).next_action
    )
    human = grade_of(Codex().cmd("pytest", 1, "1 failed").done().evidence())
    assert "agentpr run-agent-step --run-id <run>" in human.next_action


def test_every_reason_code_has_a_specific_next_action() -> None:
    from grading.next_actions import _HUMAN_ACTIONS

    codes = [
        "reads_credentials",
        "safety_violation",
        "cancelled",
        "auth_failure",
        "quota_exhausted",
        "permission_denied",
        "tooling_missing",
        "agent_config_error",
        "context_exhausted",
        "max_turns_reached",
        "budget_exhausted",
        "agent_turn_failed",
        "nonzero_exit",
        "turn_incomplete",
        "network_blocked",
        "tests_failing",
        "claim_contradicts_evidence",
        "tests_weakened",
        "tests_stale_after_edit",
        "agent_reported_failure",
        "agent_needs_review",
        "agent_reported_skip",
        "checks_failing",
        "diff_budget_exceeded",
        "no_changes",
        "missing_test_evidence",
        "retry_cap_reached",
        "contract_needs_review",
        "contract_invalid",
        "discovery_changed_files",
        "contract_files_outside_plan",
        "contract_budget_exceeded",
        "contract_test_not_run",
        "cost_cap_reached",
        "cost_unpriced",
    ]
    assert sorted(codes) == sorted(c for c in _HUMAN_ACTIONS if c != "hard_failure")


def test_every_human_action_is_keyed_by_a_reason_code() -> None:
    assert all(isinstance(code, ReasonCode) for code in _HUMAN_ACTIONS)
