"""Iteration on a failing PR: whether a run can iterate, what the agent is told, and when a
person has to decide instead."""

from __future__ import annotations

from contracts import RunRecord
from contracts.policy import RunPolicy


def can_iterate(record: RunRecord) -> bool:
    """An iteration runs the last agent step again in the same workspace, for the run's PR."""
    return (
        record.agent_request is not None
        and record.workspace is not None
        and record.pr_number is not None
    )


def retry_cap_reason(record: RunRecord, policy: RunPolicy) -> str | None:
    """Past the policy's retry cap a human decides; `record.iterations` counts this one."""
    if record.iterations <= policy.retry_cap:
        return None
    return (
        f"retry cap reached: {record.iterations - 1} iteration(s) did not get the PR green "
        f"(policy retry_cap {policy.retry_cap})"
    )


def iteration_prompt(record: RunRecord) -> str:
    assert record.agent_request is not None
    lines = [
        f"Iteration {record.iterations} on pull request #{record.pr_number} "
        f"({record.pr_url or record.full_name}).",
        "The pull request needs changes. Address what follows, keep the change minimal, "
        "and run the tests again.",
        "",
    ]
    facts = [
        f
        for f in record.github_facts
        if f.outcome.endswith("ITERATING")
        or "failure" in f.summary
        or "changes_requested" in f.summary
    ]
    for fact in facts[-10:]:
        lines.append(f"- {fact.summary}" + (f": {fact.detail}" if fact.detail else ""))
    lines += ["", "The original task:", record.agent_request.prompt or "(a command step)"]
    return "\n".join(lines)
