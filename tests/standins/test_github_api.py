"""The loopback GitHub speaks well enough for PyGithub, used exactly as agentpr uses it."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import github
import pytest
import requests
from github import Auth, Github

from standins.git_repos import make_remotes
from standins.github_api import FakeGitHub, primary_rate_limit, secondary_rate_limit

TOKEN = "ghp_fake_token_for_tests"


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, str]:
    """A bare upstream with one commit on main; returns its path and that commit."""
    bare = tmp_path / "upstream" / "calc.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    work = tmp_path / "work"
    git("clone", "--quiet", str(bare), str(work))
    git("checkout", "--quiet", "-b", "main", cwd=work)
    (work / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git("add", "calc.py", cwd=work)
    git("commit", "--quiet", "-m", "Add calc", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    return bare, git("rev-parse", "HEAD", cwd=work)


@pytest.fixture
def fake(tmp_path: Path, upstream: tuple[Path, str]) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github", token=TOKEN) as server:
        server.add_repo("demo", "calc", upstream[0])
        yield server


def client(fake: FakeGitHub, **options: object) -> Github:
    # PyGithub paces requests (0.25 s apart, writes 1 s apart); against loopback that only
    # slows the suite down, and none of these tests is about pacing.
    options = {
        "base_url": fake.base_url,
        "seconds_between_requests": None,
        "seconds_between_writes": None,
        **options,
    }
    return Github(auth=Auth.Token(TOKEN), **options)  # type: ignore[arg-type]


@pytest.fixture
def gh(fake: FakeGitHub) -> Github:
    return client(fake)


def raw_request(
    fake: FakeGitHub, method: str, path: str, token: str | None = TOKEN, body: bytes | None = None
) -> tuple[int, dict[str, str], object]:
    """Status, lower-cased headers and decoded JSON of one request, without PyGithub's retries."""
    request = urllib.request.Request(fake.base_url + path, data=body, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, payload = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, payload = error.code, error.headers, error.read()
    return status, {k.lower(): v for k, v in headers.items()}, json.loads(payload)


def test_authenticated_user(gh: Github, fake: FakeGitHub) -> None:
    user = gh.get_user()
    assert user.login == "agentpr-bot"
    assert user.type == "User"
    assert user.id > 0 and user.node_id
    assert fake.requests[-1].method == "GET" and fake.requests[-1].path == "/user"
    assert fake.requests[-1].headers["authorization"] == f"token {TOKEN}"


def test_get_repository(gh: Github, upstream: tuple[Path, str]) -> None:
    repo = gh.get_repo("demo/calc")
    assert repo.full_name == "demo/calc"
    assert repo.default_branch == "main"
    assert repo.fork is False and repo.parent is None
    assert repo.owner.login == "demo"
    assert repo.clone_url == upstream[0].resolve().as_uri()
    assert repo.permissions.pull and not repo.permissions.push
    assert repo.visibility == "public" and repo.private is False
    assert isinstance(repo.created_at, datetime)


def test_unknown_repository_is_not_found(gh: Github) -> None:
    with pytest.raises(github.UnknownObjectException) as raised:
        gh.get_repo("demo/nope")
    assert raised.value.status == 404
    assert raised.value.data["message"] == "Not Found"


def test_fork_is_asynchronous_real_and_idempotent(
    gh: Github, fake: FakeGitHub, tmp_path: Path, upstream: tuple[Path, str]
) -> None:
    fork = gh.get_repo("demo/calc").create_fork()
    assert fork.full_name == "agentpr-bot/calc"
    assert fork.fork is True
    assert fork.parent.full_name == "demo/calc" and fork.source.full_name == "demo/calc"
    assert fork.owner.login == "agentpr-bot" and fork.permissions.push
    assert fork.default_branch == "main"
    post = fake.requests[-1]
    assert (post.method, post.path) == ("POST", "/repos/demo/calc/forks")

    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("agentpr-bot/calc")
    assert gh.get_repo("agentpr-bot/calc").id == fork.id

    clone = tmp_path / "fork-clone"
    git("clone", "--quiet", fork.clone_url, str(clone))
    assert git("rev-parse", "HEAD", cwd=clone) == upstream[1]

    marker = fake.fork_path("agentpr-bot", "calc") / "marker"
    marker.write_text("first clone")
    again = gh.get_repo("demo/calc").create_fork()
    assert again.id == fork.id and marker.exists()
    assert gh.get_repo("demo/calc").forks_count == 1


def test_fork_into_organization_with_new_name(gh: Github, fake: FakeGitHub) -> None:
    fork = gh.get_repo("demo/calc").create_fork(
        organization="acme", name="calc-fork", default_branch_only=True
    )
    assert fork.full_name == "acme/calc-fork"
    assert fork.owner.type == "Organization"
    assert fake.requests[-1].json() == {
        "organization": "acme",
        "name": "calc-fork",
        "default_branch_only": True,
    }
    assert (fake.fork_path("acme", "calc-fork") / "HEAD").exists()


def test_fork_ready_immediately_when_configured(tmp_path: Path, upstream: tuple[Path, str]) -> None:
    with FakeGitHub(tmp_path / "gh", token=TOKEN, fork_ready_after_gets=0) as server:
        server.add_repo("demo", "calc", upstream[0])
        gh = Github(auth=Auth.Token(TOKEN), base_url=server.base_url)
        gh.get_repo("demo/calc").create_fork()
        assert gh.get_repo("agentpr-bot/calc").fork is True


def test_concurrent_forks_clone_once(fake: FakeGitHub) -> None:
    results: list[tuple[int, object]] = []

    def fork() -> None:
        status, _, body = raw_request(fake, "POST", "/repos/demo/calc/forks")
        results.append((status, body["id"]))  # type: ignore[index]

    threads = [threading.Thread(target=fork) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in results} == {202}
    assert len({fork_id for _, fork_id in results}) == 1


def test_rate_limit_headers_and_endpoint(gh: Github, fake: FakeGitHub) -> None:
    fake.rate_limit_remaining = 1234
    assert gh.get_user().login
    assert gh.rate_limiting == (1234, 5000)
    assert gh.rate_limiting_resettime == fake.rate_limit_reset

    overview = gh.get_rate_limit()
    assert overview.resources.core.remaining == 1234
    assert overview.resources.core.used == 5000 - 1234
    reset = datetime.fromtimestamp(fake.rate_limit_reset, UTC)
    assert overview.resources.core.reset == reset
    assert overview.resources.search.limit == 30
    assert overview.resources.graphql.limit == 5000
    assert overview.rate.remaining == 1234


def test_every_response_carries_github_headers(fake: FakeGitHub) -> None:
    for path, token in (("/user", TOKEN), ("/no/such/route", TOKEN), ("/user", "wrong")):
        _, headers, _ = raw_request(fake, "GET", path, token=token)
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert headers["x-ratelimit-limit"] == "5000"
        assert headers["x-ratelimit-remaining"] == "4999"
        assert headers["x-ratelimit-used"] == "1"
        assert headers["x-ratelimit-resource"] == "core"
        assert int(headers["x-ratelimit-reset"]) == fake.rate_limit_reset
        assert headers["x-github-request-id"]


def test_unknown_route_and_missing_auth(fake: FakeGitHub) -> None:
    status, _, body = raw_request(fake, "GET", "/no/such/route")
    assert status == 404 and body == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }
    status, _, body = raw_request(fake, "GET", "/user", token=None)
    assert status == 401 and body["message"] == "Bad credentials"  # type: ignore[index]


