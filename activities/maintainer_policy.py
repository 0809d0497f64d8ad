"""Read a repository's rules for contributors through the GitHub API, before any fork or clone:
its policy documents (CONTRIBUTING, AI/automation policies, AGENTS.md/CLAUDE.md, the PR
template, an `.agentprignore` opt-out) and its most recent PRs. What they say is decided by
`workflows/rules/maintainer_policy.py`; this module only reads, within bounds.

The documents are untrusted input: at most MAX_POLICY_FILES of them, each cut at
MAX_POLICY_FILE_BYTES, decoded as UTF-8 with replacement, binary files left unread. Three
directory listings (root, `.github/`, `docs/`) find them, so a repository costs a handful of
requests, case-insensitively, instead of one per candidate name.
"""

from __future__ import annotations

import re
from typing import Any

from temporalio import activity

from activities.github import github_client, github_error
from common.settings import Settings
from contracts import (
    PolicyDocument,
    PolicyDocuments,
    PolicyDocumentsInput,
    PullRequestSearchInput,
    PullRequestSeen,
    PullRequestsSeen,
)
from contracts.maintainer_policy import (
    MAX_POLICY_FILE_BYTES,
    MAX_POLICY_FILES,
    MAX_PULLS_READ,
)

# The contents API sends files up to 1 MB inline; bigger ones are not policies.
MAX_LISTED_BYTES = 1024 * 1024
FOLDERS = ("", ".github", "docs")
_TEXT = r"(?:\.(?:md|markdown|rst|txt))?"
# Name patterns in the order they are read (the cap keeps the first ones): an opt-out first
# (cheapest and final), then AI policies, CONTRIBUTING, agent instructions, PR templates.
POLICY_NAMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("opt-out", re.compile(r"\.agentprignore", re.IGNORECASE)),
    (
        "ai-policy",
        re.compile(
            rf"(?:ai|llm|genai|automation)(?:[_-](?:policy|usage|use|contributions?|"
            rf"guidelines?|disclosure)){{0,2}}{_TEXT}",
            re.IGNORECASE,
        ),
    ),
    ("contributing", re.compile(rf"contributing{_TEXT}", re.IGNORECASE)),
    ("agents", re.compile(rf"(?:agents|claude|copilot-instructions){_TEXT}", re.IGNORECASE)),
    ("pr-template", re.compile(rf"pull_request_template{_TEXT}", re.IGNORECASE)),
)


def _wanted(entries: list[tuple[str, str, int]]) -> tuple[list[tuple[str, int]], list[str]]:
    """(path, size) of the policy files to read, in reading order, and the ones left unread."""
    ranked: list[tuple[int, str, int]] = []
    unread: list[str] = []
    for path, kind, size in entries:
        name = path.rsplit("/", 1)[-1]
        rank = next((i for i, (_, p) in enumerate(POLICY_NAMES) if p.fullmatch(name)), None)
        if rank is None or kind != "file":
            continue
        if name.lower() == ".agentprignore" and "/" in path and not path.startswith(".github/"):
            continue  # an opt-out counts at the root or in .github/ only
        if size > MAX_LISTED_BYTES:
            unread.append(f"{path} (too large: {size} bytes)")
            continue
        ranked.append((rank, path, size))
    ranked.sort(key=lambda item: (item[0], FOLDERS.index(_folder(item[1])), item[1]))
    chosen = [(path, size) for _, path, size in ranked[:MAX_POLICY_FILES]]
    unread += [
        f"{path} (over {MAX_POLICY_FILES} files)" for _, path, _ in ranked[MAX_POLICY_FILES:]
    ]
    return chosen, unread[:50]


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def bounded_text(raw: bytes) -> tuple[str, bool] | None:
    """The first MAX_POLICY_FILE_BYTES as text, and whether it was cut; None for a binary file."""
    head = raw[:MAX_POLICY_FILE_BYTES]
    if b"\x00" in head[:8192]:
        return None
    return head.decode("utf-8", errors="replace"), len(raw) > MAX_POLICY_FILE_BYTES


class MaintainerPolicyActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    def read_policy_documents(self, request: PolicyDocumentsInput) -> PolicyDocuments:
        """The repository's policy documents on its default branch (reads only)."""
        from github import GithubException, UnknownObjectException

        gh = github_client(self.settings)
        try:
            repo = gh.get_repo(request.repo)
            entries: list[tuple[str, str, int]] = []
            for folder in FOLDERS:
                try:
                    listing: Any = repo.get_contents(folder)
                except UnknownObjectException:
                    if folder == "":
                        raise  # the repository itself is missing
                    continue
                if not isinstance(listing, list):
                    continue  # `docs` is a file here, not a folder
                entries += [(e.path, e.type, int(e.size or 0)) for e in listing]
            chosen, unread = _wanted(entries)
            documents: list[PolicyDocument] = []
            for path, _size in chosen:
                try:
                    content: Any = repo.get_contents(path)
                except UnknownObjectException:
                    continue  # removed between the listing and the read
                if isinstance(content, list) or content.encoding != "base64":
                    unread.append(f"{path} (no inline content)")
                    continue
                text = bounded_text(content.decoded_content)
                if text is None:
                    unread.append(f"{path} (binary)")
                    continue
                documents.append(PolicyDocument(path=path, text=text[0], truncated=text[1]))
            activity.logger.info(
                "%s: read %d policy document(s) of %s", request.run_id, len(documents), request.repo
            )
            return PolicyDocuments(documents=documents, unread=unread[:50])
        except GithubException as err:
            raise github_error(err, f"reading the policy documents of {request.repo}") from None

    @activity.defn
    def list_recent_pull_requests(self, request: PullRequestSearchInput) -> PullRequestsSeen:
        """The upstream's most recent PRs, open and closed (at most MAX_PULLS_READ): the run's
        rule compares them with its branch and title. Listing (not GitHub's search) because it
        is exact, immediate and on the core rate limit (search allows 30 requests a minute)."""
        from github import GithubException

        gh = github_client(self.settings)
        gh.per_page = 100
        try:
            pulls = gh.get_repo(request.repo).get_pulls(
                state="all", sort="created", direction="desc"
            )
            seen: list[PullRequestSeen] = []
            for pull in pulls:
                raw = pull.raw_data
                seen.append(
                    PullRequestSeen(
                        number=raw.get("number"),
                        title=str(raw.get("title") or ""),
                        head_ref=str((raw.get("head") or {}).get("ref") or ""),
                        state="open" if raw.get("state") == "open" else "closed",
                        merged=raw.get("merged_at") is not None,
                        url=str(raw.get("html_url") or "") or None,
                    )
                )
                if len(seen) >= MAX_PULLS_READ:
                    break
            return PullRequestsSeen(pulls=seen)
        except GithubException as err:
            raise github_error(err, f"listing the PRs of {request.repo}") from None
