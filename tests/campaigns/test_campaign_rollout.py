"""Paced rollout, end to end (the GitHub stand-in, real git, the worker, `campaign apply -f`):
the hourly pace and the rollout windows hold PR slots back, bulk comments obey the windows,
and too many failures pause the campaign by itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from standins.git_repos import make_remotes
from standins.github_api import FakeGitHub
from tests.agent_steps import BREAK_ADD
from tests.campaign_steps import FORGE, local_repos, prepare_env, wait_for
from tests.operator_steps import TOKEN, ok
from tests.run_env import Env, new_run_id

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def spec(path: Path, name: str, targets: str, command: str, rollout: str) -> Path:
    path.write_text(
        f"""\
name: {name}
targets: {targets}
engine: command
command: {json.dumps(command)}
validation_command: "python3 -m pytest -q"
skip_network_check: true
commit: {{title: "feat: add the Forge provider"}}
pr:
  body: |
    ## Summary
    Adds Forge.

    ## Testing
    pytest passes.
rollout: {rollout}
"""
    )
    return path


def apply(env: Env, path: Path) -> dict:
    return json.loads(ok(env.cli("campaign", "apply", "-f", str(path), "--json", timeout=120)))


@contextmanager
def github_org(env: Env, tmp_path: Path, count: int) -> Iterator[str]:
    """`count` repositories of forge-org on the GitHub stand-in (a PR request needs a fork on
    GitHub); yields the spec's targets."""
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        for index in range(count):
            remotes = make_remotes(tmp_path / "git" / f"calc{index}", name=f"calc{index}")
            fake.add_repo("forge-org", f"calc{index}", remotes.upstream)
        prepare_env(env, github_token=SecretStr(TOKEN), github_api_url=fake.base_url)
        yield "{org: forge-org}"


def test_the_hourly_pace_holds_pr_slots_back(env: Env, tmp_path: Path) -> None:
    name = f"paced-{new_run_id()[-6:]}"
    rollout = "{max_parallel: 3, max_prs_per_owner: 10, prs_per_hour: 1}"
    with github_org(env, tmp_path, 3) as targets:
        apply(env, spec(tmp_path / "wave.yaml", name, targets, FORGE, rollout))
        shown = wait_for(
            env,
            name,
            lambda s: (
                s["counts"].get("PUSHED") == 3
                and s["pr_slots_held"] is not None
                and sum(r["pr_requested"] for r in s["runs"]) == 1
            ),
        )
        text = ok(env.cli("campaign", "show", "--name", name))
    # One run asked for its PR; the two others wait for the next hour.
    assert shown["pr_slots_held"].startswith("1 PR(s) per hour reached; next at ")
    assert "PR slots wait: 1 PR(s) per hour reached" in text


def test_outside_the_windows_no_pr_slot_and_no_bulk_comment(env: Env, tmp_path: Path) -> None:
    name = f"closed-{new_run_id()[-6:]}"
    later = DAYS[(datetime.now(UTC).weekday() + 2) % 7]  # never today, whatever the zone
    rollout = (
        f"{{max_prs_per_owner: 10, timezone: UTC, windows: [{{days: [{later}], "
        f'start: "10:00", end: "11:00"}}]}}'
    )
    with github_org(env, tmp_path, 2) as targets:
        apply(env, spec(tmp_path / "wave.yaml", name, targets, FORGE, rollout))
        shown = wait_for(
            env, name, lambda s: s["counts"].get("PUSHED") == 2 and s["pr_slots_held"] is not None
        )
        refused = env.cli("campaign", "comment", "--name", name, "--body", "ping")
    assert not any(r["pr_requested"] for r in shown["runs"])
    assert shown["pr_slots_held"].startswith("outside the rollout windows; next opens ")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "outside the campaign's rollout windows" in refused.stderr


def test_too_many_failures_pause_the_campaign(env: Env, tmp_path: Path) -> None:
    prepare_env(env)
    name = f"failing-{new_run_id()[-6:]}"
    repos = local_repos(tmp_path / "git", 4)
    rollout = "{max_parallel: 1, failure_threshold: {recent: 2, max_failures: 2}}"
    apply(env, spec(tmp_path / "wave.yaml", name, f"{{repos_file: {repos}}}", BREAK_ADD, rollout))
    shown = wait_for(env, name, lambda s: s["paused"])
    assert shown["paused_because"].startswith("2 of the last 2 runs failed")
    assert shown["counts"].get("NOT_STARTED") == 2  # no more runs start
    text = ok(env.cli("campaign", "show", "--name", name))
    assert "paused by itself: 2 of the last 2 runs failed" in text
    ok(env.cli("campaign", "resume", "--name", name))
    assert not json.loads(ok(env.cli("campaign", "show", "--name", name, "--json")))["paused"]
