"""An implementation (or fix) stage graded against its approved contract: a PASS stands only
when the change kept to the plan's files, stayed near the plan's size, and — when the agent
must bring its own test evidence — ran the contract's test command."""

from __future__ import annotations

import fnmatch

from contracts import ReasonCode, Verdict
from contracts.skills import RepoContract
from contracts.states import RunState
from grading.evidence import TestRun
from grading.next_actions import next_action
from grading.rules import GradeOutcome

# The plan's expected size is an estimate: beyond 1.5 times it plus 20 lines, a person looks.
BUDGET_FACTOR = 1.5
BUDGET_SLACK_LINES = 20


def in_plan(path: str, targets: list[str]) -> bool:
    """A target is a file, a directory (`src/pkg/`) or a glob (`tests/test_*.py`)."""
    for target in targets:
        target = target.strip().lstrip("./")
        if not target:
            continue
        if path == target or fnmatch.fnmatch(path, target):
            return True
        if path.startswith(target.rstrip("/") + "/"):
            return True
    return False


def _ran(command: str, runs: list[TestRun]) -> bool:
    wanted = " ".join(command.split())
    return any(wanted in " ".join(run.command.split()) for run in runs)


def contract_findings(
    contract: RepoContract,
    changed_paths: list[str],
    added_lines: int,
    test_runs: list[TestRun],
    needs_test_evidence: bool,
) -> list[tuple[ReasonCode, str]]:
    plan = contract.plan
    findings: list[tuple[ReasonCode, str]] = []
    if plan.target_files:
        outside = [p for p in changed_paths if not in_plan(p, plan.target_files)]
        if outside:
            shown = ", ".join(outside[:5]) + (
                f" (+{len(outside) - 5} more)" if len(outside) > 5 else ""
            )
            findings.append(
                (
                    ReasonCode.CONTRACT_FILES_OUTSIDE_PLAN,
                    f"changed outside the plan's target files: {shown}",
                )
            )
    if plan.expected_added_lines:
        allowed = int(plan.expected_added_lines * BUDGET_FACTOR) + BUDGET_SLACK_LINES
        if added_lines > allowed:
            findings.append(
                (
                    ReasonCode.CONTRACT_BUDGET_EXCEEDED,
                    f"+{added_lines} lines, the plan expected about {plan.expected_added_lines} "
                    f"(allowed {allowed})",
                )
            )
    test = contract.toolchain.test
    if needs_test_evidence and test and not _ran(test, test_runs):
        findings.append(
            (ReasonCode.CONTRACT_TEST_NOT_RUN, f"the contract's test command never ran: {test}")
        )
    return findings


def grade_against_contract(
    base: GradeOutcome,
    contract: RepoContract,
    changed_paths: list[str],
    added_lines: int,
    test_runs: list[TestRun],
    needs_test_evidence: bool,
    state: RunState,
) -> GradeOutcome:
    findings = contract_findings(
        contract, changed_paths, added_lines, test_runs, needs_test_evidence
    )
    lines = [f"contract: {text}" for _, text in findings]
    if base.verdict != Verdict.PASS or not findings:
        return base.model_copy(update={"reasons": [*base.reasons, *lines]})
    code = findings[0][0]
    return GradeOutcome(
        verdict=Verdict.HUMAN_REVIEW,
        reason_code=code,
        next_action=next_action(Verdict.HUMAN_REVIEW, code, state),
        reasons=[*lines, *base.reasons],
    )
