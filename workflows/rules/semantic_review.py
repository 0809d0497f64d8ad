"""The hybrid rule over the optional model's semantic review (issue 15).

The rules grade first; the model reads a step the rules passed and may only hold it back
(PASS → HUMAN_REVIEW, `semantic_review_held`). It never turns a failure into a pass, with one
exception recorded as such: a repository with no test infrastructure, whose lint passed and
whose diff is small, where the model agreeing is the only review the change can get
(`no_test_infra_model_reviewed`). A model that fails (timeout, 500, malformed answer) leaves
the rules' grade as it was.

Pure and deterministic: called from workflow code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from contracts import AgentGrade, AgentStepResult, ReasonCode, RunRecord, SemanticReview, Verdict

# "Small" for a change no test covers: what a maintainer reads in a minute.
SMALL_DIFF_FILES = 3
SMALL_DIFF_LINES = 40
MAX_REASONS = 20
LINT_LINE = "last lint/type check"

ReviewKind = Literal["pass", "no_test_infra"]


def no_test_infrastructure(record: RunRecord) -> bool:
    """Nothing in the repository, its contract or the operator's plan says how to test it."""
    detected = record.governance.test_commands if record.governance else []
    contract = record.repo_contract.toolchain.test if record.repo_contract else None
    operator = record.auto.validation_command if record.auto else None
    return record.governance is not None and not (detected or contract or operator)


def lint_passed(grade: AgentGrade) -> bool:
    """The step's last lint/type check ran and passed (grading's finding line)."""
    return any(r.startswith(LINT_LINE) and r.endswith(" passed") for r in grade.reasons)


def small_diff(outcome: AgentStepResult) -> bool:
    return (
        0 < outcome.changed_files <= SMALL_DIFF_FILES
        and outcome.added_lines + outcome.removed_lines <= SMALL_DIFF_LINES
    )


def review_kind(record: RunRecord, outcome: AgentStepResult) -> ReviewKind | None:
    """Whether the model reads this step, and as what; None: the rules' grade stands alone."""
    if not record.model_review:
        return None
    grade = outcome.grade
    untested = grade.reason_code in (ReasonCode.MISSING_TEST_EVIDENCE, ReasonCode.NO_TESTS_REQUIRED)
    if (
        untested
        and grade.verdict in (Verdict.PASS, Verdict.HUMAN_REVIEW)
        and no_test_infrastructure(record)
        and lint_passed(grade)
        and small_diff(outcome)
    ):
        return "no_test_infra"
    if grade.verdict == Verdict.PASS:
        return "pass"
    return None


def held_next_action(run_id: str) -> str:
    return (
        "read the model's reasons and the diff; accept it with agentpr retry --run-id "
        f"{run_id} --target-state IMPLEMENTING and agentpr mark-local-validated --run-id "
        f"{run_id}, or run the step again"
    )


def reviewed_grade(
    run_id: str,
    grade: AgentGrade,
    kind: ReviewKind,
    review: SemanticReview,
    now: datetime,
) -> AgentGrade:
    """The grade after the model's review (`review.decided_by` starting "rules" = the model did
    not answer, and the grade is the rules' own)."""
    said = "; ".join(review.reasons) or "no reasons given"
    if review.decided_by != "model":
        note = f"semantic review not done ({review.decided_by}): the rules' grade stands"
        return grade.model_copy(update={"reasons": [*grade.reasons, note][:MAX_REASONS]})
    if review.verdict == "needs_review":
        return AgentGrade(
            verdict=Verdict.HUMAN_REVIEW,
            reason_code=ReasonCode.SEMANTIC_REVIEW_HELD,
            next_action=held_next_action(run_id),
            at=now,
            reasons=[
                f"the model's semantic review held back the rules' {grade.verdict} "
                f"({grade.reason_code}): {said}",
                *(f"model: {reason}" for reason in review.reasons),
                *grade.reasons,
            ][:MAX_REASONS],
        )
    if kind == "no_test_infra":
        return AgentGrade(
            verdict=Verdict.PASS,
            reason_code=ReasonCode.NO_TEST_INFRA_MODEL_REVIEWED,
            next_action=grade.next_action
            if grade.verdict == Verdict.PASS
            else f"agentpr show-run --run-id {run_id}",
            at=now,
            reasons=[
                "no test infrastructure in the repository, lint passed and the diff is small: "
                f"passed on the model's semantic review alone ({said})",
                *grade.reasons,
            ][:MAX_REASONS],
        )
    note = f"the model's semantic review agreed: {said}"
    return grade.model_copy(update={"reasons": [*grade.reasons, note][:MAX_REASONS]})
