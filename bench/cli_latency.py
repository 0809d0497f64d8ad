"""CLI latency (issue 12): wall time of one `agentpr` invocation, as an operator types it,
against the previous tool (github.com/Yiiii0/agentpr, SQLite + Python) on the same machine in
the same process run. Ratios of medians; every sample is a fresh interpreter.

- show-run: `agentpr show-run --json` on a running run (fast lane: Temporal's HTTP API, stdlib
  only), the same with AGENTPR_FAST_LANE=0 (the full CLI: Typer, pydantic, the Temporal SDK),
  and the previous tool's `show-run` on a run in a temp SQLite database;
- pause round trip: one `pause` command from start to its printed answer (an Update that waits
  for the workflow's answer), then an untimed `resume`; with and without the startup gate
  (`--skip-doctor`), against the previous tool's `pause` / `--skip-doctor pause`;
- `--help` of both.

The previous tool is not part of this repository. Get it once and point the bench at it:

    git clone https://github.com/Yiiii0/agentpr /tmp/prev-agentpr
    AGENTPR_PREVIOUS_TOOL=/tmp/prev-agentpr .venv/bin/python -m bench.cli_latency [-n 15]

Without it the bench says so and exits 0 (`make bench` goes on).
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
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PREVIOUS = Path("/tmp/prev-agentpr")


def previous_tool() -> Path | None:
    given = os.environ.get("AGENTPR_PREVIOUS_TOOL")
    path = Path(given).expanduser() if given else DEFAULT_PREVIOUS
    return path if (path / "orchestrator" / "cli.py").is_file() else None


class Server:
    """A dev server and a worker on their own thread, so the bench may block on subprocesses."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.environ: dict[str, str] = {}
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        if not self.ready.wait(90) or self.error is not None:
            raise RuntimeError(f"dev server or worker did not start: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # noqa: BLE001 - reported to the main thread
            self.error = err
            self.ready.set()

    async def _main(self) -> None:
        from common.connection import connect
        from common.settings import Settings
        from starter.devserver import DevServer, free_port
        from worker import build_workers

        settings = Settings(home=self.home, task_queue=f"bench-{uuid.uuid4().hex[:6]}")
        server = DevServer(settings, port=free_port(), ui_port=free_port(), headless=True)
        server.start()
        try:
            await server.wait_ready()
            settings = settings.model_copy(update={"temporal_address": server.address})
            client = await connect(settings)
            self.environ = {
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith(("AGENTPR_", "TEMPORAL_"))
                },
                "PYTHONPATH": str(REPO_ROOT),
                "AGENTPR_HOME": str(self.home / "cli"),
                "TEMPORAL_ADDRESS": server.address,
                "AGENTPR_TASK_QUEUE": settings.task_queue,
                "TEMPORAL_HTTP_ADDRESS": f"127.0.0.1:{server.http_port}",
            }
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            async with AsyncExitStack() as stack:
                for worker in build_workers(client, settings):
                    await stack.enter_async_context(worker)
                self.ready.set()
                await self._stop.wait()
        finally:
            server.stop()


def run(argv: Sequence[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(argv), env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0 or '"ok": false' in result.stdout:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout)[-800:]}"
        )
    return result


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    run(argv, env, cwd)
    return (time.perf_counter() - start) * 1000


