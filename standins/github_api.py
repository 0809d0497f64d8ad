"""A loopback stand-in for the GitHub REST API, for demos and tests.

GitHub is unreachable from test machines, so this serves the endpoints agentpr uses, in GitHub's
documented JSON shapes, from a `ThreadingHTTPServer` in a daemon thread: synchronous tests and
PyGithub running in worker threads can both talk to it. Repositories are backed by local bare git
repositories and advertise `file://` clone URLs, so code under test clones and pushes without a
network.

Usage::

    with FakeGitHub(tmp_path / "github", token="t0ken") as fake:
        fake.add_repo("demo", "calc", bare_path)
        gh = Github(auth=Auth.Token("t0ken"), base_url=fake.base_url)

Pull requests, reviews, comments, check runs and commit statuses live in memory. A pull
request's head sha is read from the head repository's bare git repository (a fork's branch that
a test pushed with git), and follows later pushes while the pull request is open. Tests play the
reviewers and CI through plain methods::

    fake.set_check_run("demo", "calc", sha, "tests", conclusion="failure", output_text="...")
    fake.add_review("demo", "calc", 1, state="CHANGES_REQUESTED", body="Please add a test")
    fake.merge_pull("demo", "calc", 1)

Campaign targeting lists an organization's repositories and searches them; `add_repo` (and
later `set_repo`) give a repository the description, topics and archived/disabled flags those
answers carry::

    fake.add_repo("acme", "api", bare_path, topics=["llm"], description="The API")
    fake.set_repo("acme", "api", archived=True)

Failures: `fail_next` answers the next requests whatever they are; `fail_on` answers the next
requests matching one route, optionally after the request took effect (GitHub created the pull
request but the response was lost).

Adding an endpoint: write a method on `FakeGitHub` taking `(request, params)` and returning an
`ApiResponse`, and decorate it with `@route("GET", "/repos/{owner}/{repo}/pulls")`. Placeholders
match one path segment and arrive URL-decoded in `params`.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import secrets
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal

from standins.loopback import LoopbackHTTPServer

# GitHub Enterprise serves the same API under this prefix; PyGithub keeps whatever path the
# base_url has and prepends it to every request.
ENTERPRISE_PREFIX = "/api/v3"

DOCS_ROOT = "https://docs.github.com/rest"
DOCS_GET_REPOSITORY = "https://docs.github.com/rest/repos/repos#get-a-repository"
DOCS_CREATE_FORK = "https://docs.github.com/rest/repos/forks#create-a-fork"
DOCS_GET_USER = "https://docs.github.com/rest/users/users#get-a-user"
DOCS_CREATE_PULL = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
DOCS_UPDATE_PULL = "https://docs.github.com/rest/pulls/pulls#update-a-pull-request"
DOCS_GET_PULL = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"
DOCS_GET_COMMIT = "https://docs.github.com/rest/commits/commits#get-a-commit"
DOCS_GET_BRANCH = "https://docs.github.com/rest/branches/branches#get-a-branch"
DOCS_CHECK_RUNS = "https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference"
DOCS_COMBINED_STATUS = (
    "https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference"
)
DOCS_CREATE_ISSUE_COMMENT = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
DOCS_GET_CONTENTS = "https://docs.github.com/rest/repos/contents#get-repository-content"
# The contents API answers files up to 1 MB with their content; larger ones with an empty one.
CONTENTS_INLINE_LIMIT = 1024 * 1024
DOCS_GET_ORG = "https://docs.github.com/rest/orgs/orgs#get-an-organization"
DOCS_ORG_REPOS = "https://docs.github.com/rest/repos/repos#list-organization-repositories"
DOCS_SEARCH_REPOS = "https://docs.github.com/rest/search/search#search-repositories"
SEARCH_INACCESSIBLE_MESSAGE = (
    "The listed users and repositories cannot be searched either because the resources do not "
    "exist or you do not have permission to view them."
)
DOCS_RATE_LIMITS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "DBA8:3C2F:1A2B3C:1D2E3F:66A0B1C2."
)

REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = (
    "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required",
    "stale",
)  # fmt: skip
COMMIT_STATES = ("error", "failure", "pending", "success")

RATE_LIMIT = 5000
SEARCH_RATE_LIMIT = 30
# GitHub's search answers at most this many results, whatever total_count says.
SEARCH_RESULT_CAP = 1000


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it. `path` is as sent (with any /api/v3 prefix and
    without the query string); header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def api_prefix(self) -> str:
        return ENTERPRISE_PREFIX if _has_enterprise_prefix(self.path) else ""

    @property
    def route_path(self) -> str:
        """The path GitHub's documentation names, without the Enterprise prefix."""
        return self.path[len(self.api_prefix) :] or "/"

    def json(self) -> Any:
        """The decoded JSON body; None when the body is empty."""
        return json.loads(self.body) if self.body else None


@dataclass
class ApiResponse:
    status: int
    body: Any = None  # serialised as JSON; None sends an empty body (e.g. 204)
    headers: dict[str, str] = field(default_factory=dict)


