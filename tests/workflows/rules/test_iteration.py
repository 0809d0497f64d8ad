"""Iteration: when it can run, what the agent is told, and the retry cap."""

from __future__ import annotations

from contracts import AgentStepRequest, GitHubFactRecord
from contracts.policy import RunPolicy
from contracts.states import RunState
from tests.workflows.rules.records import NOW, record, workspace
from workflows.rules.iteration import can_iterate, iteration_prompt, retry_cap_reason


def iterating(**fields: object) -> object:
    return record(
        RunState.ITERATING,
        workspace=workspace(),
        pr_number=8,
        agent_request=AgentStepRequest(prompt="Add Forge."),
        **fields,
    )


def test_can_iterate_needs_a_step_a_workspace_and_a_pr() -> None:
    assert can_iterate(iterating())  # type: ignore[arg-type]
    assert not can_iterate(record(RunState.ITERATING, workspace=workspace(), pr_number=8))
    assert not can_iterate(
        record(RunState.ITERATING, pr_number=8, agent_request=AgentStepRequest(prompt="p"))
    )


def test_retry_cap() -> None:
    run = iterating(iterations=2)
    assert retry_cap_reason(run, RunPolicy(retry_cap=2)) is None  # type: ignore[arg-type]
    run = iterating(iterations=3)
    assert retry_cap_reason(run, RunPolicy(retry_cap=2)) == (  # type: ignore[arg-type]
        "retry cap reached: 2 iteration(s) did not get the PR green (policy retry_cap 2)"
    )


def test_the_prompt_lists_the_failures_then_the_task() -> None:
    facts = [
        GitHubFactRecord(
            fact_key=f"k{i}",
            delivery_id="d",
            source="webhook",
            summary=summary,
            outcome=outcome,
            at=NOW,
            detail=detail,
        )
        for i, (summary, outcome, detail) in enumerate(
            [
                ("check lint failure", "ITERATING", "E501 line too long"),
                ("review approved", "recorded", ""),
                ("review changes_requested", "ITERATING", "please add a test"),
            ]
        )
    ]
    prompt = iteration_prompt(iterating(iterations=1, github_facts=facts))  # type: ignore[arg-type]
    assert prompt.splitlines()[0] == "Iteration 1 on pull request #8 (demo/calc)."
    assert "- check lint failure: E501 line too long" in prompt
    assert "- review changes_requested: please add a test" in prompt
    assert "review approved" not in prompt
    assert prompt.endswith("The original task:\nAdd Forge.")
