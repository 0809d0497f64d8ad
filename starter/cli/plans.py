"""What an auto-mode run (or every run of a campaign) does by itself: the options that build
an AutoPlan, shared by `create-run --mode auto` and `campaign start`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from common.errors import UsageError
from contracts import MAX_PROMPT_BYTES, AgentStepRequest, AutoPlan, Engine

PromptFileOption = Annotated[
    Path | None, typer.Option("--prompt-file", help="The task for the agent (markdown).")
]
EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        case_sensitive=False,
        help="codex (default), claude, or "
        "command (a shell command / codemod given with --command).",
    ),
]
CommandOption = Annotated[
    str | None, typer.Option("--command", help="With --engine command: what to run.")
]
CommitTitleOption = Annotated[
    str, typer.Option("--commit-title", help="Conventional commit title of the pushed change.")
]
PrTitleOption = Annotated[
    str | None, typer.Option("--pr-title", help="PR title (default: the commit title).")
]
PrBodyFileOption = Annotated[
    Path | None, typer.Option("--pr-body-file", help="PR body (markdown) from this file.")
]
ValidationOption = Annotated[
    str | None,
    typer.Option(
        "--validation-command",
        help="Test command of the validation step "
        "(default: the repository's first detected test command).",
    ),
]
CodexModelOption = Annotated[
    str | None,
    typer.Option(
        "--codex-model",
        help="Model for codex/claude (default: the operator's codex config in CODEX_HOME).",
    ),
]
CodexConfigOption = Annotated[
    list[str] | None,
    typer.Option("--codex-config", help="Extra `codex exec -c KEY=VALUE` override (repeatable)."),
]
SkipNetworkCheckOption = Annotated[
    bool, typer.Option("--skip-network-check", help="Preflight without registry probes.")
]
MaxMinutesOption = Annotated[
    float | None, typer.Option("--max-minutes", help="Wall-clock limit of each agent step.")
]


def read_prompt(prompt_file: Path | None) -> str | None:
    if prompt_file is None:
        return None
    if not prompt_file.is_file():
        raise UsageError(f"prompt file not found: {prompt_file}")
    data = prompt_file.read_bytes()
    if len(data) > MAX_PROMPT_BYTES:
        raise UsageError(f"prompt file is {len(data)} bytes; the limit is {MAX_PROMPT_BYTES}")
    return data.decode("utf-8", errors="replace")


def build_plan(
    engine: Engine,
    prompt_file: Path | None,
    command: str | None,
    commit_title: str,
    pr_title: str | None,
    pr_body_file: Path | None,
    validation_command: str | None,
    max_minutes: float | None,
    skip_network_check: bool = False,
    codex_model: str | None = None,
    codex_config: list[str] | None = None,
) -> AutoPlan:
    from starter.cli.runs import build  # runs.py imports this module's options

    if pr_body_file is not None and not pr_body_file.is_file():
        raise UsageError(f"PR body file not found: {pr_body_file}")
    step = build(
        AgentStepRequest,
        engine=engine,
        prompt=read_prompt(prompt_file),
        command=command,
        max_minutes=max_minutes,
        skip_network_check=skip_network_check,
        codex_model=codex_model,
        codex_config=codex_config or [],
    )
    return build(
        AutoPlan,
        step=step,
        commit_title=commit_title,
        pr_title=pr_title or commit_title,
        pr_body=pr_body_file.read_text(errors="replace") if pr_body_file else "",
        validation_command=validation_command,
    )
