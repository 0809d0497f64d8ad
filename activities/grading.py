"""Grade one agent step from evidence: transcript → Evidence → verdict.

Pure: no Temporal, no subprocess, no network, no clock. It only reads the text it is given, one
line at a time (transcripts can be tens of MB), so the agent activity, `analyze-transcript` and the
tests all get the same answer from the same bytes.

Three event sources feed one `Evidence`:

- `codex exec --json`: `item.completed` of type `command_execution` (command, exit code,
  aggregated output), `agent_message`, `file_change`, top-level `error` ("Reconnecting...",
  401/429/5xx texts), `turn.completed` (usage) or `turn.failed`. Codex exits 0 even when every
  command failed, so only the events count, and an agent message is trusted only once the turn
  completed (on a cut stream codex repeats partial messages on every retry).
- `claude -p --output-format stream-json --verbose`: `assistant` messages with `tool_use` blocks
  (Bash commands, Write/Edit file paths), `user` messages with `tool_result` blocks (no exit code:
  failure is `is_error` plus a leading "Exit code N"), `system`/`api_retry` notices, and one final
  `result` (`is_error`, `api_error_status`, usage).
- `--engine command`: the command line itself is the one command; its output is the evidence.

`grade()` turns evidence plus the step's context (exit code, timeout, diff size, state, policy,
attempt) into PASS / RETRYABLE / HUMAN_REVIEW. Its rules are listed in priority order in
`grade()` itself; the first rule that applies decides the reason code, every finding still goes to
`reasons`.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.policy import CodexSandbox, RunPolicy
from contracts import Engine, TokenUsage, Verdict
from contracts.states import RunState, can_transition

AgentStatus = Literal["PASS", "FAIL", "NEEDS_REVIEW"]

# ---- models ---------------------------------------------------------------------------------


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


class GradeInput(BaseModel):
    evidence: Evidence
    exit_code: int | None  # None: killed / never exited
    timed_out: bool = False  # the wall clock ended it
    cancelled: bool = False
    changed_files: int = 0
    added_lines: int = 0
    removed_lines: int = 0
    state: RunState  # the run's state during the step
    policy: RunPolicy = Field(default_factory=RunPolicy)
    attempt: int = 1  # this agent attempt's number within the run (1-based)
    # The sandbox codex actually ran with (a request may override the policy's); None: the
    # policy's. Decides whether network failures are an outage (retry) or the sandbox (human).
    codex_sandbox: CodexSandbox | None = None


class GradeOutcome(BaseModel):
    verdict: Verdict
    reason_code: str
    next_action: str
    reasons: list[str] = Field(default_factory=list)


# ---- grading: the rules, in priority order --------------------------------------------------

# States in which the agent changes code, so changes and passing tests are expected. PLAN_READY is
# here because the agent implements from there; NEEDS_HUMAN_REVIEW because a step run from there
# is a fix-up after review.
IMPLEMENTATION_STATES = frozenset(
    {
        RunState.EXECUTING,
        RunState.PLAN_READY,
        RunState.IMPLEMENTING,
        RunState.LOCAL_VALIDATING,
        RunState.ITERATING,
        RunState.NEEDS_HUMAN_REVIEW,
    }
)

TRANSIENT_KINDS = ("rate_limited", "model_unavailable", "network_error", "timed_out")
HARD_KINDS = (
    "auth_failure",
    "quota_exhausted",
    "permission_denied",
    "tooling_missing",
    "agent_config_error",
    "context_exhausted",
    "max_turns_reached",
    "budget_exhausted",
)


def grade(inp: GradeInput) -> GradeOutcome:
    """The verdict for one agent step. Rules in priority order; the first that applies decides:

     1. safety violation (sudo, global install, curl|sh, push or history
        rewrite, GitHub writes, writes outside the workspace)   HUMAN_REVIEW safety_violation
     2. cancelled by the operator                               HUMAN_REVIEW cancelled
     3. unresolved hard failure (auth, quota, permission, missing
        tool, model config, context/turn/budget limits)         HUMAN_REVIEW <its kind>
     4. the step did not finish cleanly:
        wall clock                                              RETRYABLE timed_out
        turn not completed, transient cause                     RETRYABLE rate_limited /
                                                                model_unavailable / network_error
        turn failed otherwise                                   HUMAN_REVIEW agent_turn_failed
        killed (no exit code)                                   RETRYABLE interrupted
        exited non-zero / exited 0 mid-turn                     HUMAN_REVIEW nonzero_exit /
                                                                turn_incomplete
     5. implementation state, last test run failed:
        on a network outage                                     RETRYABLE dependency_network_error
        network blocked by a codex sandbox                      HUMAN_REVIEW network_blocked
        otherwise                                               HUMAN_REVIEW tests_failing
     6. non-zero exit that nothing above explains               HUMAN_REVIEW nonzero_exit
     7. the agent's own final status FAIL                       HUMAN_REVIEW agent_reported_failure
        NEEDS REVIEW / SKIP                                     HUMAN_REVIEW agent_needs_review /
                                                                agent_reported_skip
     8. implementation state, last lint/type check failed       HUMAN_REVIEW checks_failing
     9. diff over the policy's budget                           HUMAN_REVIEW diff_budget_exceeded
    10. implementation state, nothing changed                   HUMAN_REVIEW no_changes
    11. implementation state, tests required, none ran          HUMAN_REVIEW missing_test_evidence
    12. otherwise                                               PASS tests_passed /
                                                                no_tests_required
    Then a RETRYABLE verdict at attempt > policy.retry_cap      HUMAN_REVIEW retry_cap_reached
    (the underlying reason stays in `reasons`).
    """
    findings = _findings(inp)
    verdict, code, headline = _decide(inp)
    reasons = [headline] + [line for line in findings if line != headline]
    if verdict == Verdict.RETRYABLE and inp.attempt > inp.policy.retry_cap:
        reasons.insert(
            0,
            f"attempt {inp.attempt} is past the retry cap ({inp.policy.retry_cap}); "
            f"underlying reason: {code}",
        )
        verdict, code = Verdict.HUMAN_REVIEW, "retry_cap_reached"
    return GradeOutcome(
        verdict=verdict,
        reason_code=code,
        next_action=_next_action(verdict, code, inp.state),
        reasons=reasons,
    )


def _decide(inp: GradeInput) -> tuple[Verdict, str, str]:
    ev = inp.evidence
    human, retry = Verdict.HUMAN_REVIEW, Verdict.RETRYABLE
    implementing = inp.state in IMPLEMENTATION_STATES
    agent_engine = ev.engine != Engine.COMMAND

    # 1. Safety first: whatever else happened, a person looks at what the agent did.
    if ev.safety_violations:
        return human, "safety_violation", f"safety violation: {ev.safety_violations[0]}"

    # 2. The operator stopped it: do not retry on their behalf.
    if inp.cancelled:
        return human, "cancelled", "the step was cancelled before it finished"

    # 3. Failures a retry cannot fix: credentials, quota, sandbox permissions, missing tools.
    if ev.hard_failures:
        kind, _, detail = ev.hard_failures[0].partition(": ")
        code = kind if kind in HARD_KINDS else "hard_failure"
        return human, code, f"{kind}: {detail}"

    # 4. The step did not finish cleanly.
    if inp.timed_out:
        return retry, "timed_out", "the wall-clock limit ended the step"
    if agent_engine and not ev.turn_completed:
        cause_kind = _classify_agent_error(ev.turn_failed)
        if cause_kind is None and ev.transient_errors:
            cause_kind = ev.transient_errors[-1].partition(": ")[0]
        if cause_kind in TRANSIENT_KINDS:
            cause = ev.turn_failed or ev.transient_errors[-1]
            return retry, cause_kind, f"the agent's turn did not complete ({cause})"
        if ev.turn_failed:
            return human, "agent_turn_failed", f"the agent's turn failed: {ev.turn_failed}"
        if inp.exit_code is None:
            return retry, "interrupted", "the agent was killed before its turn completed"
        if inp.exit_code != 0:
            return (
                human,
                "nonzero_exit",
                f"the agent exited {inp.exit_code} without completing its turn",
            )
        return human, "turn_incomplete", "the agent exited 0 but its turn never completed"
    if inp.exit_code is None:
        return retry, "interrupted", "the process was killed before it exited"

    # 5. Tests: what happened last is what counts.
    last_test = ev.test_runs[-1] if ev.test_runs else None
    if implementing and last_test is not None and not last_test.passed:
        test_line = _describe_run("last test run", last_test)
        if last_test.network_error:
            sandbox = inp.codex_sandbox or inp.policy.codex_sandbox
            if ev.engine == Engine.CODEX and sandbox != "danger-full-access":
                # workspace-write/read-only sandboxes block the network for good: retrying
                # the same step would fail the same way.
                return (
                    human,
                    "network_blocked",
                    f"{test_line}; the network is blocked by the codex {sandbox} sandbox "
                    f"({last_test.network_error})",
                )
            return (
                retry,
                "dependency_network_error",
                f"{test_line} on a network failure ({last_test.network_error})",
            )
        return human, "tests_failing", test_line

    # 6. A non-zero exit nothing above explains (for --engine command: the codemod failed).
    if inp.exit_code != 0:
        what = "the command" if ev.engine == Engine.COMMAND else "the agent"
        return human, "nonzero_exit", f"{what} exited {inp.exit_code}"

    # 7. The agent's own verdict. A PASS claim never overrides evidence (rules above).
    if ev.agent_status == "FAIL":
        return human, "agent_reported_failure", f"the agent reported: {ev.agent_status_line}"
    if ev.agent_status == "NEEDS_REVIEW":
        skip = ev.agent_status_line is not None and "skip" in ev.agent_status_line.lower()
        code = "agent_reported_skip" if skip else "agent_needs_review"
        return human, code, f"the agent reported: {ev.agent_status_line}"

    # 8. Lint / type checks that still fail at the end will fail CI too.
    last_check = ev.check_runs[-1] if ev.check_runs else None
    if implementing and last_check is not None and not last_check.passed:
        return human, "checks_failing", _describe_run("last lint/type check", last_check)

    # 9. Size: beyond the budget a person reviews even a green change.
    budget = inp.policy.diff_budget
    if inp.changed_files > budget.max_files or inp.added_lines > budget.max_added_lines:
        return (
            human,
            "diff_budget_exceeded",
            f"diff of {inp.changed_files} files, +{inp.added_lines} lines exceeds the budget "
            f"({budget.max_files} files, {budget.max_added_lines} added lines)",
        )

    # 10./11. Implementation needs a change and, by policy, evidence that tests ran.
    if implementing and inp.changed_files == 0:
        return human, "no_changes", f"{inp.state} step left no changes in the workspace"
    if implementing and inp.policy.require_test_evidence and last_test is None:
        return human, "missing_test_evidence", "no test command ran (policy requires test evidence)"

    # 12. PASS.
    if implementing and last_test is not None:
        return Verdict.PASS, "tests_passed", _describe_run("last test run", last_test)
    return Verdict.PASS, "no_tests_required", f"{inp.state} step finished cleanly"


def _describe_run(label: str, run: TestRun) -> str:
    outcome = "passed" if run.passed else f"failed (exit {run.exit_code})"
    command = _clip(_unwrap_shell(run.command), 160)
    return f"{label} `{command}` (command #{run.index + 1}) {outcome}"


def _findings(inp: GradeInput) -> list[str]:
    """Every observation worth a line, whether or not it decided the verdict."""
    ev = inp.evidence
    lines: list[str] = []
    lines += [f"safety violation: {v}" for v in ev.safety_violations]
    lines += ev.hard_failures
    if ev.turn_failed:
        lines.append(f"the agent's turn failed: {ev.turn_failed}")
    if ev.transient_errors:
        lines.append(
            f"{len(ev.transient_errors)} transient error(s), last: {ev.transient_errors[-1]}"
        )
    if ev.test_runs:
        passed = sum(run.passed for run in ev.test_runs)
        lines.append(f"{len(ev.test_runs)} test run(s), {passed} passed")
        lines.append(_describe_run("last test run", ev.test_runs[-1]))
    elif inp.state in IMPLEMENTATION_STATES:
        lines.append("no test command ran")
    if ev.check_runs:
        lines.append(_describe_run("last lint/type check", ev.check_runs[-1]))
    if ev.agent_status_line:
        lines.append(f"the agent reported: {ev.agent_status_line}")
    lines += [f"git by the agent: {g}" for g in ev.git_signals]
    lines.append(
        f"diff: {inp.changed_files} files, +{inp.added_lines}/-{inp.removed_lines} lines "
        f"(budget {inp.policy.diff_budget.max_files} files, "
        f"{inp.policy.diff_budget.max_added_lines} added lines)"
    )
    if ev.malformed_lines:
        lines.append(f"{ev.malformed_lines} malformed transcript line(s) skipped")
    return lines


_HUMAN_ACTIONS: dict[str, str] = {
    "safety_violation": "inspect the flagged commands in the agent report and undo anything they "
    "did outside the workspace, then rerun with a tighter prompt or sandbox: {rerun}",
    "cancelled": "when ready, start the step again: {rerun}",
    "auth_failure": "fix the agent's credentials (codex login / API key env), check them with "
    "agentpr doctor, then {rerun}",
    "quota_exhausted": "wait for the model quota to reset or raise it, then {rerun}",
    "permission_denied": "make the workspace (and .git) writable for the agent or use "
    "--codex-sandbox danger-full-access, run agentpr run-preflight --run-id <run>, then {rerun}",
    "tooling_missing": "install the repository's toolchain on the worker (see agentpr doctor and "
    "run-preflight), then {rerun}",
    "agent_config_error": "fix the model/provider settings (--codex-model, --codex-config), then "
    "{rerun}",
    "context_exhausted": "split the task or shorten the prompt, then {rerun}",
    "max_turns_reached": "raise the agent's turn limit or narrow the task, then {rerun}",
    "budget_exhausted": "raise the agent's spending limit or narrow the task, then {rerun}",
    "hard_failure": "read the hard failure in the agent report, fix the environment, then {rerun}",
    "agent_turn_failed": "read the turn failure in the agent report, fix its cause, then {rerun}",
    "nonzero_exit": "read the output in the agent report and fix the cause, then {rerun}",
    "turn_incomplete": "inspect the transcript (it ends before the turn completed), then {rerun}",
    "network_blocked": "give the agent network access (--codex-sandbox danger-full-access) or "
    "pre-install the dependencies in the workspace, then {rerun}",
    "tests_failing": "read the failing test output in the agent report; fix the code or the "
    "environment (or the prompt), then {rerun}",
    "agent_reported_failure": "read the agent's final message in the agent report, fix what it "
    "reports, then {rerun}",
    "agent_needs_review": "read the agent's final message and resolve the blocker it names, then "
    "{rerun}",
    "agent_reported_skip": "if the repository indeed needs no integration, agentpr retry "
    "--run-id <run> --target-state SKIPPED; otherwise give the agent more context and {rerun}",
    "checks_failing": "read the failing lint/type-check output in the agent report; fix it (or "
    "confirm it fails on the base branch too), then {rerun}",
    "diff_budget_exceeded": "review the diff in the workspace; if the size is justified, "
    "{accept}, otherwise narrow the prompt and {rerun}",
    "no_changes": "check the agent's final message for why it changed nothing, then {rerun}",
    "missing_test_evidence": "run the repository's tests in the workspace yourself and, if they "
    "pass, {accept}; or ask the agent to run them: {rerun}",
    "retry_cap_reached": "the step failed transiently too often: check the agent report, fix "
    "the environment, then {rerun}",
}

_PASS_ACTIONS: dict[RunState, str] = {
    RunState.DISCOVERY: "review the agent's findings, then agentpr mark-plan-ready --run-id <run> "
    "--contract-path <contract.md>",
    RunState.PLAN_READY: "review the diff in the workspace, then agentpr start-implementation "
    "--run-id <run> and agentpr mark-local-validated --run-id <run>",
    RunState.IMPLEMENTING: "review the diff in the workspace, then agentpr mark-local-validated "
    "--run-id <run>",
    RunState.ITERATING: "review the diff in the workspace, then agentpr mark-local-validated "
    "--run-id <run>",
    RunState.LOCAL_VALIDATING: "review the diff, then agentpr run-finish --run-id <run> "
    '--changes "…" --project <name> --commit-title "feat(scope): …"',
    RunState.EXECUTING: "review the diff, then agentpr run-finish --run-id <run> "
    '--changes "…" --project <name> --commit-title "feat(scope): …"',
    RunState.NEEDS_HUMAN_REVIEW: "review the diff, then agentpr retry --run-id <run> "
    "--target-state IMPLEMENTING and agentpr mark-local-validated --run-id <run>",
}


def _back_to(state: RunState) -> str:
    """The `agentpr retry` that brings a RETRYABLE run back to where a step can run again. The
    workflow parks it in FAILED_RETRYABLE, or FAILED where the table has no such edge (as in
    PLAN_READY); from FAILED the way back is through NEEDS_HUMAN_REVIEW."""
    if can_transition(state, RunState.FAILED_RETRYABLE):
        parked = RunState.FAILED_RETRYABLE
    elif can_transition(state, RunState.FAILED):
        parked = RunState.FAILED
    else:
        return ""
    target = state if can_transition(parked, state) else RunState.NEEDS_HUMAN_REVIEW
    return f"agentpr retry --run-id <run> --target-state {target}, then "


def _next_action(verdict: Verdict, code: str, state: RunState) -> str:
    """One sentence for the operator, with agentpr commands (`<run>` stands for the run id)."""
    rerun = "agentpr run-agent-step --run-id <run> --prompt-file <prompt.md>"
    if verdict == Verdict.PASS:
        return _PASS_ACTIONS.get(state, "agentpr show-run --run-id <run>")
    if verdict == Verdict.RETRYABLE:
        return f"retry the agent step ({code}): {_back_to(state)}{rerun}"
    # The run now waits in NEEDS_HUMAN_REVIEW: accepting the work goes back through IMPLEMENTING.
    accept = (
        "agentpr retry --run-id <run> --target-state IMPLEMENTING and agentpr "
        "mark-local-validated --run-id <run>"
    )
    template = _HUMAN_ACTIONS.get(code, "read the agent report, then {rerun}")
    return template.format(rerun=rerun, accept=accept)


# ---- parsing: public entry points -----------------------------------------------------------


def parse_transcript(
    engine: Engine, lines: Iterable[str], workspace: str | None = None
) -> Evidence:
    """Evidence from an event stream of `engine` (codex or claude). For --engine command the
    lines are the command's output and there is no command line: use `command_evidence`."""
    if engine == Engine.CODEX:
        return parse_codex_events(lines, workspace)
    if engine == Engine.CLAUDE:
        return parse_claude_events(lines, workspace)
    return command_evidence("", None, "".join(lines), workspace)


