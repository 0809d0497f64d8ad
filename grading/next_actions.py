"""One sentence for the operator after a grade, with the agentpr commands that follow (`<run>`
stands for the run id)."""

from __future__ import annotations

from contracts import ReasonCode, Verdict
from contracts.states import RunState, can_transition

_HUMAN_ACTIONS: dict[str, str] = {
    ReasonCode.READS_CREDENTIALS: (
        "the agent printed or copied credentials: rotate the ones named in the agent report, "
        "remove them from the workspace and the agent's environment, then {rerun}"
    ),
    ReasonCode.SAFETY_VIOLATION: (
        "inspect the flagged commands in the agent report and undo anything they did outside the "
        "workspace, then rerun with a tighter prompt or sandbox: {rerun}"
    ),
    ReasonCode.CANCELLED: "when ready, start the step again: {rerun}",
    ReasonCode.AUTH_FAILURE: (
        "fix the agent's credentials (codex login / API key env), check them with agentpr doctor, "
        "then {rerun}"
    ),
    ReasonCode.QUOTA_EXHAUSTED: "wait for the model quota to reset or raise it, then {rerun}",
    ReasonCode.PERMISSION_DENIED: (
        "make the workspace (and .git) writable for the agent or use --codex-sandbox "
        "danger-full-access, run agentpr run-preflight --run-id <run>, then {rerun}"
    ),
    ReasonCode.TOOLING_MISSING: (
        "install the repository's toolchain on the worker (see agentpr doctor and run-preflight), "
        "then {rerun}"
    ),
    ReasonCode.AGENT_CONFIG_ERROR: (
        "fix the model/provider settings (--codex-model, --codex-config), then {rerun}"
    ),
    ReasonCode.CONTEXT_EXHAUSTED: "split the task or shorten the prompt, then {rerun}",
    ReasonCode.MAX_TURNS_REACHED: "raise the agent's turn limit or narrow the task, then {rerun}",
    ReasonCode.BUDGET_EXHAUSTED: (
        "raise the agent's spending limit or narrow the task, then {rerun}"
    ),
    ReasonCode.COST_CAP_REACHED: (
        "look at what the run spent (agentpr show-run --run-id <run>); raise its cap "
        "(max_cost_usd in the policy) or narrow the task, then {rerun}"
    ),
    ReasonCode.COST_UNPRICED: (
        "add the model's price to the policy's prices (or a \"*\" entry), then {rerun}"
    ),
    ReasonCode.HARD_FAILURE: (
        "read the hard failure in the agent report, fix the environment, then {rerun}"
    ),
    ReasonCode.AGENT_TURN_FAILED: (
        "read the turn failure in the agent report, fix its cause, then {rerun}"
    ),
    ReasonCode.NONZERO_EXIT: "read the output in the agent report and fix the cause, then {rerun}",
    ReasonCode.TURN_INCOMPLETE: (
        "inspect the transcript (it ends before the turn completed), then {rerun}"
    ),
    ReasonCode.NETWORK_BLOCKED: (
        "give the agent network access (--codex-sandbox danger-full-access) or pre-install the "
        "dependencies in the workspace, then {rerun}"
    ),
    ReasonCode.TESTS_FAILING: (
        "read the failing test output in the agent report; fix the code or the environment (or the "
        "prompt), then {rerun}"
    ),
    ReasonCode.CLAIM_CONTRADICTS_EVIDENCE: (
        "the agent says the tests pass but its last test run failed or none ran: run the tests "
        "in the workspace yourself and, if they pass, {accept}; otherwise {rerun}"
    ),
    ReasonCode.TESTS_WEAKENED: (
        "review the test changes named in the agent report (removed or trivial assertions, "
        "skips, deleted tests, a narrowed selection); if they are right, {accept}, otherwise "
        "revert them and {rerun}"
    ),
    ReasonCode.TESTS_STALE_AFTER_EDIT: (
        "code changed after the last test run: run the tests in the workspace yourself and, if "
        "they pass, {accept}; or ask the agent to finish with a test run: {rerun}"
    ),
    ReasonCode.AGENT_REPORTED_FAILURE: (
        "read the agent's final message in the agent report, fix what it reports, then {rerun}"
    ),
    ReasonCode.AGENT_NEEDS_REVIEW: (
        "read the agent's final message and resolve the blocker it names, then {rerun}"
    ),
    ReasonCode.AGENT_REPORTED_SKIP: (
        "if the repository indeed needs no integration, agentpr retry --run-id <run> "
        "--target-state SKIPPED; otherwise give the agent more context and {rerun}"
    ),
    ReasonCode.CHECKS_FAILING: (
        "read the failing lint/type-check output in the agent report; fix it (or confirm it fails "
        "on the base branch too), then {rerun}"
    ),
    ReasonCode.DIFF_BUDGET_EXCEEDED: (
        "review the diff in the workspace; if the size is justified, {accept}, otherwise narrow "
        "the prompt and {rerun}"
    ),
    ReasonCode.NO_CHANGES: (
        "check the agent's final message for why it changed nothing, then {rerun}"
    ),
    ReasonCode.MISSING_TEST_EVIDENCE: (
        "run the repository's tests in the workspace yourself and, if they pass, {accept}; or ask "
        "the agent to run them: {rerun}"
    ),
    ReasonCode.CONTRACT_NEEDS_REVIEW: (
        "read the contract (agentpr show-contract --run-id <run>) and resolve what it names; "
        "edit it if needed and agentpr approve-plan --run-id <run> --edit-file <contract.json>"
    ),
    ReasonCode.CONTRACT_INVALID: (
        "the discovery stage twice ended without a valid contract: read the agent report, write "
        "the contract yourself and agentpr approve-plan --run-id <run> --edit-file "
        "<contract.json>"
    ),
    ReasonCode.DISCOVERY_CHANGED_FILES: (
        "the read-only discovery stage changed files: inspect the workspace, then {rerun}"
    ),
    ReasonCode.CONTRACT_FILES_OUTSIDE_PLAN: (
        "review the files changed outside the plan; if they belong, {accept}; otherwise "
        "revert them in the workspace and {rerun}"
    ),
    ReasonCode.CONTRACT_BUDGET_EXCEEDED: (
        "the change is larger than the approved plan expected: review it; if the size is "
        "justified, {accept}, otherwise narrow it and {rerun}"
    ),
    ReasonCode.CONTRACT_TEST_NOT_RUN: (
        "run the contract's test command in the workspace yourself and, if it passes, {accept}; "
        "or ask the agent to run it: {rerun}"
    ),
    ReasonCode.RETRY_CAP_REACHED: (
        "the step failed transiently too often: check the agent report, fix the environment, then "
        "{rerun}"
    ),
}