def test_wrong_token_is_bad_credentials(fake: FakeGitHub) -> None:
    gh = Github(auth=Auth.Token("ghp_wrong"), base_url=fake.base_url)
    with pytest.raises(github.BadCredentialsException):
        gh.get_user().login


def test_enterprise_prefix(fake: FakeGitHub) -> None:
    gh = Github(auth=Auth.Token(TOKEN), base_url=f"{fake.base_url}/api/v3")
    repo = gh.get_repo("demo/calc")
    assert repo.url == f"{fake.base_url}/api/v3/repos/demo/calc"
    # create_fork POSTs to repo.url + "/forks", so the prefix must survive in returned URLs
    assert repo.create_fork().full_name == "agentpr-bot/calc"
    assert fake.requests[-1].path == "/api/v3/repos/demo/calc/forks"


def test_queued_server_error_is_retried_by_pygithub(gh: Github, fake: FakeGitHub) -> None:
    fake.fail_next.append((502, {"message": "Server Error"}))
    assert gh.get_repo("demo/calc").name == "calc"
    assert [r.path for r in fake.requests] == ["/repos/demo/calc", "/repos/demo/calc"]


def test_queued_secondary_rate_limit_is_retried_after_retry_after(
    gh: Github, fake: FakeGitHub
) -> None:
    message = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    )
    fake.fail_next.append((403, {"message": message}, {"Retry-After": "0"}))
    assert gh.get_user().login == "agentpr-bot"
    assert len(fake.requests) == 2


def test_pygithub_gives_up_on_5xx_with_requests_retry_error(gh: Github, fake: FakeGitHub) -> None:
    # Pins a PyGithub quirk agentpr's error mapping relies on: after 1 + 10 immediate attempts
    # it raises requests' RetryError, not a GithubException.
    fake.fail_next.extend([(502, {"message": "Server Error"})] * 11)
    with pytest.raises(requests.exceptions.RetryError):
        gh.get_repo("demo/calc")
    assert len(fake.requests) == 11


def test_plain_403_is_not_retried(gh: Github, fake: FakeGitHub) -> None:
    fake.fail_next.append((403, {"message": "Resource not accessible by integration"}))
    with pytest.raises(github.GithubException) as raised:
        gh.get_repo("demo/calc")
    assert raised.value.status == 403 and len(fake.requests) == 1


# -- pull requests ----------------------------------------------------------------------------

HEAD = "agentpr-bot:agentpr/x"


