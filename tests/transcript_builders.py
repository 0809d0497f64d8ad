"""Synthetic event streams for grading tests: codex and claude builders that emit what codex
0.169.0 and Claude Code 2.1.331 emit, and a one-call grade."""

from __future__ import annotations

import json
import shlex
from typing import Any

from contracts.states import RunState
from engines.claude import parse_claude_events
from engines.codex import parse_codex_events
from grading import (
    Evidence,
    GradeInput,
    GradeOutcome,
    grade,
)
from workflows.states import step_changes_code

WS = "/work/ws/repo"


class Codex:
    """Builds a `codex exec --json` stream."""

    def __init__(self) -> None:
        self.lines: list[str] = [
            json.dumps({"type": "thread.started", "thread_id": "t1"}),
            json.dumps({"type": "turn.started"}),
        ]
        self._n = 0

    def _add(self, event: dict[str, Any]) -> Codex:
        self.lines.append(json.dumps(event))
        return self

    def cmd(
        self, command: str, exit_code: int | None = 0, output: str = "", wrap: bool = True
    ) -> Codex:
        self._n += 1
        # codex quotes a multi-line script (heredocs, patches) in single quotes, newlines kept.
        quoted = shlex.quote(command) if "\n" in command else json.dumps(command)
        full = f"/bin/zsh -lc {quoted}" if wrap else command
        item = {
            "id": f"item_{self._n}",
            "type": "command_execution",
            "command": full,
            "aggregated_output": "",
            "exit_code": None,
            "status": "in_progress",
        }
        self._add({"type": "item.started", "item": item})
        status = "completed" if exit_code == 0 else "failed"
        return self._add(
            {
                "type": "item.completed",
                "item": {
                    **item,
                    "aggregated_output": output,
                    "exit_code": exit_code,
                    "status": status,
                },
            }
        )

    def started_only(self, command: str) -> Codex:
        self._n += 1
        return self._add(
            {
                "type": "item.started",
                "item": {
                    "id": f"item_{self._n}",
                    "type": "command_execution",
                    "command": command,
                    "aggregated_output": "",
                    "exit_code": None,
                    "status": "in_progress",
                },
            }
        )

    def msg(self, text: str) -> Codex:
        self._n += 1
        return self._add(
            {
                "type": "item.completed",
                "item": {"id": f"item_{self._n}", "type": "agent_message", "text": text},
            }
        )

    def file_change(self, path: str, kind: str = "update") -> Codex:
        self._n += 1
        return self._add(
            {
                "type": "item.completed",
                "item": {
                    "id": f"item_{self._n}",
                    "type": "file_change",
                    "changes": [{"path": path, "kind": kind}],
                    "status": "completed",
                },
            }
        )

    def error(self, message: str) -> Codex:
        return self._add({"type": "error", "message": message})

    def done(self, input_tokens: int = 100, cached: int = 40, output: int = 20) -> Codex:
        return self._add(
            {
                "type": "turn.completed",
                "usage": {
                    "input_tokens": input_tokens,
                    "cached_input_tokens": cached,
                    "output_tokens": output,
                    "reasoning_output_tokens": 5,
                },
            }
        )

    def failed(self, message: str) -> Codex:
        return self._add({"type": "turn.failed", "error": {"message": message}})

    def raw(self, line: str) -> Codex:
        self.lines.append(line)
        return self

    def evidence(self, workspace: str | None = WS) -> Evidence:
        return parse_codex_events(iter(self.lines), workspace)


class Claude:
    """Builds a `claude -p --output-format stream-json --verbose` stream."""

    def __init__(self, cwd: str = WS) -> None:
        self.lines: list[str] = [
            json.dumps(
                {
                    "type": "system",
                    "subtype": "init",
                    "cwd": cwd,
                    "session_id": "s1",
                    "tools": ["Bash", "Edit", "Write"],
                    "model": "claude-x",
                }
            )
        ]
        self._n = 0

    def _add(self, event: dict[str, Any]) -> Claude:
        self.lines.append(json.dumps(event))
        return self

    def tool(self, name: str, tool_input: dict[str, Any]) -> str:
        self._n += 1
        tool_id = f"toolu_{self._n}"
        self._add(
            {
                "type": "assistant",
                "message": {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}
                    ],
                },
            }
        )
        return tool_id

    def result_for(self, tool_id: str, content: Any, is_error: bool = False) -> Claude:
        return self._add(
            {
                "type": "user",
                "message": {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": tool_id,
                            "content": content,
                            "is_error": is_error,
                        }
                    ],
                },
            }
        )

    def bash(self, command: str, output: str = "", exit_code: int = 0) -> Claude:
        tool_id = self.tool("Bash", {"command": command, "description": "run"})
        if exit_code:
            return self.result_for(tool_id, f"Exit code {exit_code}\n{output}", is_error=True)
        return self.result_for(tool_id, [{"type": "text", "text": output}])

    def text(self, text: str) -> Claude:
        return self._add(
            {
                "type": "assistant",
                "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
            }
        )

    def api_retry(self, error: str, status: int, attempt: int = 1) -> Claude:
        return self._add(
            {
                "type": "system",
                "subtype": "api_retry",
                "attempt": attempt,
                "max_retries": 10,
                "retry_delay_ms": 500,
                "error_status": status,
                "error": error,
            }
        )

    def success(self, result: str = "Done.") -> Claude:
        return self._add(
            {
                "type": "result",
                "subtype": "success",
                "is_error": False,
                "result": result,
                "num_turns": 3,
                "usage": {
                    "input_tokens": 10,
                    "cache_creation_input_tokens": 5,
                    "cache_read_input_tokens": 100,
                    "output_tokens": 30,
                },
            }
        )

    def api_error(self, status: int, text: str) -> Claude:
        # What Claude Code 2.1.331 prints after its retries give up (captured).
        return self._add(
            {
                "type": "result",
                "subtype": "success",
                "is_error": True,
                "api_error_status": status,
                "result": text,
                "terminal_reason": "api_error",
                "usage": {},
            }
        )

    def error_result(self, subtype: str, errors: list[str]) -> Claude:
        return self._add(
            {"type": "result", "subtype": subtype, "is_error": True, "errors": errors, "usage": {}}
        )

    def evidence(self, workspace: str | None = None) -> Evidence:
        return parse_claude_events(iter(self.lines), workspace)


def grade_of(evidence: Evidence, **overrides: Any) -> GradeOutcome:
    values: dict[str, Any] = {
        "evidence": evidence,
        "exit_code": 0,
        "changed_files": 2,
        "added_lines": 40,
        "state": RunState.IMPLEMENTING,
    }
    values.update(overrides)
    values.setdefault("expects_changes", step_changes_code(values["state"]))
    return grade(GradeInput(**values))


def passing_codex() -> Codex:
    return Codex().cmd("pytest -q", 0, "12 passed in 0.3s").msg("Status: PASS").done()
