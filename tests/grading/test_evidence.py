"""Collecting evidence stays linear in the transcript's size (prints only; `make bench` measures)."""

from __future__ import annotations

import time

import pytest

from tests.transcript_builders import Codex

# ---- throughput (prints only; the lead benchmarks separately) --------------------------------


def test_throughput_is_linear(capsys: pytest.CaptureFixture[str]) -> None:
    stream = Codex()
    chunk = "x" * 2_000 + "\n"
    for i in range(4_000):
        stream.cmd(f"sed -n '1,200p' src/file_{i}.py", 0, chunk * 2)
        if i % 50 == 0:
            stream.cmd("pytest -q", i % 100 and 1 or 0, "1 failed" if i % 100 else "5 passed")
    stream.done()
    size = sum(len(line) + 1 for line in stream.lines)
    started = time.perf_counter()
    ev = stream.evidence()
    elapsed = time.perf_counter() - started
    assert ev.command_count == 4_080 and len(ev.command_samples) == 30
    with capsys.disabled():
        print(
            f"\n  grading throughput: {size / elapsed / 1e6:.0f} MB/s "
            f"({size / 1e6:.1f} MB, {ev.command_count} commands)"
        )
