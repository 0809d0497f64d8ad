"""Maintainers' rules, read before any fork (issue 13): what a repository's own documents say
about AI-generated or automated contributions, whether it opted out, and whether a PR for the
same change is already open (or was closed by a maintainer).

Everything read from GitHub is untrusted: texts are bounded here (and by the activity) before
they reach a workflow, and the evidence kept in the run record is a short quote, never a file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field

from contracts.base import Contract
from contracts.bounds import GitHubPrNumber, clip

# Each policy document is read up to this many bytes; the rest is not looked at.
MAX_POLICY_FILE_BYTES = 64 * 1024
# At most this many documents per repository (CONTRIBUTING in three places, AI policies,
# AGENTS.md/CLAUDE.md, PR templates, .agentprignore): a hostile listing cannot make us read more.
MAX_POLICY_FILES = 12
# How many of the upstream's most recent PRs are compared with the run (three pages of 100).
MAX_PULLS_READ = 300
MAX_QUOTE = 240
MAX_PATH = 300


def _printable(limit: int) -> object:
    """Clip, and drop control characters (ANSI escapes, NULs): a quote from a repository is
    printed in terminals and the Web UI."""

    def clean(value: object) -> object:
        if not isinstance(value, str):
            return value
        kept = "".join(c if c.isprintable() else " " for c in value)
        return clip(" ".join(kept.split()), limit)

    return clean


Quote = Annotated[str, BeforeValidator(_printable(MAX_QUOTE))]
RepoPath = Annotated[str, BeforeValidator(_printable(MAX_PATH))]
PolicyText = Annotated[
    str, BeforeValidator(lambda v: v[:MAX_POLICY_FILE_BYTES] if isinstance(v, str) else v)
]


class PolicyKind(StrEnum):
    """What a piece of evidence says about this run. The first four are what a document's text
    can say (the classification); the others come from opt-outs and existing PRs."""

    BANNED = "banned"  # no AI-generated / automated contributions
    ASK_FIRST = "ask_first"  # open an issue / discuss first, vouching, a CLA for bots
    DISCLOSURE_REQUIRED = "disclosure_required"  # AI use must be disclosed in the PR
    NONE = "none"
    OPTED_OUT = "opted_out"  # .agentprignore
    EXCLUDED = "excluded"  # the campaign's exclude list
    OPEN_PR = "open_pr"  # an open PR already makes the change
    CLOSED_PR = "closed_pr"  # a maintainer closed this campaign's PR
    MERGED_PR = "merged_pr"  # this campaign's PR was merged already


class PolicyOutcome(StrEnum):
    PROCEED = "proceed"
    SKIP = "skip"  # the run ends SKIPPED
    NEEDS_HUMAN = "needs_human"  # the run waits in NEEDS_HUMAN_REVIEW


class PolicyEvidence(Contract):
    """One finding: which file (or PR), which line, and the words that show it."""

    kind: PolicyKind
    file: RepoPath = ""  # repository path; empty for evidence that is not a file
    line: int | None = None  # 1-based
    quote: Quote = ""
    pr_number: GitHubPrNumber = None
    url: RepoPath | None = None

    def cite(self) -> str:
        """`CONTRIBUTING.md:12 "We do not accept…"`, or `PR #7 "…"`."""
        where = f"PR #{self.pr_number}" if self.pr_number is not None else self.file
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f'{where} "{self.quote}"' if self.quote else where


class PolicyDocument(Contract):
    """A policy document as read from GitHub, bounded: at most MAX_POLICY_FILE_BYTES."""

    path: RepoPath
    text: PolicyText = ""
    truncated: bool = False


class PullRequestSeen(Contract):
    """One of the upstream's PRs, as much of it as the comparison needs."""

    number: GitHubPrNumber = None
    title: Quote = ""
    head_ref: RepoPath = ""
    state: str = Field(default="open", max_length=20)
    merged: bool = False
    url: RepoPath | None = None


class PolicyDocumentsInput(Contract):
    run_id: str
    repo: str  # owner/repo of the upstream


class PolicyDocuments(Contract):
    documents: list[PolicyDocument] = Field(default_factory=list, max_length=MAX_POLICY_FILES)
    # Paths of policy-looking files that were left unread (over MAX_POLICY_FILES).
    unread: list[RepoPath] = Field(default_factory=list, max_length=50)


class PullRequestSearchInput(Contract):
    run_id: str
    repo: str  # owner/repo of the upstream


class PullRequestsSeen(Contract):
    pulls: list[PullRequestSeen] = Field(default_factory=list, max_length=MAX_PULLS_READ)


class MaintainerPolicy(Contract):
    """What the run found before forking, in the run record (and `show-run`)."""

    outcome: PolicyOutcome = PolicyOutcome.PROCEED
    summary: str = Field(default="", max_length=1_000)  # one line: why
    evidence: list[PolicyEvidence] = Field(default_factory=list)
    # Read by the PR disclosure: the repository asks that AI use be disclosed.
    disclosure_required: bool = False
    disclosure_evidence: list[PolicyEvidence] = Field(default_factory=list)
    # `--ignore-policy REASON`: the documents' rules were overridden, and why.
    ignored_because: str | None = None
    files_read: list[RepoPath] = Field(default_factory=list)
    pulls_read: int = 0
    checked: bool = True  # False: nothing could be read (e.g. the upstream is not on GitHub)
    note: str = Field(default="", max_length=500)
