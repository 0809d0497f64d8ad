"""Campaigns: the spec, the progress each run reports, and the campaign's commands and status."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import Field, PositiveInt, field_validator

from contracts.base import Contract
from contracts.commands import AutoPlan
from contracts.github import PullRequestActionResult
from contracts.names import CampaignName, GitHubOwner, GitHubRepo
from contracts.skills import SkillPackRef
from contracts.states import RunState
from contracts.vocabulary import MAX_CAMPAIGN_REPOS, Actor


class CampaignControl(Contract):
    """What a campaign asks of each of its runs (a signal: the campaign does not wait)."""

    action: Literal["pause", "resume", "cancel", "retry"]
    by: Actor = Actor.CLI
    reason: str | None = None


class RunProgress(Contract):
    """A run's news for its campaign, sent on every state change (no polling of children)."""

    run_id: str
    repo: str
    state: RunState | None = None  # None: the run could not be started (see note)
    verdict: str | None = None
    reason_code: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    pr_requested: bool = False
    # At PLAN_READY, waiting for a person's `approve-plan` (skill packs, --approve-plans).
    plan_waiting: bool = False
    seq: int = 0  # the run's history length: a late signal never overwrites a newer one
    updated_at: datetime | None = None
    note: str | None = None
    # What the PR templates' {default_branch} and {language} say (known once cloned), and who
    # took the PR over (`campaign apply` never edits such a PR).
    default_branch: str | None = None
    language: str | None = None
    taken_over_by: str | None = None


class CampaignRepo(Contract):
    owner: GitHubOwner
    repo: GitHubRepo
    upstream_url: str | None = None
    fork_url: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"


class CampaignSpec(Contract):
    name: CampaignName
    # The campaign carries its list and every run's progress across continue-as-new in one
    # payload (Temporal's limit is 2 MB; ~450 bytes per repository with a PR): 2,000 fit with
    # room to spare. Larger fleets are several campaigns.
    repos: list[CampaignRepo] = Field(min_length=1, max_length=MAX_CAMPAIGN_REPOS)
    plan: AutoPlan
    prompt_version: str = Field(default="v1", min_length=1, max_length=100)
    max_parallel: PositiveInt = 4
    # Open (or requested) PRs of this campaign per owner (user or organisation) at a time: a
    # run waits for a slot before it requests its PR.
    max_prs_per_owner: PositiveInt = 1
    created_by: Actor = Actor.CLI
    notify: bool = False
    # Every run consults the optional model (RunSpec.model_review).
    model_review: bool = False
    # Every run follows this skill pack (pinned when the campaign starts), and waits for
    # `approve-plan` at PLAN_READY with approve_plans.
    skills: SkillPackRef | None = None
    approve_plans: bool = False
    skill_options: dict[str, bool] = Field(default_factory=dict)
    # owner/repo regexes (`--exclude`): a listed repository's run ends SKIPPED with the pattern
    # as its evidence, before any GitHub call.
    exclude: list[str] = Field(default_factory=list, max_length=100)
    # `--ignore-policy REASON`, passed to every run.
    ignore_policy: str | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("exclude")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(
                    f"--exclude {pattern!r} is not a regular expression: {err}"
                ) from None
        return patterns


class CampaignStart(Contract):
    """Input of CampaignWorkflow; the progress fields are carried across continue-as-new."""

    spec: CampaignSpec
    started: int = 0  # repos[:started] have a run
    runs: dict[str, RunProgress] = Field(default_factory=dict)
    paused: bool = False
    cancelled: bool = False
    created_at: datetime | None = None
    continue_as_new_after: int = 10_000
    # Runs waiting for a PR slot (their owner is at max_prs_per_owner), oldest first.
    pr_slot_waiting: list[str] = Field(default_factory=list)
    # `campaign apply` re-ran these repositories (owner/repo → attempt): the new run's id ends
    # in `.r<attempt>`, since the old run keeps its id in history.
    attempts: dict[str, int] = Field(default_factory=dict)


class CampaignApply(Contract):
    """`campaign apply` on a running campaign: the spec it should follow from now on."""

    spec: CampaignSpec
    by: Actor = Actor.CLI


class CampaignApplyPlan(Contract):
    """What applying a spec changes (`--dry-run` shows it; `apply` does it)."""

    name: str
    changed: list[str] = Field(default_factory=list)  # the spec's fields that differ
    added: list[str] = Field(default_factory=list)  # owner/repo that get a run
    removed: list[str] = Field(default_factory=list)  # owner/repo no longer targeted
    cancelled: list[str] = Field(default_factory=list)  # their runs, ended (SKIPPED)
    # Removed repositories whose run had already finished (a merged PR): left as they are.
    finished: list[str] = Field(default_factory=list)
    pr_updates: list[str] = Field(default_factory=list)  # runs whose open PR is retitled
    # Runs whose open PR a person took over ("run_id (by login)"): never edited.
    taken_over: list[str] = Field(default_factory=list)
    # Runs that had not passed their agent step when the task changed: ended and started again.
    reruns: list[str] = Field(default_factory=list)
    pull_requests: list[PullRequestActionResult] = Field(default_factory=list)  # apply only
    applied: bool = False

    @property
    def empty(self) -> bool:
        return not (self.changed or self.added or self.removed)


class PrSlotAsk(Contract):
    """A campaign run at PUSHED asks for a PR slot (its owner's open PRs are capped)."""

    run_id: str


class CampaignCommand(Contract):
    by: Actor = Actor.CLI
    reason: str | None = Field(default=None, max_length=500)


class CampaignPrAction(CampaignCommand):
    """`campaign comment|close`: one paced GitHub write per open PR of the campaign's runs."""

    action: Literal["comment", "close"]
    body: str = Field(default="", max_length=65_536)
    states: list[RunState] = Field(default_factory=list)  # empty: every run with a PR


class CampaignCommandResult(Contract):
    name: str
    action: str
    runs_signalled: list[str] = Field(default_factory=list)
    paused: bool = False
    cancelled: bool = False
    pull_requests: list[PullRequestActionResult] = Field(default_factory=list)


class CampaignStatus(Contract):
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
