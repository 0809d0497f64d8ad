"""Campaign targeting (`campaign start --org | --topic | --search`) against the loopback GitHub:
what is kept, what is skipped and why, GitHub's order and pages, and one-line refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from common.errors import Refused, UsageError
from common.settings import Settings
from standins.github_api import FakeGitHub, primary_rate_limit
from starter.targets import TargetList, _collect, find_repositories
from tests.run_env import free_port

TOKEN = "ghp_TargetsSecretToken0123456789abcd"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    """acme's repositories, oldest first: api (llm), web, gateway-sdk (llm, archived),
    old-cli (disabled), and calc, a fork of other/calc. Nothing here reads git, so the bare
    paths need not exist."""
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        bare = tmp_path / "bare"
        fake.add_repo("other", "calc", bare / "other-calc.git")
        fake.add_repo(
            "acme", "api", bare / "api.git", topics=["llm", "python"], description="The public API"
        )
        fake.add_repo("acme", "web", bare / "web.git", description="Website")
        fake.add_repo(
            "acme",
            "gateway-sdk",
            bare / "sdk.git",
            topics=["llm"],
            description="LLM gateway client",
            archived=True,
        )
        fake.add_repo("acme", "old-cli", bare / "old-cli.git", disabled=True)
        fake.add_repo("acme", "calc", bare / "acme-calc.git", fork_of=("other", "calc"))
        fake.add_repo(
            "zeta", "llm-gateway", bare / "zeta.git", topics=["llm"], description="A gateway"
        )
        yield fake


def settings(tmp_path: Path, github: FakeGitHub, token: str | None = TOKEN) -> Settings:
    return Settings(
        home=tmp_path / "home",
        github_api_url=github.base_url,
        github_token=SecretStr(token) if token else None,
    )


def find(
    tmp_path: Path,
    github: FakeGitHub,
    org: str | None = None,
    topic: str | None = None,
    search: str | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    **options: int,
) -> TargetList:
    return find_repositories(
        settings(tmp_path, github), org, topic, search, include or [], exclude or [], **options
    )


def names(target: TargetList) -> list[str]:
    return [repo.full_name for repo in target.repos]


def searches(github: FakeGitHub) -> list[str]:
    return [r.query["q"] for r in github.requests if r.route_path == "/search/repositories"]


def test_org_lists_every_repository_and_says_why_some_are_skipped(
    tmp_path: Path, github: FakeGitHub
) -> None:
    target = find(tmp_path, github, org="acme")
    assert names(target) == ["acme/web", "acme/api"]  # newest first, as GitHub lists them
    assert target.skipped == [
        ("acme/calc", "fork"),
        ("acme/old-cli", "disabled"),
        ("acme/gateway-sdk", "archived"),
    ]
    assert target.query == "GET /orgs/acme/repos" and not target.truncated
    assert all(r.upstream_url is None and r.fork_url is None for r in target.repos)
    listed = [r for r in github.requests if r.route_path == "/orgs/acme/repos"]
    assert len(listed) == 1 and listed[0].query == {"per_page": "100"}
    assert searches(github) == []


def test_include_and_exclude_apply_to_owner_slash_repo(tmp_path: Path, github: FakeGitHub) -> None:
    for index in range(3):
        github.add_repo("acme", f"svc-{index}", tmp_path / f"svc-{index}.git")
    target = find(
        tmp_path, github, org="acme", include=[r"^acme/svc-", "api$"], exclude=[r"svc-1", r"-2$"]
    )
    assert names(target) == ["acme/svc-0", "acme/api"]
    reasons = dict(target.skipped)
    assert reasons["acme/svc-2"] == "excluded by --exclude -2$"
    assert reasons["acme/svc-1"] == "excluded by --exclude svc-1"
    assert reasons["acme/web"] == "not matched by --include"
    assert reasons["acme/calc"] == "fork"  # the flags come first


def test_topic_searches_and_skips_archived(tmp_path: Path, github: FakeGitHub) -> None:
    target = find(tmp_path, github, topic="LLM")
    assert searches(github) == ["topic:llm"]
    assert names(target) == ["acme/api", "zeta/llm-gateway"]
    assert target.skipped == [("acme/gateway-sdk", "archived")]
    assert target.query == "search: topic:llm"


def test_options_together_are_one_search_and_narrow_each_other(
    tmp_path: Path, github: FakeGitHub
) -> None:
    target = find(tmp_path, github, org="acme", topic="llm", search="gateway")
    assert searches(github) == ["org:acme topic:llm gateway"]
    assert names(target) == [] and target.skipped == [("acme/gateway-sdk", "archived")]
    assert names(find(tmp_path, github, org="acme", topic="llm")) == ["acme/api"]


def test_search_passes_the_query_as_written(tmp_path: Path, github: FakeGitHub) -> None:
    target = find(tmp_path, github, search='"gateway" fork:true user:zeta user:acme')
    assert names(target) == ["zeta/llm-gateway"]
    assert target.skipped == [("acme/gateway-sdk", "archived")]
    target = find(tmp_path, github, search="calc fork:only")
    assert target.repos == [] and target.skipped == [("acme/calc", "fork")]


def test_pages_are_followed_in_order_and_limit_stops_early(
    tmp_path: Path, github: FakeGitHub
) -> None:
    for index in range(150):
        github.add_repo("many", f"r{index:03}", tmp_path / f"r{index}.git", topics=["bulk"])
    target = find(tmp_path, github, topic="bulk")
    assert names(target) == [f"many/r{index:03}" for index in range(150)]
    pages = [r.query.get("page") for r in github.requests if r.route_path.startswith("/search")]
    assert pages == [None, "2"] and not target.truncated and target.notes == []

    github.requests.clear()
    target = find(tmp_path, github, org="many", limit=5)
    assert names(target) == [f"many/r{index:03}" for index in range(149, 144, -1)]
    assert target.truncated and target.notes == ["stopped at --limit 5; GitHub lists more"]
    assert len([r for r in github.requests if r.route_path == "/orgs/many/repos"]) == 1

    exact = find(tmp_path, github, org="many", limit=150)
    assert len(exact.repos) == 150 and not exact.truncated


def test_search_cap_is_reported(tmp_path: Path, github: FakeGitHub) -> None:
    for index in range(12):
        github.add_repo("many", f"r{index:02}", tmp_path / f"r{index}.git", topics=["bulk"])
    github.search_result_cap = 10  # GitHub's is 1000; fewer repositories show the same thing
    target = find(tmp_path, github, topic="bulk")
    assert len(target.repos) == 10 and target.truncated
    assert target.notes == [
        "GitHub search matched 12 repositories but only 10 can be read; narrow the query"
    ]


def test_the_same_repository_twice_is_kept_once() -> None:
    # Pages shift when repositories are created while a list is read; the second sighting
    # of a repository is dropped, not reported.
    repo = SimpleNamespace(full_name="acme/api", fork=False, archived=False, disabled=False)
    other = SimpleNamespace(full_name="ACME/Api", fork=False, archived=False, disabled=False)
    target = TargetList()
    _collect(target, [repo, other, repo], [], [], limit=10)
    assert names(target) == ["acme/api"] and target.skipped == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "say which repositories: --org ORG, --topic TOPIC or --search QUERY"),
        ({"search": "   "}, "say which repositories"),
        ({"org": "-acme"}, "--org: invalid GitHub owner '-acme'"),
        ({"topic": "no spaces"}, "--topic 'no spaces': a GitHub topic is"),
        ({"org": "acme", "include": ["("]}, "--include '(' is not a valid regular expression"),
        ({"org": "acme", "exclude": ["a", "[z"]}, "--exclude '[z' is not a valid regular"),
        ({"org": "acme", "limit": 0}, "--limit must be at least 1"),
    ],
)
def test_bad_options_are_usage_errors_before_any_request(
    tmp_path: Path, github: FakeGitHub, options: dict, expected: str
) -> None:
    with pytest.raises(UsageError) as raised:
        find(tmp_path, github, **options)
    assert raised.value.message.startswith(expected)
    assert len(raised.value.message.splitlines()) == 1
    assert github.requests == []


def refusal(call: object) -> str:
    with pytest.raises(Refused) as raised:
        call()  # type: ignore[operator]
    message = raised.value.message
    assert len(message.splitlines()) == 1 and TOKEN not in message
    return message


def test_github_refusals_are_one_line_without_the_token(tmp_path: Path, github: FakeGitHub) -> None:
    wrong = settings(tmp_path, github, token="ghp_wrongWrongWrong")
    message = refusal(lambda: find_repositories(wrong, "acme", None, None, [], []))
    assert message == ("GitHub refused the token (401 Bad credentials); check AGENTPR_GITHUB_TOKEN")
    assert "ghp_wrong" not in message

    message = refusal(lambda: find(tmp_path, github, org="nobody"))
    assert message.startswith("GitHub has no organization 'nobody' visible to this token (404)")
    assert "--search 'user:nobody'" in message

    message = refusal(lambda: find(tmp_path, github, search="user:nobody"))
    assert message.startswith(
        "GitHub refused search: user:nobody (422 Validation Failed: "
        "The listed users and repositories cannot be searched"
    )

    github.fail_next.append(primary_rate_limit(github.rate_limit_reset))
    message = refusal(lambda: find(tmp_path, github, topic="llm"))
    assert message.startswith("GitHub rate limit reached (search: topic:llm); try again in ")

    message = refusal(
        lambda: find_repositories(
            settings(tmp_path, github, token=None), "acme", None, None, [], []
        )
    )
    assert message == "no GitHub token: set AGENTPR_GITHUB_TOKEN to find repositories on GitHub"


def test_unreachable_api_is_refused(tmp_path: Path) -> None:
    closed = Settings(
        home=tmp_path,
        github_token=SecretStr(TOKEN),
        github_api_url=f"http://127.0.0.1:{free_port()}",
    )
    message = refusal(lambda: find_repositories(closed, None, "llm", None, [], []))
    assert message.startswith(
        f"GitHub API {closed.github_api_url} unreachable (search: topic:llm): "
    )
