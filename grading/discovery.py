"""The grade of a discovery stage (skill packs): the contract it wrote decides, once the step
itself finished cleanly. Discovery is read-only: a changed file is a finding for a person."""

from __future__ import annotations

from contracts import ReasonCode, Verdict
from contracts.skills import RepoContract
from contracts.states import RunState
from grading.agent_messages import HARD_KINDS
from grading.next_actions import next_action
from grading.rules import TRANSIENT_KINDS, GradeOutcome

# The step did not finish cleanly (grading/rules.py steps 1-4): that grade stands.
UNFINISHED: frozenset[str] = frozenset(
    {
        ReasonCode.READS_CREDENTIALS,
        ReasonCode.SAFETY_VIOLATION,
        ReasonCode.CANCELLED,
        ReasonCode.HARD_FAILURE,
        ReasonCode.TIMED_OUT,
        ReasonCode.AGENT_TURN_FAILED,
        ReasonCode.INTERRUPTED,
        ReasonCode.NONZERO_EXIT,
        ReasonCode.TURN_INCOMPLETE,
        ReasonCode.RETRY_CAP_REACHED,
        *HARD_KINDS,
        *TRANSIENT_KINDS,
    }
)

_BY_STATUS = {
    "ready": (Verdict.PASS, ReasonCode.CONTRACT_READY),
    "skip": (Verdict.PASS, ReasonCode.CONTRACT_SKIP),
    "needs_review": (Verdict.HUMAN_REVIEW, ReasonCode.CONTRACT_NEEDS_REVIEW),
}


def grade_discovery(
    base: GradeOutcome,
    contract: RepoContract | None,
    contract_error: str | None,
    changed_files: int,
    state: RunState = RunState.DISCOVERY,
) -> GradeOutcome:
    if base.reason_code in UNFINISHED:
        return base
    if changed_files:
        verdict, code = Verdict.HUMAN_REVIEW, ReasonCode.DISCOVERY_CHANGED_FILES
        headline = f"the read-only discovery stage changed {changed_files} file(s)"
    elif contract is None:
        verdict, code = Verdict.RETRYABLE, ReasonCode.CONTRACT_INVALID
        headline = contract_error or "no contract"
    else:
        verdict, code = _BY_STATUS[contract.status]
        headline = f"contract {contract.status}: {contract.reason}"
    return GradeOutcome(
        verdict=verdict,
        reason_code=code,
        next_action=next_action(verdict, code, state),
        reasons=[headline, *base.reasons],
    )
