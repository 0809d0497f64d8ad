"""Paced rollout, decided: rollout windows in a time zone (overnight too), the hourly pace, the
failure threshold and the campaign's money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts import (
    AgentStepRequest,
    AutoPlan,
    CampaignRepo,
    CampaignSpec,
    FailureThreshold,
    RolloutWindow,
    RunProgress,
)
from contracts.states import RunState
from workflows.rules.campaign_rollout import (
    failure_threshold_tripped,
    money_spent,
    next_grant_allowed,
    next_window_opens,
    outcome_of,
    slots_held_back,
    window_open,
)

PLAN = AutoPlan(step=AgentStepRequest(engine="command", command="true"))
# Friday 2026-12-04, 16:30 UTC = 17:30 in Berlin (CET, UTC+1).
FRIDAY = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)


def spec(**fields: object) -> CampaignSpec:
    return CampaignSpec(name="wave", repos=[CampaignRepo(owner="o", repo="r")], plan=PLAN, **fields)


OFFICE = RolloutWindow(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00")
NIGHT = RolloutWindow(days=["fri"], start="22:00", end="06:00")


@pytest.mark.parametrize(
    ("windows", "zone", "now", "open_"),
    [
        ([], "UTC", FRIDAY, True),  # no windows: any time
        ([OFFICE], "UTC", FRIDAY, True),  # 16:30 UTC
        ([OFFICE], "Europe/Berlin", FRIDAY, False),  # 17:30 in Berlin
        ([OFFICE], "UTC", FRIDAY + timedelta(days=1), False),  # Saturday
        ([NIGHT], "UTC", FRIDAY + timedelta(hours=6), True),  # Fri 22:30
        ([NIGHT], "UTC", FRIDAY + timedelta(hours=13), True),  # Sat 05:30: Friday's night
        ([NIGHT], "UTC", FRIDAY + timedelta(hours=14), False),  # Sat 06:30
        ([NIGHT], "UTC", FRIDAY - timedelta(days=1, hours=-13), False),  # Fri 05:30: Thu's
    ],
)  # fmt: skip
def test_windows(windows: list, zone: str, now: datetime, open_: bool) -> None:  # type: ignore[type-arg]
    assert window_open(spec(windows=windows, timezone=zone), now) is open_


def test_the_next_window_in_its_time_zone() -> None:
    berlin = spec(windows=[OFFICE], timezone="Europe/Berlin")
    opens = next_window_opens(berlin, FRIDAY)
    assert opens is not None and opens.isoformat() == "2026-12-07T09:00:00+01:00"  # Monday
    assert next_window_opens(spec(windows=[OFFICE]), FRIDAY) is None  # open now
    held = slots_held_back(berlin, [], FRIDAY)
    assert held == "outside the rollout windows; next opens Mon 09:00 Europe/Berlin"


def test_the_hourly_pace() -> None:
    paced = spec(prs_per_hour=2)
    grants = [FRIDAY - timedelta(minutes=50), FRIDAY - timedelta(minutes=10)]
    assert next_grant_allowed(paced, grants, FRIDAY) == FRIDAY + timedelta(minutes=10)
    assert next_grant_allowed(paced, grants[1:], FRIDAY) is None
    assert next_grant_allowed(spec(), grants * 10, FRIDAY) is None  # no pace
    assert slots_held_back(paced, grants, FRIDAY) == "2 PR(s) per hour reached; next at 16:40 UTC"


@pytest.mark.parametrize(
    ("outcomes", "tripped"),
    [
        ([True, True, False], False),
        ([True, False, True, True], True),  # 3 of the last 4
        ([True, True, True, False, False, False, False], False),  # old failures roll off
    ],
)
def test_the_failure_threshold(outcomes: list[bool], tripped: bool) -> None:
    watched = spec(failure_threshold=FailureThreshold(recent=4, max_failures=3))
    why = failure_threshold_tripped(watched, outcomes)
    assert (why is not None) is tripped
    if why:
        assert why.startswith("3 of the last 4 runs failed") and "campaign resume" in why
    assert failure_threshold_tripped(spec(), [True] * 10) is None


def test_outcomes_and_money() -> None:
    assert outcome_of(RunState.NEEDS_HUMAN_REVIEW) is True
    assert outcome_of(RunState.PUSHED) is False
    assert outcome_of(RunState.IMPLEMENTING) is None
    runs = [RunProgress(run_id=f"r{n}", repo="o/r", cost_usd=1.5) for n in range(3)]
    assert money_spent(spec(max_cost_usd=5), sum(r.cost_usd for r in runs)) is None
    assert (
        money_spent(spec(max_cost_usd=4), sum(r.cost_usd for r in runs))
        == "the campaign has spent $4.50 of its $4.00 cap"
    )


def test_bad_rollout_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        spec(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="max_failures cannot exceed recent"):
        FailureThreshold(recent=2, max_failures=3)
    with pytest.raises(ValueError, match="String should match pattern"):
        RolloutWindow(start="25:00")
