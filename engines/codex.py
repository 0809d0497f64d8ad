"""The Codex CLI: `codex exec --json` with agentpr's contract and the prompt on stdin.

Its event stream (`codex exec --json`): `item.completed` of type `command_execution` (command,
exit code, aggregated output), `agent_message`, `file_change`, top-level `error`
("Reconnecting...", 401/429/5xx texts), `turn.completed` (usage) or `turn.failed`. Codex exits 0
even when every command failed, so only the events count, and an agent message is trusted only
once the turn completed (on a cut stream codex repeats partial messages on every retry).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from common.settings import Settings
from contracts import AgentStepInput, Engine
from engines.contract import full_prompt
from engines.node_clis import installed_cli
from grading.evidence import Collector, Evidence, as_int_or_none, as_text, json_events
from grading.file_edits import FileEdit


class CodexEngine:
    engine = Engine.CODEX
    inherits: tuple[str, ...] = (
        "CODEX_HOME",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "CODEX_*",
    )

    def binary(self, settings: Settings) -> str:
        return installed_cli("codex", settings.codex_bin, "AGENTPR_CODEX_BIN")

    def argv(self, settings: Settings, step: AgentStepInput) -> list[str]:
        # `codex exec` >= 0.1xx never asks for approval and rejects --full-auto/-a: the previous
        # tool's full-auto option maps to nothing. The prompt goes on stdin ("-").
        argv = [
            self.binary(settings),
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-C",
            step.workspace,
            "--sandbox",
            step.codex_sandbox,
        ]
        if step.codex_model:
            argv += ["--model", step.codex_model]
        for override in step.codex_config:
            argv += ["-c", override]
        if step.output_schema:  # a discovery stage: the final message is the contract
            argv += ["--output-schema", step.output_schema]
        return [*argv, "-"]

    def stdin(self, step: AgentStepInput) -> str | None:
        return full_prompt(step)

    def env(self, step: AgentStepInput) -> dict[str, str]:
        return {}

    def parse(self, lines: Iterable[str], workspace: str | None = None) -> Evidence:
        return parse_codex_events(lines, workspace)

    def evidence(
        self, step: AgentStepInput, transcript: Path, stderr: Path, exit_code: int | None
    ) -> Evidence:
        with open(transcript, encoding="utf-8", errors="replace") as lines:
            return parse_codex_events(lines, step.workspace)


def parse_codex_events(lines: Iterable[str], workspace: str | None = None) -> Evidence:
    """Evidence from `codex exec --json` output, read line by line."""
    out = Collector(Engine.CODEX, workspace)
    pending: dict[str, str] = {}  # command items started but not completed: id → command
    last_message: str | None = None
    for event in json_events(lines, out):
        kind = event.get("type")
        if kind in ("item.started", "item.updated", "item.completed"):
            item = event.get("item")
            if not isinstance(item, dict):
                continue
            item_type = item.get("type")
            item_id = str(item.get("id", ""))
            if item_type == "command_execution":
                command = as_text(item.get("command"))
                if kind != "item.completed":
                    pending[item_id] = command
                    continue
                pending.pop(item_id, None)
                out.add_command(
                    command,
                    as_int_or_none(item.get("exit_code")),
                    as_text(item.get("status")) or "completed",
                    as_text(item.get("aggregated_output")),
                )
            elif kind != "item.completed":
                continue
            elif item_type == "agent_message":
                last_message = as_text(item.get("text"))
            elif item_type == "file_change":
                for change in item.get("changes") or []:
                    if isinstance(change, dict):
                        path = as_text(change.get("path"))
                        out.check_write_path(path, "file_change")
                        # codex reports the paths of its patch, not its text.
                        deleted = change.get("kind") == "delete"
                        out.note_edit(FileEdit(path, "file_change", deleted=deleted))
            # item type "error" is non-fatal by design (e.g. "Model metadata … not found").
        elif kind == "error":
            out.note_agent_error(as_text(event.get("message")))
        elif kind == "turn.started":
            # A resumed thread can run several turns; the last one decides.
            out.turn_completed = False
            out.turn_failed = None
        elif kind == "turn.completed":
            out.turn_completed = True
            out.turn_failed = None
            out.add_usage(event.get("usage"))
            out.model_recovered()
        elif kind == "turn.failed":
            error = event.get("error")
            message = as_text(error.get("message")) if isinstance(error, dict) else as_text(error)
            out.turn_completed = False
            out.turn_failed = message or "turn failed"
            out.note_agent_error(out.turn_failed, record_transient=False)
    for command in pending.values():
        out.add_command(command, None, "in_progress", "")
    if out.turn_completed:
        out.set_final_message(last_message)
    return out.build()
