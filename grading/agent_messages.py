"""What the model side says: error messages classified into kinds (auth, quota, rate limit,
outage, network, config...), Claude Code's own error names, and the agent's own final status
line (PASS / FAIL / NEEDS REVIEW)."""

from __future__ import annotations

import re
from typing import Literal

from contracts import ReasonCode
from grading.bounds import line_at

AgentStatus = Literal["PASS", "FAIL", "NEEDS_REVIEW"]


HARD_KINDS: tuple[ReasonCode, ...] = (
    ReasonCode.AUTH_FAILURE,
    ReasonCode.QUOTA_EXHAUSTED,
    ReasonCode.PERMISSION_DENIED,
    ReasonCode.TOOLING_MISSING,
    ReasonCode.AGENT_CONFIG_ERROR,
    ReasonCode.CONTEXT_EXHAUSTED,
    ReasonCode.MAX_TURNS_REACHED,
    ReasonCode.BUDGET_EXHAUSTED,
)


# Ordered: the first pattern that matches names the kind. Auth comes before the retry notices
# because codex wraps a 401 in "Reconnecting... 1/5 (unexpected status 401 Unauthorized …)".
_AGENT_ERROR_PATTERNS: tuple[tuple[ReasonCode, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.I))
    for kind, pattern in (
        (
            ReasonCode.AUTH_FAILURE,
            r"\b40[13]\b|unauthori[sz]ed|forbidden|invalid[ _-]?(api[ _-]?)?key|"
            r"incorrect api key|authenticat|not logged in|login required|permission_error",
        ),
        (
            ReasonCode.QUOTA_EXHAUSTED,
            r"usage limit|insufficient[_ ]quota|quota|credit balance|billing|"
            r"out of credits",
        ),
        (
            ReasonCode.CONTEXT_EXHAUSTED,
            r"context[ _]?(window|length)|prompt is too long|"
            r"maximum context|ran out of room",
        ),
        (ReasonCode.RATE_LIMITED, r"\b429\b|rate[ _-]?limit|too many requests"),
        (
            ReasonCode.MODEL_UNAVAILABLE,
            r"\b5\d\d\b|overloaded|high demand|service unavailable|"
            r"bad gateway|internal server error|server[ _]error|temporarily unavailable",
        ),
        (ReasonCode.TIMED_OUT, r"timed? ?out|timeout|deadline exceeded"),
        (
            ReasonCode.NETWORK_ERROR,
            r"reconnecting|disconnected|connection|error sending request|network|"
            r"\bdns\b|econn|enotfound|eai_again|broken pipe|unexpected eof|stream error|"
            r"stream closed",
        ),
        (
            ReasonCode.AGENT_CONFIG_ERROR,
            r"\b400\b|invalid[_ ]request|model[_ ]not[_ ]found|"
            r"unknown model|unsupported model|does not exist",
        ),
    )
)


def classify_agent_error(message: str | None) -> ReasonCode | None:
    if not message:
        return None
    for kind, pattern in _AGENT_ERROR_PATTERNS:
        if pattern.search(message):
            return kind
    return None


# Claude Code's own names for API errors (`api_retry.error`, `assistant.error`).
CLAUDE_ERROR_KINDS: dict[str, ReasonCode] = {
    "authentication_failed": ReasonCode.AUTH_FAILURE,
    "oauth_org_not_allowed": ReasonCode.AUTH_FAILURE,
    "account_on_hold": ReasonCode.AUTH_FAILURE,
    "verification_required": ReasonCode.AUTH_FAILURE,
    "cloud_credential_error": ReasonCode.AUTH_FAILURE,
    "billing_error": ReasonCode.QUOTA_EXHAUSTED,
    "rate_limit": ReasonCode.RATE_LIMITED,
    "overloaded": ReasonCode.MODEL_UNAVAILABLE,
    "server_error": ReasonCode.MODEL_UNAVAILABLE,
    "invalid_request": ReasonCode.AGENT_CONFIG_ERROR,
    "model_not_found": ReasonCode.AGENT_CONFIG_ERROR,
    "max_output_tokens": ReasonCode.CONTEXT_EXHAUSTED,
}


