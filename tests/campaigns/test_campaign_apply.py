"""`campaign apply -f` on a 20-repository campaign (GitHub stand-in, real git, the worker):
the spec starts it; a changed PR template retitles exactly the open PRs nobody took over; a
repository removed from the targets has its run cancelled; re-applying changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from contracts import GitHubEvent
from standins.git_repos import make_remotes
from standins.github_api import FakeGitHub
from starter.client import RunClient, with_run_client
from tests.campaign_steps import FORGE, prepare_env, wait_for
from tests.operator_steps import TOKEN, approve, ok
from tests.run_env import Env

REPOS = 20
SPEC = """\
name: wave
targets:
  org: forge-org
  exclude: {exclude}
engine: command
command: {command}
validation_command: "python3 -m pytest -q"
skip_network_check: true
commit:
  title: "feat: add the Forge provider"
pr:
  title: "{title}"
  body: |
    ## Summary
    Adds Forge to {{owner}}/{{repo}} (base {{default_branch}}).

    ## Testing
    pytest passes.
rollout: {{max_parallel: 5, max_prs_per_owner: {repos}}}
"""


def write_spec(path: Path, title: str, exclude: list[str]) -> Path:
    path.write_text(
        SPEC.format(
            exclude=json.dumps(exclude), command=json.dumps(FORGE), title=title, repos=REPOS
        )
    )
    return path


def approve_pr(env: Env, run_id: str) -> None:
    shown = json.loads(ok(env.cli("show-pr-request", "--run-id", run_id, "--json")))
    ok(approve(env, run_id, shown, "--confirm"))


def human_pushes(env: Env, run_id: str, repo: str, number: int) -> None:
    """GitHub's word that someone else pushed to the PR branch (as the webhook door says it)."""
    event = GitHubEvent(
        delivery_id="takeover-1",
        kind="pushed",
        repo=repo,
        pr_number=number,
        head_sha="f" * 40,
        author="mia",
    )

    async def send(runs: RunClient) -> None:
        await runs.signal_github_event(run_id, event)

    asyncio.run(with_run_client(env.settings, send))


def apply(env: Env, spec: Path, *extra: str) -> dict:
    return json.loads(
        ok(env.cli("campaign", "apply", "-f", str(spec), *extra, "--json", timeout=300))
    )


@pytest.mark.timeout(900)
def test_apply_dry_run_and_reapply_on_twenty_repositories(env: Env, tmp_path: Path) -> None:
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        for index in range(REPOS):
            remotes = make_remotes(tmp_path / "git" / f"calc{index}", name=f"calc{index}")
            fake.add_repo("forge-org", f"calc{index}", remotes.upstream)
        prepare_env(env, github_token=SecretStr(TOKEN), github_api_url=fake.base_url)
        spec = write_spec(tmp_path / "wave.yaml", "feat: add Forge to {repo}", [])

        dry = apply(env, spec, "--dry-run")
        assert dry["new"] and dry["would_start"] == REPOS
        started = apply(env, spec)
        assert started["started"] and started["repos"] == REPOS

        waiting = wait_for(
            env,
            "wave",
            lambda s: sum(r["pr_requested"] for r in s["runs"]) == REPOS,
            timeout=600,
        )
        run_of = {r["repo"]: r["run_id"] for r in waiting["runs"]}
        opened = ["forge-org/calc0", "forge-org/calc1", "forge-org/calc2"]
        for repo in opened:
            approve_pr(env, run_of[repo])
        status = wait_for(
            env, "wave", lambda s: sum(r["pr_number"] is not None for r in s["runs"]) == 3
        )
        number = {r["repo"]: r["pr_number"] for r in status["runs"] if r["pr_number"]}
        assert {p["title"] for p in fake.pulls("forge-org", "calc0")} == {
            "feat: add Forge to calc0"
        }
        human_pushes(env, run_of["forge-org/calc1"], "forge-org/calc1", number["forge-org/calc1"])
        wait_for(
            env,
            "wave",
            lambda s: any(r["taken_over_by"] == "mia" for r in s["runs"]),
        )

        # A new PR title and calc19 dropped from the targets.
        changed = write_spec(tmp_path / "wave.yaml", "feat: Forge for {owner}/{repo}", ["calc19$"])
        plan = apply(env, changed, "--dry-run")
        assert sorted(plan["pr_updates"]) == sorted(
            [run_of["forge-org/calc0"], run_of["forge-org/calc2"]]
        )
        assert plan["taken_over"] == [f"{run_of['forge-org/calc1']} (by mia)"]
        assert plan["removed"] == ["forge-org/calc19"]
        assert plan["cancelled"] == [run_of["forge-org/calc19"]]
        assert plan["added"] == [] and plan["reruns"] == [] and not plan["applied"]
        assert fake.pulls("forge-org", "calc0")[0]["title"] == "feat: add Forge to calc0"

        done = apply(env, changed)
        assert done["applied"]
        assert sorted((p["run_id"], p["detail"]) for p in done["pull_requests"]) == sorted(
            [(run_of["forge-org/calc0"], "updated"), (run_of["forge-org/calc2"], "updated")]
        )
        for name in ("calc0", "calc2"):
            (pull,) = fake.pulls("forge-org", name)
            assert pull["title"] == f"feat: Forge for forge-org/{name}"
            assert f"Adds Forge to forge-org/{name} (base main)." in pull["body"]
        (human,) = fake.pulls("forge-org", "calc1")
        assert human["title"] == "feat: add Forge to calc1"  # theirs: untouched
        ended = wait_for(
            env,
            "wave",
            lambda s: any(
                r["repo"] == "forge-org/calc19" and r["state"] == "SKIPPED" for r in s["runs"]
            ),
        )
        assert ended["total"] == REPOS - 1

        again = apply(env, changed)
        assert again["changed"] == [] and again["pull_requests"] == []
