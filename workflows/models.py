"""Pydantic models in and out of every workflow, activity, update and query.

Every field added later gets a default, so runs already in flight keep decoding their history.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

from common.policy import CodexSandbox, RunPolicy
from workflows.states import RunState

# GitHub: user/org names are alphanumerics and single inner hyphens, at most 39 characters;
# repository names are letters, digits, '.', '-', '_', at most 100, and not '.' or '..'.
_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_CAMPAIGN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


def _github_owner(value: str) -> str:
    if not _OWNER_RE.match(value):
        raise ValueError(
            f"invalid GitHub owner {value!r}: use letters, digits and single inner hyphens, "
            "at most 39 characters"
        )
    return value


def _github_repo(value: str) -> str:
    if value in {".", ".."} or not _REPO_RE.match(value) or value.lower().endswith(".git"):
        raise ValueError(
            f"invalid GitHub repository name {value!r}: use letters, digits, '.', '-' and '_', "
            "at most 100 characters, without a .git suffix"
        )
    return value


def _campaign_name(value: str) -> str:
    if not _CAMPAIGN_RE.match(value):
        raise ValueError(
            f"invalid campaign name {value!r}: start with a letter or digit, then letters, "
            "digits, '.', '-' or '_', at most 40 characters"
        )
    return value


def _run_id(value: str) -> str:
    if not _RUN_ID_RE.match(value):
        raise ValueError(
            f"invalid run id {value!r}: start with a letter or digit, then letters, digits, "
            "'.', '-' or '_', at most 100 characters"
        )
    return value


_BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![/.])$")
_COMMIT_TYPES = "feat|fix|docs|style|refactor|perf|test|build|ci|chore|revert"
_COMMIT_TITLE_RE = re.compile(rf"^({_COMMIT_TYPES})(\([A-Za-z0-9_.,/ -]+\))?!?: \S.*$")


def _branch(value: str) -> str:
    if not _BRANCH_RE.match(value) or value.endswith(".lock"):
        raise ValueError(f"invalid branch name {value!r}")
    return value


def _commit_title(value: str) -> str:
    if "\n" in value.strip() or "\r" in value:
        raise ValueError("commit title must be a single line")
    value = value.strip()
    if not value:
        raise ValueError("commit title is empty")
    if len(value) > 100:
        raise ValueError(f"commit title is {len(value)} characters; keep it within 100")
    if not _COMMIT_TITLE_RE.match(value):
        raise ValueError(
            f"commit title {value!r} is not a conventional commit: use 'type(scope): summary' "
            f"with type one of {_COMMIT_TYPES.replace('|', ', ')}"
        )
    return value


GitHubOwner = Annotated[str, AfterValidator(_github_owner)]
GitHubRepo = Annotated[str, AfterValidator(_github_repo)]
RunId = Annotated[str, AfterValidator(_run_id)]
CampaignName = Annotated[str, AfterValidator(_campaign_name)]
BranchName = Annotated[str, AfterValidator(_branch)]
CommitTitle = Annotated[str, AfterValidator(_commit_title)]


class Actor(StrEnum):
    """Which door (or the workflow itself) asked for a change."""

    CLI = "cli"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"
    WORKFLOW = "workflow"


class RunMode(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"


class Verdict(StrEnum):
    PASS = "PASS"
    RETRYABLE = "RETRYABLE"
    HUMAN_REVIEW = "HUMAN_REVIEW"


class CheckConclusion(StrEnum):
    """GitHub's check-run conclusions."""

    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    TIMED_OUT = "timed_out"
    ACTION_REQUIRED = "action_required"
    STALE = "stale"


class Engine(StrEnum):
    """What runs an agent step."""

    CODEX = "codex"
    CLAUDE = "claude"
    COMMAND = "command"


class ReviewState(StrEnum):
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"


class RunSpec(BaseModel):
    """What the operator asked for when creating the run."""

    run_id: RunId
    owner: GitHubOwner
    repo: GitHubRepo
    prompt_version: str = Field(min_length=1, max_length=100)
    mode: RunMode = RunMode.MANUAL
    # Diff budget override (max added lines); None means the policy default.
    budget: PositiveInt | None = None
    # Non-GitHub remotes (file:// bare repositories, mirrors); None means GitHub.
    upstream_url: str | None = None
    fork_url: str | None = None
    campaign: str | None = None
    created_by: Actor = Actor.CLI
    # Tell operators (Telegram) when the run needs a human, a PR waits, or the PR merged.
    notify: bool = False
    # What an auto-mode run does between human gates (the agent step, commit and PR text).
    # A run in auto mode without one prepares its workspace and waits for an operator.
    auto: AutoPlan | None = None
    # The campaign workflow this run reports its progress to (its workflow id).
    campaign_workflow_id: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"


