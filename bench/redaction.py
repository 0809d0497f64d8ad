"""Redaction throughput (issue 13): a 10 MB agent transcript through the redactor, against a
plain copy and a one-shape regex, in the same process.

The transcript is the real codex transcripts of /work/shared/fixtures concatenated until it
holds 10 MB (a synthetic codex-like stream when they are absent), with a GitHub token, an
agentpr secret and a PEM key planted every 500 lines, so the redactor has work to do.

(a) whole text: `Redactor.redact` on the 10 MB string, vs `str` copy and vs
    `re.sub` of one GitHub-token shape (the floor of any regex pass).
(b) line by line, as the agent activity writes a transcript (decode, redact, encode, write),
    vs the same loop writing the bytes unchanged.

    .venv/bin/python -m bench.redaction [--megabytes 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from common.redaction import Redactor

TRANSCRIPTS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "codex-transcripts"
)
SECRET = "hook-secret-value-2718"
PLANTED = json.dumps(
    {
        "type": "item.completed",
        "item": {
            "type": "command_execution",
            "command": "git push && cat ~/.ssh/id_rsa",
            "aggregated_output": (
                f"remote: token ghp_{'Zq8Lk2Vn5Rt7Wy1Xc4Bm9Pd3Fg6Hj0Ks'} refused; {SECRET}\n"
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu9sLr8JpA2dW0qZ7bY1vHf5k\n"
                "-----END RSA PRIVATE KEY-----\n"
            ),
            "exit_code": 1,
        },
    }
)


def transcript_lines(megabytes: float) -> list[str]:
    source = [
        line
        for path in sorted(TRANSCRIPTS.glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ] or [
        json.dumps(
            {
                "type": "item.completed",
                "item": {
                    "type": "command_execution",
                    "command": "python -m pytest -q",
                    "aggregated_output": "tests/test_calc.py ... passed in 0.01s\n" * 20,
                    "exit_code": 0,
                },
            }
        )
    ]
    lines: list[str] = []
    size = 0
    while size < megabytes * 1e6:
        for line in source:
            lines.append(PLANTED if len(lines) % 500 == 499 else line)
            size += len(line) + 1
    return [line + "\n" for line in lines]


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    lines = transcript_lines(args.megabytes)
    text = "".join(lines)
    raw_lines = [line.encode() for line in lines]
    mb = len(text.encode()) / 1e6
    redactor = Redactor([SECRET])
    one_shape = re.compile(r"ghp_[A-Za-z0-9]{36}")

    redacted = redactor.redact(text)
    planted = sum(1 for line in lines if line is PLANTED or line == PLANTED + "\n")
    assert "ghp_Zq8" not in redacted and SECRET not in redacted and "MIIEow" not in redacted
    assert redacted.count("[REDACTED:private-key]") == planted

    def copy_lines() -> None:
        sink = io.BytesIO()
        for raw in raw_lines:
            sink.write(raw)

    def redact_lines() -> None:
        sink = io.BytesIO()
        stream = redactor.lines()
        for raw in raw_lines:
            line = stream.redact(raw.decode("utf-8", "surrogateescape"))
            sink.write(line.encode("utf-8", "surrogateescape"))

    measures = {
        "copy": median_seconds(lambda: (text + " ")[:-1], args.rounds),
        "one_shape": median_seconds(lambda: one_shape.sub("[REDACTED]", text), args.rounds),
        "redact": median_seconds(lambda: redactor.redact(text), args.rounds),
        "copy_lines": median_seconds(copy_lines, args.rounds),
        "redact_lines": median_seconds(redact_lines, args.rounds),
    }
    speed = {name: mb / seconds for name, seconds in measures.items()}
    print(
        f"## redaction ({mb:.1f} MB, {len(lines)} lines, {planted} planted leaks, median of "
        f"{args.rounds})"
    )
    print("| measure | agentpr (MB/s) | baseline (MB/s) | ratio (time) |")
    print("|---|---|---|---|")
    for ours, base, label in (
        ("redact", "copy", "whole text vs `str` copy"),
        ("redact", "one_shape", "whole text vs one-shape `re.sub`"),
        ("redact_lines", "copy_lines", "line by line (the transcript pump) vs plain line copy"),
    ):
        print(
            f"| {label} | {speed[ours]:.1f} | {speed[base]:.1f} | "
            f"{measures[ours] / measures[base]:.1f}x |"
        )


if __name__ == "__main__":
    main()
