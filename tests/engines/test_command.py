"""The command engine: a codemod's command line is the one command, its output the evidence."""

from __future__ import annotations

from pathlib import Path

from common.settings import Settings
from contracts import AgentStepInput, Engine, Verdict
from contracts.policy import RunPolicy
from engines import engine_for
from engines.command import command_evidence
from tests.transcript_builders import WS, grade_of

# ---- command engine -------------------------------------------------------------------------


def test_command_engine_the_command_is_the_one_command() -> None:
    ev = command_evidence("python scripts/add_forge.py && pytest -q", 0, "5 passed", WS)
    assert ev.engine == Engine.COMMAND and ev.command_count == 1
    assert ev.test_runs[0].passed and ev.turn_completed
    assert grade_of(ev).reason_code == "tests_passed"


def test_command_engine_nonzero_exit_is_the_codemod_failing() -> None:
    ev = command_evidence("python scripts/add_forge.py", 2, "Traceback: KeyError", WS)
    outcome = grade_of(ev, exit_code=2)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "nonzero_exit")
    assert outcome.reasons[0] == "the command exited 2"


def test_command_engine_failing_tests_are_named_as_such() -> None:
    ev = command_evidence("./codemod.sh && make test", 2, "1 failed, 3 passed", WS)
    assert grade_of(ev, exit_code=2).reason_code == "tests_failing"


def test_command_engine_without_tests_needs_test_evidence() -> None:
    ev = command_evidence("python scripts/add_forge.py", 0, "patched 2 files", WS)
    assert grade_of(ev).reason_code == "missing_test_evidence"
    assert grade_of(ev, policy=RunPolicy(require_test_evidence=False)).verdict == Verdict.PASS


def test_command_engine_runs_sh_without_stdin(tmp_path: Path) -> None:
    engine = engine_for(Engine.COMMAND)
    step = AgentStepInput(
        run_id="r1",
        workspace=WS,
        base_branch="main",
        engine=Engine.COMMAND,
        command="python codemod.py && pytest -q",
    )
    assert engine.argv(Settings(home=tmp_path), step) == [
        "/bin/sh",
        "-c",
        "python codemod.py && pytest -q",
    ]
    assert engine.stdin(step) is None and engine.env(step) == {}
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    out.write_text("3 passed in 0.1s\n")
    err.write_text("")
    evidence = engine.evidence(step, out, err, 0)
    assert [run.passed for run in evidence.test_runs] == [True]
