"""Maintainers' rules before any fork (issue 13): a campaign over fixture repositories on the
loopback GitHub, one per kind of rule. Runs the rules stop end SKIPPED (or NEEDS_HUMAN_REVIEW)
with the evidence in the record and `campaign show`, and make no fork or PR call."""

from __future__ import annotations

import json
from pathlib import Path

from github import Auth, Github
from pydantic import SecretStr

from standins.git_repos import CALC_FILES, git, make_remotes
from standins.github_api import FakeGitHub
from tests.campaign_steps import FORGE, prepare_env, wait_for
from tests.operator_steps import BODY, TITLE, TOKEN, ok, show
from tests.run_env import Env

NAME = "pol"
FIXTURES: dict[str, dict[str, str]] = {
    "banned": {
        "CONTRIBUTING.md": "# Contributing\n\nThanks!\n\nWe do not accept AI-generated pull "
        "requests.\n"
    },
    "disclose": {".github/AI_POLICY.md": "Please disclose any use of AI in your PR.\n"},
    "askfirst": {
        "docs/CONTRIBUTING.md": "For major changes, please open an issue first to discuss "
        "what you would like to change.\n"
    },
    "optout": {".agentprignore": "# no automated PRs here, thank you\n"},
    "excluded": {},
    "openpr": {},
    "closedpr": {},
}
SKIPPED = {"banned", "optout", "excluded", "openpr", "closedpr"}


def push_branch(fork: Path, work: Path, branch: str) -> None:
    git("clone", "--quiet", fork.as_uri(), str(work))
    git("checkout", "--quiet", "-b", branch, cwd=work)
    (work / "forge.py").write_text('PROVIDER = "forge"\n')
    git("add", "forge.py", cwd=work)
    git("commit", "--quiet", "-m", "Forge", cwd=work)
    git("push", "--quiet", "origin", branch, cwd=work)


def fixture_org(root: Path, fake: FakeGitHub) -> None:
    for name, files in FIXTURES.items():
        contributing = {"CONTRIBUTING.md": ""} if "CONTRIBUTING.md" in files else {}
        remotes = make_remotes(
            root / name, name=name, files={**CALC_FILES, **contributing, **files}
        )
        fake.add_repo("acme", name, remotes.upstream)
        if name == "openpr":  # someone else already opened the change, same title
            fake.add_repo("someone", name, remotes.fork, fork_of=("acme", name))
            push_branch(remotes.fork, root / "work-open", "forge")
            upstream = Github(auth=Auth.Token(TOKEN), base_url=fake.base_url).get_repo(
                f"acme/{name}"
            )
            upstream.create_pull(title=TITLE, body="", base="main", head="someone:forge")
        if name == "closedpr":  # this campaign's PR, closed by a maintainer
            fake.add_repo(fake.login, name, remotes.fork, fork_of=("acme", name))
            branch = f"agentpr/{NAME}.acme.{name}"
            push_branch(remotes.fork, root / "work-closed", branch)
            upstream = Github(auth=Auth.Token(TOKEN), base_url=fake.base_url).get_repo(
                f"acme/{name}"
            )
            upstream.create_pull(title="Forge", body="", base="main", head=f"{fake.login}:{branch}")
            fake.close_pull("acme", name, 1)


def test_each_kind_of_rule_ends_the_run_as_it_says(env: Env, tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fixture_org(tmp_path / "git", fake)
        prepare_env(env, github_token=SecretStr(TOKEN), github_api_url=fake.base_url)
        repos = tmp_path / "repos.txt"
        repos.write_text("".join(f"acme/{name}\n" for name in FIXTURES))
        body = tmp_path / "body.md"
        body.write_text(BODY)
        setup_requests = len(fake.requests)
        ok(
            env.cli(
                "campaign",
                "start",
                "--name",
                NAME,
                "--repos-file",
                str(repos),
                "--engine",
                "command",
                "--command",
                FORGE,
                "--skip-network-check",
                "--commit-title",
                TITLE,
                "--pr-title",
                TITLE,
                "--pr-body-file",
                str(body),
                "--exclude",
                "acme/excluded$",
                "--max-parallel",
                "8",
            )
        )

        def settled(status: dict) -> bool:
            states = {r["repo"].split("/")[1]: r["state"] for r in status["runs"]}
            disclose = next((r for r in status["runs"] if r["repo"] == "acme/disclose"), None)
            return (
                len(states) == len(FIXTURES)
                and all(states[n] == "SKIPPED" for n in SKIPPED)
                and states["askfirst"] == "NEEDS_HUMAN_REVIEW"
                and disclose is not None
                and disclose["pr_requested"]
            )

        status = wait_for(env, NAME, settled)
        notes = {r["repo"]: r["note"] for r in status["runs"]}
        assert notes["acme/banned"].startswith("banned: CONTRIBUTING.md:5 "), notes
        assert notes["acme/optout"].startswith("opted_out: .agentprignore:1 "), notes
        assert notes["acme/excluded"].startswith('excluded: campaign exclude list "acme/excluded$"')
        assert notes["acme/openpr"].startswith("open_pr: PR #1 "), notes
        assert notes["acme/closedpr"].startswith("closed_pr: PR #1 "), notes
        assert notes["acme/askfirst"].startswith("ask_first: docs/CONTRIBUTING.md:1 "), notes
        assert notes["acme/disclose"] is None

        banned = show(env, f"{NAME}.acme.banned")
        policy = banned["maintainer_policy"]
        assert policy["outcome"] == "skip"
        assert policy["evidence"][0] == {
            "kind": "banned",
            "file": "CONTRIBUTING.md",
            "line": 5,
            "quote": "We do not accept AI-generated pull requests.",
            "pr_number": None,
            "url": None,
        }
        assert banned["workspace"] is None
        assert [h["command"] for h in banned["history"]][-1] == "check-maintainer-policy"

        disclose = show(env, f"{NAME}.acme.disclose")["maintainer_policy"]
        assert disclose["outcome"] == "proceed" and disclose["disclosure_required"]
        assert disclose["disclosure_evidence"][0]["file"] == ".github/AI_POLICY.md"

        # Skipped runs made no fork and no PR call; the excluded one no call at all.
        calls = fake.requests[setup_requests:]
        for name in SKIPPED:
            touched = [
                f"{r.method} {r.route_path}"
                for r in calls
                if r.route_path.startswith(f"/repos/acme/{name}/")
                and (r.method != "GET" or "/forks" in r.route_path)
            ]
            assert touched == [], (name, touched)
        assert not any("/repos/acme/excluded" in r.route_path for r in calls)
        assert not any(
            "/repos/acme/banned/pulls" in r.route_path or "/repos/acme/optout/pulls" in r.route_path
            for r in calls
        )
        assert any(
            r.method == "POST" and r.route_path == "/repos/acme/disclose/forks" for r in calls
        )

        shown = ok(env.cli("campaign", "show", "--name", NAME))
        assert "CONTRIBUTING.md:5" in shown and ".agentprignore:1" in shown
        detail = json.loads(ok(env.cli("show-run", "--run-id", f"{NAME}.acme.openpr", "--json")))
        assert detail["maintainer_policy"]["evidence"][0]["pr_number"] == 1