class Transition(BaseModel):
    """One applied command in a run's history. Same-state entries are recorded no-ops."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    from_state: RunState | None = Field(alias="from")
    to_state: RunState = Field(alias="to")
    by: Actor
    at: datetime
    command: str
    reason: str | None = None


class ContractRef(BaseModel):
    path: str
    sha256: str


class CheckRecord(BaseModel):
    conclusion: CheckConclusion
    pr_number: int | None = None
    check_name: str | None = None
    by: Actor
    at: datetime


class ReviewRecord(BaseModel):
    review_state: ReviewState
    pr_number: int | None = None
    by: Actor
    at: datetime


class AgentGrade(BaseModel):
    """The latest agent step's verdict (filled by the agent runtime)."""

    verdict: Verdict
    reason_code: str
    next_action: str
    at: datetime
    # One line per finding that led to the verdict, for operators.
    reasons: list[str] = Field(default_factory=list)


class TokenUsage(BaseModel):
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0


class GovernanceSummary(BaseModel):
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


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class CheckResult(BaseModel):
    """One line of a doctor or preflight report."""

    name: str
    status: CheckStatus
    detail: str


class WorkspaceInfo(BaseModel):
    path: str
    branch: str
    base_branch: str
    base_sha: str
    upstream_url: str  # never carries credentials
    fork_url: str
    fork_full_name: str | None = None


class PrepareInput(BaseModel):
    run_id: str
    owner: str
    repo: str
    upstream_url: str | None = None
    fork_url: str | None = None
    branch: str


class PrepareResult(BaseModel):
    workspace: WorkspaceInfo
    # What this call did ("fork", "clone", "branch"…); empty when the workspace was ready.
    actions: list[str] = Field(default_factory=list)
    governance: GovernanceSummary
    governance_report: str
    policy: RunPolicy


class PreflightInput(BaseModel):
    run_id: str
    workspace: str
    codex_sandbox: CodexSandbox
    skip_network_check: bool = False
    # The step will change code (a read-only sandbox cannot).
    implementing: bool = True
    project_types: list[str] = Field(default_factory=list)


class PreflightResult(BaseModel):
    verdict: Literal["PASS", "FAIL"]
    codex_sandbox: CodexSandbox
    checks: list[CheckResult]
    report: str
    at: datetime


class FinishInput(BaseModel):
    run_id: str
    workspace: str
    branch: str
    base_branch: str
    commit_title: str
    changes: str
    project: str
    signoff: bool = False


class FinishResult(BaseModel):
    commit_sha: str
    committed: bool  # False when a commit from an earlier attempt was pushed instead
    pushed: bool  # False when the branch already held the commit
    files_changed: NonNegativeInt = 0
    added_lines: NonNegativeInt = 0
    removed_lines: NonNegativeInt = 0
    report: str
    signed_off: bool = False


MAX_PROMPT_BYTES = 256 * 1024
MAX_CAMPAIGN_REPOS = 2000


class AgentStepInput(BaseModel):
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


class AgentStepResult(BaseModel):
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


class DodResult(BaseModel):
    """The definition of done checked before a PR may be requested and approved."""

    passed: bool
    failures: list[str] = Field(default_factory=list)


class PullRequestAsk(BaseModel):
    """A pending request to open a PR. The confirm token itself is never stored: only its
    sha256, compared when a human approves."""

    title: str
    body: str
    body_sha256: str
    base: str
    head: str
    request_file: str
    request_file_sha256: str
    token_sha256: str
    expires_at: datetime
    requested_by: Actor
    requested_at: datetime
    dod: DodResult


class DodBypass(BaseModel):
    by: Actor
    reason: str | None = None
    at: datetime
    failures: list[str] = Field(default_factory=list)


class PullRequestInfo(BaseModel):
    number: int
    url: str
    head_sha: str | None = None
    created: bool = True  # False: an open PR from the same head already existed


class OpenPullRequestInput(BaseModel):
    run_id: str
    repo: str  # owner/repo of the upstream
    title: str
    body: str
    base: str
    head: str


class GitHubEvent(BaseModel):
    """One fact GitHub told us, by webhook or by polling. `fact_key` names the fact itself
    (not the delivery), so the same fact seen both ways is applied once."""

    delivery_id: str
    source: Literal["webhook", "poll"] = "webhook"
    kind: Literal["check_run", "check_suite", "review", "pr_closed"]
    repo: str
    pr_number: int | None = None
    head_sha: str | None = None
    name: str | None = None  # check name
    conclusion: CheckConclusion | None = None
    review_state: ReviewState | None = None
    review_id: int | None = None
    merged: bool | None = None
    detail: str = ""  # failing check output / review body excerpt, for iteration prompts

    @property
    def fact_key(self) -> str:
        if self.kind == "check_run":
            return f"check:{self.head_sha}:{self.name}:{self.conclusion}"
        if self.kind == "check_suite":
            return f"suite:{self.head_sha}:{self.conclusion}"
        if self.kind == "review":
            return f"review:{self.review_id}:{self.review_state}"
        return f"closed:{self.pr_number}:{self.merged}"