def push_branch(
    fake: FakeGitHub, tmp_path: Path, branch: str, text: str, owner: str = "agentpr-bot"
) -> str:
    """Commit `text` into calc.py on `branch` of owner's fork (forking first) and push it, as
    agentpr's workspace does; returns the new commit."""
    if not fake.fork_path(owner, "calc").exists():
        organization = b"" if owner == fake.login else json.dumps({"organization": owner}).encode()
        assert raw_request(fake, "POST", "/repos/demo/calc/forks", body=organization)[0] == 202
        raw_request(fake, "GET", f"/repos/{owner}/calc")  # the fork becomes visible
    work = tmp_path / f"work-{owner}-{branch.replace('/', '-')}"
    if not work.exists():
        git("clone", "--quiet", fake.fork_path(owner, "calc").as_uri(), str(work))
        git("checkout", "--quiet", "-b", branch, cwd=work)
    (work / "calc.py").write_text(text)
    git("commit", "--quiet", "--all", "-m", f"Change calc on {branch}", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


@pytest.fixture
def pushed(fake: FakeGitHub, tmp_path: Path) -> str:
    """agentpr/x on agentpr-bot's fork, one commit ahead of upstream main; the requests that
    set it up are forgotten."""
    sha = push_branch(fake, tmp_path, "agentpr/x", "def add(a, b):\n    return b + a\n\n# x\n")
    fake.requests.clear()
    return sha


def open_pull(gh: Github, head: str = HEAD, **options: object) -> github.PullRequest.PullRequest:
    repo = gh.get_repo("demo/calc")
    arguments = {"title": "Fix add", "body": "Why and how", "base": "main", "head": head}
    arguments["maintainer_can_modify"] = True
    return repo.create_pull(**{**arguments, **options})  # type: ignore[arg-type]


def test_create_pull_from_fork(
    gh: Github, fake: FakeGitHub, pushed: str, upstream: tuple[Path, str]
) -> None:
    pr = open_pull(gh)
    post = fake.requests[-1]
    assert (post.method, post.path) == ("POST", "/repos/demo/calc/pulls")
    assert post.json() == {
        "title": "Fix add",
        "body": "Why and how",
        "base": "main",
        "head": HEAD,
        "maintainer_can_modify": True,
    }
    assert pr.number == 1 and pr.id > 0 and pr.node_id
    assert (pr.state, pr.title, pr.body, pr.draft) == ("open", "Fix add", "Why and how", False)
    assert pr.user.login == "agentpr-bot"
    assert pr.head.label == HEAD and pr.head.ref == "agentpr/x" and pr.head.sha == pushed
    assert pr.head.repo.full_name == "agentpr-bot/calc"
    assert pr.base.label == "demo:main" and pr.base.ref == "main" and pr.base.sha == upstream[1]
    assert pr.base.repo.full_name == "demo/calc"
    assert pr.merged is False and pr.merged_at is None and pr.closed_at is None
    assert pr.mergeable is True and pr.mergeable_state == "clean"
    assert pr.maintainer_can_modify is True
    assert (pr.commits, pr.additions, pr.deletions, pr.changed_files) == (1, 3, 1, 1)
    assert pr.html_url == f"{fake.base_url}/demo/calc/pull/1"
    assert pr.url == f"{fake.base_url}/repos/demo/calc/pulls/1"
    assert isinstance(pr.created_at, datetime) and isinstance(pr.updated_at, datetime)
    assert len(fake.requests) == 2  # get_repo + POST: nothing lazy was fetched


def test_pull_numbers_are_sequential_per_repository(
    gh: Github, fake: FakeGitHub, tmp_path: Path, pushed: str
) -> None:
    push_branch(fake, tmp_path, "agentpr/y", "y = 1\n")
    assert open_pull(gh).number == 1
    assert open_pull(gh, head="agentpr-bot:agentpr/y", draft=True).number == 2
    draft = gh.get_repo("demo/calc").get_pull(2)
    assert draft.draft is True and draft.mergeable_state == "draft"
    assert [p["number"] for p in fake.pulls("demo", "calc")] == [1, 2]


def test_duplicate_open_pull_is_a_validation_error(
    gh: Github, fake: FakeGitHub, pushed: str
) -> None:
    open_pull(gh)
    with pytest.raises(github.GithubException) as raised:
        open_pull(gh)
    assert raised.value.status == 422
    assert raised.value.data == {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": "A pull request already exists for agentpr-bot:agentpr/x.",
            }
        ],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    }
    fake.close_pull("demo", "calc", 1)
    assert open_pull(gh).number == 2  # only an open one blocks a new one


def test_concurrent_creates_make_one_pull(fake: FakeGitHub, pushed: str) -> None:
    body = json.dumps({"title": "Fix", "head": HEAD, "base": "main"}).encode()
    statuses: list[int] = []

    def create() -> None:
        statuses.append(raw_request(fake, "POST", "/repos/demo/calc/pulls", body=body)[0])

    threads = [threading.Thread(target=create) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 422, 422, 422, 422]
    assert len(fake.pulls("demo", "calc")) == 1


def test_missing_head_branch_and_empty_pull_are_validation_errors(
    gh: Github, fake: FakeGitHub, pushed: str
) -> None:
    invalid_head = {"resource": "PullRequest", "field": "head", "code": "invalid"}
    for head, error in (
        ("agentpr-bot:agentpr/nope", invalid_head),
        ("nobody:agentpr/x", invalid_head),
        (
            "agentpr-bot:main",
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": "No commits between main and agentpr-bot:main",
            },
        ),
    ):
        with pytest.raises(github.GithubException) as raised:
            open_pull(gh, head=head)
        assert raised.value.status == 422 and raised.value.data["errors"] == [error]
    with pytest.raises(github.GithubException) as raised:
        open_pull(gh, base="develop")
    assert raised.value.data["errors"] == [
        {"resource": "PullRequest", "field": "base", "code": "invalid"}
    ]
    assert fake.pulls("demo", "calc") == []


