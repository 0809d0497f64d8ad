"""Pull requests and GitHub's facts: the PR gate's request and definition of done, the facts a
webhook or a poll carries, and the paced writes on a run's PR."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from contracts.base import Contract
from contracts.bounds import (
    GitHubAssociation,
    GitHubCheckName,
    GitHubDeliveryId,
    GitHubId,
    GitHubLogin,
    GitHubPrNumber,
    GitHubRepoText,
    GitHubSha,
    GitHubText,
    PrNumber,
)
from contracts.skills import SkillPackRef
from contracts.vocabulary import Actor, CheckConclusion, ReviewState


class DodResult(Contract):
    """The definition of done checked before a PR may be requested and approved."""

    passed: bool
    failures: list[str] = Field(default_factory=list)


class PullRequestAsk(Contract):
    """A pending request to open a PR. The confirm token itself is never stored: only its
    sha256, compared when a human approves."""

    title: str
    body: str
    body_sha256: str
    base: str
    head: str
    draft: bool = False
    request_file: str
    request_file_sha256: str
    token_sha256: str
    expires_at: datetime
    requested_by: Actor
    requested_at: datetime
    dod: DodResult


class DodBypass(Contract):
    by: Actor
    reason: str | None = None
    at: datetime
    failures: list[str] = Field(default_factory=list)


class PullRequestInfo(Contract):
    number: int
    url: str
    head_sha: str | None = None
    created: bool = True  # False: an open PR from the same head already existed


class OpenPullRequestInput(Contract):
    run_id: str
    repo: str  # owner/repo of the upstream
    title: str
    body: str
    base: str
    head: str
    draft: bool = False


# The hidden tag that starts every comment agentpr writes (activities/github.py comment_marker):
# our own comments are not feedback.
OWN_COMMENT_MARK = "<!-- agentpr:"


class GitHubEvent(Contract):
    """One fact GitHub told us, by webhook or by polling. `fact_key` names the fact itself
    (not the delivery), so the same fact seen both ways is applied once.

    Everything here came from GitHub: text is clipped and out-of-range numbers become None
    (contracts/bounds.py), so a fact always decodes inside the workflow."""

    delivery_id: GitHubDeliveryId
    source: Literal["webhook", "poll"] = "webhook"
    kind: Literal["check_run", "check_suite", "review", "comment", "pushed", "pr_closed"]
    repo: GitHubRepoText
    pr_number: GitHubPrNumber = None
    head_sha: GitHubSha | None = None
    name: GitHubCheckName | None = None  # check name
    conclusion: CheckConclusion | None = None
    review_state: ReviewState | None = None
    review_id: GitHubId = None
    comment_id: GitHubId = None  # a comment on the conversation or on a line of the diff
    merged: bool | None = None
    # Who wrote a review or comment, and their standing in the repository (GitHub's author_association:
    # OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIMER, NONE, …).
    author: GitHubLogin | None = None
    author_association: GitHubAssociation | None = None
    detail: GitHubText = ""  # failing check output / review or comment body

    @property
    def fact_key(self) -> str:
        if self.kind == "check_run":
            return f"check:{self.head_sha}:{self.name}:{self.conclusion}"
        if self.kind == "check_suite":
            return f"suite:{self.head_sha}:{self.conclusion}"
        if self.kind == "review":
            return f"review:{self.review_id}:{self.review_state}"
        if self.kind == "comment":
            return f"comment:{self.comment_id}"
        if self.kind == "pushed":  # the PR's head moved to this commit (author: who pushed)
            return f"pushed:{self.head_sha}"
        return f"closed:{self.pr_number}:{self.merged}"


class CiBaselineInput(Contract):
    run_id: str
    repo: str
    base_branch: GitHubRepoText


class CiBaseline(Contract):
    """The base branch's CI when the PR opened: checks failing there are not the PR's doing,
    and the checks branch protection requires (empty when protection is not readable)."""

    base_sha: GitHubSha | None = None
    required_checks: list[GitHubCheckName] = Field(default_factory=list, max_length=100)
    failing_checks: list[GitHubCheckName] = Field(default_factory=list, max_length=100)
    protection_readable: bool = False


class GitHubFactRecord(Contract):
    fact_key: str
    delivery_id: str
    source: str
    summary: str
    outcome: str  # what the run did with it
    at: datetime
    detail: str = ""  # failing check output / review text, for the operator and the prompt
    # False when the fact was held back (about another commit, or by someone without standing
    # in the repository): shown to the operator, never quoted to an agent.
    reaches_agent: bool = True


class PullRequestStatusInput(Contract):
    run_id: str
    repo: str
    pr_number: PrNumber


class PullRequestStatus(Contract):
    """What polling GitHub found, already expressed as the facts a webhook would carry."""

    state: str
    merged: bool
    head_sha: str | None = None
    facts: list[GitHubEvent] = Field(default_factory=list)


class PrDisclosure(Contract):
    """What the PR body says about how the change was made (activities/pr_body.py composes it
    with the repository's PR template): the AI that changed the code, and the evidence that
    ticks the template's checklist."""

    workspace: str
    base_branch: str
    # "codex (gpt-5-codex)"; None: no AI changed the code (a codemod), so no AI note.
    assisted_by: str | None = None
    ai_note: bool = True
    tests_passed: bool = False
    signed_off: bool = False
    # A skill pack's PR body template fills an empty body: its placeholders {changes},
    # {tests} and the pack's options ({about_forge}, on unless the run turned it off).
    pack: SkillPackRef | None = None
    pack_options: dict[str, bool] = Field(default_factory=dict)
    changes: str = ""
    test_command: str | None = None


class PrRequestFileInput(Contract):
    """Input of write_pr_request: the request file a human approves (the token stays on disk)."""

    run_id: str
    repo: str
    title: str
    body: str
    base: str
    head: str
    ttl_minutes: float
    draft: bool = False
    # Given: the body is composed (template, checklist, AI note) before the file is written.
    disclosure: PrDisclosure | None = None


class PrRequestFile(Contract):
    # The body the request file's hash covers (composed when the input asked for it).
    body: str | None = None
    request_file: str
    request_file_sha256: str
    token_sha256: str
    token_file: str | None = None  # None when the caller got the token itself (the CLI)
    expires_at: datetime


class PullRequestActionInput(Contract):
    """A bulk action on one run's open PR (`campaign comment|close`), a paced GitHub write."""

    run_id: str
    repo: str  # owner/repo of the upstream
    pr_number: PrNumber
    action: Literal["comment", "close", "update"]
    body: str = Field(default="", max_length=65_536)  # the comment (close: optional comment)
    # update (`campaign apply` changed the PR template): the PR's new title; `body` is its new
    # body (empty: the body stays).
    title: str | None = Field(default=None, max_length=256)


class PullRequestActionResult(Contract):
    run_id: str
    pr_number: int
    action: str
    done: bool  # False: nothing to do (e.g. the PR was already closed)
    detail: str = ""
    comment_id: int | None = None


# How a run's change stands on the upstream's default branch once its PR is closed:
# merged (its commits are on the branch and the change is still there), found (the change is
# there without the PR's commits: a squash or rebase merge, or applied by hand), edited (the
# PR's commits are on the branch and nothing reverted them, but later commits changed the same
# lines), reverted, absent, or unknown (the check could not run).
LandingHow = Literal["merged", "found", "edited", "reverted", "absent", "unknown"]


class LandedCheckInput(Contract):
    run_id: str
    workspace_path: str
    base_branch: str = Field(max_length=255)
    base_sha: str = Field(max_length=64)  # where the run's branch started
    head_sha: str = Field(max_length=64)  # the PR's last head


class LandedCheck(Contract):
    """Whether the change landed: on the default branch, not just merged."""

    landed: bool | None  # None: unknown
    how: LandingHow
    detail: str = Field(default="", max_length=500)
    default_branch_sha: str | None = None
