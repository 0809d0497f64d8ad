"""Why a step was graded as it was (placeholder until grading's full enum lands)."""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    TESTS_PASSED = "tests_passed"
    AGENT_STEP_INTERRUPTED = "agent_step_interrupted"