# (status, json) or (status, json, extra headers)
QueuedReply = tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], dict[str, str]]
Handler = Callable[["FakeGitHub", RecordedRequest, dict[str, str]], ApiResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


_ROUTES: list[Route] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register a FakeGitHub method for `method` and a GitHub-docs style `path`. `{name}`
    matches one path segment, `{name+}` the rest of the path (e.g. a file path with slashes)."""
    regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)

    def register(handler: Handler) -> Handler:
        _ROUTES.append(Route(method, re.compile(regex), handler))
        return handler

    return register


def error_body(status: int, message: str, documentation_url: str = DOCS_ROOT) -> dict[str, str]:
    return {"message": message, "documentation_url": documentation_url, "status": str(status)}


def not_found(documentation_url: str = DOCS_ROOT) -> ApiResponse:
    return ApiResponse(404, error_body(404, "Not Found", documentation_url))


def validation_failed(documentation_url: str, *errors: dict[str, str]) -> ApiResponse:
    """GitHub's 422 body: a fixed message and the reasons in `errors`."""
    body: dict[str, Any] = {"message": "Validation Failed", "errors": list(errors)}
    body.update(documentation_url=documentation_url, status="422")
    return ApiResponse(422, body)


def secondary_rate_limit(retry_after: int = 1) -> QueuedReply:
    """The 403 GitHub answers when too many writes (e.g. pull requests) come too fast."""
    body = error_body(403, SECONDARY_RATE_LIMIT_MESSAGE, DOCS_RATE_LIMITS)
    return 403, body, {"Retry-After": str(retry_after)}


def primary_rate_limit(reset: int, user_id: int = 1001) -> QueuedReply:
    """The 403 GitHub answers once the hourly budget is spent; the client waits for `reset`."""
    body = error_body(403, f"API rate limit exceeded for user ID {user_id}.", DOCS_RATE_LIMITS)
    return 403, body, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    reply: QueuedReply
    remaining: int
    after_handling: bool


@dataclass
class _Repo:
    id: int
    owner: str
    name: str
    bare_path: Path
    default_branch: str
    created_at: str
    parent: _Repo | None = None
    # Fork creation is asynchronous on GitHub: the new fork answers 404 for a while.
    gets_until_visible: int = 0
    description: str | None = None
    topics: list[str] = field(default_factory=list)
    archived: bool = False
    disabled: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def source(self) -> _Repo:
        repo = self
        while repo.parent is not None:
            repo = repo.parent
        return repo


@dataclass
class _Review:
    id: int
    user: str
    body: str
    state: str
    commit_id: str
    submitted_at: str


@dataclass
class _ReviewComment:
    id: int
    user: str
    body: str
    path: str
    line: int | None
    side: str
    commit_id: str
    created_at: str
    review_id: int | None
    in_reply_to_id: int | None


@dataclass
class _IssueComment:
    id: int
    user: str
    body: str
    created_at: str


@dataclass
class _Pull:
    id: int
    number: int
    repo: _Repo  # the base repository, where the pull request lives
    head_repo: _Repo
    head_ref: str
    head_sha: str  # as last read from git; frozen once the pull request is closed
    base_ref: str
    base_sha: str
    title: str
    body: str | None
    draft: bool
    maintainer_can_modify: bool
    user: str
    created_at: str
    updated_at: str
    state: str = "open"
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    reviews: list[_Review] = field(default_factory=list)
    review_comments: list[_ReviewComment] = field(default_factory=list)
    issue_comments: list[_IssueComment] = field(default_factory=list)


@dataclass
class _CheckRun:
    id: int
    suite_id: int
    repo: _Repo
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: str
    completed_at: str | None
    title: str | None
    summary: str
    text: str
    details_url: str | None
    app_slug: str


@dataclass
class _CommitStatus:
    id: int
    context: str
    state: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str


class FakeGitHub(LoopbackHTTPServer):
    """GitHub's REST API on 127.0.0.1, for one test. See the module docstring."""

    def __init__(
        self, root: Path, token: str, login: str = "agentpr-bot", fork_ready_after_gets: int = 1
    ) -> None:
        self.root = root
        self.token = token
        self.login = login
        self.fork_ready_after_gets = fork_ready_after_gets
        self.requests: list[RecordedRequest] = []
        self.rate_limit_remaining: int = RATE_LIMIT - 1
        self.search_rate_limit_remaining: int = SEARCH_RATE_LIMIT - 1
        self.search_result_cap: int = SEARCH_RESULT_CAP
        self.rate_limit_reset: int = int(time.time()) + 3600
        # Answers for the next requests, in order, before auth and routing: (status, json) or
        # (status, json, extra headers), e.g. a 403 secondary rate limit with Retry-After.
        self.fail_next: list[QueuedReply] = []
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._repos: dict[str, _Repo] = {}
        self._account_ids: dict[str, int] = {}
        self._people: set[str] = {login.lower()}
        self._next_account_id = itertools.count(1001)
        self._next_repo_id = itertools.count(500001)
        # Per repository, by number; numbers are sequential per repository from 1.
        self._pulls: dict[str, dict[int, _Pull]] = {}
        # Per (repository, sha): check runs by name, statuses by context (the latest of each).
        self._check_runs: dict[tuple[str, str], dict[str, _CheckRun]] = {}
        self._statuses: dict[tuple[str, str], dict[str, _CommitStatus]] = {}
        # Branch protection's required status checks, by (repository, branch).
        self._required_checks: dict[tuple[str, str], list[str]] = {}
        self._next_pull_id = itertools.count(1800000001)
        self._next_review_id = itertools.count(2400000001)
        self._next_comment_id = itertools.count(1700000001)
        self._next_check_run_id = itertools.count(28000000001)
        self._next_check_suite_id = itertools.count(26000000001)
        self._next_status_id = itertools.count(31000000001)
        self._started_at = _now_iso()
        self._account_id(login)

    # -- lifecycle ---------------------------------------------------------------------------

    def add_repo(
        self,
        owner: str,
        name: str,
        bare_path: Path,
        default_branch: str = "main",
        *,
        fork_of: tuple[str, str] | None = None,
        description: str | None = None,
        topics: list[str] | None = None,
        archived: bool = False,
        disabled: bool = False,
    ) -> None:
        """A repository backed by the local bare git repository at `bare_path`: an upstream, or
        with `fork_of=(owner, name)` an existing, already visible fork of a repository added
        before (e.g. the fork `git_repos.make_remotes` clones). `bare_path` need not exist when
        nothing reads git (listing and searching repositories only)."""
        with self._lock:
            parent = None if fork_of is None else self._repos[_key(*fork_of)]
        repo = _Repo(
            id=next(self._next_repo_id),
            owner=owner,
            name=name,
            bare_path=bare_path.resolve(),
            default_branch=default_branch,
            created_at=_now_iso(),
            parent=parent,
            description=description,
            topics=_topics(topics or []),
            archived=archived,
            disabled=disabled,
        )
        with self._lock:
            self._account_id(owner)
            self._repos[_key(owner, name)] = repo

    def set_repo(
        self,
        owner: str,
        name: str,
        *,
        description: str | None = None,
        topics: list[str] | None = None,
        archived: bool | None = None,
        disabled: bool | None = None,
    ) -> dict[str, Any]:
        """Change what a repository's settings page would (None leaves a field alone); returns
        the repository as the API serves it."""
        with self._lock:
            repo = self._repos[_key(owner, name)]
            if description is not None:
                repo.description = description
            if topics is not None:
                repo.topics = _topics(topics)
            if archived is not None:
                repo.archived = archived
            if disabled is not None:
                repo.disabled = disabled
            return self._repo_json(repo, None)

    def start(self) -> str:
        self._serve(_RequestHandler, fake=self)
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def rate_limit_used(self) -> int:
        return RATE_LIMIT - self.rate_limit_remaining

    def fork_path(self, owner: str, name: str) -> Path:
        return self.root / "forks" / owner / f"{name}.git"

    # -- test controls: failures -------------------------------------------------------------

    def fail_on(
        self,
        method: str,
        path: str,
        reply: QueuedReply,
        *,
        times: int = 1,
        after_handling: bool = False,
    ) -> None:
        """Answer the next `times` requests matching `method` and the docs-style `path` (e.g.
        "/repos/{owner}/{repo}/pulls") with `reply`. With `after_handling` the request is served
        first and only its response is replaced: the write happened, the client never heard."""
        pattern = re.compile(re.sub(r"\{(\w+)\}", r"[^/]+", path))
        with self._lock:
            self._failures.append(_Failure(method, pattern, reply, times, after_handling))

    # -- test controls: pull requests, reviews, CI -------------------------------------------
    # Each returns the object as the API serves it (URLs without the /api/v3 prefix) and raises
    # KeyError for an unknown repository or pull request.

    def pulls(self, owner: str, repo: str) -> list[dict[str, Any]]:
        """Every pull request of the repository, full objects, by number."""
        with self._lock:
            pulls = sorted(self._pulls.get(_key(owner, repo), {}).values(), key=lambda p: p.number)
            return [self._pull_json(pull, None, full=True) for pull in pulls]

    def merge_pull(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        by: str | None = None,
        method: Literal["merge", "squash"] = "merge",
    ) -> dict[str, Any]:
        """Merge the pull request as the merge button does: a merge commit (or, `squash`, one
        commit with the PR's changes) on the base branch of the base repository's git
        repository, `merge_commit_sha` naming it. A conflict leaves git alone and
        `merge_commit_sha` at the head commit (as if merged outside this stand-in)."""
        with self._lock:
            pull = self._pull(owner, repo, number)
            self._refresh(pull)
            now = _now_iso()
            pull.state, pull.closed_at, pull.merged_at, pull.updated_at = "closed", now, now, now
            pull.merged_by = self._person(by or "maintainer")
            pull.merge_commit_sha = _merge_in_git(pull, method) or pull.head_sha
            return self._pull_json(pull, None, full=True)

    def close_pull(self, owner: str, repo: str, number: int) -> dict[str, Any]:
        """Close the pull request without merging, as a maintainer declining it does."""
        with self._lock:
            pull = self._pull(owner, repo, number)
            self._refresh(pull)
            pull.state = "closed"
            pull.closed_at = pull.updated_at = _now_iso()
            return self._pull_json(pull, None, full=True)

    def add_review(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        state: str,
        body: str = "",
        user: str = "reviewer",
        commit_id: str | None = None,
    ) -> dict[str, Any]:
        """A submitted review; `state` is "APPROVED", "CHANGES_REQUESTED" or "COMMENTED" (the
        REST API's upper case; webhooks say "approved"). `commit_id` defaults to the head."""
        if state.upper() not in REVIEW_STATES:
            raise ValueError(f"review state must be one of {REVIEW_STATES}, not {state!r}")
        with self._lock:
            pull = self._pull(owner, repo, number)
            self._refresh(pull)
            review = _Review(
                id=next(self._next_review_id),
                user=self._person(user),
                body=body,
                state=state.upper(),
                commit_id=commit_id or pull.head_sha,
                submitted_at=_now_iso(),
            )
            pull.reviews.append(review)
            pull.updated_at = review.submitted_at
            return self._review_json(pull, review, None)

    def add_review_comment(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        body: str,
        path: str,
        line: int | None = 1,
        user: str = "reviewer",
        side: str = "RIGHT",
        review_id: int | None = None,
        in_reply_to: int | None = None,
        commit_id: str | None = None,
    ) -> dict[str, Any]:
        """A comment on a line of the diff (`line=None`: on the whole file)."""
        with self._lock:
            pull = self._pull(owner, repo, number)
            self._refresh(pull)
            comment = _ReviewComment(
                id=next(self._next_comment_id),
                user=self._person(user),
                body=body,
                path=path,
                line=line,
                side=side,
                commit_id=commit_id or pull.head_sha,
                created_at=_now_iso(),
                review_id=review_id,
                in_reply_to_id=in_reply_to,
            )
            pull.review_comments.append(comment)
            pull.updated_at = comment.created_at
            return self._review_comment_json(pull, comment, None)

    def add_issue_comment(
        self, owner: str, repo: str, number: int, *, body: str, user: str = "reviewer"
    ) -> dict[str, Any]:
        """A comment on the pull request's conversation tab."""
        with self._lock:
            pull = self._pull(owner, repo, number)
            return self._issue_comment_json(pull, self._add_issue_comment(pull, body, user), None)

    def set_check_run(
        self,
        owner: str,
        repo: str,
        sha: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        output_text: str = "",
        summary: str = "",
        title: str | None = None,
        details_url: str | None = None,
        app_slug: str = "github-actions",
    ) -> dict[str, Any]:
        """Create or update the check run `name` on commit `sha` of the repository. Check runs
        of a fork's pull request belong to the base repository. A run that is not completed has
        no conclusion, whatever `conclusion` says."""
        if status not in CHECK_STATUSES:
            raise ValueError(f"check run status must be one of {CHECK_STATUSES}, not {status!r}")
        if status == "completed" and conclusion not in CHECK_CONCLUSIONS:
            raise ValueError(f"conclusion must be one of {CHECK_CONCLUSIONS}, not {conclusion!r}")
        with self._lock:
            base = self._repos[_key(owner, repo)]
            runs = self._check_runs.setdefault((_key(owner, repo), sha), {})
            now = _now_iso()
            existing = runs.get(name)
            run = _CheckRun(
                id=existing.id if existing else next(self._next_check_run_id),
                suite_id=existing.suite_id if existing else next(self._next_check_suite_id),
                repo=base,
                head_sha=sha,
                name=name,
                status=status,
                conclusion=conclusion if status == "completed" else None,
                started_at=existing.started_at if existing else now,
                completed_at=now if status == "completed" else None,
                title=title,
                summary=summary,
                text=output_text,
                details_url=details_url,
                app_slug=app_slug,
            )
            runs[name] = run
            return self._check_run_json(run, None)

    def protect_branch(
        self, owner: str, repo: str, branch: str, required_checks: list[str]
    ) -> None:
        """Protect `branch`, requiring these status checks before merging."""
        with self._lock:
            if _key(owner, repo) not in self._repos:
                raise KeyError(f"{owner}/{repo}")
            self._required_checks[(_key(owner, repo), branch)] = list(required_checks)

    def set_commit_status(
        self,
        owner: str,
        repo: str,
        sha: str,
        context: str,
        *,
        state: str = "success",
        description: str | None = None,
        target_url: str | None = None,
        creator: str = "ci-bot",
    ) -> dict[str, Any]:
        """A commit status (the older API some CI services use), replacing `context`'s last."""
        if state not in COMMIT_STATES:
            raise ValueError(f"commit status state must be one of {COMMIT_STATES}, not {state!r}")
        with self._lock:
            if _key(owner, repo) not in self._repos:
                raise KeyError(f"{owner}/{repo}")
            status = _CommitStatus(
                id=next(self._next_status_id),
                context=context,
                state=state,
                description=description,
                target_url=target_url,
                creator=self._person(creator),
                created_at=_now_iso(),
            )
            self._statuses.setdefault((_key(owner, repo), sha), {})[context] = status
            return self._status_json(status, None)

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> ApiResponse:
        split = urllib.parse.urlsplit(target)
        request = RecordedRequest(
            method=method,
            path=split.path,
            query=dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            queued = self.fail_next.pop(0) if self.fail_next else None
            failure = None if queued is not None else self._take_failure(request)
        if queued is not None:
            response = _queued_response(queued)
        elif failure is not None and not failure.after_handling:
            response = _queued_response(failure.reply)
        elif not self._authorized(headers.get("authorization", "")):
            response = ApiResponse(401, error_body(401, "Bad credentials"))
        else:
            response = self._route(request)
            if failure is not None:
                response = _queued_response(failure.reply)
        response.headers = {**self._standard_headers(), **response.headers}
        return response

    def _take_failure(self, request: RecordedRequest) -> _Failure | None:
        for failure in self._failures:
            if failure.method == request.method and failure.pattern.fullmatch(request.route_path):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _route(self, request: RecordedRequest) -> ApiResponse:
        for candidate in _ROUTES:
            if candidate.method != request.method:
                continue
            match = candidate.pattern.fullmatch(request.route_path)
            if match is None:
                continue
            params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
            try:
                return candidate.handler(self, request, params)
            except Exception as exc:  # surfaces fake bugs in the test's failure, not on stderr
                return ApiResponse(500, error_body(500, f"FakeGitHub error: {exc!r}"))
        return not_found()

    def _authorized(self, authorization: str) -> bool:
        scheme, _, credential = authorization.partition(" ")
        return scheme.lower() in ("token", "bearer") and secrets.compare_digest(
            credential.strip(), self.token
        )

    def _standard_headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(self.rate_limit_remaining),
            "X-RateLimit-Reset": str(self.rate_limit_reset),
            "X-RateLimit-Used": str(self.rate_limit_used),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Request-Id": _request_id(),
        }

    # -- endpoints ---------------------------------------------------------------------------

    @route("GET", "/user")
    def _get_authenticated_user(
        self, request: RecordedRequest, params: dict[str, str]
    ) -> ApiResponse:
        user = self._account_json(self.login, request)
        with self._lock:
            owned = [r for r in self._repos.values() if r.owner.lower() == self.login.lower()]
        user.update(
            name=self.login,
            company=None,
            blog="",
            location=None,
            email=f"{user['id']}+{self.login}@users.noreply.github.com",
            hireable=None,
            bio=None,
            twitter_username=None,
            public_repos=len(owned),
            public_gists=0,
            followers=0,
            following=0,
            created_at=self._started_at,
            updated_at=self._started_at,
        )
        return ApiResponse(200, user)

    @route("GET", "/users/{username}")
    def _get_user(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        with self._lock:
            known = params["username"].lower() in self._account_ids
        if not known:
            return not_found(DOCS_GET_USER)
        return ApiResponse(200, self._account_json(params["username"], request))

    @route("GET", "/repos/{owner}/{repo}")
    def _get_repository(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        repo = self._visible_repo(params["owner"], params["repo"], counts_as_get=True)
        if repo is None:
            return not_found(DOCS_GET_REPOSITORY)
        return ApiResponse(200, self._repo_json(repo, request))

    @route("POST", "/repos/{owner}/{repo}/forks")
    def _create_fork(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        upstream = self._visible_repo(params["owner"], params["repo"])
        if upstream is None:
            return not_found(DOCS_CREATE_FORK)
        try:
            options = request.json() or {}
        except ValueError:
            return ApiResponse(400, error_body(400, "Problems parsing JSON", DOCS_CREATE_FORK))
        owner = options.get("organization") or self.login
        name = options.get("name") or upstream.name
        with self._lock:  # held across the clone so concurrent POSTs clone once
            existing = self._repos.get(_key(owner, name))
            if existing is not None:
                if existing.parent is not None and existing.source is upstream.source:
                    return ApiResponse(202, self._repo_json(existing, request))
                return ApiResponse(
                    422,
                    error_body(422, f"Repository {owner}/{name} already exists", DOCS_CREATE_FORK),
                )
            bare_path = self.fork_path(owner, name)
            bare_path.parent.mkdir(parents=True, exist_ok=True)
            clone = ["git", "clone", "--quiet", "--bare"]
            if options.get("default_branch_only"):
                clone += ["--single-branch", "--branch", upstream.default_branch]
            subprocess.run(
                [*clone, str(upstream.bare_path), str(bare_path)], check=True, capture_output=True
            )
            fork = _Repo(
                id=next(self._next_repo_id),
                owner=owner,
                name=name,
                bare_path=bare_path.resolve(),
                default_branch=upstream.default_branch,
                created_at=_now_iso(),
                parent=upstream,
                gets_until_visible=self.fork_ready_after_gets,
            )
            self._account_id(owner)
            self._repos[_key(owner, name)] = fork
        return ApiResponse(202, self._repo_json(fork, request))

    @route("GET", "/orgs/{org}")
    def _get_organization(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        login = self._organization(params["org"])
        if login is None:
            return not_found(DOCS_GET_ORG)
        org = self._account_json(login, request)
        api = org["url"].replace("/users/", "/orgs/")
        with self._lock:
            owned = len(self._listed_repos(lambda r: r.owner.lower() == login.lower()))
        org.update(
            url=api,
            repos_url=f"{api}/repos",
            events_url=f"{api}/events",
            hooks_url=f"{api}/hooks",
            issues_url=f"{api}/issues",
            members_url=f"{api}/members{{/member}}",
            public_members_url=f"{api}/public_members{{/member}}",
            description=None,
            name=login,
            company=None,
            blog="",
            location=None,
            email=None,
            twitter_username=None,
            is_verified=False,
            has_organization_projects=True,
            has_repository_projects=True,
            public_repos=owned,
            public_gists=0,
            followers=0,
            following=0,
            created_at=self._started_at,
            updated_at=self._started_at,
            archived_at=None,
        )
        for key in (
            "gravatar_id",
            "followers_url",
            "following_url",
            "gists_url",
            "starred_url",
            "subscriptions_url",
            "organizations_url",
            "received_events_url",
            "user_view_type",
            "site_admin",
        ):
            org.pop(key, None)  # an organization object has none of a user's links
        return ApiResponse(200, org)

    @route("GET", "/orgs/{org}/repos")
    def _list_org_repos(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        login = self._organization(params["org"])
        if login is None:
            return not_found(DOCS_ORG_REPOS)
        query = request.query
        kind = query.get("type", "all")
        sort = query.get("sort", "created")
        for name, value, allowed in (
            ("type", kind, ("all", "public", "private", "forks", "sources", "member")),
            ("sort", sort, ("created", "updated", "pushed", "full_name")),
        ):
            if value not in allowed:
                error = {"resource": "Repository", "field": name, "code": "invalid"}
                return validation_failed(DOCS_ORG_REPOS, error)
        with self._lock:
            repos = self._listed_repos(
                lambda r: (
                    r.owner.lower() == login.lower()
                    and kind != "private"  # every fake repository is public
                    and (kind != "forks" or r.parent is not None)
                    and (kind != "sources" or r.parent is None)
                )
            )
            # Creation times tie within a second; ids keep the order a real clock would give.
            sort_key = {
                "full_name": lambda r: (r.full_name.lower(), r.id),
            }.get(sort, lambda r: (r.created_at, r.id))
            default_direction = "asc" if sort == "full_name" else "desc"
            repos.sort(key=sort_key, reverse=query.get("direction", default_direction) == "desc")
            page, headers = self._page(request, repos)
            body = [self._repo_json(repo, request, with_family=False) for repo in page]
        return ApiResponse(200, body, headers)

    @route("GET", "/search/repositories")
    def _search_repositories(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        """Repository search over the qualifiers agentpr uses: `org:`/`user:` (any of them),
        `topic:` (all of them), `fork:true|only|false` (forks are left out unless asked for),
        `archived:true|false`, and plain words or "quoted phrases" that must all appear in the
        name or description. Other qualifiers are refused, so a test never reads an answer the
        fake only pretended to filter. "Best match" order is the order repositories were added."""
        headers = self._search_rate_headers()
        q = request.query.get("q", "").strip()
        if not q:
            error = {"resource": "Search", "field": "q", "code": "missing"}
            response = validation_failed(DOCS_SEARCH_REPOS, error)
            response.headers.update(headers)
            return response
        parsed = _parse_repo_query(q)
        if isinstance(parsed, str):
            error = {"resource": "Search", "field": "q", "code": "invalid", "message": parsed}
            response = validation_failed(DOCS_SEARCH_REPOS, error)
            response.headers.update(headers)
            return response
        with self._lock:
            unknown = [o for o in parsed.owners if o.lower() not in self._account_ids]
            if unknown:
                error = {
                    "message": SEARCH_INACCESSIBLE_MESSAGE,
                    "resource": "Search",
                    "field": "q",
                    "code": "invalid",
                }
                response = validation_failed(DOCS_SEARCH_REPOS, error)
                response.headers.update(headers)
                return response
            found = self._listed_repos(parsed.matches)
        per_page = _int_param(request.query.get("per_page"), 30, 1, 100)
        page_number = _int_param(request.query.get("page"), 1, 1, 1 << 30)
        if (page_number - 1) * per_page >= self.search_result_cap and found:
            message = f"Only the first {self.search_result_cap} search results are available"
            response = ApiResponse(422, error_body(422, message, DOCS_SEARCH_REPOS))
            response.headers.update(headers)
            return response
        page, links = self._page(request, found[: self.search_result_cap])
        body = {
            "total_count": len(found),
            "incomplete_results": False,
            "items": [
                {**self._repo_json(repo, request, with_family=False), "score": 1.0} for repo in page
            ],
        }
        return ApiResponse(200, body, {**headers, **links})

    @route("GET", "/rate_limit")
    def _get_rate_limit(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        core = {
            "limit": RATE_LIMIT,
            "used": self.rate_limit_used,
            "remaining": self.rate_limit_remaining,
            "reset": self.rate_limit_reset,
        }
        search = {
            "limit": SEARCH_RATE_LIMIT,
            "used": SEARCH_RATE_LIMIT - self.search_rate_limit_remaining,
            "remaining": self.search_rate_limit_remaining,
            "reset": int(time.time()) + 60,
        }
        graphql = {
            "limit": RATE_LIMIT,
            "used": 0,
            "remaining": RATE_LIMIT,
            "reset": self.rate_limit_reset,
        }
        body = {
            "resources": {
                "core": core,
                "search": search,
                "graphql": graphql,
                "code_search": {**search, "limit": 10, "remaining": 10},
                "integration_manifest": graphql,
            },
            "rate": core,
        }
        return ApiResponse(200, body)

    @route("GET", "/repos/{owner}/{repo}/contents")
    @route("GET", "/repos/{owner}/{repo}/contents/")
    @route("GET", "/repos/{owner}/{repo}/contents/{path+}")
    def _get_contents(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        """A file (base64 content, as GitHub sends it: lines of 60 characters) or a directory
        (a JSON array of entries) on `ref` (default: the default branch), read from the bare
        git repository; 404 when absent."""
        repo = self._visible_repo(params["owner"], params["repo"])
        if repo is None:
            return not_found(DOCS_GET_CONTENTS)
        ref = request.query.get("ref") or repo.default_branch
        sha = _rev_parse(repo, ref)
        if sha is None:
            return ApiResponse(
                404, error_body(404, f"No commit found for the ref {ref}", DOCS_GET_CONTENTS)
            )
        path = params.get("path", "").strip("/")
        if not path:
            entries = _tree_entries(repo, sha, "")
            return ApiResponse(200, [self._content_json(repo, ref, e, request) for e in entries])
        listed = _git(repo, "ls-tree", "-l", sha, "--", path).stdout.splitlines()
        entry = _parse_tree_line(listed[0], "") if listed else None
        if entry is None or entry["path"] != path:
            return not_found(DOCS_GET_CONTENTS)
        if entry["type"] == "dir":
            entries = _tree_entries(repo, sha, path)
            return ApiResponse(200, [self._content_json(repo, ref, e, request) for e in entries])
        body = self._content_json(repo, ref, entry, request)
        if entry["type"] == "file":
            if entry["size"] > CONTENTS_INLINE_LIMIT:
                body.update(content="", encoding="none")
            else:
                blob = subprocess.run(
                    ["git", "--git-dir", str(repo.bare_path), "cat-file", "blob", entry["sha"]],
                    capture_output=True,
                    check=True,
                ).stdout
                encoded = base64.b64encode(blob).decode()
                lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
                body.update(content="".join(f"{line}\n" for line in lines), encoding="base64")
        return ApiResponse(200, body)

    def _content_json(
        self, repo: _Repo, ref: str, entry: dict[str, Any], request: RecordedRequest | None
    ) -> dict[str, Any]:
        api = f"{self._api_root(request)}/repos/{repo.full_name}"
        quoted = urllib.parse.quote(entry["path"])
        url = f"{api}/contents/{quoted}?ref={urllib.parse.quote(ref)}"
        kind = "tree" if entry["type"] == "dir" else "blob"
        git_url = f"{api}/git/{kind}s/{entry['sha']}"
        html_url = f"{self.base_url}/{repo.full_name}/{kind}/{ref}/{quoted}"
        download_url = (
            f"{self.base_url}/raw/{repo.full_name}/{ref}/{quoted}"
            if entry["type"] == "file"
            else None
        )
        return {
            "type": entry["type"],
            "size": entry["size"],
            "name": entry["path"].rsplit("/", 1)[-1],
            "path": entry["path"],
            "sha": entry["sha"],
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": download_url,
            "_links": {"self": url, "git": git_url, "html": html_url},
        }

    @route("POST", "/repos/{owner}/{repo}/pulls")
    def _create_pull(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        base_repo = self._visible_repo(params["owner"], params["repo"])
        if base_repo is None:
            return not_found(DOCS_CREATE_PULL)
        try:
            options = request.json() or {}
        except ValueError:
            return ApiResponse(400, error_body(400, "Problems parsing JSON", DOCS_CREATE_PULL))
        for name in ("title", "head", "base"):
            if not options.get(name):
                error = {"resource": "PullRequest", "code": "missing_field", "field": name}
                return validation_failed(DOCS_CREATE_PULL, error)
        with self._lock:  # held from the duplicate check to the insert
            base_sha = _branch_sha(base_repo, options["base"])
            if base_sha is None:
                error = {"resource": "PullRequest", "field": "base", "code": "invalid"}
                return validation_failed(DOCS_CREATE_PULL, error)
            head = self._resolve_head(base_repo, options["head"])
            head_sha = None if head is None else _branch_sha(*head)
            if head is None or head_sha is None:
                error = {"resource": "PullRequest", "field": "head", "code": "invalid"}
                return validation_failed(DOCS_CREATE_PULL, error)
            head_repo, head_ref = head
            label = f"{head_repo.owner}:{head_ref}"
            if _is_ancestor(base_repo, head_sha, base_sha):
                message = f"No commits between {options['base']} and {options['head']}"
                error = {"resource": "PullRequest", "code": "custom", "message": message}
                return validation_failed(DOCS_CREATE_PULL, error)
            numbered = self._pulls.setdefault(_key(base_repo.owner, base_repo.name), {})
            for other in numbered.values():
                if (
                    other.state == "open"
                    and other.head_repo is head_repo
                    and other.head_ref == head_ref
                    and other.base_ref == options["base"]
                ):
                    message = f"A pull request already exists for {label}."
                    error = {"resource": "PullRequest", "code": "custom", "message": message}
                    return validation_failed(DOCS_CREATE_PULL, error)
            now = _now_iso()
            pull = _Pull(
                id=next(self._next_pull_id),
                number=len(numbered) + 1,
                repo=base_repo,
                head_repo=head_repo,
                head_ref=head_ref,
                head_sha=head_sha,
                base_ref=options["base"],
                base_sha=base_sha,
                title=options["title"],
                body=options.get("body"),
                draft=bool(options.get("draft", False)),
                maintainer_can_modify=bool(options.get("maintainer_can_modify", False)),
                user=self.login,
                created_at=now,
                updated_at=now,
            )
            numbered[pull.number] = pull
            body = self._pull_json(pull, request, full=True)
        location = body["url"]
        return ApiResponse(201, body, {"Location": location})

    @route("GET", "/repos/{owner}/{repo}/pulls")
    def _list_pulls(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        repo = self._visible_repo(params["owner"], params["repo"])
        if repo is None:
            return not_found(DOCS_GET_PULL)
        query = request.query
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            error = {"resource": "Search", "field": "state", "code": "invalid"}
            return validation_failed(DOCS_GET_PULL, error)
        head_owner, has_owner, head_ref = query.get("head", "").partition(":")
        with self._lock:
            pulls = list(self._pulls.get(_key(repo.owner, repo.name), {}).values())
            for pull in pulls:
                self._refresh(pull)
            selected = [
                pull
                for pull in pulls
                if state in ("all", pull.state)
                # GitHub ignores a head filter without "owner:" and answers every pull request
                and (
                    not has_owner
                    or (
                        pull.head_repo.owner.lower() == head_owner.lower()
                        and pull.head_ref == head_ref
                    )
                )
                and ("base" not in query or pull.base_ref == query["base"])
            ]
            sort = query.get("sort", "created")
            sort_key = {
                "updated": lambda p: (p.updated_at, p.number),
                "popularity": lambda p: (len(p.issue_comments), p.number),
                "long-running": lambda p: (p.created_at, p.number),
            }.get(sort, lambda p: (p.created_at, p.number))
            default_direction = "asc" if sort == "long-running" else "desc"
            descending = query.get("direction", default_direction) == "desc"
            selected.sort(key=sort_key, reverse=descending)
            page, headers = self._page(request, selected)
            body = [self._pull_json(pull, request, full=False) for pull in page]
        return ApiResponse(200, body, headers)

    @route("GET", "/repos/{owner}/{repo}/pulls/{number}")
    def _get_pull(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        with self._lock:
            pull = self._requested_pull(params)
            if pull is None:
                return not_found(DOCS_GET_PULL)
            self._refresh(pull)
            return ApiResponse(200, self._pull_json(pull, request, full=True))

    @route("PATCH", "/repos/{owner}/{repo}/pulls/{number}")
    def _update_pull(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        try:
            options = request.json() or {}
        except ValueError:
            return ApiResponse(400, error_body(400, "Problems parsing JSON", DOCS_UPDATE_PULL))
        with self._lock:
            pull = self._requested_pull(params)
            if pull is None:
                return not_found(DOCS_UPDATE_PULL)
            self._refresh(pull)
            if "state" in options and options["state"] not in ("open", "closed"):
                error = {"resource": "PullRequest", "field": "state", "code": "invalid"}
                return validation_failed(DOCS_UPDATE_PULL, error)
            if "base" in options and _branch_sha(pull.repo, options["base"]) is None:
                error = {"resource": "PullRequest", "field": "base", "code": "invalid"}
                return validation_failed(DOCS_UPDATE_PULL, error)
            if pull.merged_at is not None and options.get("state") == "open":
                error = {"resource": "PullRequest", "code": "custom", "message": "merged"}
                return validation_failed(DOCS_UPDATE_PULL, error)
            for name in ("title", "body", "maintainer_can_modify"):
                if name in options:
                    setattr(pull, name, options[name])
            if "base" in options:
                pull.base_ref = options["base"]
            now = _now_iso()
            if options.get("state") == "closed" and pull.state == "open":
                pull.state, pull.closed_at = "closed", now
            elif options.get("state") == "open" and pull.state == "closed":
                pull.state, pull.closed_at = "open", None
            pull.updated_at = now
            self._refresh(pull)
            return ApiResponse(200, self._pull_json(pull, request, full=True))

    @route("GET", "/repos/{owner}/{repo}/pulls/{number}/merge")
    def _check_pull_merged(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        with self._lock:
            pull = self._requested_pull(params)
            merged = pull is not None and pull.merged_at is not None
        return ApiResponse(204) if merged else not_found(DOCS_GET_PULL)

    @route("GET", "/repos/{owner}/{repo}/pulls/{number}/reviews")
    def _list_reviews(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        with self._lock:
            pull = self._requested_pull(params)
            if pull is None:
                return not_found(DOCS_GET_PULL)
            page, headers = self._page(request, pull.reviews)  # oldest first, as GitHub
            body = [self._review_json(pull, review, request) for review in page]
        return ApiResponse(200, body, headers)

    @route("GET", "/repos/{owner}/{repo}/pulls/{number}/comments")
    def _list_review_comments(
        self, request: RecordedRequest, params: dict[str, str]
    ) -> ApiResponse:
        with self._lock:
            pull = self._requested_pull(params)
            if pull is None:
                return not_found(DOCS_GET_PULL)
            comments = list(pull.review_comments)
            if request.query.get("direction") == "desc":
                comments.reverse()
            page, headers = self._page(request, comments)
            body = [self._review_comment_json(pull, comment, request) for comment in page]
        return ApiResponse(200, body, headers)

    @route("GET", "/repos/{owner}/{repo}/issues/{number}/comments")
    def _list_issue_comments(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        with self._lock:
            pull = self._requested_pull(params)  # issues are not modelled; pulls are issues too
            if pull is None:
                return not_found(DOCS_CREATE_ISSUE_COMMENT)
            page, headers = self._page(request, pull.issue_comments)
            body = [self._issue_comment_json(pull, comment, request) for comment in page]
        return ApiResponse(200, body, headers)

    @route("POST", "/repos/{owner}/{repo}/issues/{number}/comments")
    def _create_issue_comment(
        self, request: RecordedRequest, params: dict[str, str]
    ) -> ApiResponse:
        try:
            options = request.json() or {}
        except ValueError:
            return ApiResponse(400, error_body(400, "Problems parsing JSON", DOCS_ROOT))
        if not options.get("body"):
            error = {"resource": "IssueComment", "code": "missing_field", "field": "body"}
            return validation_failed(DOCS_CREATE_ISSUE_COMMENT, error)
        with self._lock:
            pull = self._requested_pull(params)
            if pull is None:
                return not_found(DOCS_CREATE_ISSUE_COMMENT)
            comment = self._add_issue_comment(pull, options["body"], self.login)
            body = self._issue_comment_json(pull, comment, request)
        return ApiResponse(201, body, {"Location": body["url"]})

    @route("GET", "/repos/{owner}/{repo}/commits/{ref}")
    def _get_commit(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        repo = self._visible_repo(params["owner"], params["repo"])
        if repo is None:
            return not_found(DOCS_GET_COMMIT)
        found = self._find_commit(repo, params["ref"])
        if found is None:
            return _no_commit(params["ref"], DOCS_GET_COMMIT)
        return ApiResponse(200, self._commit_json(repo, *found, request))

    @route("GET", "/repos/{owner}/{repo}/branches/{branch}")
    def _get_branch(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        """A branch with its protection summary, which GitHub shows to anyone who can read the
        repository (the full protection endpoint needs admin rights)."""
        repo = self._visible_repo(params["owner"], params["repo"])
        if repo is None:
            return not_found(DOCS_GET_BRANCH)
        sha = _rev_parse(repo, f"refs/heads/{params['branch']}")
        if sha is None:
            return ApiResponse(404, {"message": "Branch not found", "documentation_url": DOCS_GET_BRANCH, "status": "404"})  # fmt: skip
        api = f"{self._api_root(request)}/repos/{repo.full_name}"
        with self._lock:
            required = self._required_checks.get((_key(repo.owner, repo.name), params["branch"]))
        protection: dict[str, Any] = {
            "enabled": required is not None,
            "required_status_checks": {
                "enforcement_level": "non_admins" if required is not None else "off",
                "contexts": list(required or []),
                "checks": [{"context": name, "app_id": None} for name in required or []],
            },
        }
        body = {
            "name": params["branch"],
            "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            "_links": {
                "self": f"{api}/branches/{params['branch']}",
                "html": f"{self.base_url}/{repo.full_name}/tree/{params['branch']}",
            },  # fmt: skip
            "protected": required is not None,
            "protection": protection,
            "protection_url": f"{api}/branches/{params['branch']}/protection",
        }
        return ApiResponse(200, body)

    @route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
    def _list_check_runs(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        repo = self._visible_repo(params["owner"], params["repo"])
        if repo is None:
            return not_found(DOCS_CHECK_RUNS)
        found = self._find_commit(repo, params["ref"])
        if found is None:
            return _no_commit(params["ref"], DOCS_CHECK_RUNS)
        sha = found[1]
        query = request.query
        with self._lock:
            runs = [
                run
                for run in self._check_runs.get((_key(repo.owner, repo.name), sha), {}).values()
                if query.get("check_name") in (None, run.name)
                and query.get("status") in (None, run.status)
            ]
            page, headers = self._page(request, runs)
            body = {
                "total_count": len(runs),
                "check_runs": [self._check_run_json(run, request) for run in page],
            }
        return ApiResponse(200, body, headers)

    @route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
    def _get_check_run(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        repo = self._visible_repo(params["owner"], params["repo"])
        if repo is None:
            return not_found(DOCS_CHECK_RUNS)
        with self._lock:
            for (repo_key, _), runs in self._check_runs.items():
                if repo_key != _key(repo.owner, repo.name):
                    continue
                for run in runs.values():
                    if str(run.id) == params["check_run_id"]:
                        return ApiResponse(200, self._check_run_json(run, request))
        return not_found(DOCS_CHECK_RUNS)

    @route("GET", "/repos/{owner}/{repo}/commits/{ref}/status")
    def _get_combined_status(self, request: RecordedRequest, params: dict[str, str]) -> ApiResponse:
        repo = self._visible_repo(params["owner"], params["repo"])
        if repo is None:
            return not_found(DOCS_COMBINED_STATUS)
        found = self._find_commit(repo, params["ref"])
        if found is None:
            return _no_commit(params["ref"], DOCS_COMBINED_STATUS)
        sha = found[1]
        with self._lock:
            statuses = list(self._statuses.get((_key(repo.owner, repo.name), sha), {}).values())
            states = {status.state for status in statuses}
            if states & {"error", "failure"}:
                combined = "failure"
            elif not statuses or "pending" in states:
                combined = "pending"  # GitHub's answer for a commit without statuses, too
            else:
                combined = "success"
            api = f"{self._api_root(request)}/repos/{repo.full_name}"
            body = {
                "state": combined,
                "statuses": [self._status_json(status, request) for status in statuses],
                "sha": sha,
                "total_count": len(statuses),
                "repository": self._repo_json(repo, request, with_family=False),
                "commit_url": f"{api}/commits/{sha}",
                "url": f"{api}/commits/{sha}/status",
            }
        return ApiResponse(200, body)

    # -- state and JSON shapes ---------------------------------------------------------------

    def _person(self, login: str) -> str:
        """Register `login` as a person (reviewers, commenters), not an organization."""
        with self._lock:
            self._people.add(login.lower())
            self._account_id(login)
        return login

    def _pull(self, owner: str, repo: str, number: int) -> _Pull:
        return self._pulls[_key(owner, repo)][number]

    def _requested_pull(self, params: dict[str, str]) -> _Pull | None:
        if self._visible_repo(params["owner"], params["repo"]) is None:
            return None
        if not params["number"].isdigit():
            return None
        return self._pulls.get(_key(params["owner"], params["repo"]), {}).get(int(params["number"]))

    def _refresh(self, pull: _Pull) -> None:
        """An open pull request follows pushes to its head and base branches, as on GitHub."""
        if pull.state != "open":
            return
        head_sha = _branch_sha(pull.head_repo, pull.head_ref)
        if head_sha is not None and head_sha != pull.head_sha:
            pull.head_sha, pull.updated_at = head_sha, _now_iso()
        pull.base_sha = _branch_sha(pull.repo, pull.base_ref) or pull.base_sha

    def _find_commit(self, repo: _Repo, ref: str) -> tuple[_Repo, str] | None:
        """The repository holding `ref` and its full sha: a branch, tag or sha of `repo`, or a
        sha pushed to another repository of its fork network (GitHub shares their objects, so
        the base repository answers for a fork pull request's head commit)."""
        sha = _rev_parse(repo, ref)
        if sha is not None:
            return repo, sha
        if not re.fullmatch(r"[0-9a-fA-F]{7,40}", ref):
            return None
        with self._lock:
            network = [r for r in self._repos.values() if r.source is repo.source and r is not repo]
        for other in network:
            sha = _rev_parse(other, ref)
            if sha is not None:
                return other, sha
        return None

    def _resolve_head(self, base: _Repo, head: str) -> tuple[_Repo, str] | None:
        """The repository and branch of a create-pull `head`: "branch" in the base repository,
        or "owner:branch" in owner's fork from the same network."""
        owner, has_owner, branch = head.partition(":")
        if not has_owner:
            return base, head
        if owner.lower() == base.owner.lower():
            return base, branch
        for candidate in self._repos.values():
            if candidate.owner.lower() == owner.lower() and candidate.source is base.source:
                return candidate, branch
        return None

    def _add_issue_comment(self, pull: _Pull, body: str, user: str) -> _IssueComment:
        comment = _IssueComment(
            id=next(self._next_comment_id),
            user=self._person(user),
            body=body,
            created_at=_now_iso(),
        )
        pull.issue_comments.append(comment)
        pull.updated_at = comment.created_at
        return comment

    def _page(self, request: RecordedRequest, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """One page of `items` as `per_page` and `page` ask (GitHub's defaults: 30, 1), and
        the Link header PyGithub follows to the next one."""
        per_page = _int_param(request.query.get("per_page"), 30, 1, 100)
        page = _int_param(request.query.get("page"), 1, 1, 1 << 30)
        last = max(1, math.ceil(len(items) / per_page))

        def link(number: int) -> str:
            query = urllib.parse.urlencode({**request.query, "page": str(number)})
            return f"{self.base_url}{request.path}?{query}"

        rels = []
        if page < last:
            rels += [("next", page + 1), ("last", last)]
        if page > 1:
            rels += [("first", 1), ("prev", min(page - 1, last))]
        headers = {"Link": ", ".join(f'<{link(n)}>; rel="{rel}"' for rel, n in rels)}
        return items[(page - 1) * per_page : page * per_page], headers if rels else {}

    def _visible_repo(self, owner: str, name: str, counts_as_get: bool = False) -> _Repo | None:
        with self._lock:
            repo = self._repos.get(_key(owner, name))
            if repo is None:
                return None
            if repo.gets_until_visible > 0:
                if counts_as_get:
                    repo.gets_until_visible -= 1
                return None
            return repo

    def _listed_repos(self, keep: Callable[[_Repo], bool]) -> list[_Repo]:
        """Repositories a list or search shows, oldest first: a fork GitHub is still creating
        is not listed yet."""
        with self._lock:
            return sorted(
                (r for r in self._repos.values() if r.gets_until_visible == 0 and keep(r)),
                key=lambda r: r.id,
            )

    def _organization(self, login: str) -> str | None:
        """The organization's login as registered, or None for a person or an unknown name
        (GitHub answers /orgs/<user> with 404 too)."""
        with self._lock:
            if login.lower() not in self._account_ids or login.lower() in self._people:
                return None
            for repo in self._repos.values():
                if repo.owner.lower() == login.lower():
                    return repo.owner
        return login

    def _search_rate_headers(self) -> dict[str, str]:
        # Search has its own, much smaller budget, reported under its own resource name.
        return {
            "X-RateLimit-Limit": str(SEARCH_RATE_LIMIT),
            "X-RateLimit-Remaining": str(self.search_rate_limit_remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 60),
            "X-RateLimit-Used": str(SEARCH_RATE_LIMIT - self.search_rate_limit_remaining),
            "X-RateLimit-Resource": "search",
        }

    def _account_id(self, login: str) -> int:
        with self._lock:
            if login.lower() not in self._account_ids:
                self._account_ids[login.lower()] = next(self._next_account_id)
            return self._account_ids[login.lower()]

    def _account_type(self, login: str) -> str:
        # The authenticated user, reviewers and commenters are people; every other owner
        # (upstreams, the organizations forks go to) is treated as an organization.
        return "User" if login.lower() in self._people else "Organization"

    def _api_root(self, request: RecordedRequest | None) -> str:
        # Object URLs must carry the prefix the client used: PyGithub calls them as given
        # (e.g. create_fork POSTs to f"{repo.url}/forks"). Test controls (no request) use none.
        return self.base_url + (request.api_prefix if request is not None else "")

    def _account_json(self, login: str, request: RecordedRequest | None) -> dict[str, Any]:
        account_id = self._account_id(login)
        kind = self._account_type(login)
        api = f"{self._api_root(request)}/users/{login}"
        return {
            "login": login,
            "id": account_id,
            "node_id": _node_id("04:User" if kind == "User" else "012:Organization", account_id),
            "avatar_url": f"{self.base_url}/avatars/u/{account_id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.base_url}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _repo_json(
        self, repo: _Repo, request: RecordedRequest | None, with_family: bool = True
    ) -> dict[str, Any]:
        api = f"{self._api_root(request)}/repos/{repo.full_name}"
        html_url = f"{self.base_url}/{repo.full_name}"
        host = urllib.parse.urlsplit(self.base_url).netloc
        with self._lock:
            forks_count = sum(1 for r in self._repos.values() if r.parent is repo)
        owns = repo.owner.lower() == self.login.lower()
        owner = self._account_json(repo.owner, request)
        data: dict[str, Any] = {
            "id": repo.id,
            "node_id": _node_id("010:Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": owner,
            "html_url": html_url,
            "description": repo.description,
            "fork": repo.parent is not None,
            "url": api,
            **{f"{name}_url": f"{api}/{name}" for name in _PLAIN_REPO_LINKS},
            **{f"{name}_url": f"{api}/{path}" for name, path in _TEMPLATED_REPO_LINKS.items()},
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
            "pushed_at": repo.created_at,
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": repo.bare_path.as_uri(),
            "svn_url": html_url,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": repo.parent is None,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": forks_count,
            "mirror_url": None,
            "archived": repo.archived,
            "disabled": repo.disabled,
            "open_issues_count": 0,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": list(repo.topics),
            "visibility": "public",
            "forks": forks_count,
            "open_issues": 0,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "permissions": {
                "admin": owns,
                "maintain": owns,
                "push": owns,
                "triage": owns,
                "pull": True,
            },
            "network_count": forks_count,
            "subscribers_count": 0,
        }
        if owner["type"] == "Organization":
            data["organization"] = owner
        if with_family and repo.parent is not None:
            data["parent"] = self._repo_json(repo.parent, request, with_family=False)
            data["source"] = self._repo_json(repo.source, request, with_family=False)
        return data

    def _author_association(self, repo: _Repo, login: str) -> str:
        if login.lower() == repo.owner.lower():
            return "OWNER"
        return "CONTRIBUTOR" if login.lower() == self.login.lower() else "NONE"

    def _pull_json(
        self, pull: _Pull, request: RecordedRequest | None, full: bool
    ) -> dict[str, Any]:
        """The full object (GET one, create, update) or, with `full=False`, the shorter one
        list endpoints give: PyGithub then fetches the full one when asked for e.g. `merged`."""
        repo = pull.repo
        api = f"{self._api_root(request)}/repos/{repo.full_name}"
        url = f"{api}/pulls/{pull.number}"
        html_url = f"{self.base_url}/{repo.full_name}/pull/{pull.number}"
        issue_url = f"{api}/issues/{pull.number}"
        statuses_url = f"{api}/statuses/{pull.head_sha}"
        data: dict[str, Any] = {
            "url": url,
            "id": pull.id,
            "node_id": _node_id("011:PullRequest", pull.id),
            "html_url": html_url,
            "diff_url": f"{html_url}.diff",
            "patch_url": f"{html_url}.patch",
            "issue_url": issue_url,
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self._account_json(pull.user, request),
            "body": pull.body,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "closed_at": pull.closed_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [],
            "milestone": None,
            "draft": pull.draft,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses_url,
            "head": self._pull_part_json(pull.head_repo, pull.head_ref, pull.head_sha, request),
            "base": self._pull_part_json(repo, pull.base_ref, pull.base_sha, request),
            "_links": {
                "self": {"href": url},
                "html": {"href": html_url},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": statuses_url},
            },
            "author_association": self._author_association(repo, pull.user),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if not full:
            return data
        commits, additions, deletions, changed_files = _diff_stats(pull)
        is_open = pull.state == "open"
        data.update(
            merged=pull.merged_at is not None,
            mergeable=True if is_open else None,
            rebaseable=True if is_open else None,
            mergeable_state=("draft" if pull.draft else "clean") if is_open else "unknown",
            merged_by=(
                None if pull.merged_by is None else self._account_json(pull.merged_by, request)
            ),
            comments=len(pull.issue_comments),
            review_comments=len(pull.review_comments),
            maintainer_can_modify=pull.maintainer_can_modify,
            commits=commits,
            additions=additions,
            deletions=deletions,
            changed_files=changed_files,
        )
        return data

    def _pull_part_json(
        self, repo: _Repo, ref: str, sha: str, request: RecordedRequest | None
    ) -> dict[str, Any]:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self._account_json(repo.owner, request),
            "repo": self._repo_json(repo, request, with_family=False),
        }

    def _review_json(
        self, pull: _Pull, review: _Review, request: RecordedRequest | None
    ) -> dict[str, Any]:
        pull_url = f"{self._api_root(request)}/repos/{pull.repo.full_name}/pulls/{pull.number}"
        html_url = (
            f"{self.base_url}/{pull.repo.full_name}/pull/{pull.number}"
            f"#pullrequestreview-{review.id}"
        )
        return {
            "id": review.id,
            "node_id": _node_id("017:PullRequestReview", review.id),
            "user": self._account_json(review.user, request),
            "body": review.body,
            "state": review.state,
            "html_url": html_url,
            "pull_request_url": pull_url,
            "author_association": self._author_association(pull.repo, review.user),
            "_links": {"html": {"href": html_url}, "pull_request": {"href": pull_url}},
            "submitted_at": review.submitted_at,
            "commit_id": review.commit_id,
        }

    def _review_comment_json(
        self, pull: _Pull, comment: _ReviewComment, request: RecordedRequest | None
    ) -> dict[str, Any]:
        api = f"{self._api_root(request)}/repos/{pull.repo.full_name}"
        url = f"{api}/pulls/comments/{comment.id}"
        pull_url = f"{api}/pulls/{pull.number}"
        html_url = (
            f"{self.base_url}/{pull.repo.full_name}/pull/{pull.number}#discussion_r{comment.id}"
        )
        data: dict[str, Any] = {
            "url": url,
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": _node_id("024:PullRequestReviewComment", comment.id),
            "diff_hunk": f"@@ -1,1 +1,{comment.line or 1} @@",
            "path": comment.path,
            "position": comment.line,
            "original_position": comment.line,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self._account_json(comment.user, request),
            "body": comment.body,
            "created_at": comment.created_at,
            "updated_at": comment.created_at,
            "html_url": html_url,
            "pull_request_url": pull_url,
            "author_association": self._author_association(pull.repo, comment.user),
            "_links": {
                "self": {"href": url},
                "html": {"href": html_url},
                "pull_request": {"href": pull_url},
            },
            "start_line": None,
            "original_start_line": None,
            "start_side": None,
            "line": comment.line,
            "original_line": comment.line,
            "side": comment.side,
            "subject_type": "line" if comment.line is not None else "file",
        }
        if comment.in_reply_to_id is not None:
            data["in_reply_to_id"] = comment.in_reply_to_id
        return data

    def _issue_comment_json(
        self, pull: _Pull, comment: _IssueComment, request: RecordedRequest | None
    ) -> dict[str, Any]:
        api = f"{self._api_root(request)}/repos/{pull.repo.full_name}"
        return {
            "url": f"{api}/issues/comments/{comment.id}",
            "html_url": (
                f"{self.base_url}/{pull.repo.full_name}/pull/{pull.number}"
                f"#issuecomment-{comment.id}"
            ),
            "issue_url": f"{api}/issues/{pull.number}",
            "id": comment.id,
            "node_id": _node_id("012:IssueComment", comment.id),
            "user": self._account_json(comment.user, request),
            "created_at": comment.created_at,
            "updated_at": comment.created_at,
            "author_association": self._author_association(pull.repo, comment.user),
            "body": comment.body,
            "performed_via_github_app": None,
        }

    def _check_run_json(self, run: _CheckRun, request: RecordedRequest | None) -> dict[str, Any]:
        api = f"{self._api_root(request)}/repos/{run.repo.full_name}"
        url = f"{api}/check-runs/{run.id}"
        html_url = f"{self.base_url}/{run.repo.full_name}/runs/{run.id}"
        # Like GitHub, only pull requests whose head branch lives in this repository are listed;
        # for a fork's pull request the list is empty.
        with self._lock:
            same_repo_pulls = [
                pull
                for pull in self._pulls.get(_key(run.repo.owner, run.repo.name), {}).values()
                if pull.state == "open"
                and pull.head_repo is run.repo
                and pull.head_sha == run.head_sha
            ]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": _node_id("08:CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": "",
            "url": url,
            "html_url": html_url,
            "details_url": run.details_url or html_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "output": {
                "title": run.title,
                "summary": run.summary or None,
                "text": run.text or None,
                "annotations_count": 0,
                "annotations_url": f"{url}/annotations",
            },
            "check_suite": {"id": run.suite_id},
            "app": _app_json(run.app_slug, self.base_url),
            "pull_requests": [_pull_ref(pull, api) for pull in same_repo_pulls],
        }

    def _commit_json(
        self, repo: _Repo, holder: _Repo, sha: str, request: RecordedRequest | None
    ) -> dict[str, Any]:
        api = f"{self._api_root(request)}/repos/{repo.full_name}"
        html = f"{self.base_url}/{repo.full_name}"
        facts = _commit_facts(holder, sha)
        for changed in facts["files"]:
            path = urllib.parse.quote(changed["filename"])
            changed.update(
                blob_url=f"{html}/blob/{sha}/{path}",
                raw_url=f"{html}/raw/{sha}/{path}",
                contents_url=f"{api}/contents/{path}?ref={sha}",
            )
        additions = sum(f["additions"] for f in facts["files"])
        deletions = sum(f["deletions"] for f in facts["files"])
        return {
            "sha": sha,
            "node_id": _node_id("06:Commit", int(sha[:12], 16)),
            "commit": {
                "author": facts["author"],
                "committer": facts["committer"],
                "message": facts["message"],
                "tree": {"sha": facts["tree"], "url": f"{api}/git/trees/{facts['tree']}"},
                "url": f"{api}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "url": f"{api}/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "author": None,  # no GitHub account matches the fake's commit e-mail addresses
            "committer": None,
            "parents": [
                {
                    "sha": parent,
                    "url": f"{api}/commits/{parent}",
                    "html_url": f"{html}/commit/{parent}",
                }
                for parent in facts["parents"]
            ],
            "stats": {
                "total": additions + deletions,
                "additions": additions,
                "deletions": deletions,
            },
            "files": facts["files"],
        }

    def _status_json(
        self, status: _CommitStatus, request: RecordedRequest | None
    ) -> dict[str, Any]:
        creator = self._account_json(status.creator, request)
        return {
            "url": f"{self._api_root(request)}/statuses/{status.id}",
            "avatar_url": creator["avatar_url"],
            "id": status.id,
            "node_id": _node_id("013:StatusContext", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": status.created_at,
            "updated_at": status.created_at,
            "creator": creator,
        }


_PLAIN_REPO_LINKS = (
    "forks", "teams", "hooks", "events", "tags", "languages", "stargazers", "contributors",
    "subscribers", "subscription", "merges", "downloads", "deployments",
)  # fmt: skip
_TEMPLATED_REPO_LINKS = {
    "keys": "keys{/key_id}",
    "collaborators": "collaborators{/collaborator}",
    "issue_events": "issues/events{/number}",
    "assignees": "assignees{/user}",
    "branches": "branches{/branch}",
    "blobs": "git/blobs{/sha}",
    "git_tags": "git/tags{/sha}",
    "git_refs": "git/refs{/sha}",
    "trees": "git/trees{/sha}",
    "statuses": "statuses/{sha}",
    "commits": "commits{/sha}",
    "git_commits": "git/commits{/sha}",
    "comments": "comments{/number}",
    "issue_comment": "issues/comments{/number}",
    "contents": "contents/{+path}",
    "compare": "compare/{base}...{head}",
    "archive": "{archive_format}{/ref}",
    "issues": "issues{/number}",
    "pulls": "pulls{/number}",
    "milestones": "milestones{/number}",
    "notifications": "notifications{?since,all,participating}",
    "labels": "labels{/name}",
    "releases": "releases{/id}",
}


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps PyGithub's pooled connections alive; every response sets Content-Length.
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake: FakeGitHub = self.server.fake  # type: ignore[attr-defined]
        response = fake._dispatch(self.command, self.path, headers, body)
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `FakeGitHub.requests`; stderr stays quiet


def _key(owner: str, name: str) -> str:
    return f"{owner}/{name}".lower()  # GitHub resolves owner and repo names case-insensitively


def _has_enterprise_prefix(path: str) -> bool:
    return path == ENTERPRISE_PREFIX or path.startswith(ENTERPRISE_PREFIX + "/")


def _node_id(kind: str, object_id: int) -> str:
    # GitHub's legacy global node ids are base64 of "<type code>:<Type><id>".
    return base64.b64encode(f"{kind}{object_id}".encode()).decode()


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _no_commit(ref: str, documentation_url: str) -> ApiResponse:
    return ApiResponse(422, error_body(422, f"No commit found for SHA: {ref}", documentation_url))


def _commit_facts(holder: _Repo, sha: str) -> dict[str, Any]:
    """What `git` knows about one commit, in GitHub's words."""
    fields = "%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
    shown = _git(holder, "show", "-s", f"--format={fields}", sha).stdout
    tree, parents, *people, message = shown.split("\x00", 8)
    author_name, author_email, author_date, name, email, date = people
    raw = _git(holder, "diff-tree", "-r", "--root", "--no-commit-id", "--raw", sha).stdout
    numstat = _git(holder, "diff-tree", "-r", "--root", "--no-commit-id", "--numstat", sha).stdout
    statuses = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}
    files = []
    for raw_line, count_line in zip(raw.splitlines(), numstat.splitlines()):
        meta, path = raw_line.split("\t", 1)
        new_blob, letter = meta.split()[3], meta.split()[4][0]
        added, deleted, _ = count_line.split("\t", 2)
        additions, deletions = (int(n) if n.isdigit() else 0 for n in (added, deleted))
        files.append(
            {
                "sha": new_blob,
                "filename": path,
                "status": statuses.get(letter, "modified"),
                "additions": additions,
                "deletions": deletions,
                "changes": additions + deletions,
            }
        )
    return {
        "tree": tree,
        "parents": parents.split(),
        "author": {"name": author_name, "email": author_email, "date": _utc_iso(author_date)},
        "committer": {"name": name, "email": email, "date": _utc_iso(date)},
        "message": message.rstrip("\n"),
        "files": files,
    }


def _utc_iso(git_date: str) -> str:
    moment = datetime.fromisoformat(git_date).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _queued_response(reply: QueuedReply) -> ApiResponse:
    status, body_json, *extra = reply
    return ApiResponse(status, body_json, dict(extra[0]) if extra else {})


def _merge_in_git(pull: _Pull, method: str) -> str | None:
    """Write the merge into the base repository's base branch (plumbing only: the bare
    repository has no work tree); the new commit, or None when git cannot merge cleanly."""
    base = pull.repo
    ref = f"refs/pull/{pull.number}/head"  # where GitHub keeps a PR's head too
    if _git(
        base, "fetch", "--quiet", str(pull.head_repo.bare_path), f"+{pull.head_sha}:{ref}"
    ).returncode:
        return None
    base_sha = _branch_sha(base, pull.base_ref)
    if base_sha is None:
        return None
    tree = _git(base, "merge-tree", "--write-tree", base_sha, pull.head_sha)
    if tree.returncode != 0:
        return None
    author = ["-c", "user.name=Maintainer", "-c", "user.email=maintainer@example.com"]
    if method == "squash":
        parents, message = ["-p", base_sha], f"{pull.title} (#{pull.number})"
    else:
        parents = ["-p", base_sha, "-p", pull.head_sha]
        message = f"Merge pull request #{pull.number} from {pull.head_repo.owner}/{pull.head_ref}"
    commit = subprocess.run(
        ["git", *author, "--git-dir", str(base.bare_path), "commit-tree",
         tree.stdout.split()[0], *parents, "-m", message],
        capture_output=True, text=True,
    )  # fmt: skip
    if commit.returncode != 0:
        return None
    sha = commit.stdout.strip()
    moved = _git(base, "update-ref", f"refs/heads/{pull.base_ref}", sha, base_sha)
    return sha if moved.returncode == 0 else None


def _git(repo: _Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(repo.bare_path), *args], capture_output=True, text=True
    )


_TREE_TYPES = {"blob": "file", "tree": "dir", "commit": "submodule"}


def _parse_tree_line(line: str, folder: str) -> dict[str, Any] | None:
    """One `git ls-tree -l` line ("<mode> <type> <sha> <size>\t<name>") as a contents entry."""
    meta, _, name = line.partition("\t")
    parts = meta.split()
    if len(parts) != 4:
        return None
    mode, kind, sha, size = parts
    entry_type = "symlink" if mode == "120000" else _TREE_TYPES.get(kind, kind)
    path = f"{folder}/{name}" if folder and not name.startswith(f"{folder}/") else name
    return {
        "type": entry_type,
        "sha": sha,
        "size": int(size) if size.isdigit() else 0,
        "path": path,
    }


def _tree_entries(repo: _Repo, sha: str, folder: str) -> list[dict[str, Any]]:
    treeish = f"{sha}:{folder}" if folder else sha
    lines = _git(repo, "ls-tree", "-l", treeish).stdout.splitlines()
    return [e for line in lines if (e := _parse_tree_line(line, folder)) is not None]


def _branch_sha(repo: _Repo, branch: str) -> str | None:
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    return result.stdout.strip() if result.returncode == 0 else None


def _rev_parse(repo: _Repo, ref: str) -> str | None:
    if ref.startswith("-"):
        return None
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return result.stdout.strip() if result.returncode == 0 else None


def _is_ancestor(repo: _Repo, maybe_ancestor: str, sha: str) -> bool:
    # If the head is an ancestor of the base, the base repository has it: asking there is enough.
    return _git(repo, "merge-base", "--is-ancestor", maybe_ancestor, sha).returncode == 0


def _diff_stats(pull: _Pull) -> tuple[int, int, int, int]:
    """Commits, additions, deletions and changed files from the base to the head, read from the
    head repository (a fork has the base's history); zeros when it lacks the base commit."""
    span = f"{pull.base_sha}...{pull.head_sha}"
    commits = _git(pull.head_repo, "rev-list", "--count", span.replace("...", ".."))
    numstat = _git(pull.head_repo, "diff", "--numstat", span)
    if commits.returncode != 0 or numstat.returncode != 0:
        return 0, 0, 0, 0
    additions = deletions = files = 0
    for line in numstat.stdout.splitlines():
        added, deleted, _ = line.split("\t", 2)
        files += 1
        additions += int(added) if added.isdigit() else 0  # "-" for binary files
        deletions += int(deleted) if deleted.isdigit() else 0
    return int(commits.stdout.strip()), additions, deletions, files


def _topics(topics: list[str]) -> list[str]:
    # GitHub stores topics lower-cased: letters, digits and hyphens, at most 50 characters.
    for topic in topics:
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,49}", topic):
            raise ValueError(f"invalid topic {topic!r}")
    return [topic.lower() for topic in topics]


@dataclass
class _RepoQuery:
    """A parsed repository search: see `FakeGitHub._search_repositories`."""

    owners: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    fork: str = "false"
    archived: bool | None = None

    def matches(self, repo: _Repo) -> bool:
        is_fork = repo.parent is not None
        text = f"{repo.name} {repo.description or ''}".lower()
        return (
            (not self.owners or repo.owner.lower() in {o.lower() for o in self.owners})
            and all(topic.lower() in repo.topics for topic in self.topics)
            and all(word.lower() in text for word in self.words)
            and {"true": True, "only": is_fork, "false": not is_fork}[self.fork]
            and (self.archived is None or repo.archived == self.archived)
        )


_QUERY_TOKEN = re.compile(r'(-?)(\w+):("[^"]*"|\S+)|"([^"]*)"|(\S+)')


def _parse_repo_query(q: str) -> _RepoQuery | str:
    """The query, or why the fake will not answer it."""
    query = _RepoQuery()
    for match in _QUERY_TOKEN.finditer(q):
        negated, qualifier, value, phrase, word = match.groups()
        if qualifier is None:
            query.words.append(phrase if phrase is not None else word)
            continue
        value = value.strip('"')
        qualifier = qualifier.lower()
        if negated:
            return f"FakeGitHub does not model excluding with -{qualifier}:"
        if qualifier in ("org", "user"):
            query.owners.append(value)
        elif qualifier == "topic":
            query.topics.append(value)
        elif qualifier == "fork" and value.lower() in ("true", "only", "false"):
            query.fork = value.lower()
        elif qualifier == "archived" and value.lower() in ("true", "false"):
            query.archived = value.lower() == "true"
        else:
            return f"FakeGitHub does not model the qualifier {qualifier}:{value}"
    return query


def _int_param(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value), low), high) if value is not None else default
    except ValueError:
        return default


def _pull_ref(pull: _Pull, api: str) -> dict[str, Any]:
    """The minimal pull request check runs and suites list (`api` is the repository's URL)."""
    root = api.split("/repos/", 1)[0]

    def part(repo: _Repo, ref: str, sha: str) -> dict[str, Any]:
        repo_ref = {"id": repo.id, "url": f"{root}/repos/{repo.full_name}", "name": repo.name}
        return {"ref": ref, "sha": sha, "repo": repo_ref}

    return {
        "url": f"{api}/pulls/{pull.number}",
        "id": pull.id,
        "number": pull.number,
        "head": part(pull.head_repo, pull.head_ref, pull.head_sha),
        "base": part(pull.repo, pull.base_ref, pull.base_sha),
    }


def _app_json(slug: str, base_url: str) -> dict[str, Any]:
    app_id = 15368 if slug == "github-actions" else 900000 + sum(map(ord, slug))
    name = "GitHub Actions" if slug == "github-actions" else slug
    return {
        "id": app_id,
        "slug": slug,
        "node_id": _node_id("03:App", app_id),
        "owner": {"login": "github", "id": 9919, "type": "Organization", "site_admin": False},
        "name": name,
        "description": "",
        "external_url": f"{base_url}/features/actions",
        "html_url": f"{base_url}/apps/{slug}",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {"checks": "write", "pull_requests": "write", "statuses": "write"},
        "events": ["check_run", "check_suite", "pull_request"],
    }


def _request_id() -> str:
    parts = (secrets.token_hex(n).upper() for n in (2, 2, 3, 3, 4))
    return ":".join(parts)
