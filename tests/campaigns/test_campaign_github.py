"""Campaigns on GitHub (the loopback REST stand-in): targets found by organization with forks
and archived repositories skipped, forks created through the API, PR requests written by the
runs, and bulk comment/close on the campaign's PRs through the paced GitHub queue."""

from __future__ import annotations

import json
from pathlib import Path

from github import Auth, Github
from pydantic import SecretStr

from standins.git_repos import make_remotes
from standins.github_api import FakeGitHub
from tests.campaign_steps import FORGE, prepare_env, wait_for
from tests.operator_steps import BODY, TOKEN, ok, refused
from tests.run_env import Env


def fake_org(root: Path, fake: FakeGitHub) -> None:
    for name in ("calc0", "calc1", "old", "copy"):
        remotes = make_remotes(root / name, name=name)
        fake.add_repo(
            "forge-org",
            name,
            remotes.upstream,
            archived=name == "old",
            fork_of=("forge-org", "calc0") if name == "copy" else None,
        )


def test_org_targets_dry_run_then_comment_and_close_the_prs(env: Env, tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake_org(tmp_path / "git", fake)
        prepare_env(env, github_token=SecretStr(TOKEN), github_api_url=fake.base_url)
        body = tmp_path / "body.md"
        body.write_text(BODY)  # the repositories' PR template sections
        common = (
            "--engine",
            "command",
            "--command",
            FORGE,
            "--skip-network-check",
            "--commit-title",
            "feat: add the Forge provider",
            "--org",
            "forge-org",
            "--exclude",
            "calc1$",
            "--pr-body-file",
            str(body),
        )
        dry = json.loads(
            ok(env.cli("campaign", "start", "--name", "gh", *common, "--dry-run", "--json"))
        )
        assert [r["repo"] for r in dry["repos"]] == ["forge-org/calc0"]
        assert {s["repo"]: s["reason"] for s in dry["skipped"]} == {
            "forge-org/old": "archived",
            "forge-org/copy": "fork",
            "forge-org/calc1": "excluded by --exclude calc1$",
        }
        assert fake.pulls("forge-org", "calc0") == []

        ok(env.cli("campaign", "start", "--name", "gh", *common))
        waiting = wait_for(env, "gh", lambda s: any(r["pr_requested"] for r in s["runs"]))
        run_id = waiting["runs"][0]["run_id"]
        shown = json.loads(ok(env.cli("show-pr-request", "--run-id", run_id, "--json")))
        ok(
            env.cli(
                "approve-open-pr",
                "--run-id",
                run_id,
                "--request-file",
                shown["request_file"],
                "--confirm-token",
                shown["confirm_token"],
                "--confirm",
                timeout=120,
            )
        )
        wait_for(env, "gh", lambda s: s["runs"][0]["pr_number"] is not None)
        (number,) = [pull["number"] for pull in fake.pulls("forge-org", "calc0")]

        for _ in range(2):  # a repeated bulk comment posts once per PR
            result = json.loads(
                ok(
                    env.cli(
                        "campaign",
                        "comment",
                        "--name",
                        "gh",
                        "--body",
                        "Rebased on main.",
                        "--json",
                        timeout=120,
                    )
                )
            )
            assert [pr["pr_number"] for pr in result["pull_requests"]] == [number]
        github = Github(auth=Auth.Token(TOKEN), base_url=fake.base_url)
        pull = github.get_repo("forge-org/calc0").get_pull(number)
        assert [c.body.startswith("Rebased on main.") for c in pull.get_issue_comments()] == [True]

        assert "state" in refused(
            env.cli("campaign", "close", "--name", "gh", "--state", "NOPE"), code=2
        )
        result = json.loads(
            ok(
                env.cli(
                    "campaign", "close", "--name", "gh", "--state", "CI_WAIT", "--json", timeout=120
                )
            )
        )
        assert [pr["done"] for pr in result["pull_requests"]] == [True]
        assert fake.pulls("forge-org", "calc0")[0]["state"] == "closed"


def test_dry_run_refuses_a_same_named_repository_that_is_not_the_fork(
    env: Env, tmp_path: Path
) -> None:
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake_org(tmp_path / "git", fake)
        # The token's account already has a `calc1` of its own (not a fork of forge-org/calc1),
        # and a real fork of calc0.
        mine = make_remotes(tmp_path / "git" / "mine", name="calc1")
        fake.add_repo(fake.login, "calc1", mine.upstream)
        fake.add_repo(fake.login, "calc0", mine.fork, fork_of=("forge-org", "calc0"))
        prepare_env(env, github_token=SecretStr(TOKEN), github_api_url=fake.base_url)
        done = env.cli(
            "campaign",
            "start",
            "--name",
            "gh2",
            "--engine",
            "command",
            "--command",
            FORGE,
            "--org",
            "forge-org",
            "--exclude",
            "old|copy",
            "--dry-run",
            "--json",
        )
        assert done.returncode == 1, done.stderr
        checks = {r["repo"]: r["check"] for r in json.loads(done.stdout)["repos"]}
        assert checks == {
            "forge-org/calc0": f"ok (fork {fake.login}/calc0 exists)",
            "forge-org/calc1": f"FAIL: {fake.login}/calc1 exists and is not a fork of "
            "forge-org/calc1",
        }
        assert json.loads(done.stdout)["would_start"] == 1
        shown = env.cli("campaign", "show", "--name", "gh2")
        assert shown.returncode != 0  # nothing started
