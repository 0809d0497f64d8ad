"""Agent-step benchmarks (issue 5).

(a) Grading throughput on the largest real transcripts (MB/s), vs only `json.loads` of every
    line (the floor any stream reader pays), in the same process.
(b) `run-agent-step` through the workflow and the agent activity vs the same `codex exec` run
    directly, on a ~2-second scripted run (real codex, scripted model server on loopback).

    .venv/bin/python -m bench.agent_step [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import embedded_temporal
from contracts import AgentStepRequest, CommandRequest, PrepareRequest, RunSpec, TargetStateRequest
from contracts.states import RunState
from engines import node_bin_dir
from engines.codex import parse_codex_events
from grading import GradeInput, grade
from standins.git_repos import make_remotes
from standins.model_server import ScriptedModelServer, run_command, say
from workflows.run import IntegrationRunWorkflow

TRANSCRIPTS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "codex-transcripts"
)
CODEX = Path(sys.prefix) / "agent-clis" / "node_modules" / ".bin" / "codex"
SCRIPT = [run_command("python3 -c 'import time; time.sleep(1.5)'"), say("done. STATUS: PASS")]


def bench_grading(repeat: int = 20) -> dict[str, float]:
    largest = sorted(TRANSCRIPTS.glob("*.jsonl"), key=lambda p: p.stat().st_size)[-3:]
    lines = [line for path in largest for line in path.read_text().splitlines()]
    megabytes = sum(len(line) + 1 for line in lines) / 1e6 * repeat

    def timed(work) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        for _ in range(repeat):
            work()
        return time.perf_counter() - start

    def parse_only() -> None:
        for line in lines:
            json.loads(line)

    def parse_and_grade() -> None:
        evidence = parse_codex_events(
            lines, "/Users/yi/Documents/Career/TensorBlcok/agentpr/workspaces/mem0"
        )
        grade(
            GradeInput(
                evidence=evidence,
                exit_code=0,
                changed_files=3,
                added_lines=30,
                state=RunState.IMPLEMENTING,
            )
        )

    base, ours = timed(parse_only), timed(parse_and_grade)
    return {"mb": megabytes / repeat, "ours_mbps": megabytes / ours, "json_mbps": megabytes / base}


def direct_codex(workspace: Path, codex_home: Path, server: ScriptedModelServer) -> float:
    env = {
        **os.environ,
        "CODEX_HOME": str(codex_home),
        "PATH": f"{node_bin_dir()}{os.pathsep}{os.environ['PATH']}",
    }
    start = time.perf_counter()
    subprocess.run(
        [
            str(CODEX),
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-C",
            str(workspace),
            "--sandbox",
            "danger-full-access",
            *server.codex_args(),
            "-",
        ],
        input=b"Wait, then finish.",
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return time.perf_counter() - start


async def bench_agent_step(rounds: int) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="agentpr-bench-agent-"))
    codex_home = root / "codex-home"
    codex_home.mkdir()
    remotes = make_remotes(root / "git")
    direct_ws = root / "direct"
    subprocess.run(["git", "clone", "--quiet", remotes.fork_url, str(direct_ws)], check=True)
    ours: list[float] = []
    ours_preflight: list[float] = []
    base: list[float] = []
    async with embedded_temporal(agent_env={"CODEX_HOME": str(codex_home)}) as harness:
        runs, w = harness.runs, IntegrationRunWorkflow
        run_id = "bench_agent"
        await runs.create_run(
            RunSpec(
                run_id=run_id,
                owner="demo",
                repo="calc",
                prompt_version="v1",
                upstream_url=remotes.upstream_url,
                fork_url=remotes.fork_url,
            )
        )
        await runs.send(run_id, w.run_prepare, PrepareRequest())
        await runs.send(run_id, w.pause, CommandRequest())
        await runs.send(run_id, w.resume, TargetStateRequest(target_state=RunState.IMPLEMENTING))
        for _ in range(rounds):
            with ScriptedModelServer(list(SCRIPT)) as server:
                base.append(await asyncio.to_thread(direct_codex, direct_ws, codex_home, server))
            for skip_preflight, samples in ((True, ours), (False, ours_preflight)):
                with ScriptedModelServer(list(SCRIPT)) as server:
                    overrides = [a for a in server.codex_args() if a != "-c"]
                    start = time.perf_counter()
                    await runs.send(
                        run_id,
                        w.run_agent_step,
                        AgentStepRequest(
                            prompt="Wait, then finish.",
                            codex_config=overrides,
                            skip_preflight=skip_preflight,
                            skip_network_check=True,
                            max_minutes=5,
                        ),
                    )
                    samples.append(time.perf_counter() - start)
                # Back to IMPLEMENTING for the next round, whatever the grade said.
                record = await runs.get_run(run_id)
                if record.state != RunState.IMPLEMENTING:
                    await runs.send(
                        run_id, w.retry, TargetStateRequest(target_state=RunState.IMPLEMENTING)
                    )
    return {
        "direct": statistics.median(base),
        "ours": statistics.median(ours),
        "ours_preflight": statistics.median(ours_preflight),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("## agent step")
    print("| measure | agentpr | baseline | ratio |")
    print("|---|---|---|---|")
    if TRANSCRIPTS.is_dir():
        g = bench_grading()
        print(
            f"| grading throughput, 3 largest real transcripts ({g['mb']:.1f} MB) (MB/s) | "
            f"{g['ours_mbps']:.0f} | {g['json_mbps']:.0f} (json.loads only) | "
            f"{g['ours_mbps'] / g['json_mbps']:.2f}x |"
        )
    else:
        print(f"(grading benchmark skipped: {TRANSCRIPTS} absent)")
    if CODEX.exists():
        a = asyncio.run(bench_agent_step(args.rounds))
        print(
            f"| agent step, ~2 s scripted codex run (s) | {a['ours']:.2f} | "
            f"{a['direct']:.2f} (codex exec directly) | {a['ours'] / a['direct']:.2f}x |"
        )
        print(
            f"| same, with the automatic preflight (s) | {a['ours_preflight']:.2f} | "
            f"{a['direct']:.2f} | {a['ours_preflight'] / a['direct']:.2f}x |"
        )
    else:
        print(f"(agent-step benchmark skipped: {CODEX} absent; run make agents)")


if __name__ == "__main__":
    main()
