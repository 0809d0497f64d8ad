"""GitHub writes and reads through PyGithub, behind one small module.

Writes (creating a PR) run on their own task queue, paced by Temporal's per-queue rate limit
across all workers. A 403/429 with Retry-After or x-ratelimit-reset becomes an ApplicationError
with `next_retry_delay`, so the activity's retry policy waits exactly as long as GitHub asks —
no sleep loops here. PyGithub's own retries are off for the same reason.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.pr_body import AI_NOTE_MARK
from common.metrics import record_github_write
from common.settings import Settings
from contracts import (
    CiBaseline,
    CiBaselineInput,
    GitHubEvent,
    OpenPullRequestInput,
    PullRequestActionInput,
    PullRequestActionResult,
    PullRequestInfo,
    PullRequestStatus,
    PullRequestStatusInput,
)
from contracts.github import OWN_COMMENT_MARK

GITHUB_TOKEN_MISSING = "GitHubTokenMissing"
GITHUB_REFUSED = "GitHubRefused"
GITHUB_RATE_LIMITED = "GitHubRateLimited"


def github_client(settings: Settings) -> Any:
    if settings.github_token is None:
        raise ApplicationError(
            "no GitHub token: set AGENTPR_GITHUB_TOKEN for the worker",
            type=GITHUB_TOKEN_MISSING,
            non_retryable=True,
        )
    from github import Auth, Github  # heavy (~0.3 s); only where the API is used

    return Github(
        auth=Auth.Token(settings.github_token.get_secret_value()),
        base_url=settings.github_api_url.rstrip("/"),
        retry=None,  # Temporal's retry policy retries the whole (idempotent) activity
        timeout=30,
    )


def retry_delay(headers: dict[str, str] | None) -> timedelta | None:
    """How long GitHub asks us to wait: Retry-After, else until x-ratelimit-reset when the
    remaining quota is 0."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after" in lowered:
        try:
            return timedelta(seconds=max(1, int(lowered["retry-after"])))
        except ValueError:
            return timedelta(seconds=60)
    if lowered.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in lowered:
        try:
            return timedelta(seconds=max(1, int(lowered["x-ratelimit-reset"]) - int(time.time())))
        except ValueError:
            return timedelta(seconds=60)
    return None


def github_error(err: Any, what: str) -> ApplicationError:
    """Map a PyGithub exception to the retry decision Temporal should make."""
    status = getattr(err, "status", None)
    data = getattr(err, "data", None)
    message = data.get("message", "") if isinstance(data, dict) else str(data or "")
    delay = retry_delay(getattr(err, "headers", None))
    if status in (403, 429) and (delay is not None or "rate limit" in message.lower()):
        return ApplicationError(
            f"GitHub rate limit on {what}: {message}",
            type=GITHUB_RATE_LIMITED,
            next_retry_delay=delay or timedelta(seconds=60),
        )
    if status in (401, 403, 404, 422):
        return ApplicationError(
            f"GitHub refused {what} ({status} {message})".strip(),
            type=GITHUB_REFUSED,
            non_retryable=True,
        )
    return ApplicationError(f"GitHub error on {what}: {status} {message}", type="GitHubError")


