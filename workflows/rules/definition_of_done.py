"""The definition of done a run must meet before a PR is requested and approved (pure)."""

from __future__ import annotations

import re

from contracts import DodResult, ReasonCode, RunPolicy, RunRecord, Verdict

# A repository without tests whose small, lint-clean change the model reviewed counts as
# tested: its grade says so (the reason code), and the PR body's tests section must too.
_TEST_EVIDENCE = {ReasonCode.TESTS_PASSED, ReasonCode.NO_TEST_INFRA_MODEL_REVIEWED}


def check_definition_of_done(record: RunRecord, body: str) -> DodResult:
    policy = record.policy or RunPolicy()
    failures: list[str] = []
    grade = record.grade
    if grade is None:
        failures.append("no agent step has been graded")
    else:
        if grade.verdict != Verdict.PASS:
            failures.append(f"the last agent verdict is {grade.verdict} ({grade.reason_code})")
        if policy.require_test_evidence and grade.reason_code not in _TEST_EVIDENCE:
            failures.append("no test evidence in the last graded agent step")
    commit = record.commit
    if commit is None:
        failures.append("nothing was pushed (run-finish)")
    else:
        budget = policy.diff_budget
        if commit.files_changed > budget.max_files:
            failures.append(f"diff touches {commit.files_changed} files; budget {budget.max_files}")
        if commit.added_lines > budget.max_added_lines:
            failures.append(
                f"diff adds {commit.added_lines} lines; budget {budget.max_added_lines}"
            )
    governance = record.governance
    if governance is not None:
        if governance.dco_required and not (commit and commit.signed_off):
            failures.append("the repository requires DCO sign-off and the commit has none")
        lowered = body.lower()
        for section in governance.pr_template_sections:
            found = re.search(rf"^\s*#+\s*{re.escape(section.lower())}\s*:?\s*$", lowered, re.M)
            if not found:
                failures.append(f"the PR body lacks the template section {section!r}")
            elif not _section_text(lowered[found.end() :]):
                # agentpr writes the template out for the operator: each section needs words.
                failures.append(f"the PR body's template section {section!r} is empty")
    return DodResult(passed=not failures, failures=failures)


def _section_text(rest: str) -> str:
    """The words of a section: up to the next heading, without HTML comments or checkboxes'
    boxes and the AI note's rule."""
    following = re.split(r"^\s*#+\s", rest, maxsplit=1, flags=re.M)[0]
    following = re.sub(r"<!--.*?-->", "", following, flags=re.S)
    following = re.sub(r"^\s*(-{3,}|>.*)$", "", following, flags=re.M)
    return following.strip()
