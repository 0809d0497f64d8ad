"""What an auto-mode run (or every run of a campaign) does by itself: the AutoPlan built from
the options (starter/cli/options.py) of `create-run --mode auto` and `campaign start`."""

from __future__ import annotations

from pathlib import Path

from common.errors import UsageError
from contracts import MAX_PROMPT_BYTES, AgentStepRequest, AutoPlan, Engine
from contracts.skills import SkillPackRef
from starter.cli.invoke import build


def read_prompt(prompt_file: Path | None) -> str | None:
    if prompt_file is None:
        return None
    if not prompt_file.is_file():
        raise UsageError(f"prompt file not found: {prompt_file}")
    data = prompt_file.read_bytes()
    if len(data) > MAX_PROMPT_BYTES:
        raise UsageError(f"prompt file is {len(data)} bytes; the limit is {MAX_PROMPT_BYTES}")
    return data.decode("utf-8", errors="replace")


def pin_skills(label: str | None, prompt_version: str | None) -> SkillPackRef | None:
    """The pack a run will follow, pinned by its checksum now (`--prompt-version` is the
    version when the label has none)."""
    if label is None:
        return None
    from common.settings import Settings
    from skills.catalog import load_pack

    pack = load_pack(label, Settings.from_env().skills_dir, prompt_version)
    if prompt_version is not None and pack.ref.version != prompt_version:
        raise UsageError(
            f"--skills {label} and --prompt-version {prompt_version} disagree; give one version"
        )
    return pack.ref.model_copy(update={"stages": list(pack.manifest.stages)})


def parse_skill_options(given: list[str] | None) -> dict[str, bool]:
    """`--skill-option NAME=on|off` as the spec says it ({NAME: True|False})."""
    chosen: dict[str, bool] = {}
    for item in given or []:
        name, _, value = item.partition("=")
        if value.lower() not in ("on", "off", "true", "false", "1", "0"):
            raise UsageError(f"--skill-option {item!r}: give NAME=on or NAME=off")
        chosen[name] = value.lower() in ("on", "true", "1")
    return chosen


def check_skill_options(ref: SkillPackRef | None, chosen: dict[str, bool]) -> dict[str, bool]:
    """The options exist in the pack's manifest."""
    if not chosen:
        return {}
    if ref is None:
        raise UsageError("--skill-option needs --skills")
    from common.settings import Settings
    from skills.catalog import load_pack

    known = load_pack(ref.label, Settings.from_env().skills_dir).manifest.options
    for name in chosen:
        if name not in known:
            raise UsageError(
                f"{ref.label} has no option {name!r} (options: {', '.join(known) or 'none'})"
            )
    return chosen


def skill_options(ref: SkillPackRef | None, given: list[str] | None) -> dict[str, bool]:
    """`--skill-option NAME=on|off`, checked against the pack's manifest."""
    if not given:
        return {}
    if ref is None:
        raise UsageError("--skill-option needs --skills")
    return check_skill_options(ref, parse_skill_options(given))


def skills_task(ref: SkillPackRef | None) -> str | None:
    """The task when a pack is followed without --prompt-file: the pack's own summary."""
    if ref is None:
        return None
    from common.settings import Settings
    from skills.catalog import load_pack

    return load_pack(ref.label, Settings.from_env().skills_dir).manifest.summary


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
    default_prompt: str | None = None,
    draft: bool = False,
    prompt: str | None = None,
    pr_body: str | None = None,
) -> AutoPlan:
    if pr_body_file is not None and not pr_body_file.is_file():
        raise UsageError(f"PR body file not found: {pr_body_file}")
    step = build(
        AgentStepRequest,
        engine=engine,
        prompt=prompt or read_prompt(prompt_file) or (default_prompt if command is None else None),
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
        pr_body=pr_body_file.read_text(errors="replace") if pr_body_file else (pr_body or ""),
        validation_command=validation_command,
        draft=draft,
    )