def test_list_pulls_filters_like_github(
    gh: Github, fake: FakeGitHub, tmp_path: Path, pushed: str
) -> None:
    push_branch(fake, tmp_path, "agentpr/y", "y = 1\n")
    push_branch(fake, tmp_path, "agentpr/x", "x = 1\n", owner="acme")
    open_pull(gh)
    open_pull(gh, head="agentpr-bot:agentpr/y")
    open_pull(gh, head="acme:agentpr/x")
    fake.close_pull("demo", "calc", 2)
    repo = gh.get_repo("demo/calc")

    def numbers(**filters: str) -> list[int]:
        return [pr.number for pr in repo.get_pulls(**filters)]  # type: ignore[arg-type]

    assert numbers(state="open", head=HEAD) == [1]
    assert numbers(state="open", head="ACME:agentpr/x") == [3]  # owner is case-insensitive
    assert numbers(state="open", head="agentpr-bot:agentpr/y") == []
    assert numbers(state="closed") == [2]
    assert numbers(state="all") == [3, 2, 1]  # newest first
    assert numbers() == [3, 1]
    assert numbers(state="all", sort="created", direction="asc") == [1, 2, 3]
    assert numbers(state="all", base="main") == [3, 2, 1]
    assert numbers(state="all", base="develop") == []
    # GitHub ignores a head filter without "owner:" and lists every pull request
    assert numbers(state="open", head="agentpr/x") == [3, 1]
    listed = fake.requests[-1]
    assert listed.path == "/repos/demo/calc/pulls"
    assert listed.query == {"state": "open", "head": "agentpr/x"}


def test_listed_pull_fetches_the_full_object_for_merged(
    gh: Github, fake: FakeGitHub, pushed: str
) -> None:
    open_pull(gh)
    (listed,) = gh.get_repo("demo/calc").get_pulls(state="open", head=HEAD)
    before = len(fake.requests)
    assert listed.head.sha == pushed and len(fake.requests) == before
    assert listed.merged is False  # absent from list items: PyGithub GETs the pull request
    assert [r.path for r in fake.requests[before:]] == ["/repos/demo/calc/pulls/1"]


def test_pull_follows_pushes_while_open(
    gh: Github, fake: FakeGitHub, tmp_path: Path, pushed: str
) -> None:
    open_pull(gh)
    second = push_branch(fake, tmp_path, "agentpr/x", "def add(a, b):\n    return a + b + 0\n")
    pr = gh.get_repo("demo/calc").get_pull(1)
    assert pr.head.sha == second and pr.commits == 2
    fake.merge_pull("demo", "calc", 1)
    push_branch(fake, tmp_path, "agentpr/x", "late = True\n")
    assert gh.get_repo("demo/calc").get_pull(1).head.sha == second  # frozen once closed


def test_merge_and_close(gh: Github, fake: FakeGitHub, tmp_path: Path, pushed: str) -> None:
    push_branch(fake, tmp_path, "agentpr/y", "y = 1\n")
    open_pull(gh)
    open_pull(gh, head="agentpr-bot:agentpr/y")
    merged = fake.merge_pull("demo", "calc", 1)
    assert merged["merged"] is True and merged["state"] == "closed"
    assert merged["merged_by"]["login"] == "maintainer"
    fake.close_pull("demo", "calc", 2)

    repo = gh.get_repo("demo/calc")
    pr = repo.get_pull(1)
    assert pr.state == "closed" and pr.merged is True
    assert isinstance(pr.merged_at, datetime) and pr.closed_at == pr.merged_at
    assert pr.mergeable is None and pr.is_merged() is True
    # The merge is in git too: a merge commit of main and the PR's head on upstream's main.
    merge = repo.get_commit(pr.merge_commit_sha)
    assert [p.sha for p in merge.parents][1] == pushed
    assert repo.get_branch("main").commit.sha == pr.merge_commit_sha
    closed = repo.get_pull(2)
    assert closed.state == "closed" and closed.merged is False and closed.merged_at is None
    assert closed.is_merged() is False
    assert [p["state"] for p in fake.pulls("demo", "calc")] == ["closed", "closed"]


def test_edit_pull(gh: Github, fake: FakeGitHub, pushed: str) -> None:
    pr = open_pull(gh)
    pr.edit(body="Updated after review", title="Fix add()")
    assert fake.requests[-1].method == "PATCH"
    assert pr.body == "Updated after review" and pr.title == "Fix add()"
    pr.edit(state="closed")
    assert pr.state == "closed" and pr.merged is False
    assert fake.pulls("demo", "calc")[0]["body"] == "Updated after review"


def test_reviews_and_comments(gh: Github, fake: FakeGitHub, pushed: str) -> None:
    open_pull(gh)
    changes = fake.add_review(
        "demo", "calc", 1, state="CHANGES_REQUESTED", body="Please add a test", user="alice"
    )
    fake.add_review("demo", "calc", 1, state="approved")
    fake.add_review_comment(
        "demo", "calc", 1, body="Off by one?", path="calc.py", line=2, review_id=changes["id"]
    )
    fake.add_issue_comment("demo", "calc", 1, body="Thanks!", user="alice")

    pr = gh.get_repo("demo/calc").get_pull(1)
    first, second = pr.get_reviews()
    assert (first.state, first.body, first.user.login) == (
        "CHANGES_REQUESTED",
        "Please add a test",
        "alice",
    )
    assert first.user.type == "User" and first.commit_id == pushed
    assert first.id == changes["id"] and isinstance(first.submitted_at, datetime)
    assert first.html_url.endswith(f"/demo/calc/pull/1#pullrequestreview-{first.id}")
    assert first.pull_request_url == pr.url
    assert (second.state, second.user.login) == ("APPROVED", "reviewer")

    (comment,) = pr.get_review_comments()
    assert (comment.body, comment.path, comment.line) == ("Off by one?", "calc.py", 2)
    assert comment.user.login == "reviewer" and comment.pull_request_review_id == changes["id"]
    assert comment.commit_id == pushed and isinstance(comment.created_at, datetime)

    (remark,) = pr.get_issue_comments()
    assert (remark.body, remark.user.login) == ("Thanks!", "alice")
    reply = pr.create_issue_comment("Added a test in the follow-up commit")
    assert reply.user.login == "agentpr-bot"
    assert [c.body for c in pr.get_issue_comments()][-1] == reply.body
    pr = gh.get_repo("demo/calc").get_pull(1)
    assert pr.comments == 2 and pr.review_comments == 1


