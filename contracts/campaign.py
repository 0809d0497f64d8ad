"""Campaigns: the spec, the progress each run reports, and the campaign's commands and status."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import (
    Field,
    PositiveFloat,
    PositiveInt,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from contracts.base import Contract
from contracts.commands import AutoPlan
from contracts.github import PullRequestActionResult
from contracts.names import CampaignName, GitHubOwner, GitHubRepo
from contracts.skills import SkillPackRef
from contracts.states import RunState
from contracts.vocabulary import MAX_CAMPAIGN_REPOS, Actor

# The per-repository variables of the commit and PR templates (workflow code
# reads them from `contracts`: contracts.campaign_spec is not loaded in the workflow sandbox). {default_branch} and {language}
# are known once the run has cloned the repository (its base branch, the first project type
# the governance scan found, else "unknown").
TEMPLATE_VARIABLES = ("owner", "repo", "default_branch", "language")
# A variable is a bare name in braces; `{{` and `}}` are literal braces, and anything else in
# braces (JSON, code) is left alone.
TEMPLATE_VARIABLE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


class CampaignControl(Contract):
    """What a campaign asks of each of its runs (a signal: the campaign does not wait)."""

    # budget_spent: the campaign's money is spent — the run starts no new agent step;
    # budget_restored: `campaign apply` raised (or removed) the cap — it may again.
    action: Literal["pause", "resume", "cancel", "retry", "budget_spent", "budget_restored"]
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
    # What the run's agent steps cost so far (US dollars): the campaign's money cap.
    cost_usd: float = 0.0


class CampaignRepo(Contract):
    owner: GitHubOwner
    repo: GitHubRepo
    upstream_url: str | None = None
    fork_url: str | None = None

    @model_serializer(mode="wrap")
    def _without_absent_urls(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # GitHub targets have no URLs: 10,000 of them take half the bytes without the nulls
        # (the spec travels whole in the campaign's input and every continue-as-new).
        data: dict[str, object] = handler(self)
        return {key: value for key, value in data.items() if value is not None}

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
_HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def known_zone(zone: str) -> str:
    """An IANA time zone name the machine knows (Europe/Berlin, UTC)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r} (e.g. Europe/Berlin, UTC)") from None
    return zone


class RolloutWindow(Contract):
    """When PRs may open and bulk comments/closes go out: these days, from `start` to `end`
    (24-hour clock, in the campaign's time zone; `end` 24:00 is written 00:00)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS), min_length=1)
    start: str = Field(default="09:00", pattern=_HH_MM)
    end: str = Field(default="17:00", pattern=_HH_MM)


class FailureThreshold(Contract):
    """Pause the campaign (and tell the operator) when `max_failures` of the last `recent`
    runs to reach an outcome failed (NEEDS_HUMAN_REVIEW, FAILED*)."""

    recent: PositiveInt = 10
    max_failures: PositiveInt = 5

    @model_validator(mode="after")
    def _fits(self) -> FailureThreshold:
        if self.max_failures > self.recent:
            raise ValueError("max_failures cannot exceed recent")
        return self


class CampaignSpec(Contract):
    name: CampaignName
    # The campaign carries its list and every run's progress across continue-as-new in one
    # payload (Temporal's limit is 2 MB): ~45 bytes per GitHub repository in the list, and the
    # progress packed (~450 bytes per run with a PR as JSON, ~10x less packed) — 10,000 fit
    # with room to spare. Larger fleets are several campaigns.
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
    # Paced rollout: PR slots granted per hour, the windows outside which no PR slot is granted
    # and no bulk comment or close is sent (none: any time), their time zone, and the failure
    # threshold that pauses the campaign.
    prs_per_hour: PositiveInt | None = None
    windows: list[RolloutWindow] = Field(default_factory=list, max_length=20)
    timezone: str = "UTC"
    failure_threshold: FailureThreshold | None = None
    # Money: each run's cap, and the campaign's (past it no new run or agent step starts).
    max_cost_usd_per_run: PositiveFloat | None = None
    max_cost_usd: PositiveFloat | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        return known_zone(zone)

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


# Above this many runs the campaign packs its runs' progress (continue-as-new, its status and
# result): smaller campaigns keep it readable in the Web UI.
PACK_PROGRESS_OVER = 500
_Packed = TypeVar("_Packed", bound=Contract)


def packed(model: Contract) -> str:
    """`model`'s JSON, compressed (zlib) and base64-encoded: a campaign's per-run lists are
    repetitive JSON that packs ~10x, which keeps 10,000 runs' progress under Temporal's 2 MB
    payload limit. Deterministic, so workflow code may call it."""
    return base64.b64encode(zlib.compress(model.model_dump_json().encode(), 6)).decode("ascii")


def unpacked(model: type[_Packed], text: str) -> _Packed:
    return model.model_validate_json(zlib.decompress(base64.b64decode(text)))


class CampaignCarried(Contract):
    """The campaign's per-run lists, packed across continue-as-new when they are long."""

    runs: list[RunProgress] = Field(default_factory=list)
    pr_slot_waiting: list[str] = Field(default_factory=list)
    outcome_seen: list[str] = Field(default_factory=list)


class PackedRuns(Contract):
    runs: list[RunProgress] = Field(default_factory=list)


class CampaignStart(Contract):
    """Input of CampaignWorkflow; the progress fields are carried across continue-as-new
    (`carried`: the per-run lists packed, in place of runs, pr_slot_waiting, outcome_seen)."""

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
    # Paced rollout: when PR slots were granted (the hourly pace), the outcomes of runs as they
    # reached one (True failed; oldest first, bounded), why the campaign paused itself, and
    # whether its money is spent.
    pr_grants: list[datetime] = Field(default_factory=list)
    outcomes: list[bool] = Field(default_factory=list)
    outcome_seen: list[str] = Field(default_factory=list)
    paused_because: str | None = None
    money_spent: str | None = None
    carried: str | None = None


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
    # The money cap changed: from what to what, and what that does to a campaign whose money
    # was spent (the stop lifts, or holds) or is spent under the new cap (it stops).
    money: str | None = None
    money_restored: bool = False  # the stop lifts: runs start again
    money_stops: bool = False  # the new cap is already reached: the campaign stops
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
    # Why the campaign paused itself (the failure threshold), why PR slots wait (rollout window,
    # hourly pace), whether its money is spent, and what its runs cost so far.
    paused_because: str | None = None
    pr_slots_held: str | None = None
    money_spent: str | None = None
    cost_usd: float = 0.0
    # A campaign of more than PACK_PROGRESS_OVER runs sends `runs` packed (PackedRuns): the
    # client unpacks them (`with_runs_unpacked`).
    packed_runs: str | None = None

    def with_runs_unpacked(self) -> CampaignStatus:
        if self.packed_runs is None:
            return self
        runs = unpacked(PackedRuns, self.packed_runs).runs
        return self.model_copy(update={"runs": runs, "packed_runs": None})
