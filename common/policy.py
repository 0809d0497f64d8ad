"""The operator's per-run policy (`manager_policy.json`), with per-repository overrides.

An absent file means the defaults below. A present file is validated strictly (a typo in a
field name or a quoted number is an error, not a silent default), and any problem is reported
as one line naming the file and the field.

Example `manager_policy.json`::

    {
      "defaults": {
        "codex_sandbox": "danger-full-access",
        "agent_timeout_minutes": 30,
        "diff_budget": {"max_files": 30, "max_added_lines": 800},
        "retry_cap": 2,
        "require_test_evidence": true,
        "max_cost_usd": 5.0,
        "prices": {
          "gpt-5-codex": {"input_per_mtok": 1.25, "cached_input_per_mtok": 0.125,
                          "output_per_mtok": 10.0},
          "*": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}
        }
      },
      "repos": {
        "mem0ai/mem0": {"agent_timeout_minutes": 45, "diff_budget": {"max_files": 4}},
        "virattt/dexter": {"codex_sandbox": "workspace-write", "require_test_evidence": false}
      }
    }

A repository entry gives only what differs; everything else (including the other half of a
partial `diff_budget`) is inherited from `defaults`. Repository keys are `owner/repo` and are
matched case-insensitively, as GitHub does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from common.errors import UsageError
from contracts.policy import CodexSandbox, RunPolicy

# GitHub's own limits: an owner is 1-39 letters, digits or inner hyphens; a repository name
# is letters, digits, '.', '-', '_' (but not '.' or '..').
_REPO_FULL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")


class DiffBudgetOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_files: PositiveInt | None = None
    max_added_lines: PositiveInt | None = None


class PolicyOverride(BaseModel):
    """A repository's differences from the defaults; None inherits."""

    model_config = ConfigDict(extra="forbid")

    codex_sandbox: CodexSandbox | None = None
    agent_timeout_minutes: PositiveInt | None = None
    diff_budget: DiffBudgetOverride | None = None
    retry_cap: NonNegativeInt | None = None
    require_test_evidence: bool | None = None
    max_cost_usd: PositiveFloat | None = None


def is_repo_full_name(name: str) -> bool:
    """True for a well-formed `owner/repo`."""
    return _REPO_FULL_NAME.match(name) is not None


class ManagerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: RunPolicy = Field(default_factory=RunPolicy)
    repos: dict[str, PolicyOverride] = Field(default_factory=dict)

    @field_validator("repos", mode="before")
    @classmethod
    def _repo_keys_are_full_names(cls, value: Any) -> Any:
        # Checked before the values so that a bad key is reported as itself, not as a
        # pattern mismatch somewhere inside the mapping.
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or not is_repo_full_name(key):
                    raise PydanticCustomError(
                        "repo_key", "{key} is not owner/repo", {"key": repr(key)}
                    )
        return value

    @model_validator(mode="after")
    def _repo_keys_are_unique_ignoring_case(self) -> ManagerPolicy:
        # GitHub names are case-insensitive: two spellings of one repository would make the
        # effective policy depend on which one the lookup happened to find.
        seen: dict[str, str] = {}
        for key in self.repos:
            folded = key.casefold()
            if folded in seen:
                raise PydanticCustomError(
                    "repo_key_duplicate",
                    "repos: {first} and {second} name the same repository",
                    {"first": repr(seen[folded]), "second": repr(key)},
                )
            seen[folded] = key
        return self

    def override_for(self, full_name: str) -> PolicyOverride | None:
        folded = full_name.casefold()
        for key, override in self.repos.items():
            if key.casefold() == folded:
                return override
        return None

    def for_repo(self, full_name: str) -> RunPolicy:
        """The defaults with this repository's override laid over them."""
        override = self.override_for(full_name)
        if override is None:
            return self.defaults.model_copy(deep=True)
        merged = self.defaults.model_dump()
        changes = override.model_dump(exclude_none=True)
        budget_changes = changes.pop("diff_budget", {})
        merged.update(changes)
        merged["diff_budget"].update(budget_changes)
        return RunPolicy.model_validate(merged)


class PolicyError(UsageError):
    """`manager_policy.json` cannot be read or is invalid."""


ModelT = TypeVar("ModelT", bound=BaseModel)


def describe_validation_error(error: ValidationError) -> str:
    """All of pydantic's complaints as one line: `field.path: message; other.path: message`."""
    parts = []
    for detail in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in detail["loc"])
        if detail["type"] == "extra_forbidden":
            message = "unknown field"
        elif detail["type"] == "value_error":
            # A validator's own words, without pydantic's "Value error, " prefix.
            message = str(detail.get("ctx", {}).get("error", detail["msg"]))
        elif detail["type"] in ("model_type", "dict_type"):
            message = "expected a JSON object"
        else:
            message = detail["msg"]
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts).replace("\n", " ")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys without a word; in a hand-edited file the
    # first one is as likely to be the one the operator meant.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def read_json_model(path: Path, model: type[ModelT], error: type[UsageError]) -> ModelT:
    """Read `path` as JSON and validate it strictly as `model`; any problem raises `error`
    with one line starting with the path. A missing file raises FileNotFoundError so each
    caller decides what absence means."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except OSError as err:
        raise error(f"{path}: cannot read: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text at byte {err.start}") from err
    try:
        data = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as err:
        raise error(
            f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from err
    except _DuplicateKey as err:
        raise error(f"{path}: duplicate key {err.key!r}") from err
    try:
        # Strict: "30" for a number or "yes" for a boolean is an operator's mistake to report.
        return model.model_validate(data, strict=True)
    except ValidationError as err:
        raise error(f"{path}: {describe_validation_error(err)}") from err


def load_policy(path: Path) -> ManagerPolicy:
    """The policy in `path`, or the defaults when there is no such file."""
    try:
        return read_json_model(path, ManagerPolicy, PolicyError)
    except FileNotFoundError as err:
        # A dangling symlink means the operator meant to have a policy: say so.
        if path.is_symlink():
            raise PolicyError(f"{path}: cannot read: {err.strerror}") from err
        return ManagerPolicy()