def test_review_state_is_checked(fake: FakeGitHub, gh: Github, pushed: str) -> None:
    open_pull(gh)
    with pytest.raises(ValueError):
        fake.add_review("demo", "calc", 1, state="LGTM")
    with pytest.raises(KeyError):
        fake.add_review("demo", "calc", 2, state="APPROVED")


def test_check_runs_and_combined_status(gh: Github, fake: FakeGitHub, pushed: str) -> None:
    open_pull(gh)
    # CI for a fork's pull request reports on the base repository
    fake.set_check_run(
        "demo", "calc", pushed, "tests", conclusion="failure",
        summary="1 failed", output_text="FAILED tests/test_calc.py::test_add",
    )  # fmt: skip
    fake.set_check_run("demo", "calc", pushed, "lint", status="in_progress")
    commit = gh.get_repo("demo/calc").get_commit(pushed)
    runs = commit.get_check_runs()
    assert runs.totalCount == 2
    tests, lint = runs
    assert fake.requests[-1].path == f"/repos/demo/calc/commits/{pushed}/check-runs"
    assert (tests.name, tests.status, tests.conclusion) == ("tests", "completed", "failure")
    assert tests.head_sha == pushed and tests.app.slug == "github-actions"
    assert tests.output.summary == "1 failed"
    assert tests.output.text == "FAILED tests/test_calc.py::test_add"
    assert isinstance(tests.completed_at, datetime) and tests.details_url
    assert tests.pull_requests == []  # a fork's pull request is never listed
    assert (lint.status, lint.conclusion, lint.completed_at) == ("in_progress", None, None)
    assert [r.name for r in commit.get_check_runs(check_name="lint")] == ["lint"]

    rerun = fake.set_check_run("demo", "calc", pushed, "tests")
    assert rerun["id"] == tests.id
    assert gh.get_repo("demo/calc").get_check_run(tests.id).conclusion == "success"
    assert gh.get_repo("demo/calc").get_commit("main").get_check_runs().totalCount == 0

    status = commit.get_combined_status()
    assert (status.state, status.total_count, status.statuses, status.sha) == (
        "pending", 0, [], pushed,
    )  # fmt: skip
    fake.set_commit_status("demo", "calc", pushed, "ci/legacy", state="success")
    fake.set_commit_status("demo", "calc", pushed, "ci/docs", state="failure", description="x")
    status = commit.get_combined_status()
    assert status.state == "failure" and status.total_count == 2
    assert {s.context: s.state for s in status.statuses} == {
        "ci/legacy": "success",
        "ci/docs": "failure",
    }


def test_check_run_lists_same_repository_pull(
    gh: Github, fake: FakeGitHub, tmp_path: Path, upstream: tuple[Path, str]
) -> None:
    work = tmp_path / "upstream-work"
    git("clone", "--quiet", upstream[0].as_uri(), str(work))
    git("checkout", "--quiet", "-b", "feature", cwd=work)
    (work / "calc.py").write_text("changed = True\n")
    git("commit", "--quiet", "--all", "-m", "Feature", cwd=work)
    git("push", "--quiet", "origin", "feature", cwd=work)
    sha = git("rev-parse", "HEAD", cwd=work)
    pr = open_pull(gh, head="feature")
    assert pr.head.label == "demo:feature" and pr.head.repo.full_name == "demo/calc"
    fake.set_check_run("demo", "calc", sha, "tests")
    (run,) = gh.get_repo("demo/calc").get_commit("feature").get_check_runs()
    assert [p.number for p in run.pull_requests] == [1]


def test_unknown_ref_and_pull(gh: Github, fake: FakeGitHub) -> None:
    for path in ("/commits/nope", "/commits/nope/check-runs", "/commits/nope/status"):
        status, _, body = raw_request(fake, "GET", f"/repos/demo/calc{path}")
        assert status == 422
        assert body == {  # the "commits/{ref}" endpoints all answer an unknown ref like this
            "message": "No commit found for SHA: nope",
            "documentation_url": body["documentation_url"],  # type: ignore[index]
            "status": "422",
        }
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("demo/calc").get_pull(7).title


def test_pagination_follows_link_headers(fake: FakeGitHub, tmp_path: Path, pushed: str) -> None:
    gh = client(fake, per_page=2)
    push_branch(fake, tmp_path, "agentpr/y", "y = 1\n")
    push_branch(fake, tmp_path, "agentpr/z", "z = 1\n")
    for branch in ("x", "y", "z"):
        open_pull(gh, head=f"agentpr-bot:agentpr/{branch}")
    before = len(fake.requests)
    pulls = gh.get_repo("demo/calc").get_pulls(state="all")
    assert [p.number for p in pulls] == [3, 2, 1]
    pages = [r.query for r in fake.requests[before:] if r.path.endswith("/pulls")]
    assert pages == [
        {"state": "all", "per_page": "2"},
        {"state": "all", "per_page": "2", "page": "2"},
    ]
    assert pulls.totalCount == 3


