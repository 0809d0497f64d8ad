"""The codex engine: its stream parsed into evidence, model-side failures graded (texts captured
from codex 0.169.0 against a loopback server; see shared/notes/codex-cli.md), its command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from common.settings import Settings
from contracts import AgentStepInput, Engine, Verdict
from engines import AgentMissing, engine_for, parse_transcript
from engines.codex import parse_codex_events
from engines.node_clis import installed_cli
from grading import (
    Evidence,
)
from tests.transcript_builders import WS, Claude, Codex, grade_of, passing_codex

# ---- parsing --------------------------------------------------------------------------------


def test_codex_stream_gives_commands_usage_and_final_message() -> None:
    ev = (
        Codex()
        .cmd("ls", 0, "a\nb")
        .cmd("pytest -q", 1, "1 failed")
        .cmd("pytest -q", 0, "2 passed")
        .msg("All good.\nStatus: PASS")
        .done()
        .evidence()
    )
    assert ev.engine == Engine.CODEX
    assert ev.command_count == 3
    assert [s.exit_code for s in ev.command_samples] == [0, 1, 0]
    assert ev.command_samples[0].output_tail == "a\nb"
    assert [(t.index, t.passed) for t in ev.test_runs] == [(1, False), (2, True)]
    assert ev.turn_completed and ev.turn_failed is None
    assert ev.agent_final_message == "All good.\nStatus: PASS"
    assert ev.agent_status == "PASS"
    assert ev.usage.input_tokens == 100 and ev.usage.cached_input_tokens == 40
    assert ev.usage.output_tokens == 20 and ev.usage.reasoning_output_tokens == 5
    assert ev.event_count == 2 + 3 * 2 + 1 + 1
    assert grade_of(ev).verdict == Verdict.PASS


def test_malformed_lines_are_counted_not_fatal() -> None:
    ev = (
        Codex()
        .raw("not json at all")
        .raw("")
        .raw("   ")
        .raw("[1, 2]")
        .raw('{"type": "tru')
        .cmd("pytest", 0, "3 passed")
        .raw("WARNING: something on stdout")
        .msg("ok")
        .done()
        .evidence()
    )
    assert ev.malformed_lines == 4  # blank lines are not malformed
    assert ev.turn_completed and len(ev.test_runs) == 1
    outcome = grade_of(ev)
    assert outcome.verdict == Verdict.PASS
    assert any("4 malformed" in line for line in outcome.reasons)


def test_bytes_lines_are_accepted() -> None:
    lines = [line.encode() for line in passing_codex().lines]
    ev = parse_codex_events(lines, WS)  # type: ignore[arg-type]
    assert ev.turn_completed and ev.test_runs[0].passed


def test_agent_message_is_trusted_only_after_the_turn_completed() -> None:
    # On a cut stream codex repeats the partial message on every retry; no turn.completed.
    stream = (
        Codex()
        .cmd("pytest", 0, "1 passed")
        .msg("Status: PASS (partial")
        .error("Reconnecting... 1/5 (stream disconnected before completion)")
        .msg("Status: PASS (partial")
    )
    ev = stream.evidence()
    assert ev.agent_final_message is None and ev.agent_status is None
    assert ev.transient_errors == [
        "network_error: Reconnecting... 1/5 (stream disconnected before completion)"
    ]


def test_command_samples_are_bounded_to_first_10_and_last_20() -> None:
    stream = Codex()
    for i in range(50):
        stream.cmd(f"echo {i}", 0, str(i))
    ev = stream.done().evidence()
    assert ev.command_count == 50
    tails = [s.output_tail for s in ev.command_samples]
    assert tails == [str(i) for i in range(10)] + [str(i) for i in range(30, 50)]


def test_output_tail_is_the_last_400_characters() -> None:
    ev = Codex().cmd("cat big", 0, "x" * 1000 + "END").done().evidence()
    tail = ev.command_samples[0].output_tail
    assert len(tail) == 400 and tail.endswith("END")


def test_a_command_still_running_at_the_end_is_sampled_as_in_progress() -> None:
    ev = Codex().cmd("ls", 0).started_only("/bin/zsh -lc 'pytest -q'").evidence()
    assert ev.command_count == 2
    assert ev.command_samples[-1].status == "in_progress"
    assert ev.test_runs[-1].exit_code is None and not ev.test_runs[-1].passed


def test_evidence_round_trips_through_json() -> None:
    ev = passing_codex().evidence()
    assert Evidence.model_validate_json(ev.model_dump_json()) == ev


def test_parse_transcript_dispatches_on_engine() -> None:
    assert parse_transcript(Engine.CODEX, passing_codex().lines, WS).engine == Engine.CODEX
    claude = Claude()
    claude.bash("pytest -q", "1 passed")
    claude.success()
    assert parse_transcript(Engine.CLAUDE, claude.lines, WS).engine == Engine.CLAUDE


# ---- model-side failures (texts captured from codex 0.169.0) ---------------------------------


def test_codex_401_is_auth_failure() -> None:
    text = "unexpected status 401 Unauthorized: bad key, url: http://127.0.0.1:18401/v1/responses"
    ev = Codex().error(f"Reconnecting... 1/1 ({text})").error(text).failed(text).evidence()
    assert ev.turn_failed == text
    outcome = grade_of(ev, exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "auth_failure")


def test_codex_429_is_retryable_rate_limited() -> None:
    text = "exceeded retry limit, last status: 429 Too Many Requests"
    outcome = grade_of(Codex().error(text).failed(text).evidence(), exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "rate_limited")


def test_codex_500_is_retryable_model_unavailable() -> None:
    text = "We’re currently experiencing high demand, which may cause temporary errors."
    ev = Codex().error(f"Reconnecting... 1/1 ({text})").error(text).failed(text).evidence()
    outcome = grade_of(ev, exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "model_unavailable")


def test_codex_400_is_a_configuration_problem() -> None:
    text = '{"error": {"message": "Invalid value for model", "type": "invalid_request_error"}}'
    outcome = grade_of(Codex().error(text).failed(text).evidence(), exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "agent_config_error")


def test_codex_unknown_turn_failure_is_human_review() -> None:
    outcome = grade_of(Codex().failed("something odd happened").evidence(), exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "agent_turn_failed")


def test_unreachable_model_server_then_wall_clock_is_retryable_timeout() -> None:
    # codex never exits when the port is closed: only the wall clock ends it.
    notice = "Reconnecting... waiting for network (Connection failed: error sending request)"
    ev = Codex().error(notice).error(notice).evidence()
    outcome = grade_of(ev, exit_code=None, timed_out=True)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "timed_out")
    # killed some other way: the transient trail names the cause
    outcome = grade_of(ev, exit_code=None)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "network_error")


def test_transient_errors_that_recovered_do_not_matter() -> None:
    ev = (
        Codex()
        .error("Reconnecting... 1/5 (stream disconnected before completion)")
        .cmd("pytest", 0, "2 passed")
        .msg("Status: PASS")
        .done()
        .evidence()
    )
    assert len(ev.transient_errors) == 1
    assert grade_of(ev).verdict == Verdict.PASS


def test_timed_out_with_failing_tests_is_still_retryable() -> None:
    ev = Codex().cmd("pytest", 1, "3 failed").evidence()
    outcome = grade_of(ev, exit_code=None, timed_out=True)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "timed_out")


def test_killed_without_cause_is_retryable_interrupted() -> None:
    outcome = grade_of(Codex().cmd("pytest", 0, "1 passed").evidence(), exit_code=None)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.RETRYABLE, "interrupted")


def test_nonzero_exit_without_turn_completion_is_human_review() -> None:
    # SIGINT: exit 1, no turn.failed line.
    outcome = grade_of(Codex().cmd("pytest", 0, "1 passed").evidence(), exit_code=1)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "nonzero_exit")


def test_exit_zero_without_turn_completion_is_turn_incomplete() -> None:
    outcome = grade_of(Codex().cmd("pytest", 0, "1 passed").evidence(), exit_code=0)
    assert outcome.reason_code == "turn_incomplete"


def test_nonzero_exit_after_a_completed_turn_is_human_review() -> None:
    outcome = grade_of(passing_codex().evidence(), exit_code=143)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "nonzero_exit")


# ---- the command line and the binary ---------------------------------------------------------


def step_input(**changes: Any) -> AgentStepInput:
    fields: dict[str, Any] = dict(
        run_id="r1",
        workspace=WS,
        base_branch="main",
        engine=Engine.CODEX,
        prompt="Add Forge.",
        codex_sandbox="workspace-write",
    )
    fields.update(changes)
    return AgentStepInput(**fields)


def test_codex_argv_puts_the_prompt_on_stdin(tmp_path: Path) -> None:
    codex = tmp_path / "codex"
    codex.write_text("#!/bin/sh\n")
    settings = Settings(home=tmp_path, codex_bin=str(codex))
    engine = engine_for(Engine.CODEX)
    step = step_input(codex_model="gpt-5-codex", codex_config=["model_provider=forge"])
    assert engine.argv(settings, step) == [
        str(codex),
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-C",
        WS,
        "--sandbox",
        "workspace-write",
        "--model",
        "gpt-5-codex",
        "-c",
        "model_provider=forge",
        "-",
    ]
    stdin = engine.stdin(step)
    assert stdin is not None and stdin.startswith(f"You are working in the git repository at {WS}")
    assert stdin.endswith("\nAdd Forge.") and "STATUS: PASS" in stdin
    assert engine.env(step) == {}


def test_a_cli_found_nowhere_says_how_to_install_it() -> None:
    with pytest.raises(AgentMissing, match="run `make agents`, put it on PATH or set AGENTPR_X"):
        installed_cli("agentpr-no-such-cli", None, "AGENTPR_X")


def test_the_configured_binary_comes_first(tmp_path: Path) -> None:
    configured = tmp_path / "my-codex"
    configured.write_text("#!/bin/sh\n")
    assert installed_cli("codex", str(configured), "AGENTPR_CODEX_BIN") == str(configured)