_PASS_ACTIONS: dict[RunState, str] = {
    RunState.DISCOVERY: "review the agent's findings, then agentpr mark-plan-ready --run-id <run> "
    "--contract-path <contract.md>",
    RunState.PLAN_READY: "review the diff in the workspace, then agentpr start-implementation "
    "--run-id <run> and agentpr mark-local-validated --run-id <run>",
    RunState.IMPLEMENTING: "review the diff in the workspace, then agentpr mark-local-validated "
    "--run-id <run>",
    RunState.ITERATING: "review the diff in the workspace, then agentpr mark-local-validated "
    "--run-id <run>",
    RunState.LOCAL_VALIDATING: "review the diff, then agentpr run-finish --run-id <run> "
    '--changes "…" --project <name> --commit-title "feat(scope): …"',
    RunState.EXECUTING: "review the diff, then agentpr run-finish --run-id <run> "
    '--changes "…" --project <name> --commit-title "feat(scope): …"',
    RunState.NEEDS_HUMAN_REVIEW: "review the diff, then agentpr retry --run-id <run> "
    "--target-state IMPLEMENTING and agentpr mark-local-validated --run-id <run>",
}


_RETRY_WHEN: dict[str, str] = {
    ReasonCode.ENVIRONMENT_OUTAGE: " once the network and package registries answer again",
}


def _back_to(state: RunState) -> str:
    """The `agentpr retry` that brings a RETRYABLE run back to where a step can run again. The
    workflow parks it in FAILED_RETRYABLE, or FAILED where the table has no such edge (as in
    PLAN_READY); from FAILED the way back is through NEEDS_HUMAN_REVIEW."""
    if can_transition(state, RunState.FAILED_RETRYABLE):
        parked = RunState.FAILED_RETRYABLE
    elif can_transition(state, RunState.FAILED):
        parked = RunState.FAILED
    else:
        return ""
    target = state if can_transition(parked, state) else RunState.NEEDS_HUMAN_REVIEW
    return f"agentpr retry --run-id <run> --target-state {target}, then "


def next_action(verdict: Verdict, code: str, state: RunState) -> str:
    """One sentence for the operator, with agentpr commands (`<run>` stands for the run id)."""
    rerun = "agentpr run-agent-step --run-id <run> --prompt-file <prompt.md>"
    if verdict == Verdict.PASS:
        return _PASS_ACTIONS.get(state, "agentpr show-run --run-id <run>")
    if verdict == Verdict.RETRYABLE:
        when = _RETRY_WHEN.get(code, "")
        return f"retry the agent step ({code}){when}: {_back_to(state)}{rerun}"
    # The run now waits in NEEDS_HUMAN_REVIEW: accepting the work goes back through IMPLEMENTING.
    accept = (
        "agentpr retry --run-id <run> --target-state IMPLEMENTING and agentpr "
        "mark-local-validated --run-id <run>"
    )
    template = _HUMAN_ACTIONS.get(code, "read the agent report, then {rerun}")
    return template.format(rerun=rerun, accept=accept)
