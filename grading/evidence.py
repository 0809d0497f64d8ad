"""What a step's event stream shows, gathered in one pass: the models (Evidence, TestRun,
CommandSample) and the Collector that the engines' parsers feed, command by command."""

from __future__ import annotations

import json
import posixpath
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, Field

from contracts import Engine, ReasonCode, TokenUsage
from grading.agent_messages import (
    CLAUDE_ERROR_KINDS,
    HARD_KINDS,
    AgentStatus,
    classify_agent_error,
    kind_for_status,
    parse_agent_status,
)
from grading.bounds import MAX_LINES, SCAN_TAIL, TAIL, add_line, clip, line_at, scan_window
from grading.output_scan import (
    NOT_FOUND_RE,
    PERMISSION_HINTS,
    PERMISSION_RE,
    find_network_error,
    read_test_summary,
)
from grading.safety import write_problem
from grading.shell import ShellAnalysis, analyze_shell
from grading.shell_lexing import program_name


class CommandSample(BaseModel):
    command: str
    exit_code: int | None
    status: str  # completed | failed | in_progress | declined | background
    output_tail: str  # the last ≤400 characters of the output


class TestRun(BaseModel):
    __test__ = False  # a model, not a pytest test class

    command: str
    exit_code: int | None
    passed: bool
    index: int  # position among all commands of the step (0-based)
    # Why it failed, when the cause looks like the network (registry down, DNS, resets) rather
    # than the code: the matched line, from this run or from a dependency install before it.
    network_error: str | None = None


class Evidence(BaseModel):
    engine: Engine
    event_count: int = 0
    command_count: int = 0
    # Bounded: the first 10 and the last 20 commands.
    command_samples: list[CommandSample] = Field(default_factory=list)
    # Test commands (pytest, make test, npm test, go test, …) in order; the last one counts.
    test_runs: list[TestRun] = Field(default_factory=list)
    # Lint / type-check commands (make lint, ruff check, mypy, tsc, bun run typecheck, …).
    check_runs: list[TestRun] = Field(default_factory=list)
    # One line each, "<kind>: <command>", e.g. "sudo: sudo apt-get install x".
    safety_violations: list[str] = Field(default_factory=list)
    # "<kind>: <message>" with kind rate_limited | model_unavailable | network_error | timed_out
    # | agent_error: model-side trouble that a retry may clear. They matter only when the turn did
    # not complete.
    transient_errors: list[str] = Field(default_factory=list)
    # "<kind>: <detail>" with kind auth_failure | quota_exhausted | permission_denied |
    # tooling_missing | agent_config_error | context_exhausted | max_turns_reached |
    # budget_exhausted. Only failures still unresolved at the end of the step are kept.
    hard_failures: list[str] = Field(default_factory=list)
    # Git commands that change history or branches, run by the agent
    # ("git commit: git commit -m x").
    git_signals: list[str] = Field(default_factory=list)
    agent_final_message: str | None = None  # only when the turn completed
    agent_status: AgentStatus | None = None
    agent_status_line: str | None = None  # the line the status was read from
    turn_completed: bool = False
    turn_failed: str | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    malformed_lines: int = 0


_FIRST_SAMPLES = 10


_LAST_SAMPLES = 20


_MAX_RUNS = 100  # test/check runs kept (the last ones matter)


_MESSAGE_KEEP = 8_000  # characters kept from each end of a long final message


