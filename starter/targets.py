"""A campaign's repositories found on GitHub instead of listed in a file: an organization's
repositories (`--org`), a topic (`--topic`) or any repository search (`--search`).

Given alone, `--org` lists the organization's repositories (GET /orgs/{org}/repos, every one of
them, newest first as GitHub answers). Anything else goes through repository search, and
several options narrow each other: `--org acme --topic llm --search "gateway"` is the one
query `org:acme topic:llm gateway` (GitHub ANDs the terms). Search leaves forks out unless the
query says `fork:true`, and answers at most 1000 results.

Forks, archived and disabled repositories are skipped, and so are names `--exclude` matches or
`--include` does not (regular expressions searched in "owner/repo"); each skipped repository is
kept with its reason, so a dry run shows what was left out and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from activities.github import retry_delay
from common.errors import Refused, UsageError
from common.settings import Settings
from contracts import CampaignRepo, GitHubOwner

_TOPIC = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")


@dataclass
class TargetList:
    """Plain data for the CLI: it never crosses Temporal, so it is not a pydantic model."""

    repos: list[CampaignRepo] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (owner/repo, reason)
    query: str = ""  # what GitHub was asked, e.g. "GET /orgs/acme/repos" or "search: org:acme x"
    # GitHub has more than was read: stopped at `limit`, or search's 1000-result cap.
    truncated: bool = False
    notes: list[str] = field(default_factory=list)  # one line each, for the operator


def find_repositories(
    settings: Settings,
    org: str | None,
    topic: str | None,
    search: str | None,
    include: list[str],
    exclude: list[str],
    limit: int = 1000,
) -> TargetList:
    """The repositories to target, in GitHub's order, without duplicates, at most `limit` kept
    (skipped ones do not count). Bad options raise UsageError, GitHub's refusals Refused; both
    are one line and never carry the token."""
    org, topic, search = (value.strip() if value else None for value in (org, topic, search))
    if not (org or topic or search):
        raise UsageError("say which repositories: --org ORG, --topic TOPIC or --search QUERY")
    if limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}")
    if org:
        try:
            TypeAdapter(GitHubOwner).validate_python(org)
        except ValidationError as err:
            raise UsageError(f"--org: {_first_message(err)}") from None
    if topic:
        topic = topic.lower()  # GitHub stores topics lower-cased
        if not _TOPIC.fullmatch(topic):
            raise UsageError(
                f"--topic {topic!r}: a GitHub topic is letters, digits and "
                "hyphens, at most 50 characters"
            )
    includes = _patterns("--include", include)
    excludes = _patterns("--exclude", exclude)
    if settings.github_token is None:
        raise Refused("no GitHub token: set AGENTPR_GITHUB_TOKEN to find repositories on GitHub")

    from github import GithubException
    from requests import RequestException

    from activities.github import github_client

    gh = github_client(settings)
    gh.per_page = 100  # search allows 30 requests a minute: read as much as GitHub gives at once
    by_org = bool(org and not (topic or search))
    q = " ".join(
        part for part in (org and f"org:{org}", topic and f"topic:{topic}", search) if part
    )
    target = TargetList(query=f"GET /orgs/{org}/repos" if by_org else f"search: {q}")
    try:
        if by_org:
            _collect(target, gh.get_organization(org).get_repos(), includes, excludes, limit)
        else:
            listing = gh.search_repositories(q)
            _collect(target, listing, includes, excludes, limit)
            _search_notes(target, listing)
    except GithubException as err:
        raise _refused(settings, err, org, target.query) from None
    except (RequestException, OSError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:200]
        raise Refused(
            _scrub(
                settings,
                f"GitHub API {settings.github_api_url} unreachable ({target.query}): {first}",
            )
        ) from None
    return target


def _collect(
    target: TargetList,
    listing: Any,
    includes: list[re.Pattern[str]],
    excludes: list[re.Pattern[str]],
    limit: int,
) -> None:
    seen: set[str] = set()
    repos = iter(listing)
    for repo in repos:
        full_name = repo.full_name
        if full_name.lower() in seen:  # pages can shift while GitHub's data changes
            continue
        seen.add(full_name.lower())
        reason = _skip_reason(repo, full_name, includes, excludes)
        if reason is not None:
            target.skipped.append((full_name, reason))
            continue
        owner, name = full_name.split("/", 1)
        try:
            target.repos.append(CampaignRepo(owner=owner, repo=name))
        except ValidationError as err:
            target.skipped.append((full_name, _first_message(err)))
            continue
        if len(target.repos) >= limit:
            # One more item tells whether anything was left unread (at most one more page).
            if next(repos, None) is not None:
                target.truncated = True
                target.notes.append(f"stopped at --limit {limit}; GitHub lists more")
            return


def _skip_reason(
    repo: Any, full_name: str, includes: list[re.Pattern[str]], excludes: list[re.Pattern[str]]
) -> str | None:
    # Flags first: they say why no run could work there, whatever the filters say.
    for flag in ("fork", "archived", "disabled"):
        if getattr(repo, flag):
            return flag
    for pattern in excludes:
        if pattern.search(full_name):
            return f"excluded by --exclude {pattern.pattern}"
    if includes and not any(pattern.search(full_name) for pattern in includes):
        return "not matched by --include"
    return None


def _search_notes(target: TargetList, listing: Any) -> None:
    # Both are known once a page was read, which _collect did: no extra request.
    read = len(target.repos) + len(target.skipped)
    total = listing.totalCount
    if not target.truncated and total > read:
        target.truncated = True
        target.notes.append(
            f"GitHub search matched {total} repositories but only {read} can "
            "be read; narrow the query"
        )
    if listing.incomplete_results:
        target.notes.append(
            "GitHub search timed out and the results may be incomplete; "
            "try again or narrow the query"
        )


def _patterns(option: str, values: list[str]) -> list[re.Pattern[str]]:
    patterns = []
    for value in values:
        try:
            patterns.append(re.compile(value))
        except re.error as err:
            raise UsageError(
                f"{option} {value!r} is not a valid regular expression: {err}"
            ) from None
    return patterns


def _refused(settings: Settings, err: Any, org: str | None, query: str) -> Refused:
    status = getattr(err, "status", None)
    data = getattr(err, "data", None)
    message = data.get("message", "") if isinstance(data, dict) else ""
    if isinstance(data, dict):
        details = [e.get("message", "") for e in data.get("errors") or [] if isinstance(e, dict)]
        message = ": ".join(filter(None, [message, *details]))
    message = " ".join(message.split())[:300]
    if status in (403, 429) and (
        retry_delay(getattr(err, "headers", None)) is not None or "rate limit" in message.lower()
    ):
        delay = retry_delay(getattr(err, "headers", None))
        wait = f"; try again in {int(delay.total_seconds())}s" if delay else ""
        text = f"GitHub rate limit reached ({query}){wait}"
    elif status == 401:
        text = f"GitHub refused the token ({status} {message}); check AGENTPR_GITHUB_TOKEN"
    elif status == 404 and org and query.startswith("GET /orgs/"):
        text = (
            f"GitHub has no organization {org!r} visible to this token (404); for a "
            f"user's repositories use --search 'user:{org}'"
        )
    else:
        text = f"GitHub refused {query} ({status} {message})"
    return Refused(_scrub(settings, text))


def _scrub(settings: Settings, text: str) -> str:
    # Our messages never include the token; this guards against one echoed back by a server.
    for secret in settings.secret_values:
        text = text.replace(secret, "***")
    return text


def _first_message(err: ValidationError) -> str:
    return str(err.errors()[0]["msg"]).removeprefix("Value error, ")
