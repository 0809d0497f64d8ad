"""Where a check, a review or a merge moves a run."""

from __future__ import annotations

import pytest

from contracts import (
    AgentStepRequest,
    CheckConclusion,
    CiBaseline,
    GitHubEvent,
    ReviewState,
    RunMode,
)
from contracts.states import RunState
from tests.workflows.rules.records import record, workspace
from workflows.rules.github_facts import (
    ci_waiting_on,
    fact_starts_iteration,
    fact_summary,
    fact_targets,
    head_checks_after,
    human_takeover,
    pre_existing_failure,
    push_undecided,
    remember_push,
    stale_commit,
    untrusted_author,
)
from workflows.rules.iteration import can_iterate
from workflows.rules.transitions import refuse_after_takeover

S = RunState


def check(
    conclusion: CheckConclusion, kind: str = "check_run", head_sha: str | None = "a" * 40
) -> GitHubEvent:
    return GitHubEvent(
        delivery_id="d1",
        kind=kind,
        repo="demo/calc",
        pr_number=7,  # type: ignore[arg-type]
        head_sha=head_sha,
        name="ci",
        conclusion=conclusion,
    )


def review(state: ReviewState, association: str | None = "MEMBER") -> GitHubEvent:
    return GitHubEvent(
        delivery_id="d2",
        kind="review",
        repo="demo/calc",
        pr_number=7,
        review_state=state,
        review_id=3,
        author="octocat",
        author_association=association,
    )


def closed(merged: bool) -> GitHubEvent:
    return GitHubEvent(
        delivery_id="d3", kind="pr_closed", repo="demo/calc", pr_number=7, merged=merged
    )


@pytest.mark.parametrize(
    ("state", "event", "targets"),
    [
        (S.CI_WAIT, check(CheckConclusion.FAILURE), [S.ITERATING]),
        (S.REVIEW_WAIT, check(CheckConclusion.TIMED_OUT), [S.ITERATING]),
        (S.CI_WAIT, check(CheckConclusion.SUCCESS), []),  # one green check is not the suite
        (S.CI_WAIT, check(CheckConclusion.SUCCESS, "check_suite"), [S.REVIEW_WAIT]),
        (S.REVIEW_WAIT, check(CheckConclusion.SUCCESS, "check_suite"), []),
        (S.CI_WAIT, check(CheckConclusion.FAILURE, "check_suite"), [S.ITERATING]),
        (S.IMPLEMENTING, check(CheckConclusion.FAILURE), []),  # not waiting on GitHub
        (S.REVIEW_WAIT, review(ReviewState.CHANGES_REQUESTED), [S.ITERATING]),
        (S.REVIEW_WAIT, review(ReviewState.APPROVED), []),
        (S.REVIEW_WAIT, closed(merged=True), [S.DONE]),
        (S.CI_WAIT, closed(merged=True), [S.REVIEW_WAIT, S.DONE]),
        (S.CI_WAIT, closed(merged=False), [S.NEEDS_HUMAN_REVIEW]),
        (S.PAUSED, closed(merged=True), []),  # the operator holds it
    ],
)
def test_fact_targets(state: RunState, event: GitHubEvent, targets: list[RunState]) -> None:
    assert fact_targets(record(state), event) == targets


def test_summaries() -> None:
    assert fact_summary(check(CheckConclusion.FAILURE)) == "check ci failure"
    assert fact_summary(check(CheckConclusion.SUCCESS, "check_suite")) == "checks success"
    assert fact_summary(review(ReviewState.APPROVED)) == "review approved by octocat"
    assert fact_summary(closed(True)) == "PR merged"
    assert fact_summary(closed(False)) == "PR closed unmerged"


@pytest.mark.parametrize(
    ("mode", "ready", "targets", "starts"),
    [
        (RunMode.AUTO, True, [S.ITERATING], True),
        (RunMode.MANUAL, True, [S.ITERATING], False),  # an operator asks for iterations
        (RunMode.AUTO, False, [S.ITERATING], False),  # nothing to run again
        (RunMode.AUTO, True, [S.REVIEW_WAIT], False),
        (RunMode.AUTO, True, [], False),
    ],
)
def test_fact_starts_iteration(
    mode: RunMode, ready: bool, targets: list[RunState], starts: bool
) -> None:
    fields = (
        {"workspace": workspace(), "pr_number": 7, "agent_request": AgentStepRequest(prompt="p")}
        if ready
        else {}
    )
    assert fact_starts_iteration(record(S.CI_WAIT, mode=mode, **fields), targets) is starts


HEAD, OLD = "a" * 40, "b" * 40