class GitHubFactRecord(BaseModel):
    fact_key: str
    delivery_id: str
    source: str
    summary: str
    outcome: str  # what the run did with it
    at: datetime
    detail: str = ""  # failing check output / review text, for the iteration prompt


class PullRequestStatusInput(BaseModel):
    run_id: str
    repo: str
    pr_number: int


class PullRequestStatus(BaseModel):
    """What polling GitHub found, already expressed as the facts a webhook would carry."""

    state: str
    merged: bool
    head_sha: str | None = None
    facts: list[GitHubEvent] = Field(default_factory=list)


class Notification(BaseModel):
    run_id: str
    kind: Literal["needs_human_review", "pr_request", "pr_merged"]
    text: str


class NotificationResult(BaseModel):
    sent: int


class RunRecord(RunSpec):
    """Everything `show-run` prints. Lives in the workflow; doors read it with a query."""

    state: RunState = RunState.QUEUED
    paused_from: RunState | None = None
    history: list[Transition] = Field(default_factory=list)
    pr_number: int | None = None
    grade: AgentGrade | None = None
    reports: dict[str, str] = Field(default_factory=dict)
    contract: ContractRef | None = None
    checks: list[CheckRecord] = Field(default_factory=list)
    reviews: list[ReviewRecord] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    workspace: WorkspaceInfo | None = None
    governance: GovernanceSummary | None = None
    policy: RunPolicy | None = None
    preflight: PreflightResult | None = None
    changes: str | None = None
    project: str | None = None
    commit: FinishResult | None = None
    agent_attempts: int = 0
    last_agent_step: AgentStepResult | None = None
    pr_request: PullRequestAsk | None = None
    pr_url: str | None = None
    head_sha: str | None = None  # the pushed commit the PR's checks run on
    dod_bypass: DodBypass | None = None
    github_facts: list[GitHubFactRecord] = Field(default_factory=list)
    # The last agent step as asked, so iterations can run the same agent again.
    agent_request: AgentStepRequest | None = None
    iterations: int = 0
    # Paused by its campaign (not by an operator): the campaign's resume takes it back.
    paused_by_campaign: bool = False


# ---- updates (operator commands) -------------------------------------------------------------


class CommandRequest(BaseModel):
    """Common to every operator command."""

    by: Actor = Actor.CLI
    reason: str | None = Field(default=None, max_length=500)
    # Given explicitly, the command applies at most once; without it, every command applies.
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class ContractRequest(CommandRequest):
    contract_path: str
    contract_sha256: str


class TargetStateRequest(CommandRequest):
    target_state: RunState


class LinkPrRequest(CommandRequest):
    pr_number: PositiveInt


class CheckRequest(CommandRequest):
    conclusion: CheckConclusion
    pr_number: PositiveInt | None = None
    check_name: str | None = None


class ReviewRequest(CommandRequest):
    review_state: ReviewState
    pr_number: PositiveInt | None = None


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


class AutoPlan(BaseModel):
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


class PrRequestFileInput(BaseModel):
    """Input of write_pr_request: the request file a human approves (the token stays on disk)."""

    run_id: str
    repo: str
    title: str
    body: str
    base: str
    head: str
    ttl_minutes: float


class PrRequestFile(BaseModel):
    request_file: str
    request_file_sha256: str
    token_sha256: str
    token_file: str | None = None  # None when the caller got the token itself (the CLI)
    expires_at: datetime


class OpenPrRequest(CommandRequest):
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(default="", max_length=65_536)
    base: str | None = None
    head: str | None = None
    request_file: str
    request_file_sha256: str
    token_sha256: str = Field(min_length=64, max_length=64)
    expires_at: datetime


class ApprovePrRequest(CommandRequest):
    request_file_sha256: str
    token_sha256: str
    confirm: bool = False
    allow_dod_bypass: bool = False


class ReconcileRequest(CommandRequest):
    dry_run: bool = False


