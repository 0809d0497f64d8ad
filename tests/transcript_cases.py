"""The 14 real codex transcripts (../shared/fixtures/codex-transcripts) and the verdict a careful
reviewer gives each."""

from __future__ import annotations

from dataclasses import dataclass

from contracts import Verdict
from contracts.states import RunState
from tests.run_env import SHARED

H, P = Verdict.HUMAN_REVIEW, Verdict.PASS
IMPL, VALID, DISC = RunState.IMPLEMENTING, RunState.LOCAL_VALIDATING, RunState.DISCOVERY

FIXTURES = SHARED / "fixtures" / "codex-transcripts"


WORKSPACES = "/Users/yi/Documents/Career/TensorBlcok/agentpr/workspaces"


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


CASES = [
    # bun test failed, then passed once HOME=$PWD; `bun run typecheck` still fails on an unchanged
    # upstream file (src/tools/search/exa.ts); the agent asked for review to widen the scope.
    Case(
        "calib_dexter_20260225_r2_agent_events_20260225T010156572938Z.jsonl",
        IMPL,
        4,
        19,
        H,
        "agent_needs_review",
    ),
    # LOCAL_VALIDATING: `bun test` still fails at the end (a test writes to /Users/yi/.dexter,
    # outside the repo) and typecheck fails; the agent itself said FAIL — tests decide first.
    Case(
        "calib_dexter_20260225_r2_agent_events_20260225T010449205273Z.jsonl",
        VALID,
        4,
        19,
        H,
        "tests_failing",
    ),
    # The contract file named in the task was missing from the workspace; the agent stopped with
    # "Status: NEEDS REVIEW" before editing or testing anything.
    Case(
        "calib_mem0_20260225_r1_agent_events_20260225T004707761683Z.jsonl",
        IMPL,
        3,
        30,
        H,
        "agent_needs_review",
    ),
    # `make test` failed (hatch env on Python 3.14 picked the global pytest); the agent rebuilt the
    # env on 3.11 with the CI extras and the last `make test` passed (521 passed), lint too.
    Case(
        "calib_mem0_20260225_r2_agent_events_20260225T005934988847Z.jsonl",
        IMPL,
        3,
        30,
        P,
        "tests_passed",
    ),
    # DISCOVERY preflight: a JSON report with "status": "NEEDS REVIEW" because the external
    # integration docs were outside the allowed read paths; read-only, no tests expected.
    Case(
        "calib_mem0_20260225_r3_agent_events_20260225T022056291528Z.jsonl",
        DISC,
        0,
        0,
        H,
        "agent_needs_review",
    ),
    # Bootstrap-only contract without target files or checks: the agent returned NEEDS REVIEW
    # with no edits and no tests (fresh branch, nothing changed).
    Case(
        "run_90ab3ea76842_agent_events_20260225T063236790962Z.jsonl",
        IMPL,
        0,
        0,
        H,
        "agent_needs_review",
    ),
    # Read-only smoke check (ls, README, git status); no test ran, so in IMPLEMENTING it cannot
    # pass (the branch already carries the Forge commit, so the diff is not empty).
    Case(
        "run_policy_smoke_20260224_agent_events_20260224T235433957166Z.jsonl",
        IMPL,
        3,
        30,
        H,
        "missing_test_evidence",
    ),
    # One read-only `git status` one-liner; no test ran.
    Case(
        "run_policy_smoke_20260224_agent_events_20260224T235714672437Z.jsonl",
        IMPL,
        3,
        30,
        H,
        "missing_test_evidence",
    ),
    # No command at all ("Constraints acknowledged; no actions taken") — not a status line.
    Case(
        "run_policy_smoke_20260224_agent_events_20260225T001601002465Z.jsonl",
        IMPL,
        3,
        30,
        H,
        "missing_test_evidence",
    ),
    # Read-only repo scan (file counts, CI files, last commit); no test ran.
    Case(
        "run_policy_smoke_20260224_agent_events_20260225T001719522551Z.jsonl",
        IMPL,
        3,
        30,
        H,
        "missing_test_evidence",
    ),
    # Read-only status check (pwd, git log, git status); no test ran.
    Case(
        "run_policy_smoke_20260224_agent_events_20260225T003958155866Z.jsonl",
        IMPL,
        3,
        30,
        H,
        "missing_test_evidence",
    ),
    # The run's contract was outside the allowed paths; the agent returned NEEDS REVIEW after
    # confirming there were no tracked changes.
    Case(
        "run_policy_smoke_20260224_agent_events_20260225T063441657206Z.jsonl",
        IMPL,
        0,
        0,
        H,
        "agent_needs_review",
    ),
    # Same blocker (contract unreadable under the path restrictions): NEEDS REVIEW, no edits.
    Case(
        "run_skill_smoke_20260224_agent_events_20260225T063342046270Z.jsonl",
        IMPL,
        0,
        0,
        H,
        "agent_needs_review",
    ),
    # Full run: 3 files (+39/-2); `make lint` failed twice (ruff scanned caches under
    # .agentpr_runtime), passed after moving them to /tmp (allowed); `make test` 523 passed.
    Case(
        "smoke_mem0_20260225_021213_agent_events_20260225T072002514862Z.jsonl",
        IMPL,
        3,
        39,
        P,
        "tests_passed",
    ),
]


READ_ONLY_SMOKES = [c.name for c in CASES if c.reason_code == "missing_test_evidence"]
