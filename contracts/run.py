"""The run: what the operator asked for (RunSpec), everything `show-run` prints (RunRecord), and
the workflow's input and result."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, PositiveFloat, PositiveInt

from contracts.base import Contract
from contracts.commands import AgentStepRequest, AutoPlan, CommandResult
from contracts.github import (
    CiBaseline,
    DodBypass,
    GitHubFactRecord,
    LandedCheck,
    PullRequestAsk,
)
from contracts.maintainer_policy import MaintainerPolicy
from contracts.model import ModelUsage, ReplyClassification, SemanticReview
from contracts.names import GitHubOwner, GitHubRepo, RunId
from contracts.policy import RunPolicy
from contracts.skills import RepoContract, SkillPackRef, StageOutcome
from contracts.states import RunState
from contracts.steps import (
    AgentGrade,
    AgentStepResult,
    FinishResult,
    GovernanceSummary,
    PreflightResult,
    WorkspaceInfo,
)
from contracts.vocabulary import Actor, CheckConclusion, ReviewState, RunMode


class RunSpec(Contract):
    """What the operator asked for when creating the run."""

    run_id: RunId
    owner: GitHubOwner
    repo: GitHubRepo
    prompt_version: str = Field(min_length=1, max_length=100)
    mode: RunMode = RunMode.MANUAL
    # Diff budget override (max added lines); None means the policy default.
    budget: PositiveInt | None = None
    # What the run may spend on agent steps, in US dollars (`--max-cost-usd`); None: the
    # policy's max_cost_usd.
    max_cost_usd: PositiveFloat | None = None
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
    # The skill pack an auto-mode run follows, pinned (None: the prompt is the plan).
    skills: SkillPackRef | None = None
    # Wait at PLAN_READY for a person's `approve-plan` before implementing.
    approve_plans: bool = False
    # The pack's options as the operator set them (`--skill-option about_forge=off`).
    skill_options: dict[str, bool] = Field(default_factory=dict)
    # `--ignore-policy REASON`: go ahead whatever the repository's documents say about AI or
    # automated contributions (an open or closed PR of the same change still stops the run).
    ignore_policy: str | None = Field(default=None, min_length=1, max_length=500)
    # Set by a campaign for a repository on its exclude list: the run ends SKIPPED unread.
    excluded_by: str | None = Field(default=None, max_length=500)
    # Consult the optional model (issue 15; set by the door when AGENTPR_LLM_* are set): a
    # semantic review after a PASS, and maintainers' replies the rules cannot place.
    model_review: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"


class Transition(Contract):
    """One applied command in a run's history. Same-state entries are recorded no-ops."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    from_state: RunState | None = Field(alias="from")
    to_state: RunState = Field(alias="to")
    by: Actor
    at: datetime
    command: str
    reason: str | None = None


class ContractRef(Contract):
    path: str
    sha256: str


class CheckRecord(Contract):
    conclusion: CheckConclusion
    pr_number: int | None = None
    check_name: str | None = None
    by: Actor
    at: datetime