def test_pull_urls_keep_the_enterprise_prefix(fake: FakeGitHub, pushed: str) -> None:
    gh = client(fake, base_url=f"{fake.base_url}/api/v3")
    pr = open_pull(gh)
    assert pr.url == f"{fake.base_url}/api/v3/repos/demo/calc/pulls/1"
    fake.add_review("demo", "calc", 1, state="COMMENTED", body="hm")
    assert [r.body for r in pr.get_reviews()] == ["hm"]
    assert fake.requests[-1].path == "/api/v3/repos/demo/calc/pulls/1/reviews"


def test_get_commit_reads_git(gh: Github, fake: FakeGitHub, pushed: str) -> None:
    # The fork's commit is found through the base repository, as GitHub's shared network does
    commit = gh.get_repo("demo/calc").get_commit(pushed)
    assert commit.sha == pushed and commit.commit.message == "Change calc on agentpr/x"
    assert commit.commit.author.name == "Test" and commit.commit.author.email == "test@example.com"
    assert isinstance(commit.commit.author.date, datetime)
    assert [(f.filename, f.status, f.additions, f.deletions) for f in commit.files] == [
        ("calc.py", "modified", 3, 1)
    ]
    assert commit.stats.total == 4 and len(commit.parents) == 1
    assert commit.author is None  # no GitHub account behind the e-mail address
    assert gh.get_repo("demo/calc").get_commit("main").sha == commit.parents[0].sha


def test_registered_fork_from_git_repos(tmp_path: Path) -> None:
    remotes = make_remotes(tmp_path / "remotes")
    work = tmp_path / "work"
    git("clone", "--quiet", remotes.fork_url, str(work))
    git("checkout", "--quiet", "-b", "agentpr/x", cwd=work)
    (work / "calc.py").write_text("def add(a, b):\n    return a + b  # checked\n")
    git("commit", "--quiet", "--all", "-m", "Comment", cwd=work)
    git("push", "--quiet", "origin", "agentpr/x", cwd=work)
    with FakeGitHub(tmp_path / "gh", token=TOKEN) as server:
        server.add_repo("demo", "calc", remotes.upstream)
        server.add_repo("agentpr-bot", "calc", remotes.fork, fork_of=("demo", "calc"))
        gh = client(server)
        assert gh.get_repo("agentpr-bot/calc").parent.full_name == "demo/calc"
        pr = open_pull(gh)
        assert pr.head.sha == remotes.branch_log("agentpr/x")[0]
        assert pr.base.sha == remotes.base_sha


# -- rate limits and lost responses -------------------------------------------------------------


def test_secondary_rate_limit_on_create_pull_without_retry(fake: FakeGitHub, pushed: str) -> None:
    # agentpr turns PyGithub's retries off for writes and schedules the retry itself; this pins
    # what it gets to read: RateLimitExceededException, status 403, lower-cased headers.
    gh = client(fake, retry=None)
    repo = gh.get_repo("demo/calc")
    fake.fail_next.append(secondary_rate_limit(retry_after=1))
    with pytest.raises(github.RateLimitExceededException) as raised:
        repo.create_pull(title="Fix", body="", base="main", head=HEAD, maintainer_can_modify=True)
    error = raised.value
    assert error.status == 403 and isinstance(error, github.GithubException)
    assert error.message is None  # PyGithub keeps the text in error.data only
    assert error.data["message"].startswith("You have exceeded a secondary rate limit")
    assert error.headers is not None
    assert error.headers["retry-after"] == "1"
    assert int(error.headers["x-ratelimit-reset"]) == fake.rate_limit_reset
    assert [r.method for r in fake.requests] == ["GET", "POST"]
    assert fake.pulls("demo", "calc") == []


def test_fail_on_targets_one_route(fake: FakeGitHub, pushed: str) -> None:
    gh = client(fake, retry=None)
    fake.fail_on("POST", "/repos/{owner}/{repo}/pulls", secondary_rate_limit())
    with pytest.raises(github.RateLimitExceededException):
        open_pull(gh)  # the GET of the repository passed, the POST failed
    assert open_pull(gh).number == 1


def test_secondary_rate_limit_with_default_retry_waits_and_creates(
    fake: FakeGitHub, pushed: str
) -> None:
    gh = client(fake)
    fake.fail_on("POST", "/repos/{owner}/{repo}/pulls", secondary_rate_limit(retry_after=1))
    assert open_pull(gh).number == 1
    assert [r.method for r in fake.requests] == ["GET", "POST", "POST"]


def test_primary_rate_limit_and_429_without_retry(fake: FakeGitHub) -> None:
    gh = client(fake, retry=None)
    reset = fake.rate_limit_reset
    fake.fail_next.append(primary_rate_limit(reset))
    with pytest.raises(github.RateLimitExceededException) as raised:
        gh.get_repo("demo/calc")
    assert raised.value.status == 403
    assert raised.value.headers is not None
    assert raised.value.headers["x-ratelimit-remaining"] == "0"
    assert raised.value.headers["x-ratelimit-reset"] == str(reset)
    assert "retry-after" not in raised.value.headers

    fake.fail_next.append((429, {"message": "Too Many Requests"}, {"Retry-After": "7"}))
    with pytest.raises(github.GithubException) as raised:
        gh.get_repo("demo/calc")
    assert raised.value.status == 429
    assert not isinstance(raised.value, github.RateLimitExceededException)  # only 403s are
    assert raised.value.headers is not None and raised.value.headers["retry-after"] == "7"


