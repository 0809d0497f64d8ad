"""Disclosure done right: which AI changed the code (the commit's `Assisted-by:` trailer and the
PR body's note), whether the note is due, and the evidence that ticks a PR template's checklist.
The text itself is composed by activities/pr_body.py."""

from __future__ import annotations

from contracts import Engine, PrDisclosure, ReasonCode, RunPolicy, RunRecord


def assisting_agent(record: RunRecord) -> str | None:
    """ "codex (gpt-5-codex)", "claude"; None when no AI changed the code (a codemod)."""
    ask = record.agent_request or (record.auto.step if record.auto else None)
    if ask is None or ask.engine == Engine.COMMAND:
        return None
    model = ask.codex_model if ask.engine == Engine.CODEX else None
    return f"{ask.engine.value} ({model})" if model else ask.engine.value


def ai_note_due(record: RunRecord) -> bool:
    """By default; always where the repository asks for disclosure (its policy documents)."""
    required = record.maintainer_policy is not None and record.maintainer_policy.disclosure_required
    return required or (record.policy or RunPolicy()).ai_disclosure


def pr_disclosure(record: RunRecord) -> PrDisclosure | None:
    if record.workspace is None:
        return None
    return PrDisclosure(
        workspace=record.workspace.path,
        base_branch=record.workspace.base_branch,
        assisted_by=assisting_agent(record),
        ai_note=ai_note_due(record),
        tests_passed=record.grade is not None
        and record.grade.reason_code == ReasonCode.TESTS_PASSED,
        signed_off=record.commit is not None and record.commit.signed_off,
        pack=record.skills,
        pack_options=record.skill_options,
        changes=record.changes or (record.auto.changes if record.auto else ""),
        test_command=record.repo_contract.toolchain.test if record.repo_contract else None,
    )
