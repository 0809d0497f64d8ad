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

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"
