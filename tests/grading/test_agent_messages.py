"""The agent's own status line, and how it weighs against the evidence; the model-side error kinds
are reason codes."""

from __future__ import annotations

import pytest

from contracts import ReasonCode, Verdict
from contracts.states import RunState
from grading import (
    parse_agent_status,
)
from grading.agent_messages import (
    CLAUDE_ERROR_KINDS,
    HARD_KINDS,
    classify_agent_error,
    kind_for_status,
)
from tests.transcript_builders import Codex, grade_of, passing_codex

# ---- the agent's own status -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("Done.\nSTATUS: PASS", "PASS"),
        ("Status: FAIL\nthe typecheck fails", "FAIL"),
        ("I could not find the contract.\n\nNEEDS REVIEW", "NEEDS_REVIEW"),
        ("NEEDS_HUMAN_REVIEW", "NEEDS_REVIEW"),
        ("Result: PASS (521 passed)", "PASS"),
        ("status: `NEEDS REVIEW`\n\nfiles_changed:\n- None", "NEEDS_REVIEW"),
        ("**Status:** FAIL", "FAIL"),
        ("Status: **FAIL**", "FAIL"),
        ('{\n  "status": "NEEDS REVIEW",\n  "files_changed": []\n}', "NEEDS_REVIEW"),
        ("- Final status: passed", "PASS"),
        ("status: SKIP\nrepo has no provider layer", "NEEDS_REVIEW"),
        ("Status: PASS\n...\nStatus: FAIL", "FAIL"),  # the gravest wins
        ("Status: Constraints acknowledged; nothing changed.", None),
        ("Use Status: PASS / NEEDS REVIEW / FAIL / SKIP in the report", None),
        ("- `make lint` -> PASS\n- `make test` -> FAIL", None),
        ("Status: passing so far", None),
        ("", None),
    ],
)
def test_agent_status_lines(message: str, status: str | None) -> None:
    assert parse_agent_status(message)[0] == status


def test_agent_reported_failure() -> None:
    ev = passing_codex().msg("Status: FAIL\ntypecheck broken").done().evidence()
    outcome = grade_of(ev)
    assert outcome.verdict == Verdict.HUMAN_REVIEW
    assert outcome.reason_code == "agent_reported_failure"
    assert outcome.reasons[0] == "the agent reported: Status: FAIL"


def test_agent_needs_review_and_skip() -> None:
    ev = Codex().cmd("pytest", 0, "2 passed").msg("status: `NEEDS REVIEW`").done().evidence()
    assert grade_of(ev).reason_code == "agent_needs_review"
    ev = Codex().cmd("pytest", 0, "2 passed").msg("Status: SKIP").done().evidence()
    assert grade_of(ev).reason_code == "agent_reported_skip"


def test_agent_status_applies_in_discovery_too() -> None:
    ev = Codex().cmd("ls", 0).msg('{"status": "NEEDS REVIEW"}').done().evidence()
    outcome = grade_of(ev, state=RunState.DISCOVERY, changed_files=0, added_lines=0)
    assert outcome.reason_code == "agent_needs_review"


# ---- model-side error kinds are reason codes ------------------------------------------------


def test_error_kinds_are_reason_code_members() -> None:
    kinds = [*HARD_KINDS, *CLAUDE_ERROR_KINDS.values()]
    kinds += [kind_for_status(status) for status in (401, 404, 408, 429, 503)]
    kinds += [classify_agent_error("unexpected status 401 Unauthorized")]
    assert kinds and all(isinstance(kind, ReasonCode) for kind in kinds)
    assert classify_agent_error("429 Too Many Requests") == "rate_limited"
