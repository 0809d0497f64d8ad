"""The 14 real `codex exec --json` transcripts of the previous tool's runs (mem0, dexter), graded.

Each verdict below was decided by reading the transcript: the commands, their exit codes, the
final agent message. Exit code 0 for all (every one ends with `turn.completed`). The state is the
one the transcript shows (its first message names the stage); the diff is vs the base branch, so
runs on a branch that already carried the Forge commit count those files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from activities.grading import Evidence, GradeInput, grade, parse_codex_events
from contracts.policy import RunPolicy
from contracts import Verdict
from contracts.states import RunState

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "codex-transcripts"
WORKSPACES = "/Users/yi/Documents/Career/TensorBlcok/agentpr/workspaces"

H, P = Verdict.HUMAN_REVIEW, Verdict.PASS


@dataclass(frozen=True)
class Case:
    name: str
    state: RunState
    changed_files: int
    added_lines: int
    verdict: Verdict
    reason_code: str

    @property
    def workspace(self) -> str:
        return f"{WORKSPACES}/{'dexter' if 'dexter' in self.name else 'mem0'}"


IMPL, VALID, DISC = RunState.IMPLEMENTING, RunState.LOCAL_VALIDATING, RunState.DISCOVERY

CASES = [
    # bun test failed, then passed once HOME=$PWD; `bun run typecheck` still fails on an unchanged
    # upstream file (src/tools/search/exa.ts); the agent asked for review to widen the scope.
    Case("calib_dexter_20260225_r2_agent_events_20260225T010156572938Z.jsonl", IMPL, 4, 19,
         H, "agent_needs_review"),
    # LOCAL_VALIDATING: `bun test` still fails at the end (a test writes to /Users/yi/.dexter,
    # outside the repo) and typecheck fails; the agent itself said FAIL — tests decide first.
    Case("calib_dexter_20260225_r2_agent_events_20260225T010449205273Z.jsonl", VALID, 4, 19,
         H, "tests_failing"),
    # The contract file named in the task was missing from the workspace; the agent stopped with
    # "Status: NEEDS REVIEW" before editing or testing anything.
    Case("calib_mem0_20260225_r1_agent_events_20260225T004707761683Z.jsonl", IMPL, 3, 30,
         H, "agent_needs_review"),
    # `make test` failed (hatch env on Python 3.14 picked the global pytest); the agent rebuilt the
    # env on 3.11 with the CI extras and the last `make test` passed (521 passed), lint too.
    Case("calib_mem0_20260225_r2_agent_events_20260225T005934988847Z.jsonl", IMPL, 3, 30,
         P, "tests_passed"),
    # DISCOVERY preflight: a JSON report with "status": "NEEDS REVIEW" because the external
    # integration docs were outside the allowed read paths; read-only, no tests expected.
    Case("calib_mem0_20260225_r3_agent_events_20260225T022056291528Z.jsonl", DISC, 0, 0,
         H, "agent_needs_review"),
    # Bootstrap-only contract without target files or checks: the agent returned NEEDS REVIEW
    # with no edits and no tests (fresh branch, nothing changed).
    Case("run_90ab3ea76842_agent_events_20260225T063236790962Z.jsonl", IMPL, 0, 0,
         H, "agent_needs_review"),
    # Read-only smoke check (ls, README, git status); no test ran, so in IMPLEMENTING it cannot
    # pass (the branch already carries the Forge commit, so the diff is not empty).
    Case("run_policy_smoke_20260224_agent_events_20260224T235433957166Z.jsonl", IMPL, 3, 30,
         H, "missing_test_evidence"),
    # One read-only `git status` one-liner; no test ran.
    Case("run_policy_smoke_20260224_agent_events_20260224T235714672437Z.jsonl", IMPL, 3, 30,
         H, "missing_test_evidence"),
    # No command at all ("Constraints acknowledged; no actions taken") — not a status line.
    Case("run_policy_smoke_20260224_agent_events_20260225T001601002465Z.jsonl", IMPL, 3, 30,
         H, "missing_test_evidence"),
    # Read-only repo scan (file counts, CI files, last commit); no test ran.
    Case("run_policy_smoke_20260224_agent_events_20260225T001719522551Z.jsonl", IMPL, 3, 30,
         H, "missing_test_evidence"),
    # Read-only status check (pwd, git log, git status); no test ran.
    Case("run_policy_smoke_20260224_agent_events_20260225T003958155866Z.jsonl", IMPL, 3, 30,
         H, "missing_test_evidence"),
    # The run's contract was outside the allowed paths; the agent returned NEEDS REVIEW after
    # confirming there were no tracked changes.
    Case("run_policy_smoke_20260224_agent_events_20260225T063441657206Z.jsonl", IMPL, 0, 0,
         H, "agent_needs_review"),
    # Same blocker (contract unreadable under the path restrictions): NEEDS REVIEW, no edits.
    Case("run_skill_smoke_20260224_agent_events_20260225T063342046270Z.jsonl", IMPL, 0, 0,
         H, "agent_needs_review"),
    # Full run: 3 files (+39/-2); `make lint` failed twice (ruff scanned caches under
    # .agentpr_runtime), passed after moving them to /tmp (allowed); `make test` 523 passed.
    Case("smoke_mem0_20260225_021213_agent_events_20260225T072002514862Z.jsonl", IMPL, 3, 39,
         P, "tests_passed"),
]

READ_ONLY_SMOKES = [c.name for c in CASES if c.reason_code == "missing_test_evidence"]


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


@pytest.mark.parametrize("case", CASES, ids=[c.name.split("_agent_events_")[0] + "@" +
                                             c.name.rsplit("_", 1)[-1][:15] for c in CASES])
def test_real_transcript_verdict(fixtures: Path, case: Case) -> None:
    ev = evidence_of(fixtures, case)
    # What holds for all of them: clean streams, completed turns, nothing unsafe or blocked.
    assert ev.malformed_lines == 0
    assert ev.turn_completed and ev.turn_failed is None
    assert ev.safety_violations == []
    assert ev.hard_failures == []
    assert ev.usage.input_tokens > 0
    outcome = grade(GradeInput(
        evidence=ev, exit_code=0, changed_files=case.changed_files,
        added_lines=case.added_lines, state=case.state, policy=RunPolicy(),
    ))
    assert (outcome.verdict, outcome.reason_code) == (case.verdict, case.reason_code), \
        outcome.reasons
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
    assert smoke.test_runs[-1].passed and len(smoke.test_runs) == 1
    assert smoke.git_signals == []

    quiet = evidence_of(fixtures, by_name[CASES[8].name])
    assert quiet.command_count == 0 and quiet.agent_status is None


@pytest.mark.parametrize("name", READ_ONLY_SMOKES)
def test_read_only_smokes_pass_as_discovery(fixtures: Path, name: str) -> None:
    # The same read-only checks are exactly what DISCOVERY expects.
    case = next(c for c in CASES if c.name == name)
    outcome = grade(GradeInput(evidence=evidence_of(fixtures, case), exit_code=0,
                               state=RunState.DISCOVERY))
    assert (outcome.verdict, outcome.reason_code) == (P, "no_tests_required")