def test_lost_create_response_is_retried_into_already_exists(fake: FakeGitHub, pushed: str) -> None:
    # GitHub created the pull request but answered 502; PyGithub's default retry repeats the
    # POST, and the caller sees 422 "already exists" for its own pull request.
    gh = client(fake)
    fake.fail_on(
        "POST", "/repos/{owner}/{repo}/pulls", (502, {"message": "Server Error"}),
        after_handling=True,
    )  # fmt: skip
    with pytest.raises(github.GithubException) as raised:
        open_pull(gh)
    assert raised.value.status == 422
    assert "already exists" in raised.value.data["errors"][0]["message"]
    (pull,) = fake.pulls("demo", "calc")
    assert pull["head"]["label"] == HEAD


# -- issue comments on pull requests ------------------------------------------------------------


def test_issue_comment_wire_format(fake: FakeGitHub, pushed: str) -> None:
    open_pull(client(fake))
    path = "/repos/demo/calc/issues/1/comments"
    status, headers, body = raw_request(fake, "POST", path, body=b'{"body": "Hi <!-- m -->"}')
    assert status == 201 and isinstance(body, dict)
    url = f"{fake.base_url}/repos/demo/calc/issues/comments/{body['id']}"
    assert headers["location"] == body["url"] == url
    assert body["issue_url"] == f"{fake.base_url}/repos/demo/calc/issues/1"
    assert body["html_url"].endswith(f"/demo/calc/pull/1#issuecomment-{body['id']}")
    assert (body["body"], body["user"]["login"]) == ("Hi <!-- m -->", "agentpr-bot")
    status, _, listed = raw_request(fake, "GET", path)
    assert status == 200 and isinstance(listed, list)
    assert [c["id"] for c in listed] == [body["id"]]
    status, _, missing = raw_request(fake, "POST", path, body=b"{}")
    assert status == 422 and missing["errors"][0]["field"] == "body"  # type: ignore[index]
    unknown = raw_request(fake, "POST", "/repos/demo/calc/issues/9/comments", body=b'{"body": "x"}')
    assert unknown[0] == 404
    status, _, closed = raw_request(
        fake, "PATCH", "/repos/demo/calc/pulls/1", body=b'{"state": "closed"}'
    )
    assert status == 200 and closed["state"] == "closed"  # type: ignore[index]


# -- organizations and repository search --------------------------------------------------------


@pytest.fixture
def catalog(fake: FakeGitHub, tmp_path: Path) -> FakeGitHub:
    """Besides demo/calc: acme's api (topics llm, python), web, sdk (archived) and a fork of
    demo/calc; zeta/gateway (llm). The bare paths do not exist: nothing here reads git."""
    bare = tmp_path / "absent"
    fake.add_repo(
        "acme", "api", bare / "api.git", topics=["LLM", "python"], description="The public API"
    )
    fake.add_repo("acme", "web", bare / "web.git", description="Marketing site")
    fake.add_repo("acme", "sdk", bare / "sdk.git", description="Gateway SDK", archived=True)
    fake.add_repo("acme", "calc", bare / "calc.git", fork_of=("demo", "calc"))
    fake.add_repo("zeta", "gateway", bare / "gw.git", topics=["llm"], description="An LLM gateway")
    fake.requests.clear()
    return fake


def test_repository_flags_are_served_and_can_change(gh: Github, catalog: FakeGitHub) -> None:
    api = gh.get_repo("acme/api")
    assert api.topics == ["llm", "python"] and api.description == "The public API"
    assert (api.archived, api.disabled, api.fork) == (False, False, False)
    assert gh.get_repo("acme/sdk").archived is True
    changed = catalog.set_repo("acme", "web", topics=["site"], disabled=True)
    assert changed["topics"] == ["site"] and changed["disabled"] is True
    assert changed["description"] == "Marketing site"  # untouched
    assert gh.get_repo("acme/web").disabled is True
    with pytest.raises(ValueError):
        catalog.set_repo("acme", "web", topics=["no spaces"])


def test_organization_and_its_repositories(gh: Github, catalog: FakeGitHub) -> None:
    org = gh.get_organization("acme")
    assert (org.login, org.type, org.public_repos) == ("acme", "Organization", 4)
    assert org.url == f"{catalog.base_url}/orgs/acme"
    repos = list(org.get_repos())
    # GitHub's default: newest first, forks and archived ones included
    assert [r.full_name for r in repos] == ["acme/calc", "acme/sdk", "acme/web", "acme/api"]
    assert [r.fork for r in repos] == [True, False, False, False]
    assert repos[1].archived is True and repos[3].topics == ["llm", "python"]
    assert [r.path for r in catalog.requests] == ["/orgs/acme", "/orgs/acme/repos"]  # no lazy GETs
    by_name = org.get_repos(sort="full_name")
    assert [r.name for r in by_name] == ["api", "calc", "sdk", "web"]
    assert [r.name for r in org.get_repos(type="forks")] == ["calc"]
    assert [r.name for r in org.get_repos(type="sources", direction="asc")] == ["api", "web", "sdk"]
    assert list(org.get_repos(type="private")) == []


def test_organization_repositories_paginate(catalog: FakeGitHub) -> None:
    gh = client(catalog, per_page=3)
    names = [r.name for r in gh.get_organization("acme").get_repos(sort="full_name")]
    assert names == ["api", "calc", "sdk", "web"]
    status, headers, _ = raw_request(catalog, "GET", "/orgs/acme/repos?per_page=3")
    assert status == 200 and 'rel="next"' in headers["link"] and "page=2" in headers["link"]


