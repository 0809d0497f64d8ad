"""Why a PR request or approval is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts import ApprovePrRequest, Refusal
from contracts.states import RunState
from tests.workflows.rules.records import NOW, pr_ask, pushed, record, workspace
from workflows.rules.pr_gate import (
    already_approved,
    default_head,
    refuse_approval,
    refuse_pr_request,
)

TOKEN, FILE = "a" * 64, "b" * 64


def approval(**changes: object) -> ApprovePrRequest:
    fields: dict[str, object] = dict(token_sha256=TOKEN, request_file_sha256=FILE, confirm=True)
    fields.update(changes)
    return ApprovePrRequest(**fields)  # type: ignore[arg-type]


def test_default_head_is_the_forks_owner_and_branch() -> None:
    assert default_head(record(RunState.PUSHED, workspace=workspace())) == "agentpr-bot:agentpr/r1"
    assert default_head(record(RunState.PUSHED, workspace=workspace(fork=None))) == ""
    assert default_head(record(RunState.PUSHED)) == ""


def test_pr_request_refusals() -> None:
    assert refuse_pr_request(pushed(), None) is None
    wrong_state = refuse_pr_request(record(RunState.IMPLEMENTING, workspace=workspace()), None)
    assert wrong_state is not None and wrong_state.refusal == Refusal.ILLEGAL_TRANSITION
    no_fork = pushed()
    assert no_fork.workspace is not None
    no_fork.workspace.fork_full_name = None
    refused = refuse_pr_request(no_fork, None)
    assert refused is not None and "--head" in refused.message
    assert refuse_pr_request(no_fork, "someone:branch") is None


@pytest.mark.parametrize(
    ("run", "ask", "words"),
    [
        (pushed(pr_request=pr_ask()), approval(), None),
        (pushed(), approval(), "no pending PR request"),
        (pushed(pr_request=pr_ask()), approval(confirm=False), "--confirm is required"),
        (pushed(pr_request=pr_ask()), approval(token_sha256="f" * 64), "does not match"),
        (pushed(pr_request=pr_ask()), approval(request_file_sha256="f" * 64), "was changed"),
        (pushed(pr_request=pr_ask(expires_at=NOW - timedelta(seconds=1))), approval(), "expired"),
        (pushed(pr_request=pr_ask(passed=False)), approval(), "definition of done not met"),
        (pushed(pr_request=pr_ask(passed=False)), approval(allow_dod_bypass=True), None),
    ],
)
def test_approval_refusals(run: object, ask: ApprovePrRequest, words: str | None) -> None:
    refused = refuse_approval(run, ask, NOW)  # type: ignore[arg-type]
    if words is None:
        assert refused is None
    else:
        assert refused is not None and refused.refusal == Refusal.PR_GATE
        assert words in refused.message


def test_a_second_approval_of_the_opened_request_is_answered_not_redone() -> None:
    opened = record(RunState.CI_WAIT, workspace=workspace(), pr_number=5, pr_request=pr_ask())
    assert already_approved(opened, approval())
    assert not already_approved(opened, approval(token_sha256="f" * 64))
    assert not already_approved(pushed(pr_request=pr_ask()), approval())