def comment_marker(run_id: str, body: str) -> str:
    """The hidden tag that makes a bulk comment findable: the same run and the same text give
    the same tag, so a retried activity finds its comment instead of posting it twice."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    return f"{OWN_COMMENT_MARK}{run_id}:{digest} -->"


AGENTPR_BRANCH_PREFIX = "agentpr/"
PULL_REQUEST_LIMIT = "PullRequestLimit"


def _refuse_a_second_agentpr_pull(repo: Any, request: OpenPullRequestInput) -> None:
    """At most one open agentpr PR per upstream repository: maintainers review one at a time."""
    ours = request.head.partition(":")[2] or request.head
    for pull in repo.get_pulls(state="open"):
        branch = pull.head.ref or ""
        if branch.startswith(AGENTPR_BRANCH_PREFIX) and branch != ours:
            raise ApplicationError(
                f"{request.repo} already has an open agentpr PR (#{pull.number}, "
                f"{pull.head.label}); at most one per repository: merge or close it first",
                type=PULL_REQUEST_LIMIT,
                non_retryable=True,
            )


def _info(pr: Any, created: bool) -> PullRequestInfo:
    return PullRequestInfo(number=pr.number, url=pr.html_url, head_sha=pr.head.sha, created=created)


class GitHubActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    def create_pull_request(self, request: OpenPullRequestInput) -> PullRequestInfo:
        """Open the PR exactly once: an open PR from the same head is found, not duplicated
        (a crash after GitHub created it, then a retry, must not open a second one)."""
        from github import GithubException

        gh = github_client(self.settings)
        try:
            repo = gh.get_repo(request.repo)
            for existing in repo.get_pulls(state="open", head=request.head, base=request.base):
                return _info(existing, created=False)
            _refuse_a_second_agentpr_pull(repo, request)
            try:
                pr = repo.create_pull(
                    title=request.title,
                    body=request.body,
                    base=request.base,
                    head=request.head,
                    maintainer_can_modify=True,
                    draft=request.draft,
                )
            except GithubException as err:
                if err.status == 422 and "already exists" in str(err.data):
                    for existing in repo.get_pulls(state="open", head=request.head):
                        return _info(existing, created=False)
                raise
            record_github_write("create_pull_request")
            activity.logger.info("opened PR #%s for %s", pr.number, request.run_id)
            return _info(pr, created=True)
        except GithubException as err:
            raise github_error(err, f"opening a PR on {request.repo}") from None

    @activity.defn
    def act_on_pull_request(self, request: PullRequestActionInput) -> PullRequestActionResult:
        """A bulk action on one run's PR (`campaign comment|close`), safe to retry: a comment
        carries a marker and is looked for before it is posted, and a closed PR is left alone
        (so a retry after a crash that followed the close answers "already closed")."""
        from github import GithubException

        gh = github_client(self.settings)
        outcome = PullRequestActionResult(
            run_id=request.run_id, pr_number=request.pr_number, action=request.action, done=True
        )
        try:
            pull = gh.get_repo(request.repo).get_pull(request.pr_number)
            if request.action == "comment":
                if not request.body.strip():
                    raise ApplicationError(
                        "a comment needs a body", type=GITHUB_REFUSED, non_retryable=True
                    )
                comment_id, posted = _comment_once(pull, request)
                return outcome.model_copy(
                    update={
                        "comment_id": comment_id,
                        "detail": "commented" if posted else "already commented",
                    }
                )
            if pull.state == "closed":
                detail = "already merged" if pull.merged else "already closed"
                return outcome.model_copy(update={"done": False, "detail": detail})
            if request.action == "update":
                return outcome.model_copy(update=_update_text(pull, request))
            comment_id = _comment_once(pull, request)[0] if request.body.strip() else None
            pull.edit(state="closed")
            record_github_write("close_pull_request")
            activity.logger.info(
                "closed PR #%s of %s for %s", request.pr_number, request.repo, request.run_id
            )
            return outcome.model_copy(update={"comment_id": comment_id, "detail": "closed"})
        except GithubException as err:
            raise github_error(
                err, f"{request.action} on PR #{request.pr_number} of {request.repo}"
            ) from None


def _update_text(pull: Any, request: PullRequestActionInput) -> dict[str, Any]:
    """The PR's new title and body (`campaign apply`). The AI-assistance note the body was
    opened with stays: the disclosure is not the template's to drop. Unchanged text is not
    written again, so a retry or a re-apply costs no write."""
    title = request.title or pull.title
    body = pull.body or ""
    if request.body.strip():
        body = request.body.rstrip() + "\n"
        old = pull.body or ""
        if AI_NOTE_MARK in old and AI_NOTE_MARK not in body:
            at = old.index(AI_NOTE_MARK)
            start = old.rfind("\n---\n", 0, at)
            start = start if start >= 0 else old.rfind("\n", 0, at) + 1
            body = body.rstrip() + "\n" + old[start:].rstrip() + "\n"
    if title == pull.title and body == (pull.body or ""):
        return {"done": False, "detail": "unchanged"}
    pull.edit(title=title, body=body)
    record_github_write("update_pull_request")
    activity.logger.info(
        "retitled PR #%s of %s for %s", request.pr_number, request.repo, request.run_id
    )
    return {"detail": "updated"}


def _comment_once(pull: Any, request: PullRequestActionInput) -> tuple[int, bool]:
    """The comment's id and whether it was posted now (False: an earlier attempt posted it)."""
    marker = comment_marker(request.run_id, request.body)
    for comment in pull.get_issue_comments():
        if marker in (comment.body or ""):
            return int(comment.id), False
    comment = pull.create_issue_comment(f"{request.body.rstrip()}\n\n{marker}")
    record_github_write("comment")
    return int(comment.id), True


