"""The campaign's repository list: one `owner/repo` per line, optionally followed by an
upstream URL and a fork URL (so local bare repositories work); blank lines and `#` comments
are ignored. Every problem is reported, with its line number, before anything starts."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from common.errors import UsageError
from contracts import CampaignRepo


def parse_repos(text: str, source: str) -> list[CampaignRepo]:
    repos: list[CampaignRepo] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) > 3 or fields[0].count("/") != 1:
            problems.append(
                f"line {number}: expected 'owner/repo [upstream_url [fork_url]]', got {line!r}"
            )
            continue
        owner, repo = fields[0].split("/")
        try:
            entry = CampaignRepo(
                owner=owner,
                repo=repo,
                upstream_url=fields[1] if len(fields) > 1 else None,
                fork_url=fields[2] if len(fields) > 2 else None,
            )
        except ValidationError as err:
            message = str(err.errors()[0]["msg"]).removeprefix("Value error, ")
            problems.append(f"line {number}: {message}")
            continue
        key = entry.full_name.lower()  # GitHub names are case-insensitive
        if key in seen:
            problems.append(f"line {number}: {entry.full_name} repeats line {seen[key]}")
            continue
        seen[key] = number
        repos.append(entry)
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; … {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise UsageError(f"{source}: {len(problems)} problem(s), nothing started: {shown}")
    if not repos:
        raise UsageError(f"{source}: no repositories listed")
    return repos


def read_repos_file(path: Path) -> list[CampaignRepo]:
    if not path.is_file():
        raise UsageError(f"repos file not found: {path}")
    return parse_repos(path.read_text(errors="replace"), str(path))
