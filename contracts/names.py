"""Validated names: GitHub owners and repositories, run ids, campaign names, branches and
conventional commit titles. Each refuses a bad value with one line that says what is allowed."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

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
