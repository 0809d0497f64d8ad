"""`act_on_pull_request` (campaign comment|close) against the loopback GitHub: at most one
comment per run and text even across retries, closing once, and GitHub's refusals mapped to
Temporal's retry decisions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.github import GITHUB_RATE_LIMITED, GITHUB_REFUSED, GitHubActivities, comment_marker
from common.settings import Settings
from contracts import OpenPullRequestInput, PullRequestActionInput, PullRequestActionResult
from standins.git_repos import git, make_remotes
from standins.github_api import FakeGitHub, secondary_rate_limit

TOKEN = "ghp_PrActionsSecretToken0123456789ab"
RUN_ID = "run_pr_actions_1"
COMMENTS = "/repos/{owner}/{repo}/issues/{number}/comments"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    """demo/calc with PR #1 opened by create_pull_request from agentpr-bot's fork."""
    remotes = make_remotes(tmp_path / "git")
    work = tmp_path / "work"
    git("clone", "--quiet", remotes.fork_url, str(work))
    git("checkout", "--quiet", "-b", "agentpr/x", cwd=work)
    (work / "forge.py").write_text('PROVIDER = "forge"\n')
    git("add", "forge.py", cwd=work)
    git("commit", "--quiet", "-m", "feat: add Forge", cwd=work)
    git("push", "--quiet", "origin", "agentpr/x", cwd=work)
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake.add_repo("demo", "calc", remotes.upstream)
        fake.add_repo("agentpr-bot", "calc", remotes.fork, fork_of=("demo", "calc"))
        opened = ActivityEnvironment().run(
            GitHubActivities(settings(tmp_path, fake)).create_pull_request,
            OpenPullRequestInput(
                run_id=RUN_ID,
                repo="demo/calc",
                title="feat: add Forge",
                body="Adds Forge.",
                base="main",
                head="agentpr-bot:agentpr/x",
            ),
        )
        assert opened.number == 1
        fake.requests.clear()
        yield fake


def settings(tmp_path: Path, fake: FakeGitHub, token: str = TOKEN) -> Settings:
    return Settings(
        home=tmp_path / "home", github_token=SecretStr(token), github_api_url=fake.base_url
    )


def act(
    tmp_path: Path, fake: FakeGitHub, action: str, body: str = "", token: str = TOKEN
) -> PullRequestActionResult:
    request = PullRequestActionInput(
        run_id=RUN_ID, repo="demo/calc", pr_number=1, action=action, body=body
    )  # type: ignore[arg-type]
    activities = GitHubActivities(settings(tmp_path, fake, token))
    return ActivityEnvironment().run(activities.act_on_pull_request, request)


def comment_posts(fake: FakeGitHub) -> int:
    return len(comments(fake))


def comments(fake: FakeGitHub) -> list[str]:
    return [
        r.json()["body"]
        for r in fake.requests
        if r.method == "POST" and r.route_path.endswith("/comments")
    ]


def test_comment_posts_once_when_called_twice(tmp_path: Path, github: FakeGitHub) -> None:
    first = act(tmp_path, github, "comment", "Rebased on main; please take another look.")
    assert (first.done, first.detail, first.action) == (True, "commented", "comment")
    assert first.run_id == RUN_ID and first.pr_number == 1 and first.comment_id
    second = act(tmp_path, github, "comment", "Rebased on main; please take another look.")
    assert (second.done, second.detail) == (True, "already commented")
    assert second.comment_id == first.comment_id
    assert comment_posts(github) == 1
    (posted,) = comments(github)
    marker = comment_marker(RUN_ID, "Rebased on main; please take another look.")
    assert posted == f"Rebased on main; please take another look.\n\n{marker}"
    assert re.fullmatch(rf"<!-- agentpr:{RUN_ID}:[0-9a-f]{{12}} -->", marker)


def test_another_text_is_another_comment(tmp_path: Path, github: FakeGitHub) -> None:
    github.add_issue_comment("demo", "calc", 1, body="Why Forge?", user="maintainer")
    first = act(tmp_path, github, "comment", "First note")
    second = act(tmp_path, github, "comment", "Second note")
    assert first.comment_id != second.comment_id and comment_posts(github) == 2


