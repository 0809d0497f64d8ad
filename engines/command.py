"""A plain command or codemod (`--engine command`): `sh -c` in the workspace, no prompt. The
command line is the one command (a test command such as `pytest` or `make test` in it counts as
a test run); its output, stdout then stderr, is the only output."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from common.settings import Settings
from contracts import AgentStepInput, Engine
from grading.evidence import Collector, Evidence


class CommandEngine:
    engine = Engine.COMMAND
    inherits: tuple[str, ...] = ()

    def argv(self, settings: Settings, step: AgentStepInput) -> list[str]:
        assert step.command is not None
        return ["/bin/sh", "-c", step.command]

    def stdin(self, step: AgentStepInput) -> str | None:
        return None

    def env(self, step: AgentStepInput) -> dict[str, str]:
        return {}

    def parse(self, lines: Iterable[str], workspace: str | None = None) -> Evidence:
        """Output lines of an unknown command (analyze-transcript): no command line to judge."""
        return command_evidence("", None, "".join(lines), workspace)

    def evidence(
        self, step: AgentStepInput, transcript: Path, stderr: Path, exit_code: int | None
    ) -> Evidence:
        output = transcript.read_text(errors="replace") + stderr.read_text(errors="replace")
        return command_evidence(step.command or "", exit_code, output, step.workspace)


def command_evidence(
    command: str, exit_code: int | None, output: str, workspace: str | None = None
) -> Evidence:
    """Evidence for --engine command: the command line is the one command (a test command such
    as `pytest` or `make test` in it counts as a test run), its output the only output."""
    out = Collector(Engine.COMMAND, workspace)
    if command:
        status = "in_progress" if exit_code is None else "completed" if exit_code == 0 else "failed"
        out.add_command(command, exit_code, status, output)
    out.turn_completed = exit_code is not None
    return out.build()
