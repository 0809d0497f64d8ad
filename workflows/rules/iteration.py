"""Iteration on a failing PR: whether a run can iterate, what the agent is told, and when a
person has to decide instead."""

from __future__ import annotations

from contracts import GitHubFactRecord, RunPolicy, RunRecord
from workflows.rules.quoted_feedback import quoted_feedback

# How a held-back fact's outcome starts (github_facts.py): recorded for the operator, never
# quoted to an agent.
HELD_BACK_OUTCOMES = ("stale:", "untrusted:", "pre-existing:")


def can_iterate(record: RunRecord) -> bool:
    """An iteration runs the last agent step again in the same workspace, for the run's PR."""
    return (
        record.taken_over_by is None  # a person pushed to the PR: theirs now
        and record.agent_request is not None
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


def feeds_agent(fact: GitHubFactRecord) -> bool:
    """Whether a fact is feedback for the next iteration: a failing check on the head, or a
    review or comment by someone with standing. Facts held back (about another commit, or by
    someone the repository does not trust) never reach an agent."""
    if not fact.reaches_agent or fact.outcome.startswith(HELD_BACK_OUTCOMES):
        return False
    return (
        fact.outcome.endswith("ITERATING")
        or "failure" in fact.summary
        or "changes_requested" in fact.summary
        or fact.summary.startswith("comment")
    )


def iteration_feedback(record: RunRecord) -> str:
    """GitHub's feedback for the next iteration, cleaned and fenced (quoted_feedback.py)."""
    feedback = [
        fact.summary + (f": {fact.detail}" if fact.detail else "")
        for fact in record.github_facts
        if feeds_agent(fact)
    ]
    return quoted_feedback(feedback[-10:])


def iteration_prompt(record: RunRecord) -> str:
    """The task first, then GitHub's feedback quoted as data below it (quoted_feedback.py)."""
    assert record.agent_request is not None
    lines = [
        f"Iteration {record.iterations} on pull request #{record.pr_number} "
        f"({record.pr_url or record.full_name}).",
        "The pull request needs changes: address the feedback quoted below, keep the change "
        "minimal, and run the tests again.",
        "",
        "The original task:",
        record.agent_request.prompt or "(a command step)",
        "",
        iteration_feedback(record),
    ]
    return "\n".join(lines)