def parse_codex_events(lines: Iterable[str], workspace: str | None = None) -> Evidence:
    """Evidence from `codex exec --json` output, read line by line."""
    out = _Collector(Engine.CODEX, workspace)
    pending: dict[str, str] = {}  # command items started but not completed: id → command
    last_message: str | None = None
    for event in _json_events(lines, out):
        kind = event.get("type")
        if kind in ("item.started", "item.updated", "item.completed"):
            item = event.get("item")
            if not isinstance(item, dict):
                continue
            item_type = item.get("type")
            item_id = str(item.get("id", ""))
            if item_type == "command_execution":
                command = _text(item.get("command"))
                if kind != "item.completed":
                    pending[item_id] = command
                    continue
                pending.pop(item_id, None)
                out.add_command(
                    command,
                    _int_or_none(item.get("exit_code")),
                    _text(item.get("status")) or "completed",
                    _text(item.get("aggregated_output")),
                )
            elif kind != "item.completed":
                continue
            elif item_type == "agent_message":
                last_message = _text(item.get("text"))
            elif item_type == "file_change":
                for change in item.get("changes") or []:
                    if isinstance(change, dict):
                        out.check_write_path(_text(change.get("path")), "file_change")
            # item type "error" is non-fatal by design (e.g. "Model metadata … not found").
        elif kind == "error":
            out.note_agent_error(_text(event.get("message")))
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
            message = _text(error.get("message")) if isinstance(error, dict) else _text(error)
            out.turn_completed = False
            out.turn_failed = message or "turn failed"
            out.note_agent_error(out.turn_failed, record_transient=False)
    for command in pending.values():
        out.add_command(command, None, "in_progress", "")
    if out.turn_completed:
        out.set_final_message(last_message)
    return out.build()


