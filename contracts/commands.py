"""Operator commands (workflow Updates) and their answer. Every door (CLI, Telegram, webhook)
sends these; the workflow's validators refuse what cannot apply before it enters history."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, model_validator

from contracts.base import Contract
from contracts.bounds import MAX_CHECK_NAME, PrNumber
from contracts.github import PullRequestAsk, PullRequestInfo
from contracts.names import BranchName, CommitTitle
from contracts.policy import CodexSandbox
from contracts.skills import RepoContract
from contracts.states import RunState
from contracts.steps import AgentStepResult, FinishResult, PreflightResult, PrepareResult
from contracts.vocabulary import MAX_PROMPT_BYTES, Actor, CheckConclusion, Engine, ReviewState


class CommandRequest(Contract):
    """Common to every operator command."""

    by: Actor = Actor.CLI
    reason: str | None = Field(default=None, max_length=500)
    # Given explicitly, the command applies at most once; without it, every command applies.
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class ContractRequest(CommandRequest):
    contract_path: str
    contract_sha256: str


class ApprovePlanRequest(CommandRequest):
    """A person approves the discovery stage's plan; `contract` replaces it (edited)."""

    contract: RepoContract | None = None


class TargetStateRequest(CommandRequest):
    target_state: RunState


class LinkPrRequest(CommandRequest):
    pr_number: PrNumber


class CheckRequest(CommandRequest):
    conclusion: CheckConclusion
    pr_number: PrNumber | None = None
    check_name: str | None = Field(default=None, max_length=MAX_CHECK_NAME)


class ReviewRequest(CommandRequest):
    review_state: ReviewState
    pr_number: PrNumber | None = None


class PrepareRequest(CommandRequest):
    branch: BranchName | None = None  # default agentpr/<run_id>


class PreflightRequest(CommandRequest):
    codex_sandbox: CodexSandbox | None = None  # default: the run's policy
    skip_network_check: bool = False


class FinishRequest(CommandRequest):
    changes: str = Field(min_length=1, max_length=5000)
    project: str = Field(min_length=1, max_length=100)
    commit_title: CommitTitle


class AgentStepRequest(CommandRequest):
    engine: Engine = Engine.CODEX
    prompt: str | None = Field(default=None, max_length=MAX_PROMPT_BYTES)
    command: str | None = Field(default=None, max_length=10_000)
    codex_sandbox: CodexSandbox | None = None  # default: the run's policy
    codex_model: str | None = None
    codex_config: list[str] = Field(default_factory=list)
    success_state: RunState | None = None
    skip_preflight: bool = False
    skip_network_check: bool = False
    max_minutes: float | None = Field(default=None, gt=0, le=24 * 60)

    @model_validator(mode="after")
    def _engine_needs_its_input(self) -> AgentStepRequest:
        if self.engine == Engine.COMMAND and not self.command:
            raise ValueError("--engine command needs --command")
        if self.engine != Engine.COMMAND and not self.prompt:
            raise ValueError(f"--engine {self.engine} needs --prompt-file")
        return self


class AutoPlan(Contract):
    """The steps an auto-mode run takes by itself. PR approval is never among them."""

    step: AgentStepRequest
    commit_title: CommitTitle = "feat: apply the agentpr change"
    changes: str = Field(default="Applied by agentpr.", max_length=10_000)
    pr_title: str = Field(default="feat: apply the agentpr change", min_length=1, max_length=256)
    pr_body: str = Field(default="", max_length=65_536)
    # Auto PR requests wait for a person: a week by default instead of an hour.
    pr_ttl_minutes: float = Field(default=7 * 24 * 60, gt=0)
    # The validation step's test command; None: the repository's first detected test command.
    validation_command: str | None = Field(default=None, max_length=10_000)
    # Open the PR as a draft (campaigns do by default).
    draft: bool = False


class OpenPrRequest(CommandRequest):
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(default="", max_length=65_536)
    base: str | None = None
    head: str | None = None
    request_file: str
    request_file_sha256: str
    token_sha256: str = Field(min_length=64, max_length=64)
    expires_at: datetime
    draft: bool = False


class ApprovePrRequest(CommandRequest):
    request_file_sha256: str
    token_sha256: str
    confirm: bool = False
    allow_dod_bypass: bool = False


class ReconcileRequest(CommandRequest):
    dry_run: bool = False


class CommandResult(Contract):
    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    run_id: str
    command: str
    from_state: RunState = Field(alias="from")
    to_state: RunState = Field(alias="to")
    # False when an idempotency key had already been applied: nothing changed this time.
    applied: bool = True
    duplicate: bool = False
    at: datetime
    # What a step command (run-prepare, run-preflight, run-finish) produced.
    prepare: PrepareResult | None = None
    preflight: PreflightResult | None = None
    finish: FinishResult | None = None
    agent: AgentStepResult | None = None
    pr_request: PullRequestAsk | None = None
    pull_request: PullRequestInfo | None = None
    # reconcile-github: one line per fact found and what was (or would be) done with it.
    decisions: list[str] = Field(default_factory=list)