CHECK_PASSING = {"success", "neutral", "skipped"}
CHECK_FAILING = {"failure", "timed_out", "cancelled", "action_required"}


class GitHubReadActivities:
    """Reads for reconciliation (no rate-limited queue needed: they create nothing)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    def fetch_pull_request_status(self, request: PullRequestStatusInput) -> PullRequestStatus:
        """The PR's state, its head commit's check runs and its reviews, as the same facts a
        webhook would deliver (same fact keys, so nothing is applied twice)."""
        from github import GithubException

        gh = github_client(self.settings)
        try:
            repo = gh.get_repo(request.repo)
            pr = repo.get_pull(request.pr_number)
            head = pr.head.sha
            facts: list[GitHubEvent] = []

            def fact(**fields: Any) -> None:
                event = GitHubEvent(
                    delivery_id="",
                    source="poll",
                    repo=request.repo,
                    pr_number=request.pr_number,
                    head_sha=head,
                    **fields,
                )
                facts.append(event.model_copy(update={"delivery_id": f"poll:{event.fact_key}"}))

            commit = repo.get_commit(head)
            pusher = commit.author.login if commit.author else commit.commit.author.name
            fact(kind="pushed", author=pusher)
            check_runs = list(commit.get_check_runs())
            completed = [run for run in check_runs if run.status == "completed"]
            for run in check_runs:
                if run.status != "completed":  # pending: keeps the head from green
                    fact(kind="check_run", name=run.name)
            for run in completed:
                output = run.output
                detail = " ".join(
                    filter(
                        None,
                        [
                            getattr(output, "title", None),
                            getattr(output, "summary", None),
                            getattr(output, "text", None),
                        ],
                    )
                )[:2000]
                fact(kind="check_run", name=run.name, conclusion=run.conclusion, detail=detail)
            if check_runs and len(completed) == len(check_runs):
                green = all(run.conclusion in CHECK_PASSING for run in completed)
                fact(kind="check_suite", conclusion="success" if green else "failure")
            for review in pr.get_reviews():
                state = (review.state or "").lower()
                if state in ("approved", "changes_requested", "commented"):
                    fact(
                        kind="review",
                        review_state=state,
                        review_id=review.id,
                        author=review.user.login if review.user else None,
                        author_association=review.raw_data.get("author_association"),
                        detail=(review.body or "")[:2000],
                    )
            for comment in [*pr.get_issue_comments(), *pr.get_review_comments()]:
                body = comment.body or ""
                if OWN_COMMENT_MARK in body:
                    continue  # ours (comment_marker), not feedback
                fact(
                    kind="comment",
                    comment_id=comment.id,
                    author=comment.user.login if comment.user else None,
                    author_association=comment.author_association,
                    detail=body[:2000],
                )
            if pr.state == "closed":
                fact(kind="pr_closed", merged=bool(pr.merged))
            return PullRequestStatus(
                state=pr.state, merged=bool(pr.merged), head_sha=head, facts=facts
            )
        except GithubException as err:
            raise github_error(err, f"reading PR #{request.pr_number} on {request.repo}") from None

    @activity.defn
    def read_ci_baseline(self, request: CiBaselineInput) -> CiBaseline:
        """The base branch's CI as the PR opens: the checks branch protection requires (when the
        branch's protection summary is readable) and the checks already failing on it, which
        the PR did not cause."""
        from github import GithubException

        gh = github_client(self.settings)
        try:
            repo = gh.get_repo(request.repo)
            branch = repo.get_branch(request.base_branch)
            checks = ((branch.raw_data.get("protection") or {}).get("required_status_checks")) or {}
            required = [str(c) for c in checks.get("contexts") or [] if isinstance(c, str)]
            base_sha = branch.commit.sha
            failing = [
                run.name
                for run in repo.get_commit(base_sha).get_check_runs()
                if run.status == "completed" and run.conclusion in CHECK_FAILING
            ]
        except GithubException as err:
            raise github_error(
                err, f"reading {request.base_branch}'s CI on {request.repo}"
            ) from None
        return CiBaseline(
            base_sha=base_sha,
            required_checks=sorted(set(required))[:100],
            failing_checks=sorted(set(failing))[:100],
            protection_readable="protection" in branch.raw_data,
        )
