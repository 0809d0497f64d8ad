"""`agentpr inspect-run`'s timeline from one record (no Temporal): stays, time per state,
agent stages, cost and the next action."""

from __future__ import annotations

from datetime import timedelta

from contracts.states import RunState
from contracts.vocabulary import Actor, Verdict
from insight.timeline import run_timeline
from standins.run_records import run_record
from tests.insight.test_stats import NOW, W, at, failed_run, merged_run

S = RunState


def test_each_change_shows_how_long_the_run_then_stayed() -> None:
    timeline = run_timeline(merged_run(1, 10), NOW)
    assert [(e.command, e.to_state, e.stayed_s) for e in timeline.entries] == [
        ("create-run", "QUEUED", 60),
        ("start-implementation", "IMPLEMENTING", 600),
        ("mark-local-validated", "LOCAL_VALIDATING", 60),
        ("run-finish", "PUSHED", 60),
        ("approve-open-pr", "CI_WAIT", 3600),
        ("github:pr_closed", "DONE", None),
    ]
    assert timeline.time_by_state[0].step == "CI_WAIT"
    assert timeline.elapsed_s == 73 * 60  # created to merged
    assert timeline.next_action == "nothing: the run is finished"
    assert timeline.pr_url == "https://github.com/acme/repo1/pull/1"


def test_a_waiting_run_counts_up_to_now_and_says_what_to_do() -> None:
    timeline = run_timeline(failed_run(2, "tests_failing"), NOW)
    last = timeline.entries[-1]
    assert last.open and last.stayed_s == (NOW - at(11)).total_seconds()
    # Still where its grade left it: the grade's advice, with the run id filled in.
    assert timeline.next_action == "read the agent report (tests_failing)"
    assert timeline.cost.tokens_total == 600 and timeline.cost.total_usd is None


def test_a_run_moved_since_its_grade_gets_the_state_advice() -> None:
    record = run_record(
        "w.9",
        "acme/repo9",
        [
            ("create-run", S.QUEUED, W, at(0), None),
            ("start-implementation", S.IMPLEMENTING, W, at(1), None),
            ("pause", S.PAUSED, Actor.CLI, at(30), "lunch"),
            ("pause", S.PAUSED, Actor.CLI, at(31), None),  # a recorded no-op
        ],
        grade=(Verdict.PASS, "tests_passed"),
        graded_at=at(20),
    )
    timeline = run_timeline(record, at(90))
    assert timeline.next_action == "resume it: agentpr resume --run-id w.9 --target-state <state>"
    noop = timeline.entries[-1]
    assert noop.from_state == noop.to_state == "PAUSED" and noop.stayed_s is None
    paused = timeline.entries[-2]
    assert paused.open and paused.stayed_s == timedelta(minutes=60).total_seconds()
    assert paused.reason == "lunch"
