"""The types of the refusals a workflow answers with (ApplicationError.type), so doors tell
them apart without parsing messages. A workflow raises `ApplicationError(message,
type=Refusal.X, non_retryable=True)`; a door maps the type back with `Refusal.of(...)`."""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    ILLEGAL_TRANSITION = "IllegalTransition"
    RUN_FINISHED = "RunFinished"
    IDEMPOTENCY_CONFLICT = "IdempotencyKeyConflict"
    PR_MISMATCH = "PullRequestMismatch"
    RUN_BUSY = "RunBusy"
    STEP_FAILED = "StepFailed"
    NOT_PREPARED = "WorkspaceNotPrepared"
    PREFLIGHT_FAILED = "PreflightFailed"
    STEP_CANCELLED = "StepCancelled"
    PR_GATE = "PullRequestGate"
    NO_PR = "NoPullRequest"
    CAMPAIGN_FINISHED = "CampaignFinished"
    HUMAN_TOOK_OVER = "HumanTookOver"

    @classmethod
    def of(cls, error_type: str | None) -> Refusal | None:
        """The refusal named by an ApplicationError's type; None for anything else (an
        activity's own error type, a failure that is not a refusal)."""
        try:
            return cls(error_type) if error_type else None
        except ValueError:
            return None
