"""The claude engine: Claude Code's stream-json parsed into evidence and graded, its command line
and environment."""

from __future__ import annotations

import os
from pathlib import Path

from common.settings import Settings
from contracts import AgentStepInput, Engine, Verdict
from engines import engine_for
from tests.transcript_builders import WS, Claude, grade_of

# ---- claude stream-json ---------------------------------------------------------------------


def test_claude_bash_results_infer_exit_codes_and_final_result() -> None:
    stream = Claude()
    stream.bash("pytest -q", "FAILED tests/test_x.py::test_a", exit_code=1)
    stream.bash("pytest -q", "3 passed in 0.2s")
    stream.text("Tests pass now.")
    stream.success("Implemented the provider.\nSTATUS: PASS")
    ev = stream.evidence()
    assert ev.engine == Engine.CLAUDE
    samples = [(s.exit_code, s.status) for s in ev.command_samples]
    assert samples == [(1, "failed"), (0, "completed")]
    assert [t.passed for t in ev.test_runs] == [False, True]
    assert ev.turn_completed
    assert ev.agent_final_message == "Implemented the provider.\nSTATUS: PASS"
    assert ev.agent_status == "PASS"
    # Anthropic counts cache reads apart; reported codex's way (cached ⊆ input).
    assert ev.usage.input_tokens == 115 and ev.usage.cached_input_tokens == 100
    assert ev.usage.output_tokens == 30
    assert grade_of(ev).verdict == Verdict.PASS


def test_claude_error_without_exit_code_text_counts_as_failure() -> None:
    stream = Claude()
    tool_id = stream.tool("Bash", {"command": "make test"})
    stream.result_for(tool_id, "make: *** [test] Error 2", is_error=True)
    stream.success("done")
    ev = stream.evidence()
    assert ev.test_runs[0].exit_code == 1 and not ev.test_runs[0].passed
    assert grade_of(ev).reason_code == "tests_failing"


def test_claude_background_command_is_not_a_test_pass() -> None:
    stream = Claude()
    tool_id = stream.tool("Bash", {"command": "pytest -q", "run_in_background": True})
    stream.result_for(tool_id, "Command running in background with ID: b1")
    stream.success("done")
    ev = stream.evidence()
    assert ev.command_samples[0].status == "background"
    assert grade_of(ev).reason_code == "tests_failing"


def test_claude_retries_that_recover_do_not_matter() -> None:
    stream = Claude()
    stream.api_retry("overloaded", 529)
    stream.api_retry("rate_limit", 429, attempt=2)
    stream.bash("pytest", "4 passed")
    stream.success("Result: PASS")
    ev = stream.evidence()
    assert len(ev.transient_errors) == 2
    assert grade_of(ev).verdict == Verdict.PASS


def test_claude_auth_failure_is_human_review() -> None:
    stream = Claude()
    stream.api_retry("authentication_failed", 401)
    stream._add(
        {
            "type": "assistant",
            "error": "authentication_failed",
            "message": {
                "role": "assistant",
                "model": "<synthetic>",
                "content": [{"type": "text", "text": "Failed to authenticate. API Error: 401 x"}],
            },
        }
    )
    stream.api_error(401, "Failed to authenticate. API Error: 401 x")
    ev = stream.evidence()
    assert not ev.turn_completed
    assert ev.hard_failures and ev.hard_failures[0].startswith("auth_failure: ")
    outcome = grade_of(ev, exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "auth_failure")


def test_claude_overloaded_until_giving_up_is_retryable() -> None:
    stream = Claude()
    for attempt in (1, 2):
        stream.api_retry("overloaded", 529, attempt)
    stream.api_error(
        529,
        "API Error: 529 overloaded. This is a server-side issue, usually "
        "temporary — try again in a moment.",
    )
    outcome = grade_of(stream.evidence(), exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "model_unavailable")


def test_claude_max_turns_is_human_review() -> None:
    stream = Claude()
    stream.bash("pytest", "1 passed")
    stream.error_result("error_max_turns", ["Reached maximum number of turns (30)"])
    outcome = grade_of(stream.evidence(), exit_code=1)
    assert outcome.reason_code == "max_turns_reached"
    assert "turn" in outcome.next_action


def test_claude_write_tool_outside_the_session_cwd_is_a_violation() -> None:
    stream = Claude(cwd=WS)
    stream.tool("Write", {"file_path": "/home/me/.bashrc", "content": "x"})
    stream.tool("Edit", {"file_path": f"{WS}/src/app.py", "old_string": "a", "new_string": "b"})
    stream.bash("pytest", "1 passed")
    stream.success("done")
    ev = stream.evidence()  # no workspace given: the init cwd is the workspace
    assert ev.safety_violations == ["write outside workspace (/home/me/.bashrc): Write"]
    assert grade_of(ev).reason_code == "safety_violation"


def test_claude_argv_and_environment(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    claude.write_text("#!/bin/sh\n")
    engine = engine_for(Engine.CLAUDE)
    step = AgentStepInput(
        run_id="r1",
        workspace=WS,
        base_branch="main",
        engine=Engine.CLAUDE,
        prompt="Add Forge.",
        codex_model="claude-sonnet",
    )
    assert engine.argv(Settings(home=tmp_path, claude_bin=str(claude)), step) == [
        str(claude),
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-mode",
        "bypassPermissions",
        "--model",
        "claude-sonnet",
    ]
    # As root, Claude Code refuses bypassPermissions unless told it is sandboxed.
    assert engine.env(step) == ({"IS_SANDBOX": "1"} if os.geteuid() == 0 else {})
    assert (engine.stdin(step) or "").endswith("Add Forge.")
