"""Agent commands: run one agent step on a run, and grade a saved transcript offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from common.errors import UsageError
from common.settings import Settings
from contracts import AgentStepRequest, Engine
from contracts.policy import CodexSandbox
from starter.cli import render
from starter.cli.invoke import build, parse_state, send_command
from starter.cli.options import JsonOption, KeyOption, ReasonOption, RunIdOption
from starter.cli.plans import read_prompt


def run_agent_step(
    run_id: RunIdOption,
    prompt_file: Annotated[
        Path | None, typer.Option("--prompt-file", help="The task for the agent (markdown).")
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            case_sensitive=False,
            help="codex (default), claude, "
            "or command (a shell command / codemod given with --command).",
        ),
    ] = Engine.CODEX,
    command: Annotated[
        str | None, typer.Option("--command", help="With --engine command: what to run.")
    ] = None,
    codex_sandbox: Annotated[
        CodexSandbox | None,
        typer.Option(
            "--codex-sandbox",
            help="codex --sandbox (default: the policy's, "
            "danger-full-access with agentpr's guardrails).",
        ),
    ] = None,
    codex_model: Annotated[
        str | None,
        typer.Option(
            "--codex-model",
            help="Model for codex/claude (default: the operator's codex config in CODEX_HOME).",
        ),
    ] = None,
    codex_config: Annotated[
        list[str] | None,
        typer.Option(
            "--codex-config", help="Extra `codex exec -c KEY=VALUE` override (repeatable)."
        ),
    ] = None,
    no_codex_full_auto: Annotated[
        bool,
        typer.Option(
            "--no-codex-full-auto",
            help="Accepted for the previous tool's "
            "scripts; no effect: `codex exec` never asks for approval and current "
            "versions reject --full-auto/-a.",
        ),
    ] = False,
    success_state: Annotated[
        str | None,
        typer.Option(
            "--success-state",
            help="State to move to when the step grades PASS (e.g. LOCAL_VALIDATING).",
        ),
    ] = None,
    skip_preflight: Annotated[
        bool, typer.Option("--skip-preflight", help="Do not run preflight first (debugging).")
    ] = False,
    skip_network_check: Annotated[
        bool, typer.Option("--skip-network-check", help="Preflight without registry probes.")
    ] = False,
    max_minutes: Annotated[
        float | None,
        typer.Option(
            "--max-minutes", help="Wall-clock limit (default: the policy's agent_timeout_minutes)."
        ),
    ] = None,
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one agent step in the run's workspace under the runtime guardrails, grade it from
    its event stream and converge the state: PASS → --success-state (if given);
    HUMAN_REVIEW → NEEDS_HUMAN_REVIEW; RETRYABLE → FAILED_RETRYABLE. Exits 1 unless PASS.
    `agentpr pause` stops a running step (its whole process group)."""
    del no_codex_full_auto  # documented no-op, see --help
    prompt = read_prompt(prompt_file)
    request = build(
        AgentStepRequest,
        engine=engine,
        prompt=prompt,
        command=command,
        codex_sandbox=codex_sandbox,
        codex_model=codex_model,
        codex_config=codex_config or [],
        success_state=parse_state(success_state, "--success-state") if success_state else None,
        skip_preflight=skip_preflight,
        skip_network_check=skip_network_check,
        max_minutes=max_minutes,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    result = send_command(run_id, "run_agent_step", request, as_json)
    if result.agent is not None and result.agent.grade.verdict != "PASS":
        raise typer.Exit(1)


def analyze_transcript(
    transcript: Annotated[
        Path,
        typer.Argument(
            help="A saved JSONL event stream (or a command's output with --engine command)."
        ),
    ],
    engine: Annotated[Engine, typer.Option("--engine", case_sensitive=False)] = Engine.CODEX,
    exit_code: Annotated[
        int | None,
        typer.Option("--exit-code", help="The agent's exit code (omit if it was killed)."),
    ] = 0,
    changed_files: Annotated[int, typer.Option("--changed-files", min=0)] = 0,
    added_lines: Annotated[int, typer.Option("--added-lines", min=0)] = 0,
    removed_lines: Annotated[int, typer.Option("--removed-lines", min=0)] = 0,
    state: Annotated[
        str, typer.Option("--state", help="The run's state during the step.")
    ] = "IMPLEMENTING",
    attempt: Annotated[
        int, typer.Option("--attempt", min=1, help="Attempt number (retry cap).")
    ] = 1,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            help="The repository path the agent worked in "
            "(sharpens the writes-outside-the-repo check).",
        ),
    ] = None,
    timed_out: Annotated[
        bool, typer.Option("--timed-out", help="The wall clock ended it.")
    ] = False,
    command: Annotated[str | None, typer.Option("--command", help="With --engine command.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Grade a saved transcript with the same grader agent steps use (no Temporal needed)."""
    from common.policy import PolicyError, load_policy
    from contracts.policy import RunPolicy
    from engines import parse_transcript
    from engines.command import command_evidence
    from grading import GradeInput, grade
    from workflows.states import step_changes_code

    if not transcript.is_file():
        raise UsageError(f"transcript not found: {transcript}")
    run_state = parse_state(state, "--state")
    settings = Settings.from_env()
    try:
        policy = load_policy(settings.policy_file).defaults
    except PolicyError:
        policy = RunPolicy()
    if engine == Engine.COMMAND:
        evidence = command_evidence(
            command or "", exit_code, transcript.read_text(errors="replace"), workspace
        )
    else:
        with open(transcript, encoding="utf-8", errors="replace") as lines:
            evidence = parse_transcript(engine, lines, workspace)
    outcome = grade(
        GradeInput(
            evidence=evidence,
            exit_code=exit_code,
            timed_out=timed_out,
            changed_files=changed_files,
            added_lines=added_lines,
            removed_lines=removed_lines,
            state=run_state,
            expects_changes=step_changes_code(run_state),
            policy=policy,
            attempt=attempt,
        )
    )
    if as_json:
        render.print_json(
            {
                "transcript": str(transcript),
                "engine": engine.value,
                "verdict": outcome.verdict.value,
                "reason_code": outcome.reason_code,
                "next_action": outcome.next_action,
                "reasons": outcome.reasons,
                "evidence": json.loads(evidence.model_dump_json()),
                "graded_at": datetime.now(UTC).isoformat(),
            }
        )
        return
    render.console.print(
        f"{transcript.name}: [bold]{outcome.verdict.value}[/bold] ({outcome.reason_code})"
    )
    render.console.print(f"  next: {outcome.next_action}")
    for line in outcome.reasons:
        render.console.print(f"  - {line}")
    last = evidence.test_runs[-1] if evidence.test_runs else None
    render.console.print(
        f"  events {evidence.event_count}, commands {evidence.command_count}, test runs "
        f"{len(evidence.test_runs)}"
        + (f" (last: {'pass' if last.passed else 'fail'}: {last.command[:80]})" if last else "")
    )


COMMANDS = {
    "run-agent-step": run_agent_step,
    "analyze-transcript": analyze_transcript,
}
