"""Skill packs: versioned, staged instructions for the agent (the packs themselves live in
`skills/packs/<name>/<version>/`). A run records the pack it uses by name, version and checksum,
so its pack never changes under it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from contracts.base import Contract

SkillStage = Literal["discover", "implement", "fix"]
PackSource = Literal["built-in", "operator", "prompt-file"]
STAGES: tuple[SkillStage, ...] = ("discover", "implement", "fix")
IMPLEMENT_ONLY: tuple[SkillStage, ...] = ("implement",)

_PACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_PACK_VERSION = re.compile(r"^v[0-9][0-9a-z.-]{0,19}$")
_RELATIVE_FILE = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9_./-]{1,200}$")


def pack_name(value: str) -> str:
    if not _PACK_NAME.match(value):
        raise ValueError(
            f"invalid skill pack name {value!r}: lower-case letters, digits and '-', "
            "starting with a letter"
        )
    return value


def pack_version(value: str) -> str:
    if not _PACK_VERSION.match(value):
        raise ValueError(f"invalid skill pack version {value!r}: like v1, v2 or v1.1")
    return value


def parse_pack_label(label: str, default_version: str | None = None) -> tuple[str, str]:
    """`forge@v1` → ("forge", "v1"); `forge` takes `default_version` (the old --prompt-version
    selects a pack's version)."""
    name, _, version = label.strip().partition("@")
    version = version or default_version or ""
    if not version:
        raise ValueError(f"skill pack {label!r} needs a version: {name}@v1, or --prompt-version")
    return pack_name(name), pack_version(version)


class StageManifest(Contract):
    """One stage: its instructions (markdown) and the reference files handed to the agent."""

    instructions: str
    references: list[str] = Field(default_factory=list, max_length=50)
    # The stage may not change the repository (discovery): the sandbox is read-only.
    read_only: bool = False

    @field_validator("instructions", "references")
    @classmethod
    def _inside_the_pack(cls, value: str | list[str]) -> str | list[str]:
        for path in [value] if isinstance(value, str) else value:
            if not _RELATIVE_FILE.match(path):
                raise ValueError(f"{path!r} is not a relative path inside the pack")
        return value


class PackOption(Contract):
    default: bool
    help: str = Field(max_length=300)


class PackManifest(Contract):
    """`manifest.json` of a pack folder."""

    name: str
    version: str
    summary: str = Field(min_length=1, max_length=300)
    stages: dict[SkillStage, StageManifest]
    # The PR body's template ({placeholders} filled by agentpr); None: the run's own body.
    pr_body: str | None = None
    options: dict[str, PackOption] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return pack_name(value)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return pack_version(value)

    @model_validator(mode="after")
    def _implements(self) -> PackManifest:
        if "implement" not in self.stages:
            raise ValueError("a skill pack needs an `implement` stage")
        return self


class SkillPackRef(Contract):
    """The pack a run uses, pinned: a changed pack folder is a different checksum."""

    name: str
    version: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    source: PackSource = "built-in"
    # The pack's stages, read from its manifest when the run was created (the workflow decides
    # whether a discovery stage runs without reading files).
    stages: list[SkillStage] = Field(default_factory=lambda: list(IMPLEMENT_ONLY))

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


# ---- the contract discovery writes ------------------------------------------------------------

_Text = Field(default=None, max_length=2_000)


class ContractRules(Contract):
    base_branch: str | None = Field(default=None, max_length=200)
    commit_format: str | None = _Text
    pr_checklist: list[str] = Field(default_factory=list, max_length=50)
    docs_to_update: list[str] = Field(default_factory=list, max_length=50)
    forbidden_changes: list[str] = Field(default_factory=list, max_length=50)


class ContractToolchain(Contract):
    install: str | None = _Text
    test: str | None = _Text
    lint: str | None = _Text


class ContractPlan(Contract):
    approach: str = Field(default="", max_length=4_000)
    target_files: list[str] = Field(default_factory=list, max_length=100)
    expected_changed_files: int = Field(default=0, ge=0, le=10_000)
    expected_added_lines: int = Field(default=0, ge=0, le=1_000_000)


class RepoContract(Contract):
    """What the discovery stage decided about one repository: whether the change applies, the
    repository's rules and toolchain, and the plan the implementation follows. It came from an
    agent: every field is bounded, and a person may edit it before approving the plan."""

    status: Literal["ready", "skip", "needs_review"]
    reason: str = Field(min_length=1, max_length=2_000)
    rules: ContractRules = Field(default_factory=ContractRules)
    toolchain: ContractToolchain = Field(default_factory=ContractToolchain)
    plan: ContractPlan = Field(default_factory=ContractPlan)
    blockers: list[str] = Field(default_factory=list, max_length=50)
    evidence: list[str] = Field(default_factory=list, max_length=100)


class StageOutcome(Contract):
    """One skill stage an agent step ran, for `agentpr skills stats`."""

    pack: str  # name@version
    stage: SkillStage
    verdict: str
    reason_code: str
    duration_s: float


class SkillStageInput(Contract):
    """Which stage of which pinned pack an agent step runs, and what it is told besides the
    pack: the operator's task, the approved contract (implement, fix) and quoted feedback (fix,
    already cleaned by the workflow)."""

    pack: SkillPackRef
    stage: SkillStage
    task: str = Field(default="", max_length=200_000)
    contract: RepoContract | None = None
    feedback: str | None = Field(default=None, max_length=20_000)
    options: dict[str, bool] = Field(default_factory=dict)
