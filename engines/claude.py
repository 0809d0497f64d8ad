"""Claude Code: `claude -p --output-format stream-json --verbose`, permissions bypassed inside
agentpr's own guardrails, the contract and the prompt on stdin.

Its stream: `assistant` messages with `tool_use` blocks (Bash commands, Write/Edit file paths),
`user` messages with `tool_result` blocks (no exit code: failure is `is_error` plus a leading
"Exit code N"), `system`/`api_retry` notices, and one final `result` (`is_error`,
`api_error_status`, usage).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from common.settings import Settings
from contracts import AgentStepInput, Engine, ReasonCode
from engines.contract import full_prompt
from engines.node_clis import installed_cli
from grading.evidence import Collector, Evidence, as_int_or_none, as_text, json_events
from grading.file_edits import FileEdit, is_test_path

READ_ONLY_DENIED = "Edit,MultiEdit,Write,NotebookEdit"


class ClaudeEngine:
    engine = Engine.CLAUDE
    inherits: tuple[str, ...] = (
        "ANTHROPIC_*",
        "CLAUDE_CONFIG_DIR",
        "CLAUDE_CODE_*",
        "DISABLE_AUTOUPDATER",
    )

    def binary(self, settings: Settings) -> str:
        return installed_cli("claude", settings.claude_bin, "AGENTPR_CLAUDE_BIN")

    def argv(self, settings: Settings, step: AgentStepInput) -> list[str]:
        argv = [
            self.binary(settings),
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "bypassPermissions",
        ]
        if step.codex_model:
            argv += ["--model", step.codex_model]
        if step.codex_sandbox == "read-only":
            # A read-only stage (a skill pack's discovery): Claude has no sandbox flag, so its
            # editing tools are denied; a file changed anyway (a shell redirect) is still caught
            # by the discovery's grade (grading/discovery.py).
            argv += ["--disallowedTools", READ_ONLY_DENIED]
        return argv

    def stdin(self, step: AgentStepInput) -> str | None:
        return full_prompt(step)

    def env(self, step: AgentStepInput) -> dict[str, str]:
        if os.geteuid() == 0:
            # Claude Code refuses bypassPermissions as root unless told it is sandboxed; the
            # workspace boundary and guardrails are agentpr's, as for codex danger-full-access.
            return {"IS_SANDBOX": "1"}
        return {}

    def parse(self, lines: Iterable[str], workspace: str | None = None) -> Evidence:
        return parse_claude_events(lines, workspace)

    def evidence(
        self, step: AgentStepInput, transcript: Path, stderr: Path, exit_code: int | None
    ) -> Evidence:
        with open(transcript, encoding="utf-8", errors="replace") as lines:
            return parse_claude_events(lines, step.workspace)


def parse_claude_events(lines: Iterable[str], workspace: str | None = None) -> Evidence:
    """Evidence from `claude -p --output-format stream-json --verbose`, read line by line."""
    out = Collector(Engine.CLAUDE, workspace)
    bash_calls: dict[str, tuple[str, bool]] = {}  # tool_use id → (command, run_in_background)
    edit_calls: dict[str, FileEdit] = {}  # tool_use id → the edit it asks for
    read_calls: dict[str, str] = {}  # tool_use id → a file read whole
    result_text: str | None = None
    for event in json_events(lines, out):
        kind = event.get("type")
        if kind == "system":
            subtype = event.get("subtype")
            if subtype == "init" and out.workspace is None:
                # The session's working directory is the workspace the agent was started in.
                out.set_workspace(as_text(event.get("cwd")) or None)
            elif subtype == "api_retry":
                out.note_claude_api_error(
                    as_text(event.get("error")),
                    as_int_or_none(event.get("error_status")),
                    f"api_retry {event.get('attempt')}/{event.get('max_retries')}",
                )
        elif kind == "assistant":
            if event.get("error"):
                out.note_claude_api_error(as_text(event.get("error")), None, "assistant error")
            for block in _content_blocks(event.get("message")):
                if block.get("type") != "tool_use":
                    continue
                name = as_text(block.get("name"))
                raw_input = block.get("input")
                tool_input: dict[str, Any] = raw_input if isinstance(raw_input, dict) else {}
                if name == "Bash":
                    bash_calls[as_text(block.get("id"))] = (
                        as_text(tool_input.get("command")),
                        bool(tool_input.get("run_in_background")),
                    )
                elif (
                    name == "Read" and not tool_input.get("offset") and not tool_input.get("limit")
                ):
                    read_calls[as_text(block.get("id"))] = as_text(tool_input.get("file_path"))
                elif name in ("Write", "Edit", "MultiEdit", "NotebookEdit"):
                    path = as_text(tool_input.get("file_path") or tool_input.get("notebook_path"))
                    out.check_write_path(path, name)
                    edit_calls[as_text(block.get("id"))] = _file_edit(name, path, tool_input)
        elif kind == "user":
            for block in _content_blocks(event.get("message")):
                if block.get("type") != "tool_result":
                    continue
                edit = edit_calls.pop(as_text(block.get("tool_use_id")), None)
                if edit is not None and not block.get("is_error"):
                    out.note_edit(edit)  # applied: a refused edit changed nothing
                read = read_calls.pop(as_text(block.get("tool_use_id")), None)
                if read is not None and not block.get("is_error"):
                    out.note_file_view(read, _tool_result_text(block.get("content")))
                call = bash_calls.pop(as_text(block.get("tool_use_id")), None)
                if call is None:
                    continue
                command, background = call
                output = _tool_result_text(block.get("content"))
                if background:
                    out.add_command(command, None, "background", output)
                    continue
                exit_code = _claude_exit_code(bool(block.get("is_error")), output)
                status = "completed" if exit_code == 0 else "failed"
                out.add_command(command, exit_code, status, output)
        elif kind == "result":
            out.add_claude_usage(event.get("usage"))
            subtype = as_text(event.get("subtype"))
            is_error = bool(event.get("is_error"))
            text = as_text(event.get("result"))
            if subtype == "success" and not is_error:
                out.turn_completed = True
                out.turn_failed = None
                result_text = text
                out.model_recovered()
                continue
            errors = event.get("errors")
            detail = text or ("; ".join(map(str, errors)) if isinstance(errors, list) else "")
            out.turn_completed = False
            # An API error ends the session with subtype "success" and is_error: the text says it.
            label = "" if subtype == "success" else subtype
            out.turn_failed = ": ".join(p for p in (label, detail) if p) or "error"
            if subtype == "error_max_turns":
                out.add_hard(ReasonCode.MAX_TURNS_REACHED, "claude", out.turn_failed)
            elif subtype == "error_max_budget_usd":
                out.add_hard(ReasonCode.BUDGET_EXHAUSTED, "claude", out.turn_failed)
            else:
                out.note_claude_api_error(
                    "", as_int_or_none(event.get("api_error_status")), "", message=out.turn_failed
                )
    for command, _ in bash_calls.values():
        out.add_command(command, None, "in_progress", "")
    if out.turn_completed:
        out.set_final_message(result_text)
    return out.build()


def _file_edit(tool: str, path: str, tool_input: dict[str, Any]) -> FileEdit:
    """The edit a Write/Edit/MultiEdit call makes; its text is kept for test files only."""
    edit = FileEdit(path, tool)
    if not is_test_path(path):
        return edit
    if tool == "Write":
        edit.added, edit.whole = as_text(tool_input.get("content")), True
    elif tool == "Edit":
        edit.removed = as_text(tool_input.get("old_string"))
        edit.added = as_text(tool_input.get("new_string"))
    elif tool == "MultiEdit":
        edits = [e for e in tool_input.get("edits") or [] if isinstance(e, dict)]
        edit.removed = "\n".join(as_text(e.get("old_string")) for e in edits)
        edit.added = "\n".join(as_text(e.get("new_string")) for e in edits)
    return edit


def _content_blocks(message: Any) -> Iterator[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict):
                yield block


def _tool_result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            as_text(part.get("text"))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return as_text(content)


_EXIT_CODE_RE = re.compile(r"^\s*Exit code (\d+)")


def _claude_exit_code(is_error: bool, output: str) -> int:
    """Claude's Bash tool reports failure as is_error plus a leading "Exit code N"."""
    if not is_error:
        return 0
    match = _EXIT_CODE_RE.match(output)
    return int(match.group(1)) if match else 1
