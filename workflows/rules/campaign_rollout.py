"""Paced rollout, decided: when PR slots may be granted (rollout windows in the campaign's time
zone, PRs per hour), when a campaign pauses itself (too many recent failures), and when its
money is spent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from contracts import CampaignSpec, RolloutWindow
from contracts.states import RunState

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FAILED_STATES = frozenset(
    {
        RunState.NEEDS_HUMAN_REVIEW,
        RunState.FAILED,
        RunState.FAILED_RETRYABLE,
        RunState.FAILED_TERMINAL,
    }
)
# Past these the run's change made it out: an outcome that counts as a success.
SUCCEEDED_STATES = frozenset(
    {RunState.PUSHED, RunState.CI_WAIT, RunState.REVIEW_WAIT, RunState.DONE}
)
HOUR = timedelta(hours=1)


def _minutes(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def _inside(window: RolloutWindow, local: datetime) -> bool:
    start, end = _minutes(window.start), _minutes(window.end)
    now = local.hour * 60 + local.minute
    day = DAYS[local.weekday()]
    if start < end:
        return day in window.days and start <= now < end
    # Past midnight (22:00-06:00) or all day (00:00-00:00): the window started on its day.
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (day in window.days and now >= start) or (yesterday in window.days and now < end)


def window_open(spec: CampaignSpec, now: datetime) -> bool:
    """No windows: any time."""
    if not spec.windows:
        return True
    local = now.astimezone(ZoneInfo(spec.timezone))
    return any(_inside(window, local) for window in spec.windows)


def next_window_opens(spec: CampaignSpec, now: datetime) -> datetime | None:
    """When a window next opens (None: one is open now, or there are none); to the minute,
    at most a week ahead."""
    if window_open(spec, now):
        return None
    zone = ZoneInfo(spec.timezone)
    local = now.astimezone(zone).replace(second=0, microsecond=0)
    starts = []
    for offset in range(8):
        day = local + timedelta(days=offset)
        for window in spec.windows:
            if DAYS[day.weekday()] not in window.days:
                continue
            hours, minutes = divmod(_minutes(window.start), 60)
            start = day.replace(hour=hours, minute=minutes)
            if start > local:
                starts.append(start)
    return min(starts) if starts else None


def grants_this_hour(grants: Iterable[datetime], now: datetime) -> int:
    return sum(1 for at in grants if now - at < HOUR)


def next_grant_allowed(
    spec: CampaignSpec, grants: list[datetime], now: datetime
) -> datetime | None:
    """When the hourly pace lets the next PR slot go (None: now)."""
    if spec.prs_per_hour is None:
        return None
    recent = sorted(at for at in grants if now - at < HOUR)
    if len(recent) < spec.prs_per_hour:
        return None
    return recent[len(recent) - spec.prs_per_hour] + HOUR


def slots_held_back(spec: CampaignSpec, grants: list[datetime], now: datetime) -> str | None:
    """Why no PR slot may be granted now (None: one may)."""
    opens = next_window_opens(spec, now)
    if opens is not None or (spec.windows and not window_open(spec, now)):
        when = f"; next opens {opens:%a %H:%M} {spec.timezone}" if opens else ""
        return f"outside the rollout windows{when}"
    allowed = next_grant_allowed(spec, grants, now)
    if allowed is not None:
        return f"{spec.prs_per_hour} PR(s) per hour reached; next at {allowed:%H:%M} UTC"
    return None


def outcome_of(state: RunState | None) -> bool | None:
    """A run's outcome for the failure threshold: True failed, False succeeded, None not yet."""
    if state in FAILED_STATES:
        return True
    if state in SUCCEEDED_STATES:
        return False
    return None


def failure_threshold_tripped(spec: CampaignSpec, outcomes: list[bool]) -> str | None:
    """Why the campaign pauses itself (None: it goes on): `outcomes` oldest first."""
    threshold = spec.failure_threshold
    if threshold is None:
        return None
    recent = outcomes[-threshold.recent :]
    failed = sum(recent)
    if failed >= threshold.max_failures:
        return (
            f"{failed} of the last {len(recent)} runs failed (threshold {threshold.max_failures} "
            f"of {threshold.recent}): paused; look at them, then `agentpr campaign resume`"
        )
    return None


def money_spent(spec: CampaignSpec, spent: float) -> str | None:
    """Why no new run or agent step starts (None: money is left); `spent`: what the campaign's
    runs spent together (the campaign's ledger keeps the sum)."""
    if spec.max_cost_usd is None:
        return None
    if spent >= spec.max_cost_usd:
        return f"the campaign has spent ${spent:.2f} of its ${spec.max_cost_usd:.2f} cap"
    return None