class ReviewRecord(Contract):
    review_state: ReviewState
    pr_number: int | None = None
    by: Actor
    at: datetime


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
    # Every commit agentpr pushed to the PR branch (newest last): a head that is none of these
    # was pushed by someone else, who then owns the PR (see taken_over_by).
    pushed_shas: list[str] = Field(default_factory=list)
    # Who pushed a commit agentpr did not push: from then on agentpr follows the PR (checks,
    # reviews, the merge) but never iterates on it or pushes to it again.
    taken_over_by: str | None = None
    # Fail-closed CI: what each check said about `head_checks_sha` (a check name, "suite" for a
    # check suite; "pending" until it concludes), the checks branch protection requires, and
    # the checks already failing on the base branch when the PR opened (pre-existing).
    # What the discovery stage (skill packs) decided, as approved or edited by a person.
    repo_contract: RepoContract | None = None
    discovery_attempts: int = 0
    # Every skill stage the run's agent steps ran (newest last, bounded): `skills stats`.
    stage_outcomes: list[StageOutcome] = Field(default_factory=list)
    plan_approved_by: Actor | None = None
    # What the run's agent steps cost so far (US dollars), and how many could not be priced.
    cost_usd: float = 0.0
    unpriced_agent_steps: int = 0
    # The run's campaign spent its money: no new agent step starts (why, as the campaign said).
    campaign_money_spent: str | None = None
    # Once the PR closed (merged or not): whether the change is on the default branch.
    landed: LandedCheck | None = None
    # Campaign runs: asked the campaign for a PR slot (per-owner cap), and got it.
    pr_slot_asked: bool = False
    pr_slot_granted: bool = False
    head_checks: dict[str, str] = Field(default_factory=dict)
    head_checks_sha: str | None = None
    ci_baseline: CiBaseline | None = None
    dod_bypass: DodBypass | None = None
    github_facts: list[GitHubFactRecord] = Field(default_factory=list)
    # The last agent step as asked, so iterations can run the same agent again.
    agent_request: AgentStepRequest | None = None
    iterations: int = 0
    # Paused by its campaign (not by an operator): the campaign's resume takes it back.
    paused_by_campaign: bool = False
    # The maintainers' rules read before forking (auto mode): outcome and evidence.
    maintainer_policy: MaintainerPolicy | None = None
    # The optional model: its last semantic review, the last maintainer reply it (or a rule)
    # classified, and every token it cost this run.
    semantic_review: SemanticReview | None = None
    reply_classification: ReplyClassification | None = None
    model_usage: ModelUsage = Field(default_factory=ModelUsage)


class CarriedState(Contract):
    """Everything private to a run that must survive continue-as-new, in one model: the new
    run starts from exactly what the old one knew besides its record."""

    # Explicit idempotency keys and the answers they got (the newest REMEMBERED_KEYS).
    applied_commands: dict[str, CommandResult] = Field(default_factory=dict)
    # Keys of GitHub facts already applied (webhook and polling share them).
    facts_seen: list[str] = Field(default_factory=list)
    # An iteration asked for (retry --target-state ITERATING, or a failing fact in auto mode)
    # and not yet run.
    iterate_pending: bool = False
    # The auto driver: history length when it last acted, and how many times it took an
    # interrupted agent step again.
    auto_tried_at: int = -1
    auto_interrupted_retries: int = 0
    # The PR closed: check whether the change landed on the default branch.
    landing_check_pending: bool = False


class RunStart(Contract):
    """Input of IntegrationRunWorkflow. `record` and `carried` come from the previous run of
    a continue-as-new chain; a fresh run leaves them empty."""

    spec: RunSpec
    record: RunRecord | None = None
    carried: CarriedState | None = None
    # History length after which the run continues as new (tests lower it).
    continue_as_new_after: int = 10_000
    # While waiting on CI or reviews, poll GitHub this often in case a webhook was lost.
    reconcile_every_s: int = 600
    # Histories recorded before `carried` existed carry these two instead.
    applied_commands: dict[str, CommandResult] = Field(default_factory=dict)
    facts_seen: list[str] = Field(default_factory=list)

    def carried_state(self) -> CarriedState:
        if self.carried is not None:
            return self.carried
        return CarriedState(applied_commands=self.applied_commands, facts_seen=self.facts_seen)


class RunResult(Contract):
    record: RunRecord


class RunSummary(Contract):
    """One row of `list-runs`, built from Temporal visibility without touching the workflow."""

    run_id: str
    repo: str | None = None
    state: RunState | None = None
    pr_number: int | None = None
    verdict: str | None = None
    campaign: str | None = None
    # What its agent steps cost so far (the AgentprCostUsd search attribute).
    cost_usd: float | None = None
    # Whether the merged change is on the default branch (None: not checked).
    landed: bool | None = None
    status: str
    started_at: datetime | None = None
    closed_at: datetime | None = None
