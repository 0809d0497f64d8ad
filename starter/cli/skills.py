"""`agentpr skills …`: the skill packs runs can use — list them, show one (a stage's
instructions and references), validated as runs will load them; and a run's contract:
`show-contract` and `approve-plan`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from common.errors import OperatorError, Refused, UsageError
from common.settings import Settings
from contracts.skills import STAGES
from starter.cli.options import JsonOption, KeyOption, ReasonOption, RunIdOption

if TYPE_CHECKING:
    from starter.client import RunClient

app = typer.Typer(
    name="skills",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Skill packs: staged instructions for the agent (discover, implement, fix).",
)


@app.command("list")
def list_packs(as_json: JsonOption = False) -> None:
    """Every pack runs can use (AGENTPR_SKILLS_DIR first, then the built-in ones), with its
    stages, version and checksum; folders that are not valid packs are named on stderr."""
    from skills.catalog import list_packs as find

    packs, problems = find(Settings.from_env().skills_dir)
    if as_json:
        print(
            json.dumps(
                {
                    "packs": [
                        {
                            **pack.ref.model_dump(mode="json"),
                            "label": pack.ref.label,
                            "summary": pack.manifest.summary,
                            "stages": list(pack.manifest.stages),
                            "path": str(pack.root),
                        }
                        for pack in packs
                    ],
                    "problems": problems,
                },
                indent=2,
            )
        )
    else:
        for pack in packs:
            stages = ", ".join(pack.manifest.stages)
            print(f"{pack.ref.label:<14} {pack.ref.sha256[:12]}  {pack.ref.source:<9} {stages}")
            print(f"{'':<14} {pack.manifest.summary}")
    for problem in problems:
        typer.echo(f"agentpr: skipped {problem}", err=True)


@app.command("show")
def show_pack(
    label: Annotated[str, typer.Argument(help="The pack, as name@version (forge@v1).")],
    stage: Annotated[
        str | None, typer.Option("--stage", help="Show one stage: discover, implement or fix.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A pack's manifest, or one stage's instructions and reference files."""
    from skills.catalog import load_pack

    pack = load_pack(label, Settings.from_env().skills_dir)
    if stage is not None and stage not in STAGES:
        raise UsageError(f"--stage must be one of {', '.join(STAGES)}, not {stage!r}")
    if stage is not None and stage not in pack.manifest.stages:
        raise UsageError(f"{pack.ref.label} has no {stage} stage")
    if as_json:
        shown = {**pack.ref.model_dump(mode="json"), "manifest": pack.manifest.model_dump()}
        if stage is not None:
            shown["instructions"] = pack.instructions(stage)  # type: ignore[arg-type]
            shown["references"] = {
                r: pack.read(r)
                for r in pack.references(stage)  # type: ignore[arg-type]
            }
        print(json.dumps(shown, indent=2))
        return
    if stage is None:
        print(f"{pack.ref.label} ({pack.ref.source}, sha256 {pack.ref.sha256}) {pack.root}")
        print(pack.manifest.summary)
        for name, manifest in pack.manifest.stages.items():
            mode = " (read-only)" if manifest.read_only else ""
            refs = ", ".join(manifest.references) or "no references"
            print(f"  {name:<10}{mode} {manifest.instructions}; {refs}")
        for option, spec in pack.manifest.options.items():
            print(f"  option {option} (default {'on' if spec.default else 'off'}): {spec.help}")
        return
    print(pack.instructions(stage))  # type: ignore[arg-type]
    for reference in pack.references(stage):  # type: ignore[arg-type]
        print(f"\n--- {reference} ---\n{pack.read(reference)}")


