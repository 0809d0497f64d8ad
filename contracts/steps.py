"""What the workflow hands each activity and what comes back: workspace, checks, finish, agent
steps and notifications. Big things (transcripts, reports) stay on disk; these carry paths,
hashes and summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, NonNegativeInt

from contracts.base import Contract
from contracts.policy import CodexSandbox, ModelPrice, RunPolicy
from contracts.skills import RepoContract, SkillStageInput, StageOutcome
from contracts.states import RunState
from contracts.vocabulary import CheckStatus, Engine, Verdict


class AgentGrade(Contract):
    """The latest agent step's verdict (filled by the agent runtime)."""

    verdict: Verdict
    reason_code: str
    next_action: str
    at: datetime
    # One line per finding that led to the verdict, for operators.
    reasons: list[str] = Field(default_factory=list)


class TokenUsage(Contract):
    # input_tokens counts cached input too (as OpenAI reports it; Claude's three input counts
    # are summed so); output_tokens includes reasoning tokens.
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0

    def cost_usd(self, price: ModelPrice) -> float:
        cached = min(self.cached_input_tokens, self.input_tokens)
        cached_price = (
            price.input_per_mtok
            if price.cached_input_per_mtok is None
            else price.cached_input_per_mtok
        )
        dollars = (
            (self.input_tokens - cached) * price.input_per_mtok
            + cached * cached_price
            + self.output_tokens * price.output_per_mtok
        ) / 1_000_000
        return round(dollars, 6)


class GovernanceSummary(Contract):
    """What the governance scan found in the cloned repository (full report on disk)."""

    project_types: list[str] = Field(default_factory=list)  # python, node, go, rust, …
    test_commands: list[str] = Field(default_factory=list)
    lint_commands: list[str] = Field(default_factory=list)
    dco_required: bool = False  # commits need `Signed-off-by` (finish uses --signoff)
    cla_required: bool = False
    contributing: str | None = None  # repository-relative paths
    pr_template: str | None = None
    pr_template_sections: list[str] = Field(default_factory=list)
    codeowners: str | None = None


class CheckResult(Contract):
    """One line of a doctor or preflight report."""

    name: str
    status: CheckStatus
    detail: str


class WorkspaceInfo(Contract):
    path: str
    branch: str
    base_branch: str
    base_sha: str
    upstream_url: str  # never carries credentials
    fork_url: str
    fork_full_name: str | None = None


class PrepareInput(Contract):
    run_id: str
    owner: str
    repo: str
    upstream_url: str | None = None
    fork_url: str | None = None
    branch: str


class PrepareResult(Contract):
    workspace: WorkspaceInfo
    # What this call did ("fork", "clone", "branch"…); empty when the workspace was ready.
    actions: list[str] = Field(default_factory=list)
    governance: GovernanceSummary
    governance_report: str
    policy: RunPolicy


class PreflightInput(Contract):
    run_id: str
    workspace: str
    codex_sandbox: CodexSandbox
    skip_network_check: bool = False
    # The step will change code (a read-only sandbox cannot).
    implementing: bool = True
    project_types: list[str] = Field(default_factory=list)


class PreflightResult(Contract):
    verdict: Literal["PASS", "FAIL"]
    codex_sandbox: CodexSandbox
    checks: list[CheckResult]
    report: str
    at: datetime


class FinishInput(Contract):
    run_id: str
    workspace: str
    branch: str
    base_branch: str
    commit_title: str
    changes: str
    project: str
    signoff: bool = False
    # The `Assisted-by:` trailer's value ("codex (gpt-5-codex)"); None: no AI changed the code.
    assisted_by: str | None = None


class FinishResult(Contract):
    commit_sha: str
    committed: bool  # False when a commit from an earlier attempt was pushed instead
    pushed: bool  # False when the branch already held the commit
    files_changed: NonNegativeInt = 0
    added_lines: NonNegativeInt = 0
    removed_lines: NonNegativeInt = 0
    report: str
    signed_off: bool = False


class AgentStepInput(Contract):
    """What the agent activity needs; the prompt travels as text (bounded), everything the
    agent produces comes back as files on disk plus a summary."""

    run_id: str
    workspace: str
    base_branch: str
    engine: Engine
    prompt: str | None = None
    command: str | None = None
    codex_sandbox: CodexSandbox = "danger-full-access"
    codex_model: str | None = None
    codex_config: list[str] = Field(default_factory=list)  # `-c key=value` overrides
    max_minutes: float = 30.0
    state: RunState = RunState.IMPLEMENTING
    policy: RunPolicy = Field(default_factory=RunPolicy)
    attempt: int = 1
    governance: GovernanceSummary | None = None
    # Set by the workflow from its state groupings: the grade expects changes and tests.
    expects_changes: bool = True
    # A stage of a skill pack (None: the prompt is the whole instruction). The activity writes
    # the task packet and composes the prompt from the pinned pack.
    skill: SkillStageInput | None = None
    # Set by the activity for Codex: the JSON schema file the final message must follow.
    output_schema: str | None = None
    # What the run may still spend (US dollars; None: no cap): the step is stopped past it.
    cost_cap_usd: float | None = None


class AgentStepResult(Contract):
    engine: Engine
    exit_code: int | None  # None: killed (timeout or cancellation)
    timed_out: bool = False
    duration_s: float
    transcript: str
    transcript_sha256: str
    transcript_bytes: int
    event_count: int
    report: str
    grade: AgentGrade
    changed_files: int = 0
    added_lines: int = 0
    removed_lines: int = 0
    usage: TokenUsage = Field(default_factory=TokenUsage)
    # What the step cost in US dollars: priced from the policy's table, else as the engine
    # reported it (Claude Code); None: nobody could price it.
    cost_usd: float | None = None
    # A discovery stage's contract, validated, and where it was written; or why it is not
    # usable (no JSON object at the end, a field out of bounds).
    contract: RepoContract | None = None
    contract_file: str | None = None
    contract_error: str | None = None
    # The skill stage this step ran (None: no pack).
    stage: StageOutcome | None = None


class Notification(Contract):
    run_id: str
    kind: Literal[
        "needs_human_review",
        "pr_request",
        "pr_merged",
        "untrusted_feedback",
        "maintainer_question",
        "maintainer_declined",
        "campaign_paused",
        "campaign_budget_spent",
        "campaign_budget_restored",
    ]
    text: str


class NotificationResult(Contract):
    sent: int