def main(n: int) -> int:
    previous = previous_tool()
    if previous is None:
        print(
            "## CLI latency: skipped — the previous tool is not here. Get it with\n"
            "    git clone https://github.com/Yiiii0/agentpr /tmp/prev-agentpr\n"
            "and run again (or set AGENTPR_PREVIOUS_TOOL to its checkout)."
        )
        return 0
    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="agentpr-cli-bench-"))
    old_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPR_")}
    old_db = str(work / "previous.db")
    old = [py, "-m", "orchestrator.cli", "--db", old_db]
    run([*old, "init-db"], old_env, previous)
    run(
        [
            *old,
            "--skip-doctor",
            "create-run",
            "--owner",
            "mem0ai",
            "--repo",
            "mem0",
            "--prompt-version",
            "v1",
            "--run-id",
            "bench_old",
        ],
        old_env,
        previous,
    )

    with Server(work / "temporal") as server:
        env, full = server.environ, {**server.environ, "AGENTPR_FAST_LANE": "0"}
        ours = [py, "-m", "starter.cli"]
        run_id = f"bench_{uuid.uuid4().hex[:8]}"
        run(
            [
                *ours,
                "--skip-doctor",
                "create-run",
                "--owner",
                "mem0ai",
                "--repo",
                "mem0",
                "--prompt-version",
                "v1",
                "--run-id",
                run_id,
            ],
            env,
            REPO_ROOT,
        )
        run([*ours, "--skip-doctor", "start-discovery", "--run-id", run_id], env, REPO_ROOT)
        same = run([*ours, "show-run", "--run-id", run_id, "--json"], env, REPO_ROOT).stdout
        assert (
            same == run([*ours, "show-run", "--run-id", run_id, "--json"], full, REPO_ROOT).stdout
        ), "fast lane and full CLI disagree"

        def pause(prefix: list[str], e: dict[str, str]) -> Callable[[], float]:
            def once() -> float:
                ms = timed([*prefix, "pause", "--run-id", run_id], e, REPO_ROOT)
                run(
                    [
                        *ours,
                        "--skip-doctor",
                        "resume",
                        "--run-id",
                        run_id,
                        "--target-state",
                        "DISCOVERY",
                    ],
                    env,
                    REPO_ROOT,
                )
                return ms

            return once

        def old_pause(prefix: list[str]) -> Callable[[], float]:
            def once() -> float:
                ms = timed([*prefix, "pause", "--run-id", "bench_old"], old_env, previous)
                run(
                    [
                        *old,
                        "--skip-doctor",
                        "resume",
                        "--run-id",
                        "bench_old",
                        "--target-state",
                        "EXECUTING",
                    ],
                    old_env,
                    previous,
                )
                return ms

            return once

        cases: dict[str, Callable[[], float]] = {
            "old show-run": lambda: timed(
                [*old, "show-run", "--run-id", "bench_old"], old_env, previous
            ),
            "show-run --json": lambda: timed(
                [*ours, "show-run", "--run-id", run_id, "--json"], env, REPO_ROOT
            ),
            "show-run --json (full CLI)": lambda: timed(
                [*ours, "show-run", "--run-id", run_id, "--json"], full, REPO_ROOT
            ),
            "old --skip-doctor pause": old_pause([*old, "--skip-doctor"]),
            "--skip-doctor pause": pause([*ours, "--skip-doctor"], env),
            "--skip-doctor pause (full CLI)": pause([*ours, "--skip-doctor"], full),
            "old pause": old_pause(old),
            "pause": pause(ours, env),
            "old --help": lambda: timed([*old, "--help"], old_env, previous),
            "--help": lambda: timed([*ours, "--help"], env, REPO_ROOT),
        }
        for case in cases.values():  # warm up (bytecode caches, the worker's first tasks)
            case()
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(n):  # interleaved, so drift hits every case alike
            for name, case in cases.items():
                samples[name].append(case())

    med = {name: statistics.median(values) for name, values in samples.items()}
    rows = [
        ("show-run --json", "show-run --json", "old show-run", 0.8),
        (
            "show-run --json, full CLI (AGENTPR_FAST_LANE=0)",
            "show-run --json (full CLI)",
            "old show-run",
            None,
        ),
        ("--skip-doctor pause round trip", "--skip-doctor pause", "old --skip-doctor pause", 1.0),
        (
            "--skip-doctor pause round trip, full CLI",
            "--skip-doctor pause (full CLI)",
            "old --skip-doctor pause",
            None,
        ),
        ("pause round trip (startup gate)", "pause", "old pause", 1.0),
        ("--help", "--help", "old --help", None),
    ]
    print(
        f"## CLI latency ({n} runs each, medians of fresh processes; server, worker and CLI "
        f"on one machine, {os.cpu_count()} CPUs)"
    )
    print("| command | agentpr (ms) | previous tool (ms) | ratio | goal |")
    print("|---|---|---|---|---|")
    for label, ours_key, old_key, goal in rows:
        ratio = med[ours_key] / med[old_key]
        verdict = (
            "" if goal is None else (f"<= {goal:.1f}x " + ("met" if ratio <= goal else "NOT met"))
        )
        print(f"| {label} | {med[ours_key]:.0f} | {med[old_key]:.0f} | {ratio:.2f}x | {verdict} |")
    print("\n" + json.dumps({name: round(value, 1) for name, value in med.items()}))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--repetitions", type=int, default=15)
    sys.exit(main(parser.parse_args().repetitions))
