"""A loopback stand-in for the GitHub REST API, for tests.

GitHub is unreachable from test machines, so this serves the endpoints agentpr uses, in GitHub's
documented JSON shapes, from a `ThreadingHTTPServer` in a daemon thread: synchronous tests and
PyGithub running in worker threads can both talk to it. Repositories are backed by local bare git
repositories and advertise `file://` clone URLs, so code under test clones and pushes without a
network.

Usage::

    with FakeGitHub(tmp_path / "github", token="t0ken") as fake:
        fake.add_repo("demo", "calc", bare_path)
        gh = Github(auth=Auth.Token("t0ken"), base_url=fake.base_url)

Adding an endpoint: write a method on `FakeGitHub` taking `(request, params)` and returning an
`ApiResponse`, and decorate it with `@route("GET", "/repos/{owner}/{repo}/pulls")`. Placeholders
match one path segment and arrive URL-decoded in `params`.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

# GitHub Enterprise serves the same API under this prefix; PyGithub keeps whatever path the
# base_url has and prepends it to every request.
ENTERPRISE_PREFIX = "/api/v3"

DOCS_ROOT = "https://docs.github.com/rest"
DOCS_GET_REPOSITORY = "https://docs.github.com/rest/repos/repos#get-a-repository"
DOCS_CREATE_FORK = "https://docs.github.com/rest/repos/forks#create-a-fork"
DOCS_GET_USER = "https://docs.github.com/rest/users/users#get-a-user"

RATE_LIMIT = 5000
SEARCH_RATE_LIMIT = 30


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
    """Register a FakeGitHub method for `method` and a GitHub-docs style `path`."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)

    def register(handler: Handler) -> Handler:
        _ROUTES.append(Route(method, re.compile(regex), handler))
        return handler

    return register


def error_body(status: int, message: str, documentation_url: str = DOCS_ROOT) -> dict[str, str]:
    return {"message": message, "documentation_url": documentation_url, "status": str(status)}


def not_found(documentation_url: str = DOCS_ROOT) -> ApiResponse:
    return ApiResponse(404, error_body(404, "Not Found", documentation_url))


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

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def source(self) -> _Repo:
        repo = self
        while repo.parent is not None:
            repo = repo.parent
        return repo


class FakeGitHub:
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
        self.rate_limit_reset: int = int(time.time()) + 3600
        # Answers for the next requests, in order, before auth and routing: (status, json) or
        # (status, json, extra headers), e.g. a 403 secondary rate limit with Retry-After.
        self.fail_next: list[QueuedReply] = []
        self._lock = threading.RLock()
        self._repos: dict[str, _Repo] = {}
        self._account_ids: dict[str, int] = {}
        self._next_account_id = itertools.count(1001)
        self._next_repo_id = itertools.count(500001)
        self._started_at = _now_iso()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._account_id(login)

    # -- lifecycle ---------------------------------------------------------------------------

    def add_repo(
        self, owner: str, name: str, bare_path: Path, default_branch: str = "main"
    ) -> None:
        """An upstream repository backed by the local bare git repository at `bare_path`."""
        repo = _Repo(
            id=next(self._next_repo_id),
            owner=owner,
            name=name,
            bare_path=bare_path.resolve(),
            default_branch=default_branch,
            created_at=_now_iso(),
        )
        with self._lock:
            self._account_id(owner)
            self._repos[_key(owner, name)] = repo

    def start(self) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

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
        if queued is not None:
            status, body_json, *extra = queued
            response = ApiResponse(status, body_json, dict(extra[0]) if extra else {})
        elif not self._authorized(headers.get("authorization", "")):
            response = ApiResponse(401, error_body(401, "Bad credentials"))
        else:
            response = self._route(request)
        response.headers = {**self._standard_headers(), **response.headers}
        return response

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
            "used": 0,
            "remaining": SEARCH_RATE_LIMIT,
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

    # -- state and JSON shapes ---------------------------------------------------------------

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

    def _account_id(self, login: str) -> int:
        with self._lock:
            if login.lower() not in self._account_ids:
                self._account_ids[login.lower()] = next(self._next_account_id)
            return self._account_ids[login.lower()]

    def _account_type(self, login: str) -> str:
        # Only the authenticated user is a person here; every other owner (upstreams, the
        # organizations forks go to) is treated as an organization.
        return "User" if login.lower() == self.login.lower() else "Organization"

    def _api_root(self, request: RecordedRequest) -> str:
        # Object URLs must carry the prefix the client used: PyGithub calls them as given
        # (e.g. create_fork POSTs to f"{repo.url}/forks").
        return f"{self.base_url}{request.api_prefix}"

    def _account_json(self, login: str, request: RecordedRequest) -> dict[str, Any]:
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
        self, repo: _Repo, request: RecordedRequest, with_family: bool = True
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
            "description": None,
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
            "archived": False,
            "disabled": False,
            "open_issues_count": 0,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
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
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _request_id() -> str:
    parts = (secrets.token_hex(n).upper() for n in (2, 2, 3, 3, 4))
    return ":".join(parts)
