"""The PR gate: a PR opens only after a human confirms twice, exactly once. Why a request or
an approval is refused, and which branch the PR comes from."""

from __future__ import annotations

from datetime import datetime

from contracts import ApprovePrRequest, Refusal, RunRecord
from contracts.states import RunState
from workflows.rules.refusal import Refused


def default_head(record: RunRecord) -> str:
    """`fork_owner:branch`, or "" when the fork is not a GitHub repository this run knows."""
    workspace = record.workspace
    if workspace is None or not workspace.fork_full_name:
        return ""
    return f"{workspace.fork_full_name.split('/')[0]}:{workspace.branch}"


def refuse_pr_request(record: RunRecord, head: str | None) -> Refused | None:
    if record.state != RunState.PUSHED:
        return Refused(
            f"request-open-pr refused: run {record.run_id} is {record.state}; a PR "
            "is requested from PUSHED (run-finish first)",
            Refusal.ILLEGAL_TRANSITION,
        )
    if head is None and default_head(record) == "":
        return Refused(
            "request-open-pr refused: the fork is not a GitHub repository this run "
            "knows; pass --head OWNER:BRANCH",
            Refusal.PR_GATE,
        )
    return None


def refuse_approval(record: RunRecord, request: ApprovePrRequest, now: datetime) -> Refused | None:
    ask = record.pr_request
    if record.state != RunState.PUSHED or ask is None:
        return Refused(
            f"approve-open-pr refused: run {record.run_id} is {record.state} and has "
            "no pending PR request; run request-open-pr first",
            Refusal.PR_GATE,
        )
    if not request.confirm:
        return Refused(
            "approve-open-pr refused: --confirm is required as well as the confirm "
            "token (double confirmation)",
            Refusal.PR_GATE,
        )
    if request.token_sha256 != ask.token_sha256:
        return Refused(
            "approve-open-pr refused: the confirm token does not match the pending PR request",
            Refusal.PR_GATE,
        )
    if request.request_file_sha256 != ask.request_file_sha256:
        return Refused(
            f"approve-open-pr refused: the request file {ask.request_file} was "
            "changed after request-open-pr; request again",
            Refusal.PR_GATE,
        )
    if now >= ask.expires_at:
        return Refused(
            "approve-open-pr refused: the PR request expired at "
            f"{ask.expires_at.isoformat(timespec='seconds')}; request again",
            Refusal.PR_GATE,
        )
    if not ask.dod.passed and not request.allow_dod_bypass:
        return Refused(
            "approve-open-pr refused: definition of done not met ("
            + "; ".join(ask.dod.failures)
            + "); fix it or pass --allow-dod-bypass",
            Refusal.PR_GATE,
        )
    return None


def already_approved(record: RunRecord, request: ApprovePrRequest) -> bool:
    """A second approval of the request that opened the run's PR: answered, not redone."""
    ask = record.pr_request
    return (
        record.pr_number is not None
        and ask is not None
        and record.state != RunState.PUSHED
        and request.token_sha256 == ask.token_sha256
        and request.request_file_sha256 == ask.request_file_sha256
    )