def kind_for_status(status: int) -> ReasonCode | None:
    if status in (401, 403):
        return ReasonCode.AUTH_FAILURE
    if status == 429:
        return ReasonCode.RATE_LIMITED
    if status >= 500:
        return ReasonCode.MODEL_UNAVAILABLE
    if status in (408, 504):
        return ReasonCode.TIMED_OUT
    if status in (400, 404):
        return ReasonCode.AGENT_CONFIG_ERROR
    return None


_STATUS_TOKEN = (
    r"(?P<token>pass(?:ed)?|fail(?:ed|ure)?|needs[\s_-]*(?:human[\s_-]*)?review|skip(?:ped)?)"
)


# "Status: PASS", "status: `NEEDS REVIEW`", "**Result:** FAIL", `"status": "NEEDS REVIEW"`…
# but not the template "Status: PASS / NEEDS REVIEW / FAIL / SKIP".
_STATUS_LABELLED_RE = re.compile(
    r"^[ \t>*_#`|•\-{\[,]*[\"'`*_]*(?:final[ \t]+|overall[ \t]+|agent[ \t]+)?"
    r"(?:status|result|verdict|outcome)[\"'`*_]*[ \t]*[:=][ \t]*[\"'`*_\[ \t]*"
    + _STATUS_TOKEN
    + r"(?![\w/])(?![ \t]*/)",
    re.I | re.M,
)


# A line holding nothing but the token: "NEEDS_HUMAN_REVIEW", "**FAIL**".
_STATUS_BARE_RE = re.compile(r"^[ \t>*_#`\-]*" + _STATUS_TOKEN + r"[ \t*_`.!]*$", re.I | re.M)


_STATUS_RANK = {"PASS": 0, "NEEDS_REVIEW": 1, "FAIL": 2}


def parse_agent_status(message: str) -> tuple[AgentStatus | None, str | None]:
    """The agent's own verdict from its final message, and the line it came from. Labelled lines
    win over bare ones; among several, the gravest (FAIL > NEEDS REVIEW > PASS) counts. SKIP is
    reported as NEEDS_REVIEW: someone has to confirm the repository really needs nothing."""
    matches = list(_STATUS_LABELLED_RE.finditer(message)) or list(_STATUS_BARE_RE.finditer(message))
    best: tuple[AgentStatus, str] | None = None
    for match in matches:
        token = match.group("token").lower()
        status: AgentStatus = (
            "PASS"
            if token.startswith("pass")
            else "FAIL"
            if token.startswith("fail")
            else "NEEDS_REVIEW"
        )
        if best is None or _STATUS_RANK[status] > _STATUS_RANK[best[0]]:
            best = (status, line_at(message, match))
    return (best[0], best[1]) if best else (None, None)


# "All tests pass", "tests are now passing", "pytest: 42 passed", "the test suite is green"…
_TESTS_PASS_RE = re.compile(
    r"\b(?:all\s+(?:\d+\s+)?|the\s+|unit\s+|new\s+|existing\s+|\d+\s+)*"
    r"(?:tests?|test\s+suite|specs?|checks?\s+and\s+tests)\s+(?:now\s+|all\s+|are\s+|is\s+|were\s+|"
    r"have\s+|still\s+)*(?:pass(?:ed|es|ing)?|green|succeed(?:ed|s)?|(?:are\s+)?ok)\b|"
    r"\b\d+\s+passed\b|\btests?:\s*(?:pass(?:ed)?|ok|✅)|✅\s*tests?\b",
    re.I,
)


# A line that also speaks of failure or of not running is not a clean claim.
_NOT_A_CLAIM_RE = re.compile(
    r"\bfail|\bnot\b|n't\b|\bnever\b|\bunable\b|\bcould not\b|\berror|\bwould\b|"
    r"\bshould\b|\bif\b|\bonce\b|\bwhen\b|\bexpect|\bbefore\b|\bbaseline\b|\bpreviously\b",
    re.I,
)


def test_success_claim(message: str) -> str | None:
    """The line of the agent's final message that says the tests pass, or None."""
    if "pass" not in message.lower() and "green" not in message.lower() and "✅" not in message:
        return None
    for match in _TESTS_PASS_RE.finditer(message):
        line = line_at(message, match)
        if not _NOT_A_CLAIM_RE.search(line):
            return line
    return None
