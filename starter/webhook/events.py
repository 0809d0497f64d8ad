"""GitHub webhook payloads → the facts the run workflow understands (pure)."""

from __future__ import annotations

from typing import Any

from contracts import CheckConclusion, GitHubEvent
from contracts.github import OWN_COMMENT_MARK


class Ignored(Exception):
    """A delivery we accept (2xx) but that carries nothing for a run."""


def _pr_number(pull_requests: Any) -> int | None:
    # Empty when the PR's head is in a fork (ours always are): the head SHA finds the run.
    if isinstance(pull_requests, list) and pull_requests:
        number = pull_requests[0].get("number")
        return int(number) if isinstance(number, int) else None
    return None


def _conclusion(value: Any) -> CheckConclusion:
    try:
        return CheckConclusion(value)
    except ValueError:
        raise Ignored(f"conclusion {value!r} is not one we act on") from None


def event_from_payload(event: str, delivery_id: str, payload: dict[str, Any]) -> GitHubEvent:
    action = payload.get("action")
    repo = (payload.get("repository") or {}).get("full_name")
    if not isinstance(repo, str):
        raise Ignored("no repository in the payload")
    common = {"delivery_id": delivery_id, "source": "webhook", "repo": repo}
    if event == "check_run":
        if action not in ("created", "completed"):
            raise Ignored(f"check_run {action}")
        run = payload.get("check_run") or {}
        if action == "created" or run.get("status") != "completed":
            # A check that has not concluded keeps the head from green (fail-closed CI).
            return GitHubEvent(
                **common,
                kind="check_run",
                head_sha=run.get("head_sha"),
                pr_number=_pr_number(run.get("pull_requests")),
                name=run.get("name"),
            )
        output = run.get("output") or {}
        detail = " ".join(filter(None, [output.get("title"), output.get("summary")]))[:2000]
        return GitHubEvent(
            **common,
            kind="check_run",
            head_sha=run.get("head_sha"),
            pr_number=_pr_number(run.get("pull_requests")),
            name=run.get("name"),
            conclusion=_conclusion(run.get("conclusion")),
            detail=detail,
        )
    if event == "check_suite":
        if action != "completed":
            raise Ignored(f"check_suite {action}")
        suite = payload.get("check_suite") or {}
        return GitHubEvent(
            **common,
            kind="check_suite",
            head_sha=suite.get("head_sha"),
            pr_number=_pr_number(suite.get("pull_requests")),
            conclusion=_conclusion(suite.get("conclusion")),
        )
    if event == "pull_request_review":
        if action != "submitted":
            raise Ignored(f"pull_request_review {action}")
        review = payload.get("review") or {}
        pr = payload.get("pull_request") or {}
        state = str(review.get("state", "")).lower()
        if state not in ("approved", "changes_requested", "commented"):
            raise Ignored(f"review state {state!r}")
        return GitHubEvent(
            **common,
            kind="review",
            pr_number=pr.get("number"),
            head_sha=(pr.get("head") or {}).get("sha"),
            review_state=state,
            review_id=review.get("id"),
            author=(review.get("user") or {}).get("login"),
            author_association=review.get("author_association"),
            detail=(review.get("body") or "")[:2000],
        )
    if event in ("issue_comment", "pull_request_review_comment"):
        return _comment_event(event, action, payload, common)
    if event == "pull_request" and action == "synchronize":
        # The PR's branch moved: who pushed decides whether agentpr still owns it.
        pr = payload.get("pull_request") or {}
        return GitHubEvent(
            **common,
            kind="pushed",
            pr_number=pr.get("number"),
            head_sha=(pr.get("head") or {}).get("sha"),
            author=(payload.get("sender") or {}).get("login"),
        )
    if event == "pull_request":
        if action != "closed":
            raise Ignored(f"pull_request {action}")
        pr = payload.get("pull_request") or {}
        return GitHubEvent(
            **common,
            kind="pr_closed",
            pr_number=pr.get("number"),
            head_sha=(pr.get("head") or {}).get("sha"),
            merged=bool(pr.get("merged")),
        )
    raise Ignored(f"event {event!r} is not one we act on")


def _comment_event(
    event: str, action: Any, payload: dict[str, Any], common: dict[str, Any]
) -> GitHubEvent:
    """A new comment on a PR's conversation (issue_comment) or on a line of its diff."""
    if action != "created":
        raise Ignored(f"{event} {action}")
    comment = payload.get("comment") or {}
    if event == "issue_comment":
        issue = payload.get("issue") or {}
        if not issue.get("pull_request"):
            raise Ignored("a comment on an issue, not a pull request")
        number, head_sha = issue.get("number"), None
    else:
        pr = payload.get("pull_request") or {}
        number, head_sha = pr.get("number"), (pr.get("head") or {}).get("sha")
    body = comment.get("body") or ""
    if not isinstance(body, str) or OWN_COMMENT_MARK in body:  # ours: comment_marker
        raise Ignored("agentpr's own comment")
    return GitHubEvent(
        **common,
        kind="comment",
        pr_number=number,
        head_sha=head_sha,
        comment_id=comment.get("id"),
        author=(comment.get("user") or {}).get("login"),
        author_association=comment.get("author_association"),
        detail=body[:2000],
    )
