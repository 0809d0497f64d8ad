"""The 14 real `codex exec --json` transcripts of the previous tool's runs (mem0, dexter), graded.

Each verdict below was decided by reading the transcript: the commands, their exit codes, the
final agent message. Exit code 0 for all (every one ends with `turn.completed`). The state is the
one the transcript shows (its first message names the stage); the diff is vs the base branch, so
runs on a branch that already carried the Forge commit count those files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.policy import RunPolicy
from contracts.states import RunState
from engines.codex import parse_codex_events
from grading import Evidence, GradeInput, grade
from tests.transcript_cases import CASES, FIXTURES, READ_ONLY_SMOKES, Case, P
from workflows.states import step_changes_code


@pytest.fixture(scope="module")
def fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"real transcripts not present at {FIXTURES} (../shared is not checked out)")
    return FIXTURES


def evidence_of(folder: Path, case: Case) -> Evidence:
    with open(folder / case.name, encoding="utf-8") as lines:
        return parse_codex_events(lines, case.workspace)


def test_every_fixture_has_a_case(fixtures: Path) -> None:
    assert sorted(p.name for p in fixtures.glob("*.jsonl")) == sorted(c.name for c in CASES)


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[c.name.split("_agent_events_")[0] + "@" + c.name.rsplit("_", 1)[-1][:15] for c in CASES],
)
def test_real_transcript_verdict(fixtures: Path, case: Case) -> None:
    ev = evidence_of(fixtures, case)
    # What holds for all of them: clean streams, completed turns, nothing unsafe or blocked.
    assert ev.malformed_lines == 0
    assert ev.turn_completed and ev.turn_failed is None
    assert ev.safety_violations == []
    assert ev.hard_failures == []
    # Nor anything the reviewer rules (issue 15) look for: no credentials read, no test weakened
    # or run empty, no outage, no claim of passing tests that the runs contradict.
    assert ev.credential_reads == [] and ev.tests_weakened == [] and ev.empty_test_runs == []
    assert ev.environment_outage is None
    assert ev.usage.input_tokens > 0
    outcome = grade(
        GradeInput(
            evidence=ev,
            exit_code=0,
            changed_files=case.changed_files,
            added_lines=case.added_lines,
            state=case.state,
            expects_changes=step_changes_code(case.state),
            policy=RunPolicy(),
        )
    )
    assert (outcome.verdict, outcome.reason_code) == (case.verdict, case.reason_code), (
        outcome.reasons
    )
    assert outcome.next_action and outcome.reasons


def test_real_transcript_details(fixtures: Path) -> None:
    """Spot checks of the evidence behind the verdicts above."""
    by_name = {c.name: c for c in CASES}

    r2 = evidence_of(fixtures, by_name[CASES[3].name])
    assert [t.passed for t in r2.test_runs] == [False, False, True]
    assert r2.test_runs[-1].command.endswith("HATCH_PYTHON=/opt/homebrew/bin/python3.11 make test'")
    assert r2.agent_status == "PASS"

    dexter = evidence_of(fixtures, by_name[CASES[0].name])
    assert [t.passed for t in dexter.test_runs] == [False, True]  # bun test: fail, then pass
    assert [c.passed for c in dexter.check_runs] == [False, False]  # typecheck never passes
    assert dexter.agent_status_line == "Status: NEEDS REVIEW"

    validating = evidence_of(fixtures, by_name[CASES[1].name])
    assert validating.agent_status == "FAIL"
    assert validating.test_runs[-1].exit_code == 1

    r3 = evidence_of(fixtures, by_name[CASES[4].name])
    assert r3.agent_status_line == '"status": "NEEDS REVIEW",'
    assert r3.test_runs == []

    smoke = evidence_of(fixtures, by_name[CASES[-1].name])
    assert [c.passed for c in smoke.check_runs] == [False, False, True]
    # its three edits (file_change) came before `make test`, and only caches moved after
    assert smoke.code_edits_after_last_test == []
    assert r2.code_edits_after_last_test == []
    # its claim of passing tests is read, and the last `make test` bears it out
    assert r2.agent_test_claim is not None and "521 passed" in r2.agent_test_claim
    assert smoke.test_runs[-1].passed and len(smoke.test_runs) == 1
    assert smoke.git_signals == []

    quiet = evidence_of(fixtures, by_name[CASES[8].name])
    assert quiet.command_count == 0 and quiet.agent_status is None


@pytest.mark.parametrize("name", READ_ONLY_SMOKES)
def test_read_only_smokes_pass_as_discovery(fixtures: Path, name: str) -> None:
    # The same read-only checks are exactly what DISCOVERY expects.
    case = next(c for c in CASES if c.name == name)
    outcome = grade(
        GradeInput(
            evidence=evidence_of(fixtures, case),
            exit_code=0,
            state=RunState.DISCOVERY,
            expects_changes=False,
        )
    )
    assert (outcome.verdict, outcome.reason_code) == (P, "no_tests_required")
