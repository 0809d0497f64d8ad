"""The loopback GitHub speaks well enough for PyGithub, used exactly as agentpr uses it."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import github
import pytest
import requests
from github import Auth, Github

from tests.fakes.github_api import FakeGitHub

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


@pytest.fixture
def gh(fake: FakeGitHub) -> Github:
    return Github(auth=Auth.Token(TOKEN), base_url=fake.base_url)


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
    reset = datetime.fromtimestamp(fake.rate_limit_reset, timezone.utc)
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
        "You have exceeded a secondary rate limit. "
        "Please wait a few minutes before you try again."
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