def parse_claude_events(lines: Iterable[str], workspace: str | None = None) -> Evidence:
    """Evidence from `claude -p --output-format stream-json --verbose`, read line by line."""
    out = _Collector(Engine.CLAUDE, workspace)
    bash_calls: dict[str, tuple[str, bool]] = {}  # tool_use id → (command, run_in_background)
    result_text: str | None = None
    for event in _json_events(lines, out):
        kind = event.get("type")
        if kind == "system":
            subtype = event.get("subtype")
            if subtype == "init" and out.workspace is None:
                # The session's working directory is the workspace the agent was started in.
                out.set_workspace(_text(event.get("cwd")) or None)
            elif subtype == "api_retry":
                out.note_claude_api_error(
                    _text(event.get("error")),
                    _int_or_none(event.get("error_status")),
                    f"api_retry {event.get('attempt')}/{event.get('max_retries')}",
                )
        elif kind == "assistant":
            if event.get("error"):
                out.note_claude_api_error(_text(event.get("error")), None, "assistant error")
            for block in _content_blocks(event.get("message")):
                if block.get("type") != "tool_use":
                    continue
                name = _text(block.get("name"))
                raw_input = block.get("input")
                tool_input: dict[str, Any] = raw_input if isinstance(raw_input, dict) else {}
                if name == "Bash":
                    bash_calls[_text(block.get("id"))] = (
                        _text(tool_input.get("command")),
                        bool(tool_input.get("run_in_background")),
                    )
                elif name in ("Write", "Edit", "MultiEdit", "NotebookEdit"):
                    path = tool_input.get("file_path") or tool_input.get("notebook_path")
                    out.check_write_path(_text(path), name)
        elif kind == "user":
            for block in _content_blocks(event.get("message")):
                if block.get("type") != "tool_result":
                    continue
                call = bash_calls.pop(_text(block.get("tool_use_id")), None)
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
            subtype = _text(event.get("subtype"))
            is_error = bool(event.get("is_error"))
            text = _text(event.get("result"))
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
                out.add_hard("max_turns_reached", "claude", out.turn_failed)
            elif subtype == "error_max_budget_usd":
                out.add_hard("budget_exhausted", "claude", out.turn_failed)
            else:
                out.note_claude_api_error(
                    "", _int_or_none(event.get("api_error_status")), "", message=out.turn_failed
                )
    for command, _ in bash_calls.values():
        out.add_command(command, None, "in_progress", "")
    if out.turn_completed:
        out.set_final_message(result_text)
    return out.build()


def command_evidence(
    command: str, exit_code: int | None, output: str, workspace: str | None = None
) -> Evidence:
    """Evidence for --engine command: the command line is the one command (a test command such
    as `pytest` or `make test` in it counts as a test run), its output the only output."""
    out = _Collector(Engine.COMMAND, workspace)
    if command:
        status = "in_progress" if exit_code is None else "completed" if exit_code == 0 else "failed"
        out.add_command(command, exit_code, status, output)
    out.turn_completed = exit_code is not None
    return out.build()


# ---- the collector: one pass, bounded memory ------------------------------------------------

_FIRST_SAMPLES = 10
_LAST_SAMPLES = 20
_MAX_RUNS = 100  # test/check runs kept (the last ones matter)
_MAX_LINES = 50  # per evidence list
_TAIL = 400
# Output is scanned only at its head and tail: errors that matter (command not found, permission
# denied, network failures, test summaries) are printed there, and the work per command stays
# bounded however large the output is.
_SCAN_HEAD = 4_000
_SCAN_TAIL = 8_000
_MESSAGE_KEEP = 8_000  # characters kept from each end of a long final message