@pytest.mark.parametrize(
    ("head", "event", "stale"),
    [
        (HEAD, check(CheckConclusion.FAILURE), None),
        (HEAD, check(CheckConclusion.FAILURE, head_sha=OLD), "stale: about bbbbbbbbbbbb"),
        (HEAD, check(CheckConclusion.SUCCESS, "check_suite", OLD), "stale: about bbbbbbbbbbbb"),
        (HEAD, check(CheckConclusion.FAILURE, head_sha=None), "stale: about no commit"),
        (None, check(CheckConclusion.FAILURE, head_sha=OLD), None),  # nothing to compare with
        (HEAD, review(ReviewState.CHANGES_REQUESTED), None),  # reviews are about the PR
        (HEAD, closed(merged=True), None),
    ],
)
def test_only_facts_about_the_head_commit_count(
    head: str | None, event: GitHubEvent, stale: str | None
) -> None:
    found = stale_commit(record(S.CI_WAIT, head_sha=head), event)
    if stale is None:
        assert found is None
    else:
        assert found is not None and found.startswith(stale)
        assert found.endswith("the PR's head is aaaaaaaaaaaa")


@pytest.mark.parametrize(
    ("association", "standing"),
    [
        ("OWNER", True),
        ("MEMBER", True),
        ("COLLABORATOR", True),
        ("CONTRIBUTOR", False),
        ("FIRST_TIME_CONTRIBUTOR", False),
        ("NONE", False),
        (None, False),  # fail closed
    ],
)
def test_only_reviews_by_people_with_standing_steer(
    association: str | None, standing: bool
) -> None:
    why = untrusted_author(
        record(S.REVIEW_WAIT), review(ReviewState.CHANGES_REQUESTED, association)
    )
    assert (why is None) == standing
    if why is not None:
        assert why.startswith("untrusted: review by octocat")


def test_the_policy_names_who_is_trusted() -> None:
    from contracts import RunPolicy

    strict = record(S.REVIEW_WAIT, policy=RunPolicy(trusted_associations=["OWNER"]))
    assert untrusted_author(strict, review(ReviewState.CHANGES_REQUESTED, "MEMBER")) is not None
    assert untrusted_author(strict, check(CheckConclusion.FAILURE)) is None  # not a review


def pushed(head: str, author: str | None = "mia") -> GitHubEvent:
    return GitHubEvent(
        delivery_id="d9", kind="pushed", repo="demo/calc", pr_number=7, head_sha=head,
        author=author,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("head", "ours", "takeover"),
    [
        ("a" * 40, ["a" * 40], False),  # our current head
        ("b" * 40, ["b" * 40, "a" * 40], False),  # an earlier push of ours, seen late
        ("c" * 40, ["a" * 40], True),  # a commit agentpr never pushed
    ],
)
def test_human_takeover(head: str, ours: list[str], takeover: bool) -> None:
    run = record(S.CI_WAIT, pr_number=7, head_sha="a" * 40)
    for sha in ours:
        remember_push(run, sha)
    reason = human_takeover(run, pushed(head))
    assert (reason is not None) == takeover
    if takeover:
        assert reason and reason.startswith("human takeover: mia pushed cccccccccccc")


def test_no_takeover_without_a_head_of_ours_or_for_other_facts() -> None:
    assert human_takeover(record(S.CI_WAIT, pr_number=7), pushed("c" * 40)) is None
    run = record(S.CI_WAIT, pr_number=7, head_sha="a" * 40)
    assert human_takeover(run, check(CheckConclusion.FAILURE, head_sha="c" * 40)) is None


@pytest.mark.parametrize(
    ("state", "undecided"),
    [(S.CI_WAIT, False), (S.REVIEW_WAIT, False), (S.ITERATING, True), (S.PUSHED, True),
     (S.PAUSED, True)],
)  # fmt: skip
def test_a_new_head_is_judged_only_while_the_run_waits(state: RunState, undecided: bool) -> None:
    assert push_undecided(record(state, pr_number=7), pushed("c" * 40)) == undecided


def test_after_a_takeover_nothing_automates_the_pr() -> None:
    run = record(
        S.NEEDS_HUMAN_REVIEW, mode=RunMode.AUTO, workspace=workspace(), pr_number=7,
        agent_request=AgentStepRequest(prompt="p"), taken_over_by="mia",
    )  # fmt: skip
    assert not can_iterate(run)
    assert not fact_starts_iteration(run, [S.ITERATING])
    refused = refuse_after_takeover("retry", run, S.ITERATING)
    assert refused and "mia took over PR #7" in refused.message
    assert refuse_after_takeover("retry", run, S.REVIEW_WAIT) is None


def on_head(conclusion: CheckConclusion | None, name: str = "ci", kind: str = "check_run"):  # type: ignore[no-untyped-def]
    return GitHubEvent(
        delivery_id="d", kind=kind, repo="demo/calc", pr_number=7, head_sha="a" * 40,  # type: ignore[arg-type]
        name=name, conclusion=conclusion,
    )  # fmt: skip


