"""The string forms `campaign start` takes for a rollout window (`--window "mon-fri 09:00-17:00"`)
and a failure threshold (`--failure-threshold 5/10`), read into the spec's own models. The spec
file writes both as mappings; these are for the command line only, and a bad value is one line
naming the flag and the form it wants."""

from __future__ import annotations

import re
from typing import get_args

from common.errors import UsageError
from contracts.campaign import FailureThreshold, RolloutWindow, Weekday

DAYS: tuple[Weekday, ...] = get_args(Weekday)
WINDOW_FORM = "DAYS HH:MM-HH:MM, e.g. 'mon-fri 09:00-17:00' or 'sat,sun 10:00-14:00'"
_WINDOW = re.compile(r"^\s*(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
_TIME = re.compile(r"^(\d{1,2}):([0-5]\d)$")
_THRESHOLD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_window(text: str) -> RolloutWindow:
    """`mon-fri 09:00-17:00`: days as names, ranges (`fri-mon` wraps the weekend) or both,
    comma-separated; the end may be written 24:00 (the spec's 00:00)."""
    match = _WINDOW.match(text)
    if match is None:
        raise UsageError(f"--window {text!r}: expected {WINDOW_FORM}")
    days_text, start, end = match.groups()
    return RolloutWindow(
        days=_days(text, days_text),
        start=_clock(text, start, end=False),
        end=_clock(text, end, end=True),
    )


def _days(text: str, days_text: str) -> list[Weekday]:
    days: list[Weekday] = []
    for part in days_text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise UsageError(
                f"--window {text!r}: unknown day in {part!r} (days: {', '.join(DAYS)})"
            )
        at, until = DAYS.index(first), DAYS.index(last or first)
        span = (until - at) % len(DAYS)
        days += [DAYS[(at + step) % len(DAYS)] for step in range(span + 1)]
    return list(dict.fromkeys(days))  # as written, each day once


def _clock(text: str, value: str, end: bool) -> str:
    match = _TIME.match(value)
    hour = int(match.group(1)) if match else 99
    if end and value == "24:00":
        return "00:00"
    if match is None or hour > 23:
        raise UsageError(f"--window {text!r}: {value!r} is not a time of day (00:00 to 23:59)")
    return f"{hour:02d}:{match.group(2)}"


def parse_failure_threshold(text: str) -> FailureThreshold:
    """`5/10`: pause the campaign when 5 of the last 10 runs to reach an outcome failed."""
    match = _THRESHOLD.match(text)
    if match is None:
        raise UsageError(
            f"--failure-threshold {text!r}: expected MAX/RECENT, e.g. 5/10 (pause when 5 of "
            "the last 10 runs failed)"
        )
    max_failures, recent = int(match.group(1)), int(match.group(2))
    if not 1 <= max_failures <= recent:
        raise UsageError(f"--failure-threshold {text!r}: MAX/RECENT needs 1 <= MAX <= RECENT")
    return FailureThreshold(max_failures=max_failures, recent=recent)