def test_unknown_organization_and_person_are_not_found(catalog: FakeGitHub) -> None:
    for login in ("nobody", "agentpr-bot"):
        for path in (f"/orgs/{login}", f"/orgs/{login}/repos"):
            status, _, body = raw_request(catalog, "GET", path)
            assert status == 404 and body["message"] == "Not Found"  # type: ignore[index]
    status, _, body = raw_request(catalog, "GET", "/orgs/acme/repos?sort=stars")
    assert status == 422 and body["errors"][0]["field"] == "sort"  # type: ignore[index]


def test_fork_being_created_is_not_listed(catalog: FakeGitHub) -> None:
    body = json.dumps({"organization": "acme", "name": "calc-2"}).encode()
    assert raw_request(catalog, "POST", "/repos/demo/calc/forks", body=body)[0] == 202
    _, _, listed = raw_request(catalog, "GET", "/orgs/acme/repos")
    assert "calc-2" not in [r["name"] for r in listed]  # type: ignore[union-attr,index]


def search(gh: Github, query: str) -> list[str]:
    return [r.full_name for r in gh.search_repositories(query)]


def test_search_qualifiers(gh: Github, catalog: FakeGitHub) -> None:
    assert search(gh, "topic:llm") == ["acme/api", "zeta/gateway"]
    assert search(gh, "topic:llm topic:python") == ["acme/api"]  # every topic
    assert search(gh, "org:acme") == ["acme/api", "acme/web", "acme/sdk"]  # forks left out
    assert search(gh, "org:acme fork:true") == ["acme/api", "acme/web", "acme/sdk", "acme/calc"]
    assert search(gh, "fork:only") == ["acme/calc"]
    assert search(gh, "org:acme archived:false") == ["acme/api", "acme/web"]
    assert search(gh, "archived:true") == ["acme/sdk"]
    assert search(gh, "user:zeta org:demo") == ["demo/calc", "zeta/gateway"]  # any owner
    assert search(gh, "gateway") == ["acme/sdk", "zeta/gateway"]  # name or description
    assert search(gh, "llm gateway") == ["zeta/gateway"]  # every word
    assert search(gh, '"public api"') == ["acme/api"]
    assert search(gh, '"api public"') == []
    assert search(gh, "org:acme topic:llm api") == ["acme/api"]
    assert catalog.requests[-1].query == {"q": "org:acme topic:llm api"}


def test_search_result_shape_and_headers(catalog: FakeGitHub) -> None:
    status, headers, body = raw_request(catalog, "GET", "/search/repositories?q=topic%3Allm")
    assert status == 200 and isinstance(body, dict)
    assert (body["total_count"], body["incomplete_results"]) == (2, False)
    first = body["items"][0]
    assert first["full_name"] == "acme/api" and first["score"] == 1.0
    assert first["topics"] == ["llm", "python"] and "parent" not in first
    assert headers["x-ratelimit-resource"] == "search"
    assert headers["x-ratelimit-limit"] == "30" and headers["x-ratelimit-remaining"] == "29"
    catalog.search_rate_limit_remaining = 3
    _, headers, _ = raw_request(catalog, "GET", "/search/repositories?q=x")
    assert headers["x-ratelimit-remaining"] == "3"
    assert client(catalog).get_rate_limit().resources.search.remaining == 3


def test_search_refusals(catalog: FakeGitHub) -> None:
    status, _, body = raw_request(catalog, "GET", "/search/repositories")
    assert status == 422 and body["errors"] == [  # type: ignore[index]
        {"resource": "Search", "field": "q", "code": "missing"}
    ]
    status, _, body = raw_request(catalog, "GET", "/search/repositories?q=user%3Anobody")
    assert status == 422 and isinstance(body, dict)
    assert body["errors"][0]["message"].startswith("The listed users and repositories")
    for query in ("language%3Apython", "-topic%3Allm", "fork%3Amaybe"):
        status, _, body = raw_request(catalog, "GET", f"/search/repositories?q={query}")
        assert status == 422 and isinstance(body, dict)
        assert body["errors"][0]["message"].startswith("FakeGitHub does not model")


def test_search_pages_and_the_result_cap(catalog: FakeGitHub, tmp_path: Path) -> None:
    for index in range(7):
        catalog.add_repo("many", f"r{index}", tmp_path / f"r{index}.git", topics=["bulk"])
    gh = client(catalog, per_page=3)
    results = gh.search_repositories("topic:bulk")
    assert [r.name for r in results] == [f"r{index}" for index in range(7)]
    assert results.totalCount == 7 and results.incomplete_results is False
    pages = [r.query.get("page") for r in catalog.requests if r.path == "/search/repositories"]
    assert pages == [None, "2", "3"]

    catalog.search_result_cap = 5  # GitHub's is 1000
    _, headers, body = raw_request(
        catalog, "GET", "/search/repositories?q=topic%3Abulk&per_page=3&page=2"
    )
    assert body["total_count"] == 7 and len(body["items"]) == 2  # type: ignore[index,arg-type]
    assert 'rel="next"' not in headers["link"]
    status, _, body = raw_request(
        catalog, "GET", "/search/repositories?q=topic%3Abulk&per_page=3&page=3"
    )
    assert status == 422
    assert body["message"] == "Only the first 5 search results are available"  # type: ignore[index]
