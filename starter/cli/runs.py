"""Run lifecycle commands, named as in the previous tool. Each one asks the run workflow (an
Update for changes, a Query for reads) and prints its answer."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from common.errors import UsageError
from common.settings import Settings
from contracts import (
    CheckConclusion,
    CheckRequest,
    CodexSandbox,
    CommandRequest,
    ContractRequest,
    Engine,
    FinishRequest,
    LinkPrRequest,
    PreflightRequest,
    PrepareRequest,
    ReviewRequest,
    ReviewState,
    RunMode,
    RunSpec,
    TargetStateRequest,
)
from contracts.states import RunState
from starter.cli import render
from starter.cli.invoke import build, parse_state, require_healthy, send_command, with_runs
from starter.cli.options import (
    ApprovePlansOption,
    CodexConfigOption,
    CodexModelOption,
    CommandOption,
    CommitTitleOption,
    DraftOption,
    EngineOption,
    IgnorePolicyOption,
    JsonOption,
    KeyOption,
    MaxCostOption,
    MaxMinutesOption,
    PrBodyFileOption,
    PromptFileOption,
    PrTitleOption,
    ReasonOption,
    RunIdOption,
    SkillOptionOption,
    SkillsOption,
    SkipNetworkCheckOption,
    TargetStateOption,
    ValidationOption,
)
from starter.cli.plans import build_plan, pin_skills, skill_options, skills_task

if TYPE_CHECKING:
    from starter.client import RunClient


def create_run(
    owner: Annotated[str, typer.Option("--owner", help="GitHub owner of the upstream repository.")],
    repo: Annotated[str, typer.Option("--repo", help="Repository name.")],
    prompt_version: Annotated[
        str | None,
        typer.Option(
            "--prompt-version",
            help="Version of the prompt/contract set (with --skills NAME: the pack's version).",
        ),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Choose the id (default: run_<12 hex>).")
    ] = None,
    mode: Annotated[
        RunMode,
        typer.Option(
            "--mode",
            case_sensitive=False,
            help="manual: the operator "
            "drives each step. auto: the run prepares, runs the agent step, "
            "validates with the repository's tests, pushes and requests its "
            "PR by itself, stopping at every human gate (needs --prompt-file "
            "or --engine command --command).",
        ),
    ] = RunMode.MANUAL,
    budget: Annotated[
        int | None, typer.Option("--budget", help="Diff budget override (max added lines).")
    ] = None,
    upstream_url: Annotated[
        str | None,
        typer.Option(
            "--upstream-url",
            help="Upstream remote instead of GitHub (e.g. file:///…/upstream.git).",
        ),
    ] = None,
    fork_url: Annotated[
        str | None,
        typer.Option("--fork-url", help="Fork remote instead of creating a GitHub fork."),
    ] = None,
    engine: EngineOption = Engine.CODEX,
    prompt_file: PromptFileOption = None,
    command: CommandOption = None,
    commit_title: CommitTitleOption = "feat: apply the agentpr change",
    pr_title: PrTitleOption = None,
    pr_body_file: PrBodyFileOption = None,
    validation_command: ValidationOption = None,
    max_minutes: MaxMinutesOption = None,
    skip_network_check: SkipNetworkCheckOption = False,
    skills: SkillsOption = None,
    approve_plans: ApprovePlansOption = False,
    codex_model: CodexModelOption = None,
    codex_config: CodexConfigOption = None,
    draft: DraftOption = False,
    skill_option: SkillOptionOption = None,
    ignore_policy: IgnorePolicyOption = None,
    max_cost_usd: MaxCostOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a run (state QUEUED): one durable workflow whose id is the run id."""
    if skills is not None and mode != RunMode.AUTO:
        raise UsageError("--skills is for --mode auto (the run takes the pack's stages itself)")
    if approve_plans and skills is None:
        raise UsageError("--approve-plans needs --skills (a pack's discovery writes the plan)")
    pack = pin_skills(skills, prompt_version)
    if prompt_version is None and pack is None:
        raise UsageError("Missing option '--prompt-version' (or --skills NAME@VERSION)")
    plan = None
    if mode == RunMode.AUTO:
        plan = build_plan(
            engine,
            prompt_file,
            command,
            commit_title,
            pr_title,
            pr_body_file,
            validation_command,
            max_minutes,
            skip_network_check,
            codex_model,
            codex_config,
            default_prompt=skills_task(pack),
            draft=draft,
        )
    elif prompt_file is not None or command is not None:
        raise UsageError(
            "--prompt-file and --command are for --mode auto (a manual run gets "
            "them from run-agent-step)"
        )
    spec = build(
        RunSpec,
        auto=plan,
        notify=Settings.from_env().notifications_enabled,
        model_review=Settings.from_env().model_configured,
        run_id=run_id or f"run_{secrets.token_hex(6)}",
        owner=owner,
        repo=repo,
        prompt_version=prompt_version or (pack.version if pack else None),
        mode=mode,
        skills=pack,
        approve_plans=approve_plans,
        skill_options=skill_options(pack, skill_option),
        budget=budget,
        max_cost_usd=max_cost_usd,
        upstream_url=upstream_url,
        fork_url=fork_url,
        ignore_policy=ignore_policy,
    )

    require_healthy()

    async def action(runs: RunClient) -> None:
        await runs.create_run(spec)

    with_runs(action)
    if as_json:
        render.print_json(
            {
                "run_id": spec.run_id,
                "owner": spec.owner,
                "repo": spec.repo,
                "state": RunState.QUEUED.value,
                "mode": spec.mode.value,
            }
        )
    else:
        render.console.print(f"created run {spec.run_id} for {spec.full_name} (QUEUED)")