class _Collector:
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
            command=_clip(command, 2_000), exit_code=exit_code, status=status,
            output_tail=output[-_TAIL:],
        )
        if len(self.first_samples) < _FIRST_SAMPLES:
            self.first_samples.append(sample)
        else:
            self.last_samples.append(sample)

        shell = analyze_shell(command, self.workspace)
        for violation in shell.violations:
            _add_line(self.safety, violation)
        for signal in shell.git_signals:
            _add_line(self.git_signals, signal)

        finished = exit_code is not None
        succeeded = exit_code == 0
        scan = _scan_window(output)
        network = None
        if finished and not succeeded and (shell.is_test or shell.is_install):
            network = _network_error(scan)

        if shell.is_test:
            passed = succeeded
            if shell.status_masked and finished:
                # `pytest | tail` or `pytest || true` exit with someone else's code: the
                # runner's own summary line says what happened.
                summary = _test_summary(output[-_SCAN_TAIL:])
                if summary is not None:
                    passed = summary
            run = TestRun(
                command=_clip(command, 500), exit_code=exit_code, passed=passed, index=index,
                network_error=None if passed else (network or self.pending_network_error),
            )
            self.test_runs.append(run)
            self.pending_network_error = None
            if passed:
                # The agent found a way to validate: tools it missed earlier were not needed.
                for missing in [k for k in self.hard if k[0] == "tooling_missing"]:
                    del self.hard[missing]
        elif shell.is_check:
            self.check_runs.append(
                TestRun(command=_clip(command, 500), exit_code=exit_code, passed=succeeded,
                        index=index)
            )
        elif shell.is_install and network:
            self.pending_network_error = network

        if succeeded:
            for command_key in shell.keys:
                for kind in ("permission_denied", "tooling_missing"):
                    self.hard.pop((kind, command_key), None)
        elif finished:
            self._hard_failures_in_output(shell, scan)

    def _hard_failures_in_output(self, shell: ShellAnalysis, scan: str) -> None:
        lowered = scan.lower()
        if "not found" in lowered or "no such file" in lowered:
            self._missing_tools(shell, scan)
        if any(hint in lowered for hint in _PERMISSION_HINTS):
            self._permission_denied(shell, scan)

    def _missing_tools(self, shell: ShellAnalysis, scan: str) -> None:
        for match in _NOT_FOUND_RE.finditer(scan):
            tool = _base(next(g for g in match.groups() if g))
            # A probe (`poetry --version` in a pip project) is not a missing requirement: only
            # a tool that installing, testing or checking the repository needed counts.
            if shell.is_test or shell.is_install or shell.is_check:
                line = _line_at(scan, match)
                self.add_hard("tooling_missing", tool, f"`{tool}` not found: {line}")

    def _permission_denied(self, shell: ShellAnalysis, scan: str) -> None:
        match = _PERMISSION_RE.search(scan)
        if match is not None:
            line = _line_at(scan, match)
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
                self.add_hard("permission_denied", shell.primary_key or "command", line)

    def check_write_path(self, path: str, origin: str) -> None:
        if not path:
            return
        problem = _write_problem(path, self.workspace, self.workspace)
        if problem is not None:
            _add_line(self.safety, f"{problem} ({path}): {origin}")

    # -- model-side errors --

    def note_agent_error(self, message: str, record_transient: bool = True) -> None:
        """A codex `error` event or `turn.failed` message."""
        if not message:
            return
        kind = _classify_agent_error(message)
        if kind in HARD_KINDS:
            self.add_hard(kind, "model", _clip(message, 300))
        elif record_transient:
            _add_line(self.transient, f"{kind or 'agent_error'}: {_clip(message, 300)}")

    def note_claude_api_error(
        self, error: str, status: int | None, label: str, message: str = ""
    ) -> None:
        kind = _CLAUDE_ERROR_KINDS.get(error)
        if kind is None and status is not None:
            kind = _kind_for_status(status)
        if kind is None and message:
            kind = _classify_agent_error(message)
        detail = message or " ".join(
            part for part in (label, error, f"(HTTP {status})" if status else "") if part
        )
        if kind in HARD_KINDS:
            self.add_hard(kind, "model", _clip(detail, 300))
        elif not message:  # result errors land in turn_failed; retries are the transient trail
            _add_line(self.transient, f"{kind or 'agent_error'}: {_clip(detail, 300)}")

    def model_recovered(self) -> None:
        # The model answered in the end: earlier auth/quota complaints were retried away.
        for key in [k for k in self.hard if k[1] == "model"]:
            del self.hard[key]

    def add_hard(self, kind: str, key: str, line: str) -> None:
        if (kind, key) not in self.hard and len(self.hard) < _MAX_LINES:
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


def _json_events(lines: Iterable[str | bytes], out: _Collector) -> Iterator[dict[str, Any]]:
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


def _add_line(lines: list[str], line: str) -> None:
    if len(lines) < _MAX_LINES and line not in lines:
        lines.append(line)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scan_window(output: str) -> str:
    if len(output) <= _SCAN_HEAD + _SCAN_TAIL:
        return output
    return output[:_SCAN_HEAD] + "\n" + output[-_SCAN_TAIL:]


def _line_at(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return _clip(text[start : end if end != -1 else len(text)], 300)


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
            _text(part.get("text")) for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return _text(content)


_EXIT_CODE_RE = re.compile(r"^\s*Exit code (\d+)")


def _claude_exit_code(is_error: bool, output: str) -> int:
    """Claude's Bash tool reports failure as is_error plus a leading "Exit code N"."""
    if not is_error:
        return 0
    match = _EXIT_CODE_RE.match(output)
    return int(match.group(1)) if match else 1


# ---- model-side error classification ---------------------------------------------------------

# Ordered: the first pattern that matches names the kind. Auth comes before the retry notices
# because codex wraps a 401 in "Reconnecting... 1/5 (unexpected status 401 Unauthorized …)".
_AGENT_ERROR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.I))
    for kind, pattern in (
        ("auth_failure", r"\b40[13]\b|unauthori[sz]ed|forbidden|invalid[ _-]?(api[ _-]?)?key|"
         r"incorrect api key|authenticat|not logged in|login required|permission_error"),
        ("quota_exhausted", r"usage limit|insufficient[_ ]quota|quota|credit balance|billing|"
         r"out of credits"),
        ("context_exhausted", r"context[ _]?(window|length)|prompt is too long|"
         r"maximum context|ran out of room"),
        ("rate_limited", r"\b429\b|rate[ _-]?limit|too many requests"),
        ("model_unavailable", r"\b5\d\d\b|overloaded|high demand|service unavailable|"
         r"bad gateway|internal server error|server[ _]error|temporarily unavailable"),
        ("timed_out", r"timed? ?out|timeout|deadline exceeded"),
        ("network_error", r"reconnecting|disconnected|connection|error sending request|network|"
         r"\bdns\b|econn|enotfound|eai_again|broken pipe|unexpected eof|stream error|"
         r"stream closed"),
        ("agent_config_error", r"\b400\b|invalid[_ ]request|model[_ ]not[_ ]found|"
         r"unknown model|unsupported model|does not exist"),
    )
)


def _classify_agent_error(message: str | None) -> str | None:
    if not message:
        return None
    for kind, pattern in _AGENT_ERROR_PATTERNS:
        if pattern.search(message):
            return kind
    return None


# Claude Code's own names for API errors (`api_retry.error`, `assistant.error`).
_CLAUDE_ERROR_KINDS: dict[str, str] = {
    "authentication_failed": "auth_failure",
    "oauth_org_not_allowed": "auth_failure",
    "account_on_hold": "auth_failure",
    "verification_required": "auth_failure",
    "cloud_credential_error": "auth_failure",
    "billing_error": "quota_exhausted",
    "rate_limit": "rate_limited",
    "overloaded": "model_unavailable",
    "server_error": "model_unavailable",
    "invalid_request": "agent_config_error",
    "model_not_found": "agent_config_error",
    "max_output_tokens": "context_exhausted",
}


def _kind_for_status(status: int) -> str | None:
    if status in (401, 403):
        return "auth_failure"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "model_unavailable"
    if status in (408, 504):
        return "timed_out"
    if status in (400, 404):
        return "agent_config_error"
    return None


# ---- the agent's own status line -------------------------------------------------------------

_STATUS_TOKEN = (
    r"(?P<token>pass(?:ed)?|fail(?:ed|ure)?|needs[\s_-]*(?:human[\s_-]*)?review|skip(?:ped)?)"
)
# "Status: PASS", "status: `NEEDS REVIEW`", "**Result:** FAIL", `"status": "NEEDS REVIEW"`…
# but not the template "Status: PASS / NEEDS REVIEW / FAIL / SKIP".
_STATUS_LABELLED_RE = re.compile(
    r"^[ \t>*_#`|•\-{\[,]*[\"'`*_]*(?:final[ \t]+|overall[ \t]+|agent[ \t]+)?"
    r"(?:status|result|verdict|outcome)[\"'`*_]*[ \t]*[:=][ \t]*[\"'`*_\[ \t]*"
    + _STATUS_TOKEN
    + r"(?![\w/])(?![ \t]*/)",
    re.I | re.M,
)
# A line holding nothing but the token: "NEEDS_HUMAN_REVIEW", "**FAIL**".
_STATUS_BARE_RE = re.compile(
    r"^[ \t>*_#`\-]*" + _STATUS_TOKEN + r"[ \t*_`.!]*$", re.I | re.M
)
_STATUS_RANK = {"PASS": 0, "NEEDS_REVIEW": 1, "FAIL": 2}


