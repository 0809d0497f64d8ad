"""`campaign apply`'s plan, as tables: what a new spec does to a campaign's runs."""

from __future__ import annotations

import pytest

from contracts import (
    AgentStepRequest,
    AutoPlan,
    CampaignRepo,
    CampaignSpec,
    Engine,
    RunProgress,
)
from contracts.states import RunState
from workflows.rules.campaign_apply import next_repos, plan_apply, render_template

S = RunState


def spec(repos: list[str], **plan: object) -> CampaignSpec:
    step = AgentStepRequest(engine=Engine.COMMAND, command=str(plan.pop("command", "true")))
    return CampaignSpec(
        name="w",
        repos=[CampaignRepo(owner=r.split("/")[0], repo=r.split("/")[1]) for r in repos],
        plan=AutoPlan(step=step, **plan),  # type: ignore[arg-type]
    )


def run(repo: str, state: RunState, pr: int | None = None, by: str | None = None) -> RunProgress:
    return RunProgress(
        run_id=f"w.{repo.replace('/', '.')}",
        repo=repo,
        state=state,
        pr_number=pr,
        taken_over_by=by,
    )


RUNS = [
    run("o/open", S.CI_WAIT, pr=1),
    run("o/human", S.REVIEW_WAIT, pr=2, by="alice"),
    run("o/merged", S.DONE, pr=3),
    run("o/early", S.DISCOVERY),
    run("o/pushed", S.PUSHED),
]
STARTED = [r.repo for r in RUNS]


def plan_for(new: CampaignSpec, old_repos: list[str] | None = None) -> object:
    old = spec(old_repos or [*STARTED, "o/waiting"])
    runs = {r.run_id: r for r in RUNS}
    return plan_apply(old, new, len(STARTED), runs, {r.repo: r.run_id for r in RUNS})


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        # The same spec: nothing to do.
        (spec([*STARTED, "o/waiting"]), {}),
        # A new PR title: open PRs nobody took over; the taken-over one is named, untouched.
        (
            spec([*STARTED, "o/waiting"], pr_title="feat: Forge for {repo}"),
            {
                "changed": ["plan.pr_title"],
                "pr_updates": ["w.o.open"],
                "taken_over": ["w.o.human (by alice)"],
            },
        ),
        # Removed: a running run is cancelled, a merged one left, a waiting one dropped.
        (
            spec(["o/human", "o/early", "o/pushed", "o/new"]),
            {
                "changed": ["repos"],
                "added": ["o/new"],
                "removed": ["o/open", "o/merged", "o/waiting"],
                "cancelled": ["w.o.open"],
                "finished": ["w.o.merged"],
            },
        ),
        # A new task: runs before their agent finished re-run; the others keep their work.
        (
            spec([*STARTED, "o/waiting"], command="echo new", validation_command="pytest"),
            {
                "changed": ["plan.step", "plan.validation_command"],
                "reruns": ["w.o.early"],
            },
        ),
    ],
)
def test_the_plan(new: CampaignSpec, expected: dict[str, list[str]]) -> None:
    plan = plan_for(new)
    got = {
        key: value
        for key, value in plan.model_dump(exclude={"name", "applied", "pull_requests"}).items()  # type: ignore[attr-defined]
        if value
    }
    assert got == expected


SPENT = "the campaign has spent $2.40 of its $2.00 cap"
LIFTS = "the money stop lifts ($2.40 spent); runs start again"


@pytest.mark.parametrize(
    ("caps", "stopped", "says", "restored", "stops"),
    [
        # A higher cap, or none, lifts the money stop.
        ((2, 4), SPENT, f"$2.00 → $4.00: {LIFTS}", True, False),
        ((2, None), SPENT, f"$2.00 → none: {LIFTS}", True, False),
        # Raised, but not past what was spent: the stop holds.
        ((2, 2.2), SPENT, "$2.00 → $2.20: the money stays spent (the campaign has spent $2.40 of its $2.20 cap)", False, False),  # noqa: E501
        # Lowered below what was spent: the campaign stops now.
        ((4, 2), None, "$4.00 → $2.00: the campaign has spent $2.40 of its $2.00 cap; the campaign stops", False, True),  # noqa: E501
        ((4, 5), None, "$4.00 → $5.00 ($2.40 spent)", False, False),
    ],
)  # fmt: skip
def test_the_plan_says_what_a_changed_money_cap_does(
    caps: tuple[float, float | None], stopped: str | None, says: str, restored: bool, stops: bool
) -> None:
    old = spec(STARTED).model_copy(update={"max_cost_usd": caps[0]})
    new = old.model_copy(update={"max_cost_usd": caps[1]})
    plan = plan_apply(old, new, len(STARTED), {}, {}, stopped=stopped, spent=2.4)
    assert (plan.money, plan.money_restored, plan.money_stops) == (
        f"budget.max_cost_usd {says}",
        restored,
        stops,
    )


def test_the_same_money_cap_says_nothing_about_money() -> None:
    old = spec(STARTED).model_copy(update={"max_cost_usd": 2})
    plan = plan_apply(old, old, len(STARTED), {}, {}, stopped=SPENT, spent=2.4)
    assert (plan.money, plan.money_restored, plan.money_stops) == (None, False, False)


def test_next_repos_keeps_started_first_then_reruns_then_the_rest() -> None:
    old = spec(["o/a", "o/b", "o/c", "o/d"])
    new = spec(["o/e", "o/d", "o/b", "o/a"])
    repos, started = next_repos(old, new, 3, rerun=["o/b"])
    assert [r.full_name for r in repos] == ["o/a", "o/b", "o/e", "o/d"]
    assert started == 1


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("feat: Forge for {owner}/{repo}", "feat: Forge for acme/calc"),
        ("on {default_branch} ({language})", "on trunk (python)"),
        ('{{"json": {"a": 1}}} {repo}', '{"json": {"a": 1}} calc'),
        ("{unknown} stays", "{unknown} stays"),
    ],
)
def test_render_template(template: str, expected: str) -> None:
    values = {"owner": "acme", "repo": "calc", "default_branch": "trunk", "language": "python"}
    assert render_template(template, values) == expected
