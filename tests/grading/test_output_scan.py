"""Hard failures read from command output: permissions, missing tools, and when they resolve."""

from __future__ import annotations

from contracts import Verdict
from tests.transcript_builders import Codex, grade_of

# ---- hard failures --------------------------------------------------------------------------


def test_git_index_lock_permission_is_human_review() -> None:
    # What the codex workspace-write sandbox did to the previous tool's commits.
    output = "fatal: Unable to create '/Users/yi/ws/mem0/.git/index.lock': Operation not permitted"
    ev = (
        Codex()
        .cmd("pytest", 0, "5 passed")
        .cmd("git add -A && git commit -m x", 128, output)
        .msg("Status: PASS")
        .done()
        .evidence()
    )
    assert ev.hard_failures == [f"permission_denied: {output}"]
    outcome = grade_of(ev)
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "permission_denied")
    assert "writable" in outcome.next_action


def test_a_later_success_of_the_same_command_resolves_a_permission_failure() -> None:
    ev = (
        Codex()
        .cmd("git add -A", 128, "error: .git/index.lock: Permission denied")
        .cmd("git add -A", 0)
        .cmd("pytest", 0, "1 passed")
        .done()
        .evidence()
    )
    assert ev.hard_failures == []


def test_permission_denied_on_an_unrelated_probe_is_ignored() -> None:
    ev = Codex().cmd("ls /root", 2, "ls: cannot open directory '/root': Permission denied")
    assert ev.cmd("pytest", 0, "1 passed").done().evidence().hard_failures == []


def test_missing_tool_for_install_is_tooling_missing() -> None:
    ev = (
        Codex()
        .cmd("poetry install --with test", 127, "zsh:1: command not found: poetry")
        .msg("Status: NEEDS REVIEW")
        .done()
        .evidence()
    )
    assert ev.hard_failures == [
        "tooling_missing: `poetry` not found: zsh:1: command not found: poetry"
    ]
    assert grade_of(ev).reason_code == "tooling_missing"


def test_missing_tool_in_bash_and_sh_formats() -> None:
    ev = Codex().cmd("make test", 127, "bash: line 1: make: command not found").done().evidence()
    assert ev.hard_failures[0].startswith("tooling_missing: `make` not found")
    ev = Codex().cmd("tox", 127, "/bin/sh: 1: tox: not found").done().evidence()
    assert ev.hard_failures[0].startswith("tooling_missing: `tox` not found")
    ev = (
        Codex()
        .cmd(
            "make test",
            2,
            "pytest tests/\nmake: pytest: No such file or directory\nmake: *** [test] Error 127",
        )
        .done()
        .evidence()
    )
    assert ev.hard_failures[0].startswith("tooling_missing: `pytest` not found")
    # a missing file in a failing test is not a missing tool
    stream = Codex().cmd("pytest", 1, "FileNotFoundError: No such file or directory: 'x.json'")
    assert stream.done().evidence().hard_failures == []


def test_a_probe_for_an_absent_tool_is_not_a_failure() -> None:
    ev = (
        Codex()
        .cmd("poetry --version", 127, "zsh:1: command not found: poetry")
        .cmd("pytest", 0, "3 passed")
        .msg("Status: PASS")
        .done()
        .evidence()
    )
    assert ev.hard_failures == []
    assert grade_of(ev).verdict == Verdict.PASS


def test_a_missing_tool_worked_around_by_passing_tests_is_resolved() -> None:
    ev = (
        Codex()
        .cmd("uv sync", 127, "zsh:1: command not found: uv")
        .cmd("pip install -e .", 0)
        .cmd("python -m pytest", 0, "8 passed")
        .done()
        .evidence()
    )
    assert ev.hard_failures == []
    assert grade_of(ev).verdict == Verdict.PASS


def test_cancelled_is_human_review() -> None:
    outcome = grade_of(
        Codex().cmd("pytest", 0, "1 passed").evidence(), exit_code=None, cancelled=True
    )
    assert (outcome.verdict, outcome.reason_code) == (Verdict.HUMAN_REVIEW, "cancelled")