def test_comment_whose_answer_was_lost_is_found_on_retry(
    tmp_path: Path, github: FakeGitHub
) -> None:
    # GitHub stored the comment but the answer never arrived (the worker crashed, or a 502):
    # Temporal retries the activity, which must find the comment rather than post another.
    github.fail_on("POST", COMMENTS, (502, {"message": "Server Error"}), after_handling=True)
    with pytest.raises(ApplicationError) as raised:
        act(tmp_path, github, "comment", "Ping")
    assert not raised.value.non_retryable
    retried = act(tmp_path, github, "comment", "Ping")
    assert (retried.done, retried.detail) == (True, "already commented")
    assert comment_posts(github) == 1


def test_close_comments_then_closes(tmp_path: Path, github: FakeGitHub) -> None:
    result = act(tmp_path, github, "close", "Closing: the campaign was cancelled.")
    assert (result.done, result.detail, result.action) == (True, "closed", "close")
    assert result.comment_id is not None
    (pull,) = github.pulls("demo", "calc")
    assert pull["state"] == "closed" and pull["merged"] is False and pull["comments"] == 1
    patch = next(r for r in github.requests if r.method == "PATCH")
    assert patch.route_path == "/repos/demo/calc/pulls/1" and patch.json() == {"state": "closed"}


def test_close_without_body_posts_nothing(tmp_path: Path, github: FakeGitHub) -> None:
    result = act(tmp_path, github, "close")
    assert (result.done, result.comment_id) == (True, None)
    assert github.pulls("demo", "calc")[0]["state"] == "closed"
    assert comment_posts(github) == 0
    assert not any(r.route_path.endswith("/comments") for r in github.requests)


def test_close_of_a_closed_pr_does_nothing(tmp_path: Path, github: FakeGitHub) -> None:
    github.close_pull("demo", "calc", 1)
    result = act(tmp_path, github, "close", "Closing.")
    assert (result.done, result.detail) == (False, "already closed")
    assert [r.method for r in github.requests] == ["GET", "GET"]  # the repository, the PR


def test_close_of_a_merged_pr_says_merged(tmp_path: Path, github: FakeGitHub) -> None:
    github.merge_pull("demo", "calc", 1)
    result = act(tmp_path, github, "close")
    assert (result.done, result.detail) == (False, "already merged")


def test_close_repeated_closes_and_comments_once(tmp_path: Path, github: FakeGitHub) -> None:
    assert act(tmp_path, github, "close", "Bye").done
    again = act(tmp_path, github, "close", "Bye")
    assert (again.done, again.detail) == (False, "already closed")
    assert comment_posts(github) == 1
    assert sum(1 for r in github.requests if r.method == "PATCH") == 1


def test_bad_token_is_one_line_and_not_retried(tmp_path: Path, github: FakeGitHub) -> None:
    with pytest.raises(ApplicationError) as raised:
        act(tmp_path, github, "comment", "Hello", token="ghp_wrongWrongWrong")
    error = raised.value
    assert error.non_retryable and error.type == GITHUB_REFUSED
    assert len(str(error).splitlines()) == 1 and "401" in str(error)
    assert "ghp_wrong" not in str(error) and TOKEN not in str(error)
    assert comment_posts(github) == 0


def test_rate_limit_becomes_a_retry_delay(tmp_path: Path, github: FakeGitHub) -> None:
    github.fail_on("POST", COMMENTS, secondary_rate_limit(retry_after=7))
    with pytest.raises(ApplicationError) as raised:
        act(tmp_path, github, "comment", "Hello")
    error = raised.value
    assert error.type == GITHUB_RATE_LIMITED and not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=7)
    assert act(tmp_path, github, "comment", "Hello").detail == "commented"


def test_unknown_pr_is_refused(tmp_path: Path, github: FakeGitHub) -> None:
    request = PullRequestActionInput(run_id=RUN_ID, repo="demo/calc", pr_number=9, action="close")
    activities = GitHubActivities(settings(tmp_path, github))
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(activities.act_on_pull_request, request)
    assert raised.value.non_retryable and "404" in str(raised.value)
    assert "close on PR #9 of demo/calc" in str(raised.value)


def test_comment_needs_a_body(tmp_path: Path, github: FakeGitHub) -> None:
    with pytest.raises(ApplicationError) as raised:
        act(tmp_path, github, "comment", "  ")
    assert raised.value.non_retryable and comment_posts(github) == 0