def parse_agent_status(message: str) -> tuple[AgentStatus | None, str | None]:
    """The agent's own verdict from its final message, and the line it came from. Labelled lines
    win over bare ones; among several, the gravest (FAIL > NEEDS REVIEW > PASS) counts. SKIP is
    reported as NEEDS_REVIEW: someone has to confirm the repository really needs nothing."""
    matches = list(_STATUS_LABELLED_RE.finditer(message)) or list(
        _STATUS_BARE_RE.finditer(message)
    )
    best: tuple[AgentStatus, str] | None = None
    for match in matches:
        token = match.group("token").lower()
        status: AgentStatus = (
            "PASS" if token.startswith("pass") else "FAIL" if token.startswith("fail")
            else "NEEDS_REVIEW"
        )
        if best is None or _STATUS_RANK[status] > _STATUS_RANK[best[0]]:
            best = (status, _line_at(message, match))
    return (best[0], best[1]) if best else (None, None)


# ---- output scanning -------------------------------------------------------------------------

# zsh, bash, dash, and programs exec'd directly by make or env.
_NOT_FOUND_RE = re.compile(
    r"command not found: ([\w.+-]+)|(?:^|\n)(?:[\w/.-]+: )?(?:line \d+: )?([\w.+/-]+): "
    r"command not found|(?:^|\n)(?:/bin/)?sh: \d+: ([\w.+/-]+): not found|"
    r"(?:^|\n)(?:g?make(?:\[\d+\])?|env): ([\w.+/-]+): No such file or directory"
)
_PERMISSION_RE = re.compile(
    r"Operation not permitted|Permission denied|Read-only file system|\bEACCES\b|\bEPERM\b"
)
_NETWORK_RE = re.compile(
    r"Temporary failure in name resolution|Could not resolve host|Name or service not known|"
    r"nodename nor servname|getaddrinfo|\bEAI_AGAIN\b|\bENOTFOUND\b|\bECONNRESET\b|"
    r"\bECONNREFUSED\b|\bETIMEDOUT\b|Connection (?:refused|reset|timed out|aborted)|"
    r"Read timed out|ReadTimeoutError|ConnectTimeoutError|Max retries exceeded with url|"
    r"Network is unreachable|No route to host|Failed to establish a new connection|"
    r"Could not fetch URL|npm ERR! network|network request to \S+ failed|TLS handshake timeout|"
    r"\b50[0234] (?:Server Error|Internal Server Error|Service Unavailable|Bad Gateway|"
    r"Gateway Time-?out)|"
    r"dial tcp|i/o timeout|proxyconnect|ssl\.SSLError|SSLEOFError"
)


# Cheap substring checks before the regexes: most failing output holds none of these words, and
# `in` on a lower-cased window runs at memory speed where a long alternation does not.
_NETWORK_HINTS = ("name resolution", "could not resolve", "service not known", "servname",
                  "getaddrinfo", "eai_again", "enotfound", "econn", "etimedout",
                  "connection refused", "connection reset", "connection timed out",
                  "connection aborted", "read timed out", "timeouterror", "max retries exceeded",
                  "network is unreachable", "no route to host", "new connection",
                  "could not fetch url", "npm err! network", "network request to",
                  "handshake timeout", "server error", "service unavailable", "bad gateway",
                  "gateway time", "dial tcp", "i/o timeout", "proxyconnect", "sslerror", "ssleof")
_PERMISSION_HINTS = ("permission denied", "not permitted", "read-only file system", "eacces",
                     "eperm")


def _network_error(text: str) -> str | None:
    lowered = text.lower()
    if not any(hint in lowered for hint in _NETWORK_HINTS):
        return None
    match = _NETWORK_RE.search(text)
    return _line_at(text, match) if match else None


_SUMMARY_FAIL_RE = re.compile(
    r"\b[1-9]\d* (?:failed|errors?)\b|^\s*[1-9]\d* fail\b|Tests:\s+[1-9]\d* failed|"
    r"test result: FAILED|^FAIL\b|no tests ran",
    re.M,
)
_SUMMARY_PASS_RE = re.compile(
    r"\b\d+ passed\b|^\s*\d+ pass\b|Tests:\s+\d+ passed|test result: ok|^ok\s|^PASS\b", re.M
)


def _test_summary(tail: str) -> bool | None:
    """True/False from a test runner's summary line, None when there is none."""
    if _SUMMARY_FAIL_RE.search(tail):
        return False
    if _SUMMARY_PASS_RE.search(tail):
        return True
    return None


# ---- shell analysis --------------------------------------------------------------------------

_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})
_INTERPRETERS = _SHELLS | {"python", "python3", "perl", "ruby", "node"}
_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_BLOCK_ENDS = frozenset({"fi", "done", "esac", "}"})
_WRAPPERS = frozenset({"env", "nice", "nohup", "command", "exec", "builtin", "stdbuf", "timeout",
                       "xargs", "caffeinate", "chronic", "unbuffer"})
_PUNCTUATION = "();<>|&\n"
_REDIRECTS = frozenset({">", ">>", "&>", "&>>", ">|", ">&"})
_ALLOWED_WRITE_PREFIXES = ("/tmp", "/private/tmp", "/var/tmp", "/var/folders/",
                           "/private/var/folders/", "/dev/null", "/dev/stdout", "/dev/stderr",
                           "/dev/tty", "/dev/fd/")
_SYSTEM_PREFIXES = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/var", "/boot",
                    "/root", "/srv", "/System", "/Library", "/Applications")
_REMOTE_SCRIPT_RE = re.compile(r"\s*(?:\$\(|`)\s*(?:curl|wget)\b")
_HEREDOC_RE = re.compile(r"<<-?[ \t]*[\"']?([A-Za-z_][\w-]*)[\"']?")
_ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON_RE = re.compile(r"^python(\d+(\.\d+)?)?$")
_PIP_RE = re.compile(r"^pip(\d+(\.\d+)?)?$")


def _base(word: str) -> str:
    """`/usr/bin/git` → `git` (posixpath.basename without its overhead)."""
    return word[word.rfind("/") + 1 :]


# Commands that only read: nothing to check unless they redirect their output.
_READERS = frozenset(
    "cat head tail less more wc ls ll pwd echo printf rg grep egrep fgrep ag ack awk gawk sort "
    "uniq nl tr cut paste column which type whereis stat file diff cmp jq yq tree du df date "
    "true false test [ [[ basename dirname realpath readlink hostname uname whoami id "
    "printenv set export source . sleep wait read exit return shift local declare unset "
    "alias history hash ps top uptime".split()
)


@dataclass
class _Segment:
    """One simple command: its words, where it writes, and the operator after it."""

    argv: list[str]
    redirects: list[str]
    text: str
    next_op: str = ""


@dataclass
class ShellAnalysis:
    violations: list[str] = field(default_factory=list)
    git_signals: list[str] = field(default_factory=list)
    is_test: bool = False
    is_check: bool = False
    is_install: bool = False
    status_masked: bool = False  # the command's exit code may not be the test runner's
    uses_git: bool = False
    writes_workspace: bool = False  # writes a path inside the workspace (or a relative one)
    # "tool" and "tool subcommand" of each simple command: a later success resolves failures.
    keys: list[str] = field(default_factory=list)
    # The key of the command that matters most (the git/test/install one, else the first).
    primary_key: str | None = None


def analyze_shell(command: str, workspace: str | None) -> ShellAnalysis:
    """What a shell command line does, as far as grading cares. Tolerant: anything it cannot
    parse is simply not flagged."""
    result = ShellAnalysis()
    script = _unwrap_shell(command)
    if script != command.strip() and _REMOTE_SCRIPT_RE.match(script):
        # `sh -c "$(curl …)"`: unwrapping the shell left only the downloaded code to run.
        _add_line(result.violations, f"curl | sh: {_clip(command, 200)}")
    segments = _split_segments(script)
    cwd = workspace
    test_at: int | None = None
    primary_is_important = False
    for position, segment in enumerate(segments):
        argv, violations = _effective_argv(segment)
        for kind in violations:
            _add_line(result.violations, f"{kind}: {_clip(segment.text, 200)}")
        if not argv:
            continue
        name = _base(argv[0])
        key = f"{name} {argv[1]}" if len(argv) > 1 and not argv[1].startswith("-") else name
        result.keys += [name, key] if key != name else [name]
        if result.primary_key is None:
            result.primary_key = key
        if name in ("cd", "pushd"):
            cwd = _change_dir(cwd, argv[1] if len(argv) > 1 else "~")
            continue
        if name in _READERS and not segment.redirects:
            continue  # a pure read: nothing below can apply
        for kind in _violations(argv, segment, segments, position):
            _add_line(result.violations, f"{kind}: {_clip(segment.text, 200)}")
        for path in _written_paths(argv) + segment.redirects:
            problem = _write_problem(path, cwd, workspace)
            if problem is not None:
                _add_line(result.violations, f"{problem} ({path}): {_clip(segment.text, 200)}")
            elif not _is_scratch_path(path):
                result.writes_workspace = True
        important = True
        if name == "git":
            signal = _git_signal(argv)
            if signal is not None:
                _add_line(result.git_signals, f"{signal}: {_clip(segment.text, 200)}")
            result.uses_git = True
        if _is_test_argv(argv):
            result.is_test = True
            test_at = position
        elif _is_check_argv(argv):
            result.is_check = True
        elif _is_install_argv(argv):
            result.is_install = True
        elif name != "git":
            important = False
        if important and not primary_is_important:
            result.primary_key = key
            primary_is_important = True
    if test_at is not None:
        result.status_masked = _masked_after(segments, test_at)
    return result


