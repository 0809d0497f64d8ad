"""The campaign's repos file: every problem named with its line, nothing half started."""

from __future__ import annotations

import pytest

from common.errors import UsageError
from contracts import (
    MAX_CAMPAIGN_REPOS,
    AgentStepRequest,
    AutoPlan,
    CampaignRepo,
    CampaignSpec,
)
from starter.cli.invoke import build
from starter.repos_file import parse_repos


def test_urls_comments_and_blank_lines() -> None:
    repos = parse_repos(
        "# wave 1\n\nmem0ai/mem0\nacme/calc file:///u.git file:///f.git  # local\n", "repos.txt"
    )
    assert repos == [
        CampaignRepo(owner="mem0ai", repo="mem0"),
        CampaignRepo(
            owner="acme", repo="calc", upstream_url="file:///u.git", fork_url="file:///f.git"
        ),
    ]


def test_every_problem_is_reported_in_one_line() -> None:
    with pytest.raises(UsageError) as caught:
        parse_repos("a/b\nA/B\njust-a-name\nx/y/z\n-bad/repo\nc/d u f extra\n", "r.txt")
    message = caught.value.message
    assert "\n" not in message and message.startswith("r.txt: 5 problem(s), nothing started")
    for where in ("line 2: A/B repeats line 1", "line 3", "line 4", "line 5", "line 6"):
        assert where in message


def test_an_empty_list_is_refused() -> None:
    with pytest.raises(UsageError, match="no repositories listed"):
        parse_repos("# nothing yet\n", "r.txt")


def test_a_campaign_holds_at_most_the_documented_number_of_repositories() -> None:
    repos = [CampaignRepo(owner="o", repo=f"r{i}") for i in range(MAX_CAMPAIGN_REPOS + 1)]
    plan = AutoPlan(step=AgentStepRequest(engine="command", command="true"))
    with pytest.raises(UsageError, match=f"at most {MAX_CAMPAIGN_REPOS}"):
        build(CampaignSpec, name="big", repos=repos, plan=plan)
