"""Reading a trusted maintainer's reply before iterating (issue 15): fix (iterate), question
(the operator answers; no iteration) or decline ("we don't want this": the run stops for a
person). Never iterate against a decline.

Rules first and conservative: obvious decline phrases, and a question (ends in "?") that asks
for no change. What they do not decide goes to the optional model when the run has one; without
it (or when it fails) a reply that came with requested changes is a fix, as before.

Only feedback that may reach an agent is read (reaches_agent: a person with standing, about
this PR). Pure and deterministic: called from workflow code.
"""

from __future__ import annotations

import re

from contracts import GitHubEvent, GitHubFactRecord, ReplyClassification, ReplyKind, RunRecord
from workflows.rules.quoted_feedback import clean_quoted_text

_DECLINE = re.compile(
    r"\b(?:we|i)\s+(?:do\s+not|don'?t)\s+want\b"
    r"|\bnot\s+interested\b"
    r"|\b(?:won'?t|will\s+not|cannot|can'?t|do\s+not|don'?t)\s+(?:accept|merge|take)\b"
    r"|\bclosing\s+(?:this|the\s+pr|the\s+pull\s+request|as\b)"
    r"|\bnot\s+(?:something|a\s+change)\s+we\s+(?:want|need|will)\b"
    r"|\bout\s+of\s+scope\s+for\s+this\s+project\b"
    r"|\bplease\s+(?:stop|do\s+not|don'?t)\s+(?:send|open)\b"
    r"|不需要这个|不接受|不会合并|不打算合并|关闭这个",
    re.IGNORECASE,
)
# A question that still asks for a change ("could you rename it?") is a fix, not a question.
_CHANGE_REQUEST = re.compile(
    r"\b(?:please|could\s+you|can\s+you|would\s+you|should|must|need(?:s)?\s+to|instead"
    r"|rename|remove|add|change|fix|update|move|replace|drop|split|revert)\b"
    r"|请|改|修复|删除|添加",
    re.IGNORECASE,
)
_QUESTION_END = re.compile(r"[?？]\s*$")


def reply_text(fact: GitHubFactRecord) -> str:
    return clean_quoted_text(fact.detail, 2_000)


def classify_by_rules(text: str) -> tuple[ReplyKind, str] | None:
    """(kind, the rule that decided), or None when the rules cannot tell."""
    cleaned = clean_quoted_text(text, 2_000)
    if _DECLINE.search(cleaned):
        return "decline", "rules: decline phrase"
    if _QUESTION_END.search(cleaned) and not _CHANGE_REQUEST.search(cleaned):
        return "question", "rules: a question asking for no change"
    return None


def is_reply(event: GitHubEvent) -> bool:
    return event.kind in ("review", "comment") and bool(event.detail.strip())


def reply_by_rules(event: GitHubEvent, fact_key: str) -> ReplyClassification | None:
    """The rules' reading of a review or comment as it arrives; None: undecided (or no text)."""
    if not is_reply(event):
        return None
    decided = classify_by_rules(event.detail)
    if decided is None:
        return None
    kind, rule = decided
    return ReplyClassification(kind=kind, decided_by=rule, fact_key=fact_key)


def reply_to_read(record: RunRecord) -> GitHubFactRecord | None:
    """The newest reply of a trusted person an iteration would act on, when nobody (rule or
    model) has read it yet."""
    for fact in reversed(record.github_facts):
        if not fact.reaches_agent:
            continue
        if not fact.summary.startswith(("review", "comment")) or not fact.detail.strip():
            continue
        read = record.reply_classification
        return None if read is not None and read.fact_key == fact.fact_key else fact
    return None


def reply_notification(record: RunRecord, reply: ReplyClassification, text: str) -> tuple[str, str]:
    """(kind, text) for the operator: a decline stops the run, a question waits for them."""
    quoted = clean_quoted_text(text, 300) or "(no text)"
    where = f"{record.run_id} ({record.full_name}) PR #{record.pr_number}"
    why = f" [{reply.decided_by}]"
    if reply.kind == "decline":
        return "maintainer_declined", (
            f"🛑 {where}: a maintainer declined the change; agentpr stopped and will not "
            f"iterate{why}:\n{quoted}"
        )
    draft = (
        f"\nDraft reply (send it yourself if it fits):\n{reply.draft_reply}"
        if reply.draft_reply
        else "\nAnswer on the PR; agentpr does not iterate on a question."
    )
    return "maintainer_question", f"❓ {where}: a maintainer asked{why}:\n{quoted}{draft}"
