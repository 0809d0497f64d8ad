"""`agentpr stats` numbers from tables of run records (no Temporal): pass rate, verdicts, reason
codes, where the time goes, the funnel and the cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.run import RunRecord
from contracts.states import RunState
from contracts.vocabulary import Actor, Verdict
from insight.durations import parse_duration, spoken
from insight.facts import run_facts
from insight.stats import InsightStats, summarize
from standins.run_records import run_record

S = RunState
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=10)
W = Actor.WORKFLOW


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def merged_run(n: int, implementing_minutes: float, tokens: int = 1000) -> RunRecord:
    return run_record(
        f"w.{n}",
        f"acme/repo{n}",
        [
            ("create-run", S.QUEUED, W, at(0), None),
            ("start-implementation", S.IMPLEMENTING, W, at(1), None),
            ("mark-local-validated", S.LOCAL_VALIDATING, W, at(1 + implementing_minutes), None),
            ("run-finish", S.PUSHED, W, at(2 + implementing_minutes), None),
            ("approve-open-pr", S.CI_WAIT, Actor.CLI, at(3 + implementing_minutes), None),
            ("github:pr_closed", S.DONE, Actor.WEBHOOK, at(63 + implementing_minutes), None),
        ],
        campaign="w",
        grade=(Verdict.PASS, "tests_passed"),
        stages=[("implement", "", implementing_minutes * 60)],
        tokens=(tokens, 0),
        pr_number=n,
    )


def failed_run(n: int, code: str, verdict: Verdict = Verdict.HUMAN_REVIEW) -> RunRecord:
    target = S.NEEDS_HUMAN_REVIEW if verdict == Verdict.HUMAN_REVIEW else S.FAILED_RETRYABLE
    return run_record(
        f"w.{n}",
        f"acme/repo{n}",
        [
            ("create-run", S.QUEUED, W, at(0), None),
            ("start-implementation", S.IMPLEMENTING, W, at(1), None),
            ("run-agent-step", target, W, at(11), code),
        ],
        campaign="w",
        grade=(verdict, code),
        stages=[("implement", "", 600)],
        tokens=(500, 100),
    )


def skipped_run(n: int) -> RunRecord:
    return run_record(
        f"w.{n}",
        f"acme/repo{n}",
        [
            ("create-run", S.QUEUED, W, at(0), None),
            ("maintainer-policy", S.SKIPPED, W, at(0.5), "ai_banned"),
        ],
        campaign="w",
    )


def stats_of(records: list[RunRecord]) -> InsightStats:
    return summarize((run_facts(r, NOW) for r in records), campaign="w")


def test_pass_rate_verdicts_and_reasons_count_each_run_once() -> None:
    records = [
        merged_run(1, 10),
        merged_run(2, 20),
        failed_run(3, "tests_failing"),
        failed_run(4, "tests_failing"),
        failed_run(5, "quota_exhausted", Verdict.RETRYABLE),
        skipped_run(6),
    ]
    stats = stats_of(records)
    assert stats.runs == 6 and stats.graded == 5
    assert stats.pass_rate == 0.4
    assert stats.verdicts == {"HUMAN_REVIEW": 2, "PASS": 2, "RETRYABLE": 1, "ungraded": 1}
    assert [(r.reason, r.verdict, r.runs) for r in stats.top_reasons][2:] == [
        ("quota_exhausted", "RETRYABLE", 1)
    ]
    assert {(r.reason, r.verdict, r.runs) for r in stats.top_reasons[:2]} == {
        ("tests_failing", "HUMAN_REVIEW", 2),
        ("tests_passed", "PASS", 2),
    }
    assert [(r.reason, r.runs) for r in stats.stopped_short] == [
        ("tests_failing", 2),
        ("quota_exhausted", 1),
        ("maintainer-policy", 1),
    ]


def test_step_times_show_where_the_time_goes() -> None:
    stats = stats_of([merged_run(n, minutes) for n, minutes in enumerate([10, 20, 30, 40], 1)])
    steps = {row.step: row for row in stats.steps}
    # CI took an hour each time: the most time in total, first.
    assert stats.steps[0].step == "CI_WAIT" and steps["CI_WAIT"].p50_s == 3600
    implementing = steps["IMPLEMENTING"]
    assert (implementing.stays, implementing.p50_s, implementing.p95_s) == (4, 1200, 2400)
    assert implementing.total_s == 6000 and implementing.open == 0
    assert "DONE" not in steps  # a finished run spends no time in its final state
    assert [(row.step, row.p50_s) for row in stats.agent_steps] == [("implement", 1200)]


def test_runs_still_waiting_count_their_stay_up_to_now() -> None:
    waiting = failed_run(1, "tests_failing")
    steps = {row.step: row for row in stats_of([waiting]).steps}
    review = steps["NEEDS_HUMAN_REVIEW"]
    assert review.open == 1 and review.p50_s == (NOW - at(11)).total_seconds()


def test_funnel_follows_runs_from_target_to_merge() -> None:
    closed = merged_run(7, 5).model_copy(deep=True)
    closed.history[-1].to_state = S.NEEDS_HUMAN_REVIEW  # the PR was closed, not merged
    closed.state = S.NEEDS_HUMAN_REVIEW
    stats = stats_of([merged_run(1, 10), failed_run(2, "tests_failing"), skipped_run(3), closed])
    funnel = stats.funnel
    assert (funnel.targeted, funnel.skipped, funnel.pushed, funnel.pr_opened, funnel.merged) == (
        4,
        1,
        2,
        2,
        1,
    )
    assert funnel.closed_unmerged == 1
    assert funnel.landed is None  # no run has had its landing checked
    assert ("PR closed unmerged", 1) in [(r.reason, r.runs) for r in stats.stopped_short]


def test_cost_without_prices_shows_tokens_per_run_and_per_merged_pr() -> None:
    unpriced = {"unpriced_agent_steps": 1}  # no price in the policy for their model
    stats = stats_of(
        [
            merged_run(1, 10, tokens=3000).model_copy(update=unpriced),
            merged_run(2, 10, tokens=1000).model_copy(update=unpriced),
        ]
    )
    cost = stats.cost
    assert cost.total_usd is None and cost.note.startswith("not priced")
    assert (cost.tokens_total, cost.tokens_per_run, cost.tokens_per_merged_pr) == (
        4000,
        2000,
        2000,
    )


def test_cost_in_money_where_records_are_priced() -> None:
    priced = [
        merged_run(1, 10).model_copy(update={"cost_usd": 1.5}),
        failed_run(2, "tests_failing").model_copy(update={"cost_usd": 0.5}),
    ]
    cost = stats_of(list(priced)).cost
    assert (cost.priced_runs, cost.total_usd, cost.per_run_usd, cost.per_merged_pr_usd) == (
        2,
        2.0,
        1.0,
        2.0,
    )
    assert cost.note == ""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("12h", 43_200), ("7d", 604_800), ("2w", 1_209_600), (" 90S ", 90)],
)
def test_since_takes_a_number_and_a_unit(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["7", "d", "7 days", "-1d", "0h", "1.5h", "7y", ""])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="30m, 12h, 7d"):
        parse_duration(text)


def test_durations_read_like_a_person_says_them() -> None:
    assert [spoken(s) for s in (4.25, 42, 190, 18_120, 273_600, None)] == [
        "4.2s",
        "42s",
        "3m10s",
        "5h02m",
        "3d04h",
        "-",
    ]