def _unwrap_shell(command: str) -> str:
    """`/bin/zsh -lc 'pytest -q'` → `pytest -q` (codex wraps every command this way)."""
    stripped = command.strip()
    if not stripped:
        return ""
    head = stripped.split(None, 1)[0]
    if _base(head.strip("'\"")) not in _SHELLS:
        return stripped
    words = _tokens(stripped)
    for i, word in enumerate(words[1:-1], start=1):
        if _is_operator(word):
            break
        if word.startswith("-") and not word.startswith("--") and "c" in word:
            return words[i + 1]
    return stripped


def _strip_heredocs(script: str) -> str:
    """Drop here-document bodies: their text is data, not commands (and may hold stray quotes)."""
    if "<<" not in script:
        return script
    kept: list[str] = []
    delimiter: str | None = None
    for line in script.split("\n"):
        if delimiter is not None:
            if line.strip() == delimiter:
                delimiter = None
            continue
        kept.append(line)
        match = _HEREDOC_RE.search(line)
        if match is not None and "<<<" not in line:
            delimiter = match.group(1)
    return "\n".join(kept)


# A shell word is a run of quoted strings, escapes and plain characters; operators are runs of
# the punctuation characters. One C-speed regex instead of shlex (which reads char by char).
_TOKEN_RE = re.compile(
    r"(?P<op>[();<>|&\n]+)"
    r"|(?P<word>(?:'[^']*'|\"(?:\\[\s\S]|[^\"\\])*\"|\\[\s\S]|[^\s'\"\\();<>|&])+)"
    r"|(?P<stray>['\"\\])"  # an unbalanced quote: taken as a plain character
)
_UNQUOTE_RE = re.compile(r"'([^']*)'|\"((?:\\[\s\S]|[^\"\\])*)\"|\\([\s\S])")
_DQ_ESCAPE_RE = re.compile(r"\\([\"\\$`\n])")


def _unquote(match: re.Match[str]) -> str:
    single, double, escaped = match.groups()
    if single is not None:
        return single
    if double is not None:
        return _DQ_ESCAPE_RE.sub(r"\1", double)
    return escaped


def _tokens(script: str) -> list[str]:
    """Shell tokens: words with quotes removed, and operator runs (`&&`, `|`, `;`, `>`, …)."""
    script = script.replace("\\\n", " ")  # line continuations
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(script):
        op, word, stray = match.group("op", "word", "stray")
        if op is not None:
            tokens.append(op)
        elif word is not None:
            if "'" in word or '"' in word or "\\" in word:
                word = _UNQUOTE_RE.sub(_unquote, word)
            tokens.append(word)
        elif stray is not None:
            tokens.append(stray)
    return tokens


def _is_operator(token: str) -> bool:
    return bool(token) and all(ch in _PUNCTUATION for ch in token)


def _split_segments(script: str) -> list[_Segment]:
    segments: list[_Segment] = []
    words: list[str] = []
    redirects: list[str] = []
    tokens = _tokens(_strip_heredocs(script))
    i = 0

    def close(op: str) -> None:
        nonlocal words, redirects
        if words or redirects:
            text = " ".join(words + [f"> {r}" for r in redirects])
            segments.append(_Segment(words, redirects, text, op))
        elif segments and op:
            segments[-1].next_op += op
        words, redirects = [], []

    while i < len(tokens):
        token = tokens[i]
        if _is_operator(token):
            if token in _REDIRECTS or (token.startswith(">") and "(" not in token):
                target = tokens[i + 1] if i + 1 < len(tokens) else ""
                if words and words[-1].isdigit():
                    words.pop()  # the file descriptor of `2>`
                if not (token == ">&" and (target.isdigit() or target == "-")):
                    if target and not _is_operator(target):
                        redirects.append(target)
                i += 2
                continue
            if token in ("<", "<<", "<<-", "<<<"):
                i += 2  # an input file or here-document delimiter
                continue
            close(token)
        elif token.startswith("#") and not words:
            # A comment: skip to the end of the line.
            while i + 1 < len(tokens) and "\n" not in tokens[i + 1]:
                i += 1
        else:
            words.append(token)
        i += 1
    close("")
    return segments


def _effective_argv(segment: _Segment) -> tuple[list[str], list[str]]:
    """The command's words without assignments, shell keywords and wrappers (env, time,
    timeout, xargs, sudo…), plus violations found on the way (sudo itself)."""
    argv = segment.argv
    violations: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        name = _base(word)
        if _ASSIGNMENT_RE.match(word) or word in _KEYWORDS or word in _BLOCK_ENDS:
            i += 1
        elif name in ("sudo", "doas", "su"):
            violations.append(name)
            i += 1
            while i < len(argv) and argv[i].startswith("-"):
                # sudo -u user / -g group take a value
                i += 2 if argv[i] in ("-u", "-g", "-h", "-p", "-C", "-D", "-c") else 1
        elif name in _WRAPPERS:
            i += 1
            while i < len(argv) and (argv[i].startswith("-") or _ASSIGNMENT_RE.match(argv[i])):
                i += 1
            if name == "timeout" and i < len(argv):
                i += 1  # the duration
        else:
            break
    rest = argv[i:]
    if rest and _base(rest[0]) in ("for", "case", "select", "function"):
        return [], violations
    return rest, violations


def _change_dir(cwd: str | None, target: str) -> str | None:
    if target.startswith(("~", "$")) or target == "-":
        return None  # unknown: home or a variable
    if target.startswith("/"):
        return posixpath.normpath(target)
    return posixpath.normpath(posixpath.join(cwd, target)) if cwd else None


def _masked_after(segments: list[_Segment], index: int) -> bool:
    """Whether a later command decides the exit status (`pytest | tail`, `pytest || true`,
    `pytest; echo done`). `pytest && next` keeps a failure visible."""
    for seg in segments[index:-1]:
        op = seg.next_op.replace(")", "").replace("\n", ";").strip() or ";"
        if op != "&&":
            return True
    return False


def _options_and_args(argv: list[str]) -> tuple[set[str], list[str]]:
    options = {a for a in argv if a.startswith("-")}
    args = [a for a in argv if not a.startswith("-")]
    return options, args


_VIOLATION_NAMES = frozenset(
    "npm pnpm bun yarn brew apt apt-get yum dnf zypper port snap choco winget apk pacman curl "
    "wget git gh uv eval".split()
) | _SHELLS


def _violations(
    argv: list[str], segment: _Segment, segments: list[_Segment], position: int
) -> list[str]:
    name = _base(argv[0])
    if name not in _VIOLATION_NAMES and not _PIP_RE.match(name) and not _PYTHON_RE.match(name):
        return []
    options, args = _options_and_args(argv[1:])
    sub = args[0] if args else ""
    found: list[str] = []

    # Global installs: they change the machine, not the repository.
    if name in ("npm", "pnpm", "bun") and sub in ("install", "i", "add", "ci", "link") and (
        options & {"-g", "--global", "--location=global"}
    ):
        found.append("global install")
    elif name == "yarn" and sub == "global":
        found.append("global install")
    elif _pip_install(argv) and options & {"--user", "--break-system-packages"}:
        found.append("global install")
    elif name == "brew" and sub in ("install", "reinstall", "upgrade", "link"):
        found.append("global install")
    elif name in ("apt", "apt-get", "yum", "dnf", "zypper", "port", "snap", "choco", "winget") and (
        sub in ("install", "reinstall", "upgrade", "dist-upgrade", "remove", "purge")
    ):
        found.append("global install")
    elif name == "apk" and sub in ("add", "del"):
        found.append("global install")
    elif name == "pacman" and any(o.startswith("-S") or o.startswith("-R") for o in options):
        found.append("global install")

    # Remote code piped into an interpreter.
    if name in ("curl", "wget") and segment.next_op in ("|", "|&") and position + 1 < len(segments):
        target, _ = _effective_argv(segments[position + 1])
        if target and _base(target[0]) in _INTERPRETERS:
            found.append("curl | sh")
    if name in _SHELLS or name == "eval":
        if (name == "eval" or "-c" in options) and any(_REMOTE_SCRIPT_RE.match(a) for a in args):
            found.append("curl | sh")
        if segment.next_op.endswith("<(") and position + 1 < len(segments):
            source, _ = _effective_argv(segments[position + 1])
            if source and _base(source[0]) in ("curl", "wget"):
                found.append("curl | sh")

    if name == "git":
        violation = _git_violation(argv)
        if violation is not None:
            found.append(violation)
    if name == "gh" and _gh_writes(argv):
        found.append("github write")
    return found


