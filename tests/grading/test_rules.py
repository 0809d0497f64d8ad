"""The verdict rules in their order: what happened last counts, checks, budget, changes, test
evidence, the retry cap."""

from __future__ import annotations

import pytest

from contracts import Verdict
from contracts.policy import DiffBudget, RunPolicy
from contracts.states import RunState
from tests.transcript_builders import Codex, grade_of, passing_codex

# ---- tests: what happened last counts -------------------------------------------------------


def test_fail_then_pass_is_pass() -> None:
    ev = (
        Codex()
        .cmd("pytest -q", 1, "2 failed, 5 passed")
        .cmd("pytest -q", 0, "7 passed")
        .msg("Status: PASS")
        .done()
        .evidence()
    )
    outcome = grade_of(ev)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.PASS, "tests_passed")
    assert "passed" in outcome.reasons[0]


def test_pass_then_fail_is_not_pass() -> None:
    ev = (
        Codex()
        .cmd("pytest -q", 0, "7 passed")
        .cmd("pytest -q", 1, "1 failed, 6 passed")
        .msg("Status: PASS")
        .done()
        .evidence()
    )
    outcome = grade_of(ev)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "tests_failing")
    assert "failed (exit 1)" in outcome.reasons[0]


def test_a_pass_claim_never_overrides_failing_tests() -> None:
    ev = Codex().cmd("npm test", 1, "Tests: 1 failed").msg("Result: PASS").done().evidence()
    assert grade_of(ev).reason_code == "tests_failing"


def test_piped_test_exit_code_is_read_from_the_summary() -> None:
    # `pytest | tail` exits with tail's 0: the summary line says 1 failed.
    ev = Codex().cmd("pytest -q 2>&1 | tail -5", 0, "=== 1 failed, 9 passed in 1.2s ===").done()
    assert grade_of(ev.evidence()).reason_code == "tests_failing"
    ev2 = Codex().cmd("pytest -q || true", 0, "=== 10 passed in 1.1s ===").done()
    assert grade_of(ev2.evidence()).reason_code == "tests_passed"
    ev3 = Codex().cmd("bun test; echo done", 0, " 22 pass\n 1 fail\ndone").done()
    assert grade_of(ev3.evidence()).reason_code == "tests_failing"


def test_pytest_exit_5_no_tests_collected_is_not_a_pass() -> None:
    # Not a failing run either: no test ran, so there is no test evidence at all.
    ev = Codex().cmd("pytest tests/none", 5, "no tests ran in 0.01s").done().evidence()
    outcome = grade_of(ev)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "missing_test_evidence")
    assert "collected no tests" in outcome.reasons[0]


def test_tests_failing_on_the_network_are_retryable_with_full_access() -> None:
    output = (
        "ERROR: Could not install packages due to an OSError: "
        "HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded with url: "
        "/simple/httpx/ (Caused by NewConnectionError('Failed to establish a new "
        "connection: [Errno -3] Temporary failure in name resolution'))"
    )
    ev = (
        Codex()
        .cmd("pip install -e '.[test]'", 1, output)
        .cmd("pytest -q", 2, "E   ModuleNotFoundError: No module named 'httpx'")
        .msg("Status: FAIL")
        .done()
        .evidence()
    )
    assert ev.test_runs[-1].network_error is not None
    outcome = grade_of(ev)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "dependency_network_error")
    assert "agentpr retry --run-id <run> --target-state IMPLEMENTING" in outcome.next_action


def test_network_failures_under_a_codex_sandbox_need_a_human() -> None:
    ev = (
        Codex()
        .cmd(
            "npm ci",
            1,
            "npm ERR! network request to https://registry.npmjs.org/x "
            "failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org",
        )
        .cmd("npm test", 1, "Cannot find module 'x'")
        .done()
        .evidence()
    )
    outcome = grade_of(ev, policy=RunPolicy(codex_sandbox="workspace-write"))
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "network_blocked")
    # the step's own --codex-sandbox override wins over the policy
    outcome = grade_of(
        ev, policy=RunPolicy(codex_sandbox="workspace-write"), codex_sandbox="danger-full-access"
    )
    assert outcome.reason_code == "dependency_network_error"


