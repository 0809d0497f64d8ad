"""What an operator types, as functions: the CLI steps that bring a run to PUSHED, request and
approve its PR, show it, and wait for a state; their outputs checked on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pydantic import SecretStr

from standins.github_api import FakeGitHub
from tests.run_env import Env, new_run_id

TOKEN = "ghp_GateSecretToken0123456789abcdef"


BODY = "## Summary\nAdds Forge as an LLM provider.\n\n## Testing\npytest passes.\n"


TITLE = "feat(llm): add Forge provider"


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    return result.stderr.strip()


FORGE_CODEMOD = "printf 'PROVIDER = \"forge\"\\n' > forge.py && python3 -m pytest -q"


def created_run(env: Env, *extra: str, run_id: str | None = None) -> str:
    """A QUEUED run for mem0ai/mem0, created by the CLI as an operator does; its id."""
    run_id = run_id or new_run_id()
    ok(
        env.cli(
            "create-run", "--owner", "mem0ai", "--repo", "mem0", "--prompt-version", "v1",
            "--run-id", run_id, *extra,
        )
    )  # fmt: skip
    return run_id


def create_auto_run(env: Env, body: Path, command: str, *extra: str) -> str:
    """An auto-mode run of demo/calc whose agent step is `command` (a codemod); its id."""
    run_id = new_run_id()
    ok(
        env.cli(
            "create-run", "--owner", "demo", "--repo", "calc", "--prompt-version", "v1",
            "--run-id", run_id, "--mode", "auto", "--engine", "command", "--command", command,
            "--commit-title", TITLE, "--pr-body-file", str(body), "--skip-network-check", *extra,
        )
    )  # fmt: skip
    return run_id


def pushed_run(
    env: Env,
    github: FakeGitHub,
    run_id: str | None = None,
    codemod: str = FORGE_CODEMOD,
    **settings: object,
) -> str:
    """A run through prepare (fork via the API), a passing codemod step and finish: PUSHED.
    With `run_id`, the run already exists (started by the test)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(
        github_token=SecretStr(TOKEN),
        github_api_url=github.base_url,
        git_author_name="Ops",
        git_author_email="ops@example.com",
        agent_env={"PATH": path},
        **settings,
    )
    create = run_id is None
    run_id = run_id or new_run_id()
    steps = [
        (
            "create-run",
            "--owner",
            "demo",
            "--repo",
            "calc",
            "--prompt-version",
            "v1",
            "--run-id",
            run_id,
        ),
        ("run-prepare", "--run-id", run_id),
        ("pause", "--run-id", run_id),
        ("resume", "--run-id", run_id, "--target-state", "IMPLEMENTING"),
        (
            "run-agent-step",
            "--run-id",
            run_id,
            "--engine",
            "command",
            "--command",
            codemod,
            "--skip-network-check",
            "--success-state",
            "LOCAL_VALIDATING",
        ),
        (
            "run-finish",
            "--run-id",
            run_id,
            "--changes",
            "Forge provider",
            "--project",
            "calc",
            "--commit-title",
            TITLE,
        ),
    ]
    for args in steps if create else steps[1:]:
        ok(env.cli(*args, timeout=120))
    return run_id


def request(env: Env, run_id: str, *extra: str, body: str = BODY) -> dict:
    return json.loads(
        ok(
            env.cli(
                "request-open-pr",
                "--run-id",
                run_id,
                "--title",
                TITLE,
                "--body",
                body,
                "--json",
                *extra,
            )
        )
    )


def approve(
    env: Env, run_id: str, ask: dict, *extra: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    return env.cli(
        "approve-open-pr",
        "--run-id",
        run_id,
        "--request-file",
        ask["request_file"],
        "--confirm-token",
        token or ask["confirm_token"],
        *extra,
        timeout=120,
    )


def show(env: Env, run_id: str) -> dict:
    return json.loads(ok(env.cli("show-run", "--run-id", run_id, "--json")))


def pull_posts(github: FakeGitHub) -> int:
    return sum(1 for r in github.requests if r.method == "POST" and r.route_path.endswith("/pulls"))


# Each run of the codemod changes the tree, as an agent's fix would.
CODEMOD = (
    "python3 -c \"import time; open('iteration.txt','a').write(str(time.time_ns())+'\\\\n')\""
    " && python3 -m pytest -q"
)


def wait_for_state(env: Env, run_id: str, states: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = show(env, run_id)
        if record["state"] in states:
            return record
        time.sleep(0.3)
    raise AssertionError(f"run never reached {states}: {show(env, run_id)['state']}")