@app.command("stats")
def stats(
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only the runs of this campaign.")
    ] = None,
    repo: Annotated[
        str | None, typer.Option("--repo", help="Only the runs of this repository (owner/name).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most N runs, newest first.")
    ] = 500,
    as_json: JsonOption = False,
) -> None:
    """Runs, pass rate, top reason codes and median duration per pack, version and stage (a
    run without a pack counts as the one-stage pack prompt@<prompt version>)."""
    import asyncio

    from skills.stats import stage_stats
    from starter.cli.invoke import with_runs

    async def action(runs: RunClient) -> Any:
        rows = await runs.list_runs(campaign=campaign, repo=repo, limit=limit)
        gate = asyncio.Semaphore(8)

        async def outcomes(run_id: str) -> tuple[str, Any]:
            async with gate:
                try:
                    return run_id, (await runs.get_run(run_id)).stage_outcomes
                except OperatorError as err:  # a run no worker answers for: counted, skipped
                    typer.echo(f"agentpr: skipped {run_id}: {err.message}", err=True)
                    return run_id, []

        return dict(await asyncio.gather(*(outcomes(row.run_id) for row in rows)))

    table = stage_stats(with_runs(action))
    if as_json:
        print(json.dumps([row.as_dict() for row in table], indent=2))
        return
    if not table:
        print("no skill stages ran" + (f" in campaign {campaign}" if campaign else ""))
        return
    print(
        f"{'pack':<14} {'stage':<10} {'runs':>5} {'steps':>6} {'pass':>6} {'median':>8}  top reasons"
    )
    for row in table:
        shown = row.as_dict()
        reasons = ", ".join(f"{r['reason_code']} {r['count']}" for r in shown["top_reasons"])  # type: ignore[attr-defined]
        duration = (
            f"{shown['median_duration_s']}s" if shown["median_duration_s"] is not None else "-"
        )
        print(
            f"{row.pack:<14} {row.stage:<10} {len(row.runs):>5} {row.steps:>6} "
            f"{row.pass_rate:>6.0%} {duration:>8}  {reasons}"
        )


# ---- the contract a run's discovery wrote, and its approval ---------------------------------


def show_contract(run_id: RunIdOption, as_json: JsonOption = False) -> None:
    """The contract the run's discovery stage wrote (or a person approved): status, rules,
    toolchain, plan, blockers and evidence."""
    from starter.cli.invoke import with_runs

    async def action(runs: RunClient) -> Any:
        return await runs.get_run(run_id)

    record = with_runs(action)
    contract = record.repo_contract
    if contract is None:
        pack = record.skills.label if record.skills else "no skill pack"
        raise Refused(f"run {run_id} has no contract yet ({pack}; state {record.state})")
    if as_json:
        print(contract.model_dump_json(indent=2))
        return
    approved = (
        f"approved by {record.plan_approved_by}" if record.plan_approved_by else "not approved"
    )
    print(f"{run_id} ({record.full_name}): contract {contract.status}, {approved}")
    print(f"  reason     {contract.reason}")
    print(f"  approach   {contract.plan.approach}")
    print(f"  files      {', '.join(contract.plan.target_files) or '-'}")
    print(
        f"  size       {contract.plan.expected_changed_files} files, "
        f"+{contract.plan.expected_added_lines} lines expected"
    )
    for label, value in (
        ("install", contract.toolchain.install),
        ("test", contract.toolchain.test),
        ("lint", contract.toolchain.lint),
        ("base", contract.rules.base_branch),
        ("commits", contract.rules.commit_format),
    ):
        if value:
            print(f"  {label:<10} {value}")
    for label, items in (
        ("docs", contract.rules.docs_to_update),
        ("forbidden", contract.rules.forbidden_changes),
        ("checklist", contract.rules.pr_checklist),
        ("blockers", contract.blockers),
        ("evidence", contract.evidence),
    ):
        for item in items:
            print(f"  {label:<10} {item}")
    if "contract" in record.reports:
        print(f"  file       {record.reports['contract']}")


def approve_plan(
    run_id: RunIdOption,
    edit_file: Annotated[
        Path | None,
        typer.Option(
            "--edit-file",
            help="A contract (JSON, as `show-contract --json` prints) that replaces the "
            "discovery's before approval.",
        ),
    ] = None,
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve the run's plan (PLAN_READY, or NEEDS_HUMAN_REVIEW with --edit-file): the run
    goes on to implement it."""
    from pydantic import ValidationError

    from contracts import ApprovePlanRequest
    from contracts.skills import RepoContract
    from starter.cli.invoke import build, send_command

    contract = None
    if edit_file is not None:
        try:
            contract = RepoContract.model_validate_json(edit_file.read_bytes())
        except OSError as err:
            raise UsageError(f"cannot read {edit_file}: {err.strerror}") from None
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "contract"
            raise UsageError(f"{edit_file}: {where}: {first['msg']}") from None
    request = build(
        ApprovePlanRequest, contract=contract, reason=reason, idempotency_key=idempotency_key
    )
    send_command(run_id, "approve_plan", request, as_json)


COMMANDS: dict[str, Callable[..., None]] = {
    "show-contract": show_contract,
    "approve-plan": approve_plan,
}
