"""The campaign spec: what `agentpr campaign apply -f forge-wave-1.yaml` reads, and what the
flags of `campaign start` build. It says what the operator wants (targets as a query, the task
as a file or pack, templates with per-repository variables); the door resolves it into the
CampaignSpec the workflow carries (repositories listed, prompt read, pack pinned).

Paths in it (targets.repos_file, prompt_file, pr.body_file) are absolute once loaded: the
loader resolves them against the spec file's folder, the flags against the working directory,
so the same campaign given either way is the same spec."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, PositiveFloat, PositiveInt, field_validator, model_validator

from contracts.base import Contract
from contracts.campaign import (
    TEMPLATE_VARIABLE,
    TEMPLATE_VARIABLES,
    FailureThreshold,
    RolloutWindow,
    known_zone,
)
from contracts.names import CampaignName, CommitTitle
from contracts.vocabulary import Engine

DEFAULT_COMMIT_TITLE = "feat: apply the agentpr change"


def unknown_variables(text: str | None) -> list[str]:
    found = TEMPLATE_VARIABLE.findall(text or "")
    return [name for name in dict.fromkeys(found) if name not in TEMPLATE_VARIABLES]


def _known_variables_only(text: str | None) -> str | None:
    unknown = unknown_variables(text)
    if unknown:
        raise ValueError(
            f"unknown template variable {{{unknown[0]}}} (known: "
            + ", ".join(f"{{{name}}}" for name in TEMPLATE_VARIABLES)
            + ")"
        )
    return text


class SpecPart(Contract):
    # A misspelt key is an error with its line, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class SpecTargets(SpecPart):
    """Which repositories: a repos file, or GitHub (organization, topic, search) filtered by
    include/exclude regexes on owner/repo."""

    repos_file: str | None = None
    org: str | None = None
    topic: str | None = None
    search: str | None = None
    include: list[str] = Field(default_factory=list, max_length=100)
    exclude: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("include", "exclude")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"{pattern!r} is not a regular expression: {err}") from None
        return patterns

    @model_validator(mode="after")
    def _one_source(self) -> SpecTargets:
        github = self.org or self.topic or self.search
        if self.repos_file and github:
            raise ValueError("give repos_file or org/topic/search, not both")
        if not (self.repos_file or github):
            raise ValueError("say which repositories: repos_file, org, topic or search")
        return self


class SpecCommit(SpecPart):
    title: CommitTitle = DEFAULT_COMMIT_TITLE

    @field_validator("title")
    @classmethod
    def _variables(cls, value: str) -> str:
        _known_variables_only(value)
        return value


class SpecPullRequest(SpecPart):
    title: str | None = Field(default=None, min_length=1, max_length=256)  # None: commit title
    body: str | None = Field(default=None, max_length=65_536)
    body_file: str | None = None
    # Campaigns open drafts by default; maintainers mark them ready.
    draft: bool = True

    @field_validator("title", "body")
    @classmethod
    def _variables(cls, value: str | None) -> str | None:
        return _known_variables_only(value)

    @model_validator(mode="after")
    def _one_body(self) -> SpecPullRequest:
        if self.body is not None and self.body_file is not None:
            raise ValueError("give body or body_file, not both")
        return self


class SpecPolicy(SpecPart):
    # Go ahead whatever the repositories' documents say about AI contributions (the reason is
    # recorded in every run); an open or closed PR of the same change still stops a run.
    ignore: str | None = Field(default=None, min_length=1, max_length=500)


class SpecRollout(SpecPart):
    max_parallel: int = Field(default=4, ge=1, le=1000)
    max_prs_per_owner: PositiveInt = 1
    # PR slots granted per hour across the campaign (None: no hourly pace).
    prs_per_hour: PositiveInt | None = None
    # When PRs may open and bulk comments/closes go out (none: any time), in `timezone`.
    windows: list[RolloutWindow] = Field(default_factory=list, max_length=20)
    timezone: str = "UTC"
    # Pause the campaign when too many of the recent runs fail.
    failure_threshold: FailureThreshold | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        return known_zone(zone)


class SpecBudget(SpecPart):
    # Wall-clock limit of each agent step, in minutes.
    max_minutes_per_step: float | None = Field(default=None, gt=0, le=24 * 60)
    # Money (US dollars, priced from the policy's prices): each run's cap, the campaign's cap.
    max_cost_usd_per_run: PositiveFloat | None = None
    max_cost_usd: PositiveFloat | None = None


class CampaignSpecFile(SpecPart):
    """A campaign as the operator writes it (YAML) or types it (`campaign start` flags)."""

    name: CampaignName
    targets: SpecTargets
    # The task: a skill pack (name@version), a prompt (inline or a file), or both (the prompt
    # then adds to the pack's task); engine `command` runs `command` instead of an agent.
    skills: str | None = None
    skill_options: dict[str, bool] = Field(default_factory=dict)
    approve_plans: bool = False
    prompt: str | None = Field(default=None, min_length=1)
    prompt_file: str | None = None
    prompt_version: str | None = Field(default=None, min_length=1, max_length=100)
    engine: Engine = Engine.CODEX
    model: str | None = None
    codex_config: list[str] = Field(default_factory=list)
    command: str | None = Field(default=None, max_length=10_000)
    validation_command: str | None = Field(default=None, max_length=10_000)
    skip_network_check: bool = False
    commit: SpecCommit = Field(default_factory=SpecCommit)
    pr: SpecPullRequest = Field(default_factory=SpecPullRequest)
    policy: SpecPolicy = Field(default_factory=SpecPolicy)
    rollout: SpecRollout = Field(default_factory=SpecRollout)
    budget: SpecBudget = Field(default_factory=SpecBudget)

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpecFile:
        if self.prompt is not None and self.prompt_file is not None:
            raise ValueError("give prompt or prompt_file, not both")
        if self.approve_plans and self.skills is None:
            raise ValueError("approve_plans needs skills (a pack's discovery writes the plan)")
        if self.skill_options and self.skills is None:
            raise ValueError("skill_options needs skills")
        if self.engine == Engine.COMMAND and not self.command:
            raise ValueError("engine command needs command")
        return self
