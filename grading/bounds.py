"""Bounds on what evidence keeps, so grading a transcript of any size takes bounded memory and
work: clipped lines, capped lists, and the head and tail window of an output that is scanned."""

from __future__ import annotations

import re

MAX_LINES = 50  # per evidence list


TAIL = 400


# Output is scanned only at its head and tail: errors that matter (command not found, permission
# denied, network failures, test summaries) are printed there, and the work per command stays
# bounded however large the output is.
_SCAN_HEAD = 4_000


SCAN_TAIL = 8_000


def add_line(lines: list[str], line: str) -> None:
    if len(lines) < MAX_LINES and line not in lines:
        lines.append(line)


def clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scan_window(output: str) -> str:
    if len(output) <= _SCAN_HEAD + SCAN_TAIL:
        return output
    return output[:_SCAN_HEAD] + "\n" + output[-SCAN_TAIL:]


def line_at(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return clip(text[start : end if end != -1 else len(text)], 300)