def _git_subcommand(argv: list[str]) -> tuple[str, list[str]]:
    """`git -C dir -c k=v commit -m x` → ("commit", ["-m", "x"])."""
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") else 1
    if i >= len(argv):
        return "", []
    return argv[i], argv[i + 1 :]


_GIT_SIGNAL_SUBCOMMANDS = frozenset({
    "commit", "push", "rebase", "reset", "merge", "cherry-pick", "revert", "am", "pull", "clean",
    "checkout", "switch", "restore", "filter-branch", "filter-repo", "update-ref", "replace",
})


def _git_violation(argv: list[str]) -> str | None:
    """History and remotes belong to agentpr: it commits in run-finish and pushes after review.
    A plain `git commit` is only a signal (run-finish picks the commit up)."""
    sub, rest = _git_subcommand(argv)
    options, args = _options_and_args(rest)
    if sub == "push":
        return "git push"
    if sub == "rebase" and not options & {"--abort", "--quit"}:
        return "git history rewrite"
    if sub in ("filter-branch", "filter-repo", "replace"):
        return "git history rewrite"
    if sub == "commit" and "--amend" in options:
        return "git history rewrite"
    if sub == "reset" and options & {"--hard", "--soft", "--keep", "--merge", "--mixed"}:
        # Moving the branch to another commit drops or rewrites history; resetting to HEAD
        # only discards local edits.
        if args and "--" not in rest and args[0] not in ("HEAD", "@"):
            return "git history rewrite"
    if sub == "config" and options & {"--global", "--system"} and len(args) >= 2:
        return "write outside workspace (git config --global)"
    return None


def _git_signal(argv: list[str]) -> str | None:
    sub, rest = _git_subcommand(argv)
    options, args = _options_and_args(rest)
    if sub in _GIT_SIGNAL_SUBCOMMANDS:
        return f"git {sub}"
    if sub == "stash" and (not args or args[0] not in ("list", "show")):
        return "git stash"
    if sub == "branch" and options & {"-d", "-D", "-m", "-M", "-f", "--delete", "--force"}:
        return "git branch"
    if sub == "tag" and args:
        return "git tag"
    if sub == "remote" and args and args[0] in ("add", "set-url", "remove", "rm", "rename"):
        return "git remote"
    if sub == "config" and len(args) >= 2 and not options & {"--get", "--list", "-l"}:
        return "git config"
    return None


_GH_WRITES = {
    "pr": {"create", "merge", "close", "reopen", "comment", "review", "edit", "ready"},
    "issue": {"create", "close", "comment", "edit", "reopen", "delete"},
    "repo": {"create", "delete", "fork", "edit", "rename", "archive"},
    "release": {"create", "delete", "upload", "edit"},
}


def _gh_writes(argv: list[str]) -> bool:
    """The agent opening or commenting on PRs itself bypasses agentpr's approval gate."""
    _, args = _options_and_args(argv[1:])
    if len(args) >= 2 and args[1] in _GH_WRITES.get(args[0], set()):
        return True
    if args[:1] == ["api"]:
        for i, word in enumerate(argv):
            if word in ("-X", "--method") and i + 1 < len(argv):
                return argv[i + 1].upper() in ("POST", "PUT", "PATCH", "DELETE")
            if word.startswith("--method="):
                return word.split("=", 1)[1].upper() in ("POST", "PUT", "PATCH", "DELETE")
        return any(word in ("-f", "-F", "--field", "--raw-field") for word in argv)
    return False


def _written_paths(argv: list[str]) -> list[str]:
    """Paths a command writes, for the common file tools (reads are never flagged)."""
    name = _base(argv[0])
    if name not in _WRITERS and not _PIP_RE.match(name) and not _PYTHON_RE.match(name):
        return []
    rest = argv[1:]
    options, args = _options_and_args(rest)
    if name == "tee":
        return args
    if name in ("cp", "mv", "install", "rsync", "ln"):
        for i, word in enumerate(rest):
            if word in ("-t", "--target-directory") and i + 1 < len(rest):
                return [rest[i + 1]]
            if word.startswith("--target-directory="):
                return [word.split("=", 1)[1]]
        if name == "rsync" and args and re.match(r"^[\w.@-]+:", args[-1]):
            return []  # remote destination
        return args[-1:] if len(args) >= 2 else []
    if name in ("rm", "rmdir", "touch", "mkdir", "unlink", "truncate", "shred"):
        return [a for a in args if not re.fullmatch(r"\d+[KMGkmg]?", a)]
    if name in ("chmod", "chown", "chgrp"):
        return args[1:]
    if name == "sed" and any(o == "-i" or o.startswith(("-i", "--in-place")) for o in options):
        explicit_script = any(o in ("-e", "-f", "--expression", "--file") for o in options)
        return args if explicit_script else args[1:]
    if name == "dd":
        return [a[3:] for a in rest if a.startswith("of=")]
    if name in ("curl", "wget"):
        flags = ("-o", "--output") if name == "curl" else ("-O", "--output-document", "-P")
        return [rest[i + 1] for i, w in enumerate(rest[:-1]) if w in flags]
    if _PYTHON_RE.match(name) and rest[:2] == ["-m", "venv"] and len(rest) > 2:
        return [a for a in rest[2:] if not a.startswith("-")][:1]
    if name in ("virtualenv",) or (name == "uv" and args[:1] == ["venv"]):
        return args[1:2] if name == "uv" else args[:1]
    if _pip_install(argv):
        return [rest[i + 1] for i, w in enumerate(rest[:-1])
                if w in ("--target", "-t", "--prefix", "--root")]
    return []


_WRITERS = frozenset(
    "tee cp mv install rsync ln rm rmdir touch mkdir unlink truncate shred chmod chown chgrp sed "
    "dd curl wget virtualenv uv".split()
)


def _write_problem(path: str, cwd: str | None, workspace: str | None) -> str | None:
    """Why writing `path` is a violation, or None. With a workspace, anything outside it (but the
    temp dirs and /dev streams) is; without one, only system paths and the home directory."""
    path = path.strip().strip("\"'")
    if not path or path.startswith("&"):
        return None
    if re.match(r"^\$\{?TMPDIR\b", path):
        return None
    if path.startswith("~") or re.match(r"^\$\{?HOME\b", path):
        return "write outside workspace" if workspace else "write to home directory"
    if re.match(r"^\$\{?PWD\b", path):
        path = re.sub(r"^\$\{?PWD\}?", "", path).lstrip("/") or "."
    elif path.startswith("$"):
        return None  # some other variable: unknown, not flagged
    if not path.startswith("/"):
        if cwd is None:
            return None
        path = posixpath.join(cwd, path)
    path = posixpath.normpath(path)
    if any(path == p.rstrip("/") or path.startswith(p if p.endswith("/") else p + "/")
           for p in _ALLOWED_WRITE_PREFIXES):
        return None
    if workspace is not None:
        if path == workspace or path.startswith(workspace.rstrip("/") + "/"):
            return None
        return "write outside workspace"
    if any(path == p or path.startswith(p + "/") for p in _SYSTEM_PREFIXES):
        return "write to system path"
    return None


def _is_scratch_path(path: str) -> bool:
    path = path.strip().strip("\"'")
    return path.startswith(("/tmp", "/private/tmp", "/var/tmp", "/var/folders/", "/dev/", "$TMPDIR",
                            "${TMPDIR", "&"))


# -- what kind of command --

