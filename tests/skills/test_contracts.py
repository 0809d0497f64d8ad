"""The contract discovery writes: read from the final message, validated, graded; and where it
sends the run."""

from __future__ import annotations

import json

import pytest

from activities.skill_stage import contract_from_message, contract_schema
from contracts import ReasonCode, Verdict
from contracts.skills import RepoContract
from contracts.states import RunState
from grading.contract_checks import contract_findings, grade_against_contract
from grading.discovery import grade_discovery
from grading.evidence import TestRun
from grading.rules import GradeOutcome

READY = {"status": "ready", "reason": "has an OpenAI client", "plan": {"target_files": ["a.py"]}}


@pytest.mark.parametrize(
    ("message", "status", "error"),
    [
        ("notes first\n" + json.dumps(READY), "ready", None),
        # Nested objects are parts of the contract, not contracts of their own.
        (json.dumps(READY) + "\nand {not json", "ready", None),
        ('{"status": "skip"}\n' + json.dumps({**READY, "status": "skip"}), "skip", None),
        ("no json at all", None, "no JSON object in the agent's final message"),
        ('{"status": "ready"}', None, "invalid contract: reason: Field required"),
        ('{"status": "perhaps", "reason": "x"}', None, "invalid contract: status:"),
        (None, None, "the agent's turn did not complete with a final message"),
    ],
)
def test_contract_from_the_final_message(
    message: str | None, status: str | None, error: str | None
) -> None:
    contract, problem = contract_from_message(message)
    assert (contract.status if contract else None) == status
    assert (problem or "").startswith(error or "")


def test_the_output_schema_is_strict() -> None:
    """What `codex exec --output-schema` sends the model: every object closed and complete."""

    def objects(node: object) -> list[dict]:  # type: ignore[type-arg]
        found = []
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                found.append(node)
            for value in node.values():
                found += objects(value)
        elif isinstance(node, list):
            for value in node:
                found += objects(value)
        return found

    schema = contract_schema()
    for node in objects(schema):
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    assert "default" not in json.dumps(schema)


def base(code: str = ReasonCode.NO_TESTS_REQUIRED, verdict: Verdict = Verdict.PASS) -> GradeOutcome:
    return GradeOutcome(verdict=verdict, reason_code=code, next_action="x", reasons=["r"])


@pytest.mark.parametrize(
    ("contract", "changed", "base_grade", "verdict", "code"),
    [
        (RepoContract(**READY), 0, base(), Verdict.PASS, "contract_ready"),
        (RepoContract(**{**READY, "status": "skip"}), 0, base(), Verdict.PASS, "contract_skip"),
        (RepoContract(**{**READY, "status": "needs_review"}), 0, base(), Verdict.HUMAN_REVIEW, "contract_needs_review"),
        (None, 0, base(), Verdict.RETRYABLE, "contract_invalid"),
        (RepoContract(**READY), 2, base(), Verdict.HUMAN_REVIEW, "discovery_changed_files"),
        # A step that did not finish keeps its own grade.
        (None, 0, base("rate_limited", Verdict.RETRYABLE), Verdict.RETRYABLE, "rate_limited"),
        (RepoContract(**READY), 0, base("safety_violation", Verdict.HUMAN_REVIEW), Verdict.HUMAN_REVIEW, "safety_violation"),
    ],
)  # fmt: skip
def test_discovery_grades(  # type: ignore[no-untyped-def]
    contract, changed: int, base_grade: GradeOutcome, verdict: Verdict, code: str
) -> None:
    graded = grade_discovery(base_grade, contract, None if contract else "no JSON", changed)
    assert (graded.verdict, graded.reason_code) == (verdict, code)


def plan_contract(**plan: object) -> RepoContract:
    return RepoContract(
        status="ready",
        reason="r",
        toolchain={"test": "python3 -m pytest -q"},
        plan={"target_files": ["calc.py", "tests/", "docs/*.md"], **plan},
    )


def run(command: str) -> TestRun:
    return TestRun(command=command, exit_code=0, passed=True, index=0)


@pytest.mark.parametrize(
    ("paths", "added", "runs", "codes"),
    [
        (["calc.py", "tests/test_calc.py", "docs/providers.md"], 10, [run("python3 -m pytest -q")], []),
        (["calc.py", "setup.cfg"], 10, [run("python3  -m pytest -q tests")], ["contract_files_outside_plan"]),
        (["calc.py"], 200, [run("python3 -m pytest -q")], ["contract_budget_exceeded"]),
        (["calc.py"], 10, [run("pytest")], ["contract_test_not_run"]),
    ],
)  # fmt: skip
def test_contract_findings(
    paths: list[str], added: int, runs: list[TestRun], codes: list[str]
) -> None:
    found = contract_findings(plan_contract(expected_added_lines=40), paths, added, runs, True)
    assert [code for code, _ in found] == codes


def test_a_stray_change_is_not_a_pass() -> None:
    graded = grade_against_contract(
        base(ReasonCode.TESTS_PASSED), plan_contract(), ["calc.py", "Makefile"], 5,
        [run("python3 -m pytest -q")], True, RunState.IMPLEMENTING,
    )  # fmt: skip
    assert (graded.verdict, graded.reason_code) == (
        Verdict.HUMAN_REVIEW,
        "contract_files_outside_plan",
    )
    assert graded.reasons[0] == "contract: changed outside the plan's target files: Makefile"
