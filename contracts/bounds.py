"""Bounds on what reaches a workflow from outside (issue 13): workflow code never fails on data.

Two kinds, chosen by who sent the value:
- a person at a door (CLI, Telegram) gets a refusal: `PrNumber` and the `max_length` of the
  command models refuse out-of-range values before anything is sent;
- GitHub and agents are not asked: their text is clipped and their numbers, when
  out of range, recorded as unusable (None) (the GitHub* types below), so a fact always decodes and the run
  records what it could use.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

# GitHub's PR numbers and our search attribute (Int, int64) both fit: 2^31 - 1 is the ceiling
# GitHub's own database uses for issue numbers.
MAX_PR_NUMBER = 2**31 - 1
# GitHub's object ids are int64; JSON readers in browsers lose precision above 2^53.
MAX_GITHUB_ID = 2**53

MAX_DELIVERY_ID = 200  # X-GitHub-Delivery is a 36-character GUID
MAX_REPO = 200  # owner (39) + "/" + repo (100)
MAX_SHA = 64  # sha1 40 hex, sha256 64 hex
MAX_CHECK_NAME = 200
MAX_DETAIL = 20_000  # a failing check's output or a review's text, for the iteration prompt
MAX_REASON = 500  # CommandRequest.reason

PrNumber = Annotated[int, Field(gt=0, le=MAX_PR_NUMBER)]


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, marked when cut so a reader knows there was more."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def _clipper(limit: int) -> Any:
    def clip_value(value: Any) -> Any:
        return clip(value, limit) if isinstance(value, str) else value

    return clip_value


def _unusable_outside(low: int, high: int) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            return None
        return value

    return check


# Text and numbers as GitHub sends them, clipped or recorded as unusable.
GitHubDeliveryId = Annotated[str, BeforeValidator(_clipper(MAX_DELIVERY_ID))]
GitHubRepoText = Annotated[str, BeforeValidator(_clipper(MAX_REPO))]
GitHubSha = Annotated[str, BeforeValidator(_clipper(MAX_SHA))]
GitHubCheckName = Annotated[str, BeforeValidator(_clipper(MAX_CHECK_NAME))]
GitHubText = Annotated[str, BeforeValidator(_clipper(MAX_DETAIL))]
GitHubLogin = Annotated[str, BeforeValidator(_clipper(100))]
GitHubAssociation = Annotated[str, BeforeValidator(_clipper(40))]
GitHubPrNumber = Annotated[int | None, BeforeValidator(_unusable_outside(1, MAX_PR_NUMBER))]
GitHubId = Annotated[int | None, BeforeValidator(_unusable_outside(1, MAX_GITHUB_ID))]