class CommandResult(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

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


# ---- workflow input/output -------------------------------------------------------------------


class RunStart(BaseModel):
    """Input of IntegrationRunWorkflow. `record` and `applied_commands` are carried across
    continue-as-new; a fresh run leaves them empty."""

    spec: RunSpec
    record: RunRecord | None = None
    applied_commands: dict[str, CommandResult] = Field(default_factory=dict)
    # History length after which the run continues as new (tests lower it).
    continue_as_new_after: int = 10_000
    facts_seen: list[str] = Field(default_factory=list)
    # While waiting on CI or reviews, poll GitHub this often in case a webhook was lost.
    reconcile_every_s: int = 600


class RunResult(BaseModel):
    record: RunRecord


# ---- campaigns ---------------------------------------------------------------------------------


class CampaignControl(BaseModel):
    """What a campaign asks of each of its runs (a signal: the campaign does not wait)."""

    action: Literal["pause", "resume", "cancel", "retry"]
    by: Actor = Actor.CLI
    reason: str | None = None


class RunProgress(BaseModel):
    """A run's news for its campaign, sent on every state change (no polling of children)."""

    run_id: str
    repo: str
    state: RunState | None = None  # None: the run could not be started (see note)
    verdict: str | None = None
    reason_code: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    pr_requested: bool = False
    seq: int = 0  # the run's history length: a late signal never overwrites a newer one
    updated_at: datetime | None = None
    note: str | None = None


class CampaignRepo(BaseModel):
    owner: GitHubOwner
    repo: GitHubRepo
    upstream_url: str | None = None
    fork_url: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"


class CampaignSpec(BaseModel):
    name: CampaignName
    # The campaign carries its list and every run's progress across continue-as-new in one
    # payload (Temporal's limit is 2 MB; ~450 bytes per repository with a PR): 2,000 fit with
    # room to spare. Larger fleets are several campaigns.
    repos: list[CampaignRepo] = Field(min_length=1, max_length=MAX_CAMPAIGN_REPOS)
    plan: AutoPlan
    prompt_version: str = Field(default="v1", min_length=1, max_length=100)
    max_parallel: PositiveInt = 4
    created_by: Actor = Actor.CLI
    notify: bool = False


class CampaignStart(BaseModel):
    """Input of CampaignWorkflow; the progress fields are carried across continue-as-new."""

    spec: CampaignSpec
    started: int = 0  # repos[:started] have a run
    runs: dict[str, RunProgress] = Field(default_factory=dict)
    paused: bool = False
    cancelled: bool = False
    created_at: datetime | None = None
    continue_as_new_after: int = 10_000


class CampaignCommand(BaseModel):
    by: Actor = Actor.CLI
    reason: str | None = Field(default=None, max_length=500)


class CampaignPrAction(CampaignCommand):
    """`campaign comment|close`: one paced GitHub write per open PR of the campaign's runs."""

    action: Literal["comment", "close"]
    body: str = Field(default="", max_length=65_536)
    states: list[RunState] = Field(default_factory=list)  # empty: every run with a PR


class CampaignCommandResult(BaseModel):
    name: str
    action: str
    runs_signalled: list[str] = Field(default_factory=list)
    paused: bool = False
    cancelled: bool = False
    pull_requests: list[PullRequestActionResult] = Field(default_factory=list)


class CampaignStatus(BaseModel):
    name: str
    total: int
    started: int
    max_parallel: int
    paused: bool
    cancelled: bool
    finished: bool
    created_at: datetime | None = None
    # Counts per run state, plus NOT_STARTED (not yet started) and START_FAILED.
    counts: dict[str, int] = Field(default_factory=dict)
    active: int = 0  # runs doing work by themselves (the --max-parallel gate counts these)
    runs: list[RunProgress] = Field(default_factory=list)


class PullRequestActionInput(BaseModel):
    """A bulk action on one run's open PR (`campaign comment|close`), a paced GitHub write."""

    run_id: str
    repo: str  # owner/repo of the upstream
    pr_number: PositiveInt
    action: Literal["comment", "close"]
    body: str = Field(default="", max_length=65_536)  # the comment (close: optional comment)


class PullRequestActionResult(BaseModel):
    run_id: str
    pr_number: int
    action: str
    done: bool  # False: nothing to do (e.g. the PR was already closed)
    detail: str = ""
    comment_id: int | None = None


# ---- visibility (list-runs) ------------------------------------------------------------------


class RunSummary(BaseModel):
    """One row of `list-runs`, built from Temporal visibility without touching the workflow."""

    run_id: str
    repo: str | None = None
    state: RunState | None = None
    pr_number: int | None = None
    verdict: str | None = None
    campaign: str | None = None
    status: str
    started_at: datetime | None = None
    closed_at: datetime | None = None


# RunSpec and RunRecord refer to request models defined after them.
RunSpec.model_rebuild()
RunRecord.model_rebuild()
CampaignSpec.model_rebuild()
