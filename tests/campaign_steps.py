"""Campaign scaffolding: local repositories, the worker's settings for them, and waiting on a
campaign's status."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from standins.git_repos import make_remotes
from tests.operator_steps import ok
from tests.run_env import Env

FORGE = "printf 'PROVIDER = \"forge\"\\n' > forge.py"


def local_repos(root: Path, count: int) -> Path:
    """`count` repositories, each a bare upstream + fork; returns the repos file."""
    lines = ["# a campaign over local bare repositories", ""]
    for index in range(count):
        remotes = make_remotes(root / f"r{index}", name=f"calc{index}")
        lines.append(f"demo/calc{index} {remotes.upstream.as_uri()} {remotes.fork.as_uri()}")
    path = root / "repos.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def prepare_env(env: Env, **settings: object) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    settings = {"agent_grace_s": 2.0, **settings}  # a stopped step ends quickly
    env.reconfigure(
        git_author_name="Ops",
        git_author_email="ops@example.com",
        agent_env={"PATH": path},
        **settings,
    )


def status(env: Env, name: str) -> dict:
    return json.loads(ok(env.cli("campaign", "show", "--name", name, "--json")))


def wait_for(env: Env, name: str, done, timeout: float = 240) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        current = status(env, name)
        if done(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"campaign never got there: {current['counts']}")
        time.sleep(0.5)
