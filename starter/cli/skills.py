"""`agentpr skills …`: the skill packs runs can use — list them, show one (a stage's
instructions and references), validated as runs will load them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from common.errors import UsageError
from common.settings import Settings
from contracts.skills import STAGES
from starter.cli.options import JsonOption

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