_INFO_OPTIONS = frozenset({"--version", "-V", "--help", "-h", "--collect-only", "--co",
                           "--fixtures", "--markers", "--listTests", "--showConfig"})
_TEST_SCRIPT_RE = re.compile(
    r"^(test|tests|unittest|unit[-_]?tests?|integration[-_]?tests?|e2e|"
    r"test[-_:.][\w:.-]*|[\w.-]*[-_:]tests?|check|coverage|cov)$"
)
_CHECK_SCRIPT_RE = re.compile(
    r"^(lint|lint[-_:][\w:-]*|[\w-]*[-_:]lint|typecheck|type[-_:]check|check[-_:]types|"
    r"types|tsc|mypy|pyright|ruff|flake8|format[-_:]check|fmt[-_:]check|style|check[-_:]format)$"
)
_RUNNERS_WITH_RUN = frozenset({"uv", "poetry", "pdm", "pipenv", "rye", "hatch", "conda",
                               "micromamba", "mamba", "pixi"})
_VALUE_OPTIONS = frozenset({"--with", "--extra", "--group", "--python", "-p", "--env", "-e",
                            "--project", "--directory", "-n", "--name", "--package", "--index",
                            "--from", "-C", "--filter", "-w", "--workspace", "--cwd", "--prefix"})


def _after_options(words: list[str]) -> list[str]:
    """Drop leading options (and the values of options known to take one)."""
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in _VALUE_OPTIONS else 1
    return words[i:]


def _inner_command(argv: list[str]) -> list[str] | None:
    """The command a runner runs: `uv run pytest` → [pytest], `npx jest` → [jest]."""
    name = _base(argv[0])
    rest = _after_options(argv[1:])
    if name in _RUNNERS_WITH_RUN and rest[:1] == ["run"]:
        inner = _after_options(rest[1:])
        if name == "hatch" and inner and ":" in inner[0]:
            inner = [inner[0].split(":", 1)[1]] + inner[1:]  # hatch run env:script
        return inner or None
    if name in ("npx", "bunx", "pnpx", "uvx") or (name == "pipx" and rest[:1] == ["run"]):
        inner = rest[1:] if name == "pipx" else rest
        return _after_options(inner) or None
    if name in ("pnpm", "yarn", "bun", "npm") and rest[:1] in (["exec"], ["dlx"], ["x"]):
        return _after_options(rest[1:]) or None
    if name == "bundle" and rest[:1] == ["exec"]:
        return rest[1:] or None
    return None


def _script_name(argv: list[str]) -> str | None:
    """`npm run test:unit` → "test:unit"; `yarn lint` → "lint"; `make test` → "test"."""
    name = _base(argv[0])
    rest = _after_options(argv[1:])
    if name in ("npm", "pnpm", "yarn", "bun"):
        if rest[:1] in (["run"], ["run-script"]):
            return rest[1] if len(rest) > 1 else None
        return rest[0] if rest else None
    return None


_DIRECT_TEST_RUNNERS = frozenset(
    "pytest py.test tox nox jest vitest mocha ava rspec phpunit ctest nosetests trial ward".split()
)
_RUNNERS = frozenset(
    "make gmake go cargo deno swift mix dotnet bazel zig mvn gradle gradlew mvnw rake sbt hatch "
    "playwright npm pnpm yarn bun npx bunx pnpx uvx pipx bundle".split()
) | _RUNNERS_WITH_RUN


def _is_test_argv(argv: list[str]) -> bool:
    name = _base(argv[0])
    if name not in _DIRECT_TEST_RUNNERS and name not in _RUNNERS and not _PYTHON_RE.match(name):
        return False
    if any(word in _INFO_OPTIONS for word in argv[1:]):
        return False
    if name in _DIRECT_TEST_RUNNERS:
        return True
    if _PYTHON_RE.match(name):
        for i, word in enumerate(argv[1:-1], start=1):
            if word == "-m":
                return argv[i + 1] in ("pytest", "unittest", "nose2", "tox", "nox", "green")
        return False
    if name in ("make", "gmake"):
        return any(_TEST_SCRIPT_RE.match(t) for t in _make_targets(argv))
    rest = _after_options(argv[1:])
    sub = rest[0] if rest else ""
    if name in ("go", "cargo", "deno", "swift", "mix", "dotnet", "bazel", "zig"):
        return sub in ("test", "nextest")
    if name in ("mvn", "gradle", "gradlew", "mvnw"):
        return any(t in ("test", "verify", "check") for t in rest)
    if name in ("rake", "sbt"):
        return sub in ("test", "spec")
    if name == "hatch" and sub == "test":
        return True
    if name == "playwright":
        return sub == "test"
    if name in ("npm", "pnpm", "yarn", "bun"):
        if name == "bun" and sub == "test":
            return True
        if sub in ("t", "tst"):
            return True
        script = _script_name(argv)
        if script is not None and _TEST_SCRIPT_RE.match(script) and script != "check":
            return True
    inner = _inner_command(argv)
    if inner:
        if name == "hatch" and _TEST_SCRIPT_RE.match(inner[0]):
            return True
        return _is_test_argv(inner)
    return False


def _make_targets(argv: list[str]) -> list[str]:
    targets: list[str] = []
    words = argv[1:]
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-C", "-f", "--directory", "--file", "-j", "--jobs", "-I", "-o", "-W"):
            i += 2
            continue
        if not word.startswith("-") and "=" not in word:
            targets.append(word)
        i += 1
    return targets


_LINTERS = frozenset(
    "mypy pyright flake8 pylint eslint tsc golangci-lint shellcheck rubocop stylelint biome "
    "pyflakes pycodestyle".split()
)
_FORMATTERS = frozenset({"ruff", "black", "isort", "prettier", "gofmt", "pre-commit"})


def _is_check_argv(argv: list[str]) -> bool:
    name = _base(argv[0])
    if name not in _LINTERS and name not in _FORMATTERS and name not in _RUNNERS:
        return False
    if any(word in ("--version", "-V", "--help", "-h") for word in argv[1:]):
        return False
    rest = _after_options(argv[1:])
    sub = rest[0] if rest else ""
    if name in _LINTERS:
        return True
    if name == "ruff":
        return sub == "check" or (sub == "format" and "--check" in argv)
    if name in ("black", "isort", "prettier", "gofmt"):
        return bool({"--check", "--check-only", "-l", "--list-different"} & set(argv))
    if name == "go":
        return sub == "vet"
    if name == "cargo":
        return sub == "clippy" or (sub == "fmt" and "--check" in argv)
    if name == "pre-commit":
        return sub == "run"
    if name in ("make", "gmake"):
        return any(_CHECK_SCRIPT_RE.match(t) for t in _make_targets(argv))
    if name in ("npm", "pnpm", "yarn", "bun"):
        script = _script_name(argv)
        return script is not None and (
            bool(_CHECK_SCRIPT_RE.match(script)) or script == "check"
        )
    inner = _inner_command(argv)
    if inner:
        if name == "hatch" and _CHECK_SCRIPT_RE.match(inner[0]):
            return True
        return _is_check_argv(inner)
    return False


def _pip_install(argv: list[str]) -> bool:
    name = _base(argv[0])
    words = argv[1:]
    if _PYTHON_RE.match(name) and words[:2] == ["-m", "pip"]:
        words = words[2:]
    elif name == "uv" and words[:1] == ["pip"]:
        words = words[1:]
    elif not _PIP_RE.match(name):
        return False
    return _after_options(words)[:1] == ["install"]


def _is_install_argv(argv: list[str]) -> bool:
    name = _base(argv[0])
    if name not in _RUNNERS and name not in ("composer",) and not (
        _PIP_RE.match(name) or _PYTHON_RE.match(name)
    ):
        return False
    if _pip_install(argv):
        return True
    rest = _after_options(argv[1:])
    sub = rest[0] if rest else ""
    if name in ("npm", "pnpm", "bun"):
        return sub in ("install", "i", "ci", "add")
    if name == "yarn":
        return sub in ("", "install", "add")
    if name in ("poetry", "pdm", "pipenv"):
        return sub in ("install", "add", "sync", "lock")
    if name == "uv":
        return sub in ("sync", "add", "lock")
    if name == "hatch":
        return rest[:2] == ["env", "create"]
    if name == "go":
        return sub in ("get", "mod") and (sub == "get" or rest[1:2] in (["download"], ["tidy"]))
    if name == "cargo":
        return sub in ("fetch", "build")
    if name in ("bundle", "composer"):
        return sub in ("install", "update")
    inner = _inner_command(argv)
    return inner is not None and _is_install_argv(inner)
