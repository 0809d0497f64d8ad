"""`make demo` end to end: the script a newcomer runs first must work on a machine without a
network, say what it shows, and leave nothing running or lying around, also after Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "demo" / "run_demo.py"


def demo_process(*args: str) -> subprocess.Popen[str]:
    # Its own session, so the Ctrl-C test can signal the demo's whole process group as a
    # terminal does; unbuffered, so its lines arrive as they are printed.
    return subprocess.Popen(
        [sys.executable, "-u", str(DEMO), *args],
        stdin=subprocess.PIPE if args else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=DEMO.parent.parent,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def started_pieces(out: str) -> tuple[int, int, Path]:
    """The dev server's pid, the worker's pid and the demo's temporary directory."""
    server = re.search(r"dev server ready at \S+ \(pid (\d+), data: (\S+)/agentpr-home\)", out)
    worker = re.search(r"worker pid (\d+)", out)
    assert server and worker, out
    return int(server.group(1)), int(worker.group(1)), Path(server.group(2))


def test_demo_walks_the_whole_path_offline_and_cleans_up() -> None:
    process = demo_process()
    try:
        out, _ = process.communicate(timeout=180)
    finally:
        process.kill()
    assert process.returncode == 0, out[-4000:]
    for line in (
        "a LOOPBACK STAND-IN for GitHub",
        "NOT github.com",
        "ok    worker",
        "campaign demo started: 3 repositories, at most 3 working at once",
        "all 3 runs are PUSHED, each waiting at the PR gate",
        '"confirm_token"',
        "demo.demo.calc1: opened PR #1 http://127.0.0.1:",
        "(PUSHED -> CI_WAIT)",
        "demo/calc1 PR #1 open: 'feat: add the Forge LLM provider'",
        "3 x POST /repos/demo/<repo>/forks, 1 x POST /repos/demo/<repo>/pulls",
        "demo/calc2: 0, demo/calc3: 0",
        "CI_WAIT 1  PUSHED 2",
        "demo OK: the whole path worked on this machine in",
    ):
        assert line in out, f"missing {line!r} in:\n{out[-4000:]}"
    # The final table: calc1 has its PR, the other two wait at the gate.
    assert re.search(r"demo/calc1 .* CI_WAIT .* PASS tests_passed .* #1 ", out), out[-2000:]
    assert len(re.findall(r"demo/calc[23] .* PUSHED .* requested ", out)) >= 2, out[-2000:]
    server, worker, root = started_pieces(out)
    assert gone(server) and gone(worker) and not root.exists()


def test_ctrl_c_stops_everything_it_started() -> None:
    # --step holds the demo at a known point (waiting for Enter after the campaign), so the
    # signal lands mid-demo however loaded the machine is.
    process = demo_process("--step")
    assert process.stdout is not None and process.stdin is not None
    seen: list[str] = []
    prompts = 0
    try:
        for line in process.stdout:
            seen.append(line)
            if "press Enter for the next step" in line:
                prompts += 1
                if prompts == 2:  # the campaign ran; the approval step waits for Enter
                    break
                process.stdin.write("\n")
                process.stdin.flush()
        else:
            raise AssertionError("the demo ended before the campaign: " + "".join(seen))
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        # Read to the end with stdin left open: closing it (communicate) would hand the
        # waiting prompt an end of input, and on a loaded machine the demo could read that
        # before it notices the signal and go on to the next step.
        stuck = threading.Timer(90, process.kill)
        stuck.start()
        try:
            rest = process.stdout.read()
            process.wait(timeout=30)
        finally:
            stuck.cancel()
    finally:
        process.kill()
    out = "".join(seen) + rest
    assert process.returncode == 130, out[-3000:]
    assert "interrupted: stopping the worker, the dev server and the stand-in" in out
    server, worker, root = started_pieces(out)
    assert gone(server) and gone(worker) and not root.exists()
