"""Agent engines: one module per engine (codex, claude, command), each owning its binary, argv,
environment and transcript parser behind the `AgentEngine` protocol. `activities/agent.py`
supervises the process (group, heartbeats, wall clock, cancellation) and asks the engine for
the rest.

Adding an engine costs one module here, one test file in tests/engines/, one `Engine` member in
contracts/vocabulary.py (the name operators type after --engine) and one line in `_ENGINES`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from common.settings import Settings
from contracts import AgentStepInput, Engine
from engines.claude import ClaudeEngine
from engines.codex import CodexEngine
from engines.command import CommandEngine
from engines.node_clis import AgentMissing, node_bin_dir
from grading.evidence import Evidence

__all__ = ["AgentEngine", "AgentMissing", "engine_for", "node_bin_dir", "parse_transcript"]


class AgentEngine(Protocol):
    engine: Engine
    # Variables this engine reads from the worker's environment (its own configuration and
    # credentials); a name ending in "*" is a prefix. Everything else stays out of the agent's
    # environment (activities/agent_env.py).
    inherits: tuple[str, ...]

    def argv(self, settings: Settings, step: AgentStepInput) -> list[str]:
        """The command line (raises AgentMissing when the binary is nowhere)."""

    def stdin(self, step: AgentStepInput) -> str | None:
        """What to write on the process's stdin; None closes it."""

    def env(self, step: AgentStepInput) -> dict[str, str]:
        """What this engine adds to the guarded environment."""

    def parse(self, lines: Iterable[str], workspace: str | None = None) -> Evidence:
        """Evidence from a recorded event stream, read line by line."""

    def evidence(
        self, step: AgentStepInput, transcript: Path, stderr: Path, exit_code: int | None
    ) -> Evidence:
        """Evidence from a finished step's files."""


_ENGINES: dict[Engine, AgentEngine] = {
    Engine.CODEX: CodexEngine(),
    Engine.CLAUDE: ClaudeEngine(),
    Engine.COMMAND: CommandEngine(),
}


def engine_for(engine: Engine) -> AgentEngine:
    return _ENGINES[engine]


def parse_transcript(
    engine: Engine, lines: Iterable[str], workspace: str | None = None
) -> Evidence:
    """Evidence from an event stream of `engine` (offline: `agentpr analyze-transcript`)."""
    return engine_for(engine).parse(lines, workspace)
