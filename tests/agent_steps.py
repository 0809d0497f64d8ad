"""Agent-step scaffolding shared by the codex and claude tests: the scripted codemods, a run in
IMPLEMENTING, and the processes a step must not leave behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from standins.git_repos import Remotes
from tests.run_env import Env, new_run_id

CODEX = Path(sys.prefix) / "agent-clis" / "node_modules" / ".bin" / "codex"


ADD_MULTIPLY = (
    "python3 -c \"open('calc.py','a').write('\\n\\ndef multiply(a, b):\\n    return a * b\\n')\""
)


BREAK_ADD = "python3 -c \"open('calc.py','a').write('\\n\\ndef add(a, b):\\n    return 0\\n')\""


def codex_worker(env: Env, tmp_path: Path) -> Env:
    """A worker whose agents get a fresh CODEX_HOME and this venv's python (with pytest)."""
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(
        agent_env={"CODEX_HOME": str(codex_home), "PATH": path},
        git_author_name="Ops",
        git_author_email="ops@example.com",
        agent_grace_s=3.0,
    )
    return env


def stray_processes(run_id: str) -> list[int]:
    """Processes still carrying this step's AGENTPR_RUN_ID in their environment."""
    marker = f"AGENTPR_RUN_ID={run_id}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                stat = (proc / "stat").read_text().split()
                if stat[2] != "Z":
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


def implementing_run(env: Env, remotes: Remotes) -> str:
    run_id = new_run_id()
    for args in (
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
            "--upstream-url",
            remotes.upstream_url,
            "--fork-url",
            remotes.fork_url,
        ),
        ("run-prepare", "--run-id", run_id),
        ("pause", "--run-id", run_id),
        ("resume", "--run-id", run_id, "--target-state", "IMPLEMENTING"),
    ):
        result = env.cli(*args)
        assert result.returncode == 0, result.stderr
    return run_id
