"""Workspace-step benchmark (issue 4): `run-prepare` + `run-finish` on a ~50 MB repository
through the run workflow and its activities, vs the same git commands run directly in the same
process. Prints the ratio (activity overhead).

    .venv/bin/python -m bench.workspace_steps [--megabytes 50 --rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import Harness, embedded_temporal
from contracts import CommandRequest, FinishRequest, PrepareRequest, RunSpec, TargetStateRequest
from contracts.states import RunState
from workflows.run import IntegrationRunWorkflow

IDENTITY = {"git_author_name": "Bench", "git_author_email": "bench@example.com"}


def git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_repository(root: Path, megabytes: int) -> tuple[Path, Path]:
    """A bare upstream holding `megabytes` of incompressible files, and a bare fork of it."""
    work = root / "seed"
    work.mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    (work / "pyproject.toml").write_text('[project]\nname = "big"\n')
    chunk = 512 * 1024
    for index in range(megabytes * 2):
        folder = work / "data" / f"d{index % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"blob{index}.bin").write_bytes(os.urandom(chunk))
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "big", cwd=work)
    upstream = root / "upstream.git"
    git("clone", "--quiet", "--bare", str(work), str(upstream))
    shutil.rmtree(work)
    return upstream, root / "fork.git"


def fresh_fork(upstream: Path, fork: Path) -> None:
    if fork.exists():
        shutil.rmtree(fork)
    git("clone", "--quiet", "--bare", str(upstream), str(fork))


def direct(upstream: Path, fork: Path, workspace: Path) -> float:
    """The same git work prepare + finish do, straight from this process."""
    start = time.perf_counter()
    git("clone", "--quiet", "--no-tags", fork.as_uri(), str(workspace))
    git("remote", "add", "upstream", upstream.as_uri(), cwd=workspace)
    git("fetch", "--quiet", "--prune", "upstream", cwd=workspace)
    git("checkout", "--quiet", "--no-track", "-b", "agentpr/direct", "upstream/main", cwd=workspace)
    (workspace / "forge.py").write_text("PROVIDER = 'forge'\n")
    git("add", "--all", cwd=workspace)
    git("commit", "--quiet", "-m", "feat: forge", cwd=workspace)
    git("push", "--quiet", "origin", "HEAD:refs/heads/agentpr/direct", cwd=workspace)
    return time.perf_counter() - start


async def through_agentpr(harness: Harness, upstream: Path, fork: Path) -> float:
    runs, w = harness.runs, IntegrationRunWorkflow
    run_id = f"bench_{uuid.uuid4().hex[:8]}"
    await runs.create_run(
        RunSpec(
            run_id=run_id,
            owner="bench",
            repo="big",
            prompt_version="v1",
            upstream_url=upstream.as_uri(),
            fork_url=fork.as_uri(),
        )
    )
    start = time.perf_counter()
    prepared = await runs.send(run_id, w.run_prepare, PrepareRequest())
    elapsed = time.perf_counter() - start
    assert prepared.prepare is not None
    Path(prepared.prepare.workspace.path, "forge.py").write_text("PROVIDER = 'forge'\n")
    await runs.send(run_id, w.pause, CommandRequest())
    await runs.send(run_id, w.resume, TargetStateRequest(target_state=RunState.LOCAL_VALIDATING))
    start = time.perf_counter()
    finished = await runs.send(
        run_id,
        w.run_finish,
        FinishRequest(changes="forge", project="big", commit_title="feat: forge"),
    )
    elapsed += time.perf_counter() - start
    assert finished.finish is not None and finished.finish.pushed
    return elapsed


async def main(megabytes: int, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="agentpr-bench-ws-"))
    upstream, fork = make_repository(root, megabytes)
    packed = sum(p.stat().st_size for p in upstream.rglob("*") if p.is_file()) / 1e6
    ours: list[float] = []
    base: list[float] = []
    async with embedded_temporal(**IDENTITY) as harness:
        for round_ in range(rounds):
            fresh_fork(upstream, fork)
            base.append(await asyncio.to_thread(direct, upstream, fork, root / f"direct{round_}"))
            fresh_fork(upstream, fork)
            ours.append(await through_agentpr(harness, upstream, fork))
    shutil.rmtree(root, ignore_errors=True)
    o, b = statistics.median(ours), statistics.median(base)
    print(f"## workspace steps (repository {packed:.0f} MB packed, median of {rounds})")
    print("| measure | agentpr | direct git | ratio |")
    print("|---|---|---|---|")
    print(f"| run-prepare + run-finish (s) | {o:.2f} | {b:.2f} | {o / b:.2f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.megabytes, args.rounds))
