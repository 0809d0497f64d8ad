"""What a step's event stream shows, gathered in one pass: the models (Evidence, TestRun,
CommandSample) and the Collector that the engines' parsers feed, command by command."""

from __future__ import annotations

import json
import posixpath
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, Field

from common.redaction import Redactor
from contracts import Engine, ReasonCode, TokenUsage
from grading.agent_messages import (
    CLAUDE_ERROR_KINDS,
    HARD_KINDS,
    AgentStatus,
    classify_agent_error,
    kind_for_status,
    parse_agent_status,
    test_success_claim,
)
from grading.bounds import MAX_LINES, SCAN_TAIL, TAIL, add_line, clip, line_at, scan_window
from grading.credentials import secret_values, shows_secrets
from grading.file_edits import FileEdit, is_code_path, is_test_path
from grading.output_scan import (
    NOT_FOUND_RE,
    PERMISSION_HINTS,
    PERMISSION_RE,
    find_network_error,
    find_outage,
    name_outage,
    ran_no_tests,
    read_test_summary,
)
from grading.safety import is_scratch_path, write_problem
from grading.shell import ShellAnalysis, analyze_shell
from grading.shell_lexing import program_name, unwrap_shell
from grading.test_integrity import (
    Selection,
    TestProfile,
    narrowing,
    profile,
    selection,
    weakening,
)

# What replaces the output of a command that printed credentials.
CREDENTIAL_OUTPUT = "[REDACTED:credential output]"


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
    # Test commands that ran no test at all (collected 0 items, no test files): not evidence.
    empty_test_runs: list[str] = Field(default_factory=list)
    # Code files edited after the last test run ("src/x.py (sed -i)"): that run did not test
    # them. Docs and build artifacts are left out.
    code_edits_after_last_test: list[str] = Field(default_factory=list)
    # How tests were weakened between a failing and a passing run: assertions removed or made
    # trivial, tests skipped or deleted, the selection narrowed.
    tests_weakened: list[str] = Field(default_factory=list)
    # "<kind> (<path>): <command>" for each command that printed or copied credentials.
    credential_reads: list[str] = Field(default_factory=list)
    # "<what is down>: <line> (`<command>`)": the last environment outage (DNS, registry,
    # refused connections) that no passing test run followed.
    environment_outage: str | None = None
    # The line of the final message that says the tests pass, if it says so.
    agent_test_claim: str | None = None


_FIRST_SAMPLES = 10


_LAST_SAMPLES = 20


_MAX_RUNS = 100  # test/check runs kept (the last ones matter)