def mark_plan_ready(
    run_id: RunIdOption,
    contract_path: Annotated[
        Path, typer.Option("--contract-path", help="The agreed plan (contract) file.")
    ],
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the contract (path and sha256) and move the run to PLAN_READY."""
    path = contract_path.expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"contract file not found: {contract_path}")
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise UsageError(f"cannot read contract file {contract_path}: {err.strerror}") from None
    request = build(
        ContractRequest,
        contract_path=str(path),
        contract_sha256=digest,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    send_command(run_id, "mark_plan_ready", request, as_json)


def link_pr(
    run_id: RunIdOption,
    pr_number: Annotated[int, typer.Option("--pr-number", help="Pull request number.")],
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Link an existing pull request to the run and move it to CI_WAIT."""
    request = build(
        LinkPrRequest, pr_number=pr_number, reason=reason, idempotency_key=idempotency_key
    )
    send_command(run_id, "link_pr", request, as_json)


def record_check(
    run_id: RunIdOption,
    conclusion: Annotated[
        CheckConclusion,
        typer.Option(
            "--conclusion",
            case_sensitive=False,
            help="GitHub check conclusion: success/neutral/skipped -> REVIEW_WAIT; failure/timed_out/cancelled/action_required -> ITERATING.",
        ),
    ],
    pr_number: Annotated[
        int | None,
        typer.Option("--pr-number", help="PR the check ran on (must match the linked PR)."),
    ] = None,
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a CI check result and move the run accordingly."""
    request = build(
        CheckRequest,
        conclusion=conclusion,
        pr_number=pr_number,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    send_command(run_id, "record_check", request, as_json)


def record_review(
    run_id: RunIdOption,
    state: Annotated[
        ReviewState,
        typer.Option(
            "--state",
            case_sensitive=False,
            help="changes_requested -> ITERATING; approved and commented are recorded.",
        ),
    ],
    pr_number: Annotated[
        int | None, typer.Option("--pr-number", help="PR reviewed (must match the linked PR).")
    ] = None,
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a pull-request review."""
    request = build(
        ReviewRequest,
        review_state=state,
        pr_number=pr_number,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    send_command(run_id, "record_review", request, as_json)


def run_prepare(
    run_id: RunIdOption,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Branch to create (default agentpr/<run_id>).")
    ] = None,
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Prepare the workspace: find or create the fork (GitHub API) or use --fork-url, clone,
    add upstream, create the branch from upstream's default branch, scan governance. From QUEUED
    or DISCOVERY (the run ends in DISCOVERY). Running it again changes nothing."""
    request = build(PrepareRequest, branch=branch, reason=reason, idempotency_key=idempotency_key)
    send_command(run_id, "run_prepare", request, as_json)


def run_preflight(
    run_id: RunIdOption,
    codex_sandbox: Annotated[
        CodexSandbox | None,
        typer.Option(
            "--codex-sandbox",
            help="Sandbox the next agent step will use (default: "
            "the policy's). read-only cannot implement.",
        ),
    ] = None,
    skip_network_check: Annotated[
        bool, typer.Option("--skip-network-check", help="Do not probe package registries.")
    ] = False,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the run's workspace before an agent step: inside the workspace root, .git
    writable, toolchain present, registries reachable, sandbox fit for the step. Writes
    $AGENTPR_HOME/reports/<run_id>_preflight.json; exits 1 when the verdict is FAIL."""
    request = build(
        PreflightRequest,
        codex_sandbox=codex_sandbox,
        skip_network_check=skip_network_check,
        idempotency_key=idempotency_key,
    )
    result = send_command(run_id, "run_preflight", request, as_json)
    if result.preflight is not None and result.preflight.verdict != "PASS":
        raise typer.Exit(1)


def run_finish(
    run_id: RunIdOption,
    changes: Annotated[str, typer.Option("--changes", help="What changed (commit body).")],
    project: Annotated[str, typer.Option("--project", help="Project name for the record.")],
    commit_title: Annotated[
        str,
        typer.Option(
            "--commit-title",
            help="One-line conventional commit title, e.g. 'feat(llm): add Forge provider'.",
        ),
    ],
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Commit the workspace's changes with the operator's identity (signed off when the
    repository requires DCO) and push the branch to the fork; the run moves to PUSHED. After a
    crash between commit and push, running it again pushes the existing commit."""
    request = build(
        FinishRequest,
        changes=changes,
        project=project,
        commit_title=commit_title,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    send_command(run_id, "run_finish", request, as_json)


def simple_command(update: str, doc: str) -> Callable[..., None]:
    """A command that only moves the run (start-discovery, pause, mark-done, …)."""

    def command(
        run_id: RunIdOption,
        reason: ReasonOption = None,
        idempotency_key: KeyOption = None,
        as_json: JsonOption = False,
    ) -> None:
        request = build(CommandRequest, reason=reason, idempotency_key=idempotency_key)
        send_command(run_id, update, request, as_json)

    command.__doc__ = doc
    return command


def target_state_command(update: str, doc: str) -> Callable[..., None]:
    """resume and retry: move the run to the state the operator names."""

    def command(
        run_id: RunIdOption,
        target_state: TargetStateOption,
        reason: ReasonOption = None,
        idempotency_key: KeyOption = None,
        as_json: JsonOption = False,
    ) -> None:
        request = build(
            TargetStateRequest,
            target_state=parse_state(target_state, "--target-state"),
            reason=reason,
            idempotency_key=idempotency_key,
        )
        send_command(run_id, update, request, as_json)

    command.__doc__ = doc
    return command


def show_run(run_id: RunIdOption, as_json: JsonOption = False) -> None:
    """Show one run: its record and every applied transition."""

    async def action(runs: RunClient) -> Any:
        return await runs.get_run(run_id)

    record = with_runs(action)
    if as_json:
        render.print_json(record)
    else:
        render.print_run(record)


def list_runs(
    state: Annotated[
        str | None, typer.Option("--state", help="Only runs in this state (e.g. PAUSED).")
    ] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="Only runs of OWNER/REPO.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most N runs, newest first.")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """List runs from Temporal visibility (search attributes), newest first."""
    if repo is not None:
        owner, _, name = repo.partition("/")
        if not name:
            raise UsageError(f"--repo must be OWNER/REPO, got {repo!r}")
        build(RunSpec, run_id="x", owner=owner, repo=name, prompt_version="x")

    wanted_state = parse_state(state, "--state") if state is not None else None

    async def action(runs: RunClient) -> Any:
        return await runs.list_runs(state=wanted_state, repo=repo, limit=limit)

    rows = with_runs(action)
    if as_json:
        render.print_json(rows)
    else:
        render.print_run_list(rows)


COMMANDS: dict[str, Callable[..., None]] = {
    "create-run": create_run,
    "start-discovery": simple_command("start_discovery", "Move the run to DISCOVERY."),
    "mark-plan-ready": mark_plan_ready,
    "start-implementation": simple_command("start_implementation", "Move the run to IMPLEMENTING."),
    "mark-local-validated": simple_command(
        "mark_local_validated", "Move the run to LOCAL_VALIDATING."
    ),
    "run-prepare": run_prepare,
    "run-preflight": run_preflight,
    "run-finish": run_finish,
    "link-pr": link_pr,
    "record-check": record_check,
    "record-review": record_review,
    "mark-done": simple_command("mark_done", "Finish the run (DONE, terminal)."),
    "pause": simple_command(
        "pause", "Pause the run (PAUSED); every pause applies, also after an earlier resume."
    ),
    "resume": target_state_command("resume", "Resume a PAUSED run into --target-state."),
    "retry": target_state_command(
        "retry",
        "Move the run (typically FAILED, FAILED_RETRYABLE or NEEDS_HUMAN_REVIEW) to "
        "--target-state.",
    ),
    "show-run": show_run,
    "list-runs": list_runs,
}