def test_a_test_failure_after_a_clean_install_is_not_network() -> None:
    ev = (
        Codex()
        .cmd("pip install -e .", 0, "Successfully installed x")
        .cmd("pytest", 1, "AssertionError: expected 2, got 3\n1 failed")
        .done()
        .evidence()
    )
    assert grade_of(ev).reason_code == "tests_failing"


# ---- checks, budget, changes, evidence ------------------------------------------------------


def test_failing_lint_at_the_end_is_checks_failing() -> None:
    ev = (
        Codex()
        .cmd("make lint", 1, "Found 3 errors.")
        .cmd("make test", 0, "9 passed")
        .msg("Status: PASS")
        .done()
        .evidence()
    )
    assert grade_of(ev).reason_code == "checks_failing"
    ev = (
        Codex()
        .cmd("make lint", 1, "Found 3 errors.")
        .cmd("make lint", 0, "All checks passed!")
        .cmd("make test", 0, "9 passed")
        .done()
        .evidence()
    )
    assert grade_of(ev).verdict == Verdict.PASS


@pytest.mark.parametrize(
    ("files", "lines", "code"),
    [(31, 10, "diff_budget_exceeded"), (3, 801, "diff_budget_exceeded"), (30, 800, "tests_passed")],
)
def test_diff_budget(files: int, lines: int, code: str) -> None:
    outcome = grade_of(passing_codex().evidence(), changed_files=files, added_lines=lines)
    assert outcome.reason_code == code


def test_diff_budget_follows_the_policy() -> None:
    policy = RunPolicy(diff_budget=DiffBudget(max_files=4, max_added_lines=90))
    outcome = grade_of(passing_codex().evidence(), changed_files=5, added_lines=10, policy=policy)
    assert outcome.reason_code == "diff_budget_exceeded"
    assert "(4 files, 90 added lines)" in outcome.reasons[0]


def test_implementation_without_changes_is_no_changes() -> None:
    outcome = grade_of(passing_codex().evidence(), changed_files=0, added_lines=0)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "no_changes")


def test_missing_test_evidence_in_implementation_states() -> None:
    ev = Codex().cmd("ls", 0).msg("Implemented it.").done().evidence()
    for state in (
        RunState.IMPLEMENTING,
        RunState.LOCAL_VALIDATING,
        RunState.ITERATING,
        RunState.EXECUTING,
        RunState.PLAN_READY,
        RunState.NEEDS_HUMAN_REVIEW,
    ):
        outcome = grade_of(ev, state=state)
        assert outcome.reason_code == "missing_test_evidence", state
    outcome = grade_of(ev, policy=RunPolicy(require_test_evidence=False))
    assert (outcome.verdict, outcome.reason_code) == (Verdict.PASS, "no_tests_required")


def test_discovery_needs_no_tests_and_no_changes() -> None:
    ev = Codex().cmd("rg -n provider src", 0).msg("Found the provider registry.").done().evidence()
    outcome = grade_of(ev, state=RunState.DISCOVERY, changed_files=0, added_lines=0)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.PASS, "no_tests_required")
    assert "mark-plan-ready" in outcome.next_action
    # failing tests seen during exploration do not fail discovery
    ev = Codex().cmd("pytest", 1, "3 failed").msg("Baseline has failures.").done().evidence()
    assert grade_of(ev, state=RunState.DISCOVERY).verdict == Verdict.PASS


# ---- retry cap and next actions -------------------------------------------------------------


def test_retry_cap_turns_retryable_into_human_review() -> None:
    ev = Codex().failed("exceeded retry limit, last status: 429 Too Many Requests").evidence()
    policy = RunPolicy(retry_cap=2)
    assert grade_of(ev, exit_code=1, attempt=2, policy=policy).verdict == Verdict.RETRYABLE
    outcome = grade_of(ev, exit_code=1, attempt=3, policy=policy)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "retry_cap_reached")
    assert "underlying reason: rate_limited" in outcome.reasons[0]
    assert any("429" in line for line in outcome.reasons)


def test_retry_cap_does_not_touch_human_or_pass_verdicts() -> None:
    assert grade_of(passing_codex().evidence(), attempt=9).verdict == Verdict.PASS
