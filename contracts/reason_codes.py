"""Why a step was graded as it was: the reason codes grading emits, the workflow's own code for
an agent step whose worker was lost, and the codes the definition of done reads. One enum for
all three; the values are the strings operators see (show-run, reports, Telegram)."""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    # PASS
    TESTS_PASSED = "tests_passed"
    NO_TESTS_REQUIRED = "no_tests_required"
    # No test infrastructure in the repository, lint passed, a small diff, and the model's
    # semantic review agreed: the one failure the model may turn into a pass, marked as such.
    NO_TEST_INFRA_MODEL_REVIEWED = "no_test_infra_model_reviewed"
    # A discovery stage (skill packs): the contract it wrote decides
    CONTRACT_READY = "contract_ready"
    CONTRACT_SKIP = "contract_skip"
    CONTRACT_NEEDS_REVIEW = "contract_needs_review"
    CONTRACT_INVALID = "contract_invalid"
    DISCOVERY_CHANGED_FILES = "discovery_changed_files"
    # An implementation or fix stage that strays from its approved contract
    CONTRACT_FILES_OUTSIDE_PLAN = "contract_files_outside_plan"
    CONTRACT_BUDGET_EXCEEDED = "contract_budget_exceeded"
    CONTRACT_TEST_NOT_RUN = "contract_test_not_run"
    # HUMAN_REVIEW: what a person must look at
    SEMANTIC_REVIEW_HELD = "semantic_review_held"  # the model held back the rules' PASS
    READS_CREDENTIALS = "reads_credentials"
    SAFETY_VIOLATION = "safety_violation"
    CANCELLED = "cancelled"
    AGENT_TURN_FAILED = "agent_turn_failed"
    NONZERO_EXIT = "nonzero_exit"
    TURN_INCOMPLETE = "turn_incomplete"
    NETWORK_BLOCKED = "network_blocked"
    TESTS_FAILING = "tests_failing"
    CLAIM_CONTRADICTS_EVIDENCE = "claim_contradicts_evidence"
    TESTS_WEAKENED = "tests_weakened"
    TESTS_STALE_AFTER_EDIT = "tests_stale_after_edit"
    AGENT_REPORTED_FAILURE = "agent_reported_failure"
    AGENT_NEEDS_REVIEW = "agent_needs_review"
    AGENT_REPORTED_SKIP = "agent_reported_skip"
    CHECKS_FAILING = "checks_failing"
    DIFF_BUDGET_EXCEEDED = "diff_budget_exceeded"
    NO_CHANGES = "no_changes"
    MISSING_TEST_EVIDENCE = "missing_test_evidence"
    RETRY_CAP_REACHED = "retry_cap_reached"
    # HUMAN_REVIEW: hard failures a retry cannot fix
    AUTH_FAILURE = "auth_failure"
    QUOTA_EXHAUSTED = "quota_exhausted"
    PERMISSION_DENIED = "permission_denied"
    TOOLING_MISSING = "tooling_missing"
    AGENT_CONFIG_ERROR = "agent_config_error"
    CONTEXT_EXHAUSTED = "context_exhausted"
    MAX_TURNS_REACHED = "max_turns_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"
    # agentpr's own money caps (the policy's max_cost_usd, create-run --max-cost-usd)
    COST_CAP_REACHED = "cost_cap_reached"
    COST_UNPRICED = "cost_unpriced"
    HARD_FAILURE = "hard_failure"
    # RETRYABLE: transient
    TIMED_OUT = "timed_out"
    RATE_LIMITED = "rate_limited"
    MODEL_UNAVAILABLE = "model_unavailable"
    NETWORK_ERROR = "network_error"
    INTERRUPTED = "interrupted"
    DEPENDENCY_NETWORK_ERROR = "dependency_network_error"
    ENVIRONMENT_OUTAGE = "environment_outage"
    # The workflow's own: the worker running the agent was lost; auto mode takes the step again.
    AGENT_STEP_INTERRUPTED = "agent_step_interrupted"
