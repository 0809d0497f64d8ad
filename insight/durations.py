"""Durations as operators type them (`--since 7d`, `12h`, `30m`, `90s`) and as they read them."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta:
    """`7d` → 7 days. Raises ValueError with the accepted forms (the door words it)."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration; use a positive number and a unit: 30m, 12h, 7d, 2w"
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])


def spoken(seconds: float | None) -> str:
    """A duration the way a person reads it: 42s, 3m10s, 5h02m, 3d04h."""
    if seconds is None:
        return "-"
    whole = int(round(seconds))
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
