"""The words every layer shares: who acted, how a run is driven, verdicts, GitHub's check
conclusions and review states, agent engines, and the bounds on what a door may send."""

from __future__ import annotations

from enum import StrEnum


class Actor(StrEnum):
    """Which door (or the workflow itself) asked for a change."""

    CLI = "cli"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"
    WORKFLOW = "workflow"


class RunMode(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"


class Verdict(StrEnum):
    PASS = "PASS"
    RETRYABLE = "RETRYABLE"
    HUMAN_REVIEW = "HUMAN_REVIEW"


class CheckConclusion(StrEnum):
    """GitHub's check-run conclusions."""

    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    TIMED_OUT = "timed_out"
    ACTION_REQUIRED = "action_required"
    STALE = "stale"


class Engine(StrEnum):
    """What runs an agent step."""

    CODEX = "codex"
    CLAUDE = "claude"
    COMMAND = "command"


class ReviewState(StrEnum):
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


MAX_PROMPT_BYTES = 256 * 1024


MAX_CAMPAIGN_REPOS = 10_000
