"""The options several commands share, as `Annotated` Typer types. Light on purpose: every
command module imports this one at registration (`agentpr --help` included), so it needs only
Typer and the contracts' enums."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contracts import Engine

RunIdOption = Annotated[str, typer.Option("--run-id", help="The run's id (its workflow id).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why; kept in the run's history.")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="Apply at most once: repeating the command with the same key changes nothing. "
        "Without a key every command applies.",
    ),
]
TargetStateOption = Annotated[
    str, typer.Option("--target-state", help="State to move to (e.g. PLAN_READY).")
]

# What an auto-mode run (or every run of a campaign) does by itself: the options that build an
# AutoPlan, shared by `create-run --mode auto` and `campaign start` (starter/cli/plans.py).
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

SkillsOption = Annotated[
    str | None,
    typer.Option(
        "--skills",
        help="Follow a skill pack (name@version, e.g. forge@v1; `agentpr skills list`): "
        "discover → contract → implement → fix. --prompt-file then adds to the task.",
    ),
]
ApprovePlansOption = Annotated[
    bool,
    typer.Option(
        "--approve-plans",
        help="Wait at PLAN_READY for `agentpr approve-plan` before implementing.",
    ),
]
IgnorePolicyOption = Annotated[
    str | None,
    typer.Option(
        "--ignore-policy",
        metavar="REASON",
        help="Go ahead whatever the repository's documents say about AI or automated "
        "contributions (recorded with REASON). An open or closed PR of the same change "
        "still stops the run.",
    ),
]
DraftOption = Annotated[
    bool,
    typer.Option("--draft/--no-draft", help="Open the PR as a draft (GitHub's draft PRs)."),
]
SkillOptionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--skill-option",
        metavar="NAME=on|off",
        help="Turn a skill pack option on or off (e.g. about_forge=off; `agentpr skills show`).",
    ),
]

MaxCostOption = Annotated[
    float | None,
    typer.Option(
        "--max-cost-usd",
        min=0.01,
        help="What the run may spend on agent steps, in US dollars (priced from the policy's "
        "prices; default: the policy's max_cost_usd). A step that crosses it is stopped.",
    ),
]
