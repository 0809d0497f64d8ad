"""The double-confirmed PR gate end to end: real CLI, worker, git, and the loopback GitHub."""

from __future__ import annotations

import time
from pathlib import Path

from temporalio.client import Client

from standins.github_api import FakeGitHub
from tests.operator_steps import (
    BODY,
    TITLE,
    TOKEN,
    approve,
    ok,
    pull_posts,
    pushed_run,
    refused,
    request,
    show,
)
from tests.run_env import Env


def test_every_refusal_creates_no_pr(env: Env, github: FakeGitHub, tmp_path: Path) -> None:
    run_id = pushed_run(env, github)
    # Wrong state: approving before any request.
    fake_request = tmp_path / "forged.json"
    fake_request.write_text("{}")
    line = refused(
        env.cli(
            "approve-open-pr",
            "--run-id",
            run_id,
            "--request-file",
            str(fake_request),
            "--confirm-token",
            "x",
            "--confirm",
        )
    )
    assert "has no pending PR request" in line
    ask = request(env, run_id)
    assert ask["dod"] == {"passed": True, "failures": []}
    assert ask["head"] == "agentpr-bot:" + f"agentpr/{run_id}" and ask["base"] == "main"
    # No token at all: a usage error.
    missing = env.cli(
        "approve-open-pr", "--run-id", run_id, "--request-file", ask["request_file"], "--confirm"
    )
    assert "Missing option '--confirm-token'" in refused(missing, 2)
    # Wrong token.
    assert "confirm token does not match" in refused(
        approve(env, run_id, ask, "--confirm", token="not-the-token")
    )
    # No --confirm.
    assert "--confirm is required" in refused(approve(env, run_id, ask))
    # Edited request file.
    original = Path(ask["request_file"]).read_text()
    Path(ask["request_file"]).write_text(original.replace("main", "evil"))
    assert "was changed after request-open-pr" in refused(approve(env, run_id, ask, "--confirm"))
    Path(ask["request_file"]).write_text(original)
    # Expired.
    short = request(env, run_id, "--ttl-minutes", "0.01")
    time.sleep(1.0)
    assert "the PR request expired" in refused(approve(env, run_id, short, "--confirm"))
    assert github.pulls("demo", "calc") == [] and pull_posts(github) == 0
    record = show(env, run_id)
    assert record["state"] == "PUSHED" and record["pr_number"] is None
    # The request file holds no token.
    assert short["confirm_token"] not in Path(short["request_file"]).read_text()


async def test_one_pr_after_approval_and_after_a_second_approval(
    env: Env, github: FakeGitHub, client: Client
) -> None:
    run_id = pushed_run(env, github)
    ask = request(env, run_id)
    out = ok(approve(env, run_id, ask, "--confirm"))
    pulls = github.pulls("demo", "calc")
    assert len(pulls) == 1
    number = pulls[0]["number"]
    assert out.strip() == (
        f"{run_id}: opened PR #{number} {pulls[0]['html_url']} (PUSHED -> CI_WAIT)"
    )
    assert pulls[0]["title"] == TITLE and pulls[0]["body"] == BODY
    assert pulls[0]["head"]["label"] == f"agentpr-bot:agentpr/{run_id}"
    again = ok(approve(env, run_id, ask, "--confirm"))
    assert (
        again.strip()
        == f"{run_id}: PR #{number} is already open: {pulls[0]['html_url']} (no change)"
    )
    assert len(github.pulls("demo", "calc")) == 1 and pull_posts(github) == 1
    record = show(env, run_id)
    assert record["state"] == "CI_WAIT" and record["pr_number"] == number
    assert record["head_sha"] == pulls[0]["head"]["sha"]
    description = await client.get_workflow_handle(run_id).describe()
    from contracts import search_attributes as sa

    assert description.typed_search_attributes.get(sa.PR) == number
    # Neither the confirm token nor the GitHub token is in history, reports or logs.
    history = (await client.get_workflow_handle(run_id).fetch_history()).to_json()
    assert ask["confirm_token"] not in history and TOKEN not in history
    for path in env.settings.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and ask["confirm_token"].encode() not in data, path


def test_dod_not_met_needs_an_explicit_bypass(env: Env, github: FakeGitHub) -> None:
    run_id = pushed_run(env, github)
    ask = request(env, run_id, body="Adds Forge.")  # the template is written out around it
    assert ask["dod"]["passed"] is False
    body = show(env, run_id)["pr_request"]["body"]
    assert body.startswith("## Summary\n\nAdds Forge.\n\n## Testing"), body
    assert ask["dod"]["failures"] == ["the PR body's template section 'Testing' is empty"]
    line = refused(approve(env, run_id, ask, "--confirm"))
    assert "definition of done not met" in line and "--allow-dod-bypass" in line
    assert pull_posts(github) == 0
    ok(approve(env, run_id, ask, "--confirm", "--allow-dod-bypass", "--reason", "docs-only repo"))
    bypass = show(env, run_id)["dod_bypass"]
    assert bypass["by"] == "cli" and bypass["reason"] == "docs-only repo"
    assert len(bypass["failures"]) == 1


def test_secondary_rate_limit_is_waited_out_by_the_retry_policy(
    env: Env, github: FakeGitHub
) -> None:
    run_id = pushed_run(env, github)
    ask = request(env, run_id)
    github.fail_next.append(
        (
            403,
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            },
            {"Retry-After": "1"},
        )
    )
    started = time.monotonic()
    ok(approve(env, run_id, ask, "--confirm"))
    assert time.monotonic() - started >= 1.0
    assert len(github.pulls("demo", "calc")) == 1


def test_at_most_one_open_agentpr_pr_per_upstream(env: Env, github: FakeGitHub) -> None:
    first = pushed_run(env, github)
    ok(approve(env, first, request(env, first), "--confirm"))
    second = pushed_run(env, github)
    ask = request(env, second, "--draft")
    line = refused(approve(env, second, ask, "--confirm"))
    assert "demo/calc already has an open agentpr PR (#1" in line and "at most one" in line
    assert len(github.pulls("demo", "calc")) == 1
    # Once the first is merged, the second opens, as the draft it was requested to be.
    github.merge_pull("demo", "calc", 1)
    ok(approve(env, second, ask, "--confirm"))
    pulls = github.pulls("demo", "calc")
    assert [(p["number"], p["draft"]) for p in pulls] == [(1, False), (2, True)]