def waiting_run(checks: dict[str, str], baseline: CiBaseline | None = None, sha: str = "a" * 40):  # type: ignore[no-untyped-def]
    return record(
        S.CI_WAIT, pr_number=7, head_sha="a" * 40, head_checks=checks, head_checks_sha=sha,
        ci_baseline=baseline,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("checks", "event", "targets"),
    [
        # A green suite with a check still pending is not green.
        ({"lint": "success", "tests": "pending"}, on_head(CheckConclusion.SUCCESS, kind="check_suite"), []),
        # The last pending check concludes after the suite: now it is.
        ({"lint": "success", "tests": "pending", "suite": "success"}, on_head(CheckConclusion.SUCCESS, "tests"), [S.REVIEW_WAIT]),
        ({"lint": "success"}, on_head(CheckConclusion.SUCCESS, kind="check_suite"), [S.REVIEW_WAIT]),
        # Late `created` for a check that already concluded does not make it pending again.
        ({"lint": "success", "suite": "success"}, on_head(None, "lint"), [S.REVIEW_WAIT]),
        ({"lint": "neutral", "docs": "skipped"}, on_head(CheckConclusion.SUCCESS, kind="check_suite"), [S.REVIEW_WAIT]),
        ({"lint": "stale"}, on_head(CheckConclusion.SUCCESS, kind="check_suite"), []),
    ],
)  # fmt: skip
def test_green_means_every_check_on_the_head(
    checks: dict[str, str], event: GitHubEvent, targets: list[RunState]
) -> None:
    assert fact_targets(waiting_run(checks), event) == targets


def test_after_a_push_nothing_is_green_until_the_new_head_reports() -> None:
    run = waiting_run({"lint": "success", "suite": "success"}, sha="b" * 40)  # the old head's
    assert head_checks_after(run, on_head(None, "tests")) == {"tests": "pending"}
    assert ci_waiting_on(run, {}) == ["no check has reported on the head yet"]


def test_required_checks_from_branch_protection() -> None:
    baseline = CiBaseline(required_checks=["tests", "lint"], protection_readable=True)
    run = waiting_run({"lint": "success"}, baseline)
    assert fact_targets(run, on_head(CheckConclusion.SUCCESS, kind="check_suite")) == []
    assert ci_waiting_on(run, {"lint": "success"}) == ["tests (required) has not reported"]
    assert fact_targets(run, on_head(CheckConclusion.SUCCESS, "tests")) == [S.REVIEW_WAIT]


def test_failures_already_on_the_base_branch_are_pre_existing() -> None:
    baseline = CiBaseline(base_sha="c" * 40, failing_checks=["flaky-e2e"])
    run = waiting_run({"lint": "success", "flaky-e2e": "failure"}, baseline)
    reason = pre_existing_failure(run, on_head(CheckConclusion.FAILURE, "flaky-e2e"))
    assert reason == "pre-existing: flaky-e2e already failed on cccccccccccc before this change"
    assert pre_existing_failure(run, on_head(CheckConclusion.FAILURE, "lint")) is None
    assert pre_existing_failure(run, on_head(CheckConclusion.SUCCESS, "flaky-e2e")) is None
    # It does not block green either.
    assert fact_targets(run, on_head(CheckConclusion.SUCCESS, kind="check_suite")) == [
        S.REVIEW_WAIT
    ]


def test_before_the_patch_one_green_suite_was_enough() -> None:
    run = waiting_run({"tests": "pending"})
    event = on_head(CheckConclusion.SUCCESS, kind="check_suite")
    assert fact_targets(run, event, fail_closed_ci=False) == [S.REVIEW_WAIT]


@pytest.mark.parametrize(
    ("state", "landed", "target"),
    [
        (RunState.NEEDS_HUMAN_REVIEW, True, RunState.DONE),  # closed, applied another way
        (RunState.NEEDS_HUMAN_REVIEW, False, None),  # closed and not applied: a person decides
        (RunState.NEEDS_HUMAN_REVIEW, None, None),  # the check could not run
        (RunState.DONE, True, None),  # merged: done already
        (RunState.DONE, False, None),  # merged then reverted: shown, moves nothing
        (RunState.ITERATING, True, None),  # an operator moved the run meanwhile
    ],
)  # fmt: skip
def test_where_a_landing_check_leaves_the_run(
    state: RunState, landed: bool | None, target: RunState | None
) -> None:
    from contracts import LandedCheck
    from workflows.rules.github_facts import landing_target

    check = LandedCheck(landed=landed, how="found" if landed else "absent")
    assert landing_target(record(state), check) == target