_MAX_PROFILES = 200  # test files whose counts are kept


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
        self.test_claim: str | None = None
        self.empty_runs: list[str] = []
        self.edits_since_test: list[str] = []
        self.failing_since_pass = False  # a test run failed and none passed since
        self.weakening_pending: list[str] = []  # test edits since that failure
        self.weakened: list[str] = []
        self.failing_selections: dict[str, Selection] = {}  # runner → its last failing run
        self.last_run_narrowing: str | None = None
        self.failing_suite: str | None = None  # a whole-suite run failed, none passed since
        # Test files as last seen whole (read or written): a rewrite is judged against them.
        self.test_profiles: dict[str, TestProfile] = {}
        self.credentials: list[str] = []
        self.secrets: list[str] = []  # values credential reads showed: redacted everywhere
        self.outage: str | None = None

    def set_workspace(self, workspace: str | None) -> None:
        if workspace:
            self.workspace = posixpath.normpath(workspace.rstrip("/") or "/")

    # -- commands --

    def add_command(self, command: str, exit_code: int | None, status: str, output: str) -> None:
        index = self.command_count
        self.command_count += 1
        shell = analyze_shell(command, self.workspace)
        finished = exit_code is not None
        succeeded = exit_code == 0
        scan = scan_window(output)
        reads_credentials = self._credential_reads(shell, command, scan)
        sample = CommandSample(
            command=clip(command, 2_000),
            exit_code=exit_code,
            status=status,
            output_tail=CREDENTIAL_OUTPUT if reads_credentials else output[-TAIL:],
        )
        if len(self.first_samples) < _FIRST_SAMPLES:
            self.first_samples.append(sample)
        else:
            self.last_samples.append(sample)

        for violation in shell.violations:
            add_line(self.safety, violation)
        for signal in shell.git_signals:
            add_line(self.git_signals, signal)

        network = None
        lowered = scan.lower() if finished and not succeeded else ""
        if lowered and (shell.is_test or shell.is_install):
            network = find_network_error(scan, lowered)

        # Edits in the same command line before the test run are tested by it; after, not.
        tested_from = shell.test_position if shell.is_test else None
        if finished:
            for edit in shell.edits:
                if tested_from is None or edit.position < tested_from:
                    self.note_edit(edit)

        if (
            shell.is_test
            and finished
            and ran_no_tests(output[-SCAN_TAIL:], exit_code, _runner(shell))
        ):
            add_line(self.empty_runs, clip(unwrap_shell(command), 200))
        elif shell.is_test:
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
            self._after_test_run(shell, passed)
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

        if succeeded and shell.viewed_path:
            self.note_file_view(shell.viewed_path, output)
        if finished and tested_from is not None:
            for edit in shell.edits:
                if edit.position >= tested_from:
                    self.note_edit(edit)

        if succeeded:
            for command_key in shell.keys:
                for kind in (ReasonCode.PERMISSION_DENIED, ReasonCode.TOOLING_MISSING):
                    self.hard.pop((kind, command_key), None)
        elif finished:
            self._hard_failures_in_output(shell, scan, lowered)
            outage = None
            if network:
                outage = name_outage(network)
            elif shell.is_check or not _NETWORK_TOOLS.isdisjoint(shell.keys):
                outage = find_outage(scan, lowered)
            if outage is not None:
                self.outage = f"{outage} (`{clip(unwrap_shell(command), 120)}`)"

    def _credential_reads(self, shell: ShellAnalysis, command: str, scan: str) -> bool:
        """Record the credentials a command printed; True when its output must not be kept."""
        found = list(shell.credential_reads)
        from_environment = False
        if shell.dumps_environment and shows_secrets(scan):
            found.append(f"environment dump showing secrets: {clip(unwrap_shell(command), 200)}")
            from_environment = True
        elif shell.prints_secret_variable and scan.strip():
            found.append(f"secret variable printed: {clip(unwrap_shell(command), 200)}")
        if not found:
            return False
        for line in found:
            add_line(self.credentials, line)
        for value in secret_values(scan, names_only=from_environment):
            if value not in self.secrets and len(self.secrets) < 4 * MAX_LINES:
                self.secrets.append(value)
        return True

    def _after_test_run(self, shell: ShellAnalysis, passed: bool) -> None:
        self.edits_since_test = []
        chosen = selection(shell.test_argv) if shell.test_argv else None
        self.last_run_narrowing = None
        if not passed:
            self.failing_since_pass = True
            if chosen is not None:
                self.failing_selections[chosen.runner] = chosen
                if chosen.whole_suite:
                    self.failing_suite = chosen.runner
            return
        if self.weakening_pending:
            for line in self.weakening_pending:
                add_line(self.weakened, line)
            self.weakening_pending = []
        self.failing_since_pass = False
        self.outage = None  # the agent got past it
        if chosen is not None and chosen.runner in self.failing_selections:
            self.last_run_narrowing = narrowing(chosen, self.failing_selections[chosen.runner])
            if self.last_run_narrowing is None:
                del self.failing_selections[chosen.runner]  # the full selection passes now
        if chosen is not None and chosen.whole_suite:
            self.failing_suite = None  # the whole suite passes, whichever runner ran it
        elif chosen is not None and self.failing_suite and self.last_run_narrowing is None:
            # `make test` failed, `pytest tests/test_x.py` passed: part of what failed.
            self.last_run_narrowing = (
                f"the passing run selects part of the suite that failed (`{self.failing_suite}`)"
            )

    def note_edit(self, edit: FileEdit) -> None:
        """A file written, patched or deleted, by a command or by the engine's own edit tool."""
        path = edit.path
        if path.startswith(("/", "~", "$")):
            if is_scratch_path(path):
                return
            prefix = (self.workspace or "").rstrip("/") + "/"
            if self.workspace and path.startswith(prefix):
                path = path[len(prefix) :]
            elif self.workspace or not path.startswith("/"):
                return  # outside the repository: a safety matter, not the tests'
            # No workspace known (a saved transcript graded alone): the path stays absolute.
        if not is_code_path(path):
            return
        add_line(self.edits_since_test, f"{path or '(files it does not name)'} ({edit.origin})")
        if not is_test_path(path):
            return
        before = self.test_profiles.get(path)
        if self.failing_since_pass:
            edit.path = path
            found = weakening(edit, before)
            if found is not None:
                add_line(self.weakening_pending, found)
        if edit.deleted:
            self.test_profiles.pop(path, None)
        elif edit.whole:
            self._keep_profile(path, profile(edit.added))
        elif before is not None and (edit.removed or edit.added):
            self._keep_profile(path, before - profile(edit.removed) + profile(edit.added))
        else:
            self.test_profiles.pop(path, None)  # changed in a way we cannot count

    def note_file_view(self, path: str, text: str) -> None:
        """A test file read whole (Claude's Read, `cat tests/x.py`): the baseline a later
        rewrite of the whole file is judged against."""
        prefix = (self.workspace or "").rstrip("/") + "/"
        if self.workspace and path.startswith(prefix):
            path = path[len(prefix) :]
        if is_test_path(path):
            self._keep_profile(path, profile(text))

    def _keep_profile(self, path: str, counted: TestProfile) -> None:
        if path in self.test_profiles or len(self.test_profiles) < _MAX_PROFILES:
            self.test_profiles[path] = counted

    def _hard_failures_in_output(self, shell: ShellAnalysis, scan: str, lowered: str) -> None:
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
        self.test_claim = test_success_claim(text)
        if len(text) > 2 * _MESSAGE_KEEP:
            text = text[:_MESSAGE_KEEP] + "\n…\n" + text[-_MESSAGE_KEEP:]
        self.final_message = text

    def build(self) -> Evidence:
        last_passed = bool(self.test_runs) and self.test_runs[-1].passed
        weakened = list(self.weakened)
        if last_passed and self.last_run_narrowing:
            weakened.append(f"narrowed the test selection: {self.last_run_narrowing}")
        evidence = Evidence(
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
            empty_test_runs=self.empty_runs,
            code_edits_after_last_test=self.edits_since_test if self.test_runs else [],
            tests_weakened=weakened,
            credential_reads=self.credentials,
            environment_outage=self.outage,
            agent_test_claim=self.test_claim,
        )
        # Evidence goes into reports, grades and notifications: no secret in it, whether a
        # well-known token shape or a value a credential read showed.
        redactor = Redactor(self.secrets)
        return Evidence.model_validate(redactor.redact_value(evidence.model_dump()))


# Programs that reach the network (or install environments that do): only their failures can
# show an outage. The most common failure, `rg` finding nothing, is not worth scanning.
_NETWORK_TOOLS = frozenset(
    "curl wget pip pip3 npm pnpm yarn bun npx bunx uv uvx poetry pdm pipenv hatch tox nox go "
    "cargo gem bundle composer git gh docker make mvn gradle dotnet deno conda mamba pixi".split()
)


def _runner(shell: ShellAnalysis) -> str:
    argv = shell.test_argv
    if len(argv) > 2 and argv[1] == "-m":
        return argv[2]
    return program_name(argv[0]) if argv else ""


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