class Collector:
    """Accumulates evidence while events stream by; `build()` freezes it into `Evidence`."""

    def __init__(self, engine: Engine, workspace: str | None) -> None:
        self.engine = engine
        self.workspace: str | None = None
        self.set_workspace(workspace)
        self.event_count = 0
        self.malformed = 0
        self.command_count = 0
        self.first_samples: list[CommandSample] = []
        self.last_samples: deque[CommandSample] = deque(maxlen=_LAST_SAMPLES)
        self.test_runs: deque[TestRun] = deque(maxlen=_MAX_RUNS)
        self.check_runs: deque[TestRun] = deque(maxlen=_MAX_RUNS)
        self.safety: list[str] = []
        self.transient: list[str] = []
        self.git_signals: list[str] = []
        # (kind, key) → line; a later success with the same key resolves the failure.
        self.hard: dict[tuple[str, str], str] = {}
        self.pending_network_error: str | None = None
        self.turn_completed = False
        self.turn_failed: str | None = None
        self.usage = TokenUsage()
        self.final_message: str | None = None
        self.status: AgentStatus | None = None
        self.status_line: str | None = None

    def set_workspace(self, workspace: str | None) -> None:
        if workspace:
            self.workspace = posixpath.normpath(workspace.rstrip("/") or "/")

    # -- commands --

    def add_command(self, command: str, exit_code: int | None, status: str, output: str) -> None:
        index = self.command_count
        self.command_count += 1
        sample = CommandSample(
            command=clip(command, 2_000),
            exit_code=exit_code,
            status=status,
            output_tail=output[-TAIL:],
        )
        if len(self.first_samples) < _FIRST_SAMPLES:
            self.first_samples.append(sample)
        else:
            self.last_samples.append(sample)

        shell = analyze_shell(command, self.workspace)
        for violation in shell.violations:
            add_line(self.safety, violation)
        for signal in shell.git_signals:
            add_line(self.git_signals, signal)

        finished = exit_code is not None
        succeeded = exit_code == 0
        scan = scan_window(output)
        network = None
        if finished and not succeeded and (shell.is_test or shell.is_install):
            network = find_network_error(scan)

        if shell.is_test:
            passed = succeeded
            if shell.status_masked and finished:
                # `pytest | tail` or `pytest || true` exit with someone else's code: the
                # runner's own summary line says what happened.
                summary = read_test_summary(output[-SCAN_TAIL:])
                if summary is not None:
                    passed = summary
            run = TestRun(
                command=clip(command, 500),
                exit_code=exit_code,
                passed=passed,
                index=index,
                network_error=None if passed else (network or self.pending_network_error),
            )
            self.test_runs.append(run)
            self.pending_network_error = None
            if passed:
                # The agent found a way to validate: tools it missed earlier were not needed.
                for missing in [k for k in self.hard if k[0] == ReasonCode.TOOLING_MISSING]:
                    del self.hard[missing]
        elif shell.is_check:
            self.check_runs.append(
                TestRun(
                    command=clip(command, 500), exit_code=exit_code, passed=succeeded, index=index
                )
            )
        elif shell.is_install and network:
            self.pending_network_error = network

        if succeeded:
            for command_key in shell.keys:
                for kind in (ReasonCode.PERMISSION_DENIED, ReasonCode.TOOLING_MISSING):
                    self.hard.pop((kind, command_key), None)
        elif finished:
            self._hard_failures_in_output(shell, scan)

    def _hard_failures_in_output(self, shell: ShellAnalysis, scan: str) -> None:
        lowered = scan.lower()
        if "not found" in lowered or "no such file" in lowered:
            self._missing_tools(shell, scan)
        if any(hint in lowered for hint in PERMISSION_HINTS):
            self._permission_denied(shell, scan)

    def _missing_tools(self, shell: ShellAnalysis, scan: str) -> None:
        for match in NOT_FOUND_RE.finditer(scan):
            tool = program_name(next(g for g in match.groups() if g))
            # A probe (`poetry --version` in a pip project) is not a missing requirement: only
            # a tool that installing, testing or checking the repository needed counts.
            if shell.is_test or shell.is_install or shell.is_check:
                line = line_at(scan, match)
                self.add_hard(ReasonCode.TOOLING_MISSING, tool, f"`{tool}` not found: {line}")

    def _permission_denied(self, shell: ShellAnalysis, scan: str) -> None:
        match = PERMISSION_RE.search(scan)
        if match is not None:
            line = line_at(scan, match)
            # Denied on a path the step needs (the repository, its .git, a dependency
            # install) — not a stray `ls /root`.
            needed = (
                ".git" in line
                or (self.workspace is not None and self.workspace in line)
                or shell.is_install
                or shell.uses_git
                or shell.writes_workspace
            )
            if needed:
                self.add_hard(ReasonCode.PERMISSION_DENIED, shell.primary_key or "command", line)

    def check_write_path(self, path: str, origin: str) -> None:
        if not path:
            return
        problem = write_problem(path, self.workspace, self.workspace)
        if problem is not None:
            add_line(self.safety, f"{problem} ({path}): {origin}")

    # -- model-side errors --

    def note_agent_error(self, message: str, record_transient: bool = True) -> None:
        """A codex `error` event or `turn.failed` message."""
        if not message:
            return
        kind = classify_agent_error(message)
        if kind in HARD_KINDS:
            self.add_hard(kind, "model", clip(message, 300))
        elif record_transient:
            add_line(self.transient, f"{kind or 'agent_error'}: {clip(message, 300)}")

    def note_claude_api_error(
        self, error: str, status: int | None, label: str, message: str = ""
    ) -> None:
        kind = CLAUDE_ERROR_KINDS.get(error)
        if kind is None and status is not None:
            kind = kind_for_status(status)
        if kind is None and message:
            kind = classify_agent_error(message)
        detail = message or " ".join(
            part for part in (label, error, f"(HTTP {status})" if status else "") if part
        )
        if kind in HARD_KINDS:
            self.add_hard(kind, "model", clip(detail, 300))
        elif not message:  # result errors land in turn_failed; retries are the transient trail
            add_line(self.transient, f"{kind or 'agent_error'}: {clip(detail, 300)}")

    def model_recovered(self) -> None:
        # The model answered in the end: earlier auth/quota complaints were retried away.
        for key in [k for k in self.hard if k[1] == "model"]:
            del self.hard[key]

    def add_hard(self, kind: str, key: str, line: str) -> None:
        if (kind, key) not in self.hard and len(self.hard) < MAX_LINES:
            self.hard[(kind, key)] = line

    # -- usage and final message --

    def add_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        self.usage = TokenUsage(
            input_tokens=self.usage.input_tokens + _int(usage.get("input_tokens")),
            cached_input_tokens=self.usage.cached_input_tokens
            + _int(usage.get("cached_input_tokens")),
            output_tokens=self.usage.output_tokens + _int(usage.get("output_tokens")),
            reasoning_output_tokens=self.usage.reasoning_output_tokens
            + _int(usage.get("reasoning_output_tokens")),
        )

    def add_claude_usage(self, usage: Any) -> None:
        # Anthropic counts cache reads/writes apart from input_tokens; codex counts cached
        # tokens inside input_tokens. Report codex's way so the numbers compare.
        if not isinstance(usage, dict):
            return
        cached = _int(usage.get("cache_read_input_tokens"))
        self.add_usage(
            {
                "input_tokens": _int(usage.get("input_tokens"))
                + cached
                + _int(usage.get("cache_creation_input_tokens")),
                "cached_input_tokens": cached,
                "output_tokens": _int(usage.get("output_tokens")),
            }
        )

    def set_final_message(self, text: str | None) -> None:
        if text is None:
            return
        self.status, self.status_line = parse_agent_status(text)
        if len(text) > 2 * _MESSAGE_KEEP:
            text = text[:_MESSAGE_KEEP] + "\n…\n" + text[-_MESSAGE_KEEP:]
        self.final_message = text

    def build(self) -> Evidence:
        return Evidence(
            engine=self.engine,
            event_count=self.event_count,
            command_count=self.command_count,
            command_samples=self.first_samples + list(self.last_samples),
            test_runs=list(self.test_runs),
            check_runs=list(self.check_runs),
            safety_violations=self.safety,
            transient_errors=self.transient,
            hard_failures=[f"{kind}: {line}" for (kind, _), line in self.hard.items()],
            git_signals=self.git_signals,
            agent_final_message=self.final_message,
            agent_status=self.status,
            agent_status_line=self.status_line,
            turn_completed=self.turn_completed,
            turn_failed=self.turn_failed,
            usage=self.usage,
            malformed_lines=self.malformed,
        )


def json_events(lines: Iterable[str | bytes], out: Collector) -> Iterator[dict[str, Any]]:
    """JSON objects, one per line; anything else is counted as malformed and skipped."""
    for raw in lines:
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            out.malformed += 1
            continue
        if not isinstance(event, dict):
            out.malformed += 1
            continue
        out.event_count += 1
        yield event


def as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
