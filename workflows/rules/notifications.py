"""What operators are told (Telegram) when a run needs a human, waits for PR approval, or its
PR merged. The workflow schedules the message; a bot delivers it."""

from __future__ import annotations

from contracts import Actor, GitHubEvent, PullRequestAsk, RunRecord
from contracts.states import RunState
from workflows.rules.quoted_feedback import clean_quoted_text

AGENT_STEP = "run-agent-step"


def change_notification(
    record: RunRecord, command: str, reason: str | None, source: RunState, target: RunState
) -> tuple[str, str] | None:
    """(kind, text) for a change worth a message, else None."""
    if target == source:
        return None
    if target == RunState.NEEDS_HUMAN_REVIEW:
        grade = record.grade
        lines = [f"🙋 {record.run_id} ({record.full_name}) needs a human: {reason or command}"]
        if grade and command in (AGENT_STEP, "iterate"):
            lines.append(
                f"verdict {grade.verdict} ({grade.reason_code}); next: {grade.next_action}"
            )
        return "needs_human_review", "\n".join(lines)
    if target == RunState.DONE and command == "github:pr_closed":
        return "pr_merged", (
            f"✅ {record.run_id}: PR #{record.pr_number} merged "
            f"({record.pr_url or record.full_name}); run DONE"
        )
    return None


def pr_request_notification(record: RunRecord, ask: PullRequestAsk, by: Actor) -> str:
    return (
        f"📬 {record.run_id} ({record.full_name}) waits for PR approval: {ask.title}\n"
        f"DoD {'met' if ask.dod.passed else 'NOT met: ' + '; '.join(ask.dod.failures)}\n"
        + (
            "Confirm token: agentpr show-pr-request --run-id " + record.run_id + "\n"
            if by == Actor.WORKFLOW
            else ""
        )
        + f"Approve: /approve_pr {record.run_id} <confirm_token>  (expires "
        f"{ask.expires_at.isoformat(timespec='minutes')})"
    )


def untrusted_feedback_notification(record: RunRecord, event: GitHubEvent) -> tuple[str, str]:
    """A review or comment by someone without standing: the operator reads it and decides; the
    agent never does."""
    what = f"review ({event.review_state})" if event.kind == "review" else "comment"
    text = clean_quoted_text(event.detail, 300) or "(no text)"
    return "untrusted_feedback", (
        f"👀 {record.run_id} ({record.full_name}): a {what} on PR #{record.pr_number} by "
        f"{event.author or 'someone'} ({event.author_association or 'no association'}) was held "
        f"back, it moves nothing and never reaches the agent:\n{text}"
    )
