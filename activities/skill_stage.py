"""A skill pack's stage on its way to the agent: the task packet and reference files written
into the workspace's runtime directory (ignored by git, never committed), the prompt composed
from the pinned pack, and — for discovery — the contract read back from the final message.

The prompt points at the packet instead of repeating it: the agent reads the run, the
governance scan, the policy, the contract and the output it must produce from one JSON file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.runtime_env import RUNTIME_DIR_NAME
from common.settings import Settings
from contracts import AgentStepInput, Engine
from contracts.skills import RepoContract
from skills.catalog import SkillPackError, pinned_pack

PACKET = "task-packet.json"
SCHEMA = "contract.schema.json"
SKILL_PACK_UNUSABLE = "SkillPackUnusable"
MAX_FINAL_MESSAGE = 200_000

PUSH_RULES = (
    "agentpr commits and pushes for you: never commit, push, rebase or rewrite history, and "
    "never force-push; keep the change minimal"
)


def contract_schema() -> dict[str, Any]:
    """RepoContract as a strict JSON schema (what `codex exec --output-schema` hands the model:
    every property required, no others allowed, no keywords strict mode rejects)."""

    def strict(node: Any) -> Any:
        if isinstance(node, dict):
            node = {
                k: strict(v)
                for k, v in node.items()
                if k not in ("default", "title", "maxLength", "minLength", "maxItems",
                             "minimum", "maximum", "description")
            }  # fmt: skip
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            return node
        if isinstance(node, list):
            return [strict(item) for item in node]
        return node

    return strict(RepoContract.model_json_schema())  # type: ignore[no-any-return]


def prepare_stage(settings: Settings, request: AgentStepInput) -> AgentStepInput:
    """Write the packet and references for `request.skill`; the request as the engine runs it."""
    skill = request.skill
    assert skill is not None
    try:
        pack = pinned_pack(skill.pack, settings.skills_dir, settings.skill_snapshots)
    except SkillPackError as err:
        raise ApplicationError(str(err), type=SKILL_PACK_UNUSABLE, non_retryable=True) from None
    stage = pack.manifest.stages.get(skill.stage)
    if stage is None:
        raise ApplicationError(
            f"skill pack {pack.ref.label} has no {skill.stage} stage",
            type=SKILL_PACK_UNUSABLE,
            non_retryable=True,
        )
    workspace = Path(request.workspace)
    runtime = workspace / RUNTIME_DIR_NAME  # created (inside the repository) by guarded_env
    references = runtime / "skills" / pack.ref.label
    shutil.rmtree(references, ignore_errors=True)
    for relative in stage.references:
        target = references / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pack.root / relative, target)
    relative_refs = [f"{RUNTIME_DIR_NAME}/skills/{pack.ref.label}/{r}" for r in stage.references]
    discover = skill.stage == "discover"
    output: dict[str, Any] = (
        {
            "final_message": "the contract: one JSON object following `contract_schema`, "
            "nothing after it",
            "contract_schema": contract_schema(),
        }
        if discover
        else {
            "final_message": "end with one line: STATUS: PASS, STATUS: FAIL or STATUS: NEEDS REVIEW"
        }
    )
    packet = {
        "run_id": request.run_id,
        "stage": skill.stage,
        "skill_pack": {"label": pack.ref.label, "sha256": pack.ref.sha256},
        "task": skill.task,
        "governance": request.governance.model_dump(mode="json") if request.governance else None,
        "policy": {
            "sandbox": "read-only" if discover else request.codex_sandbox,
            "diff_budget": request.policy.diff_budget.model_dump(),
            "push": PUSH_RULES,
        },
        "contract": skill.contract.model_dump(mode="json") if skill.contract else None,
        "instructions": pack.instructions(skill.stage),
        "references": relative_refs,
        "options": skill.options,
        "output": output,
    }
    (runtime / PACKET).write_text(json.dumps(packet, indent=2))
    updates: dict[str, Any] = {"prompt": stage_prompt(pack.instructions(skill.stage), request)}
    if discover:
        (runtime / SCHEMA).write_text(json.dumps(contract_schema(), indent=2))
        updates["codex_sandbox"] = "read-only"
        updates["expects_changes"] = False
        if request.engine == Engine.CODEX:
            updates["output_schema"] = str(runtime / SCHEMA)
    return request.model_copy(update=updates)


def stage_prompt(instructions: str, request: AgentStepInput) -> str:
    skill = request.skill
    assert skill is not None
    lines = [
        instructions.strip(),
        "",
        f"Your task packet is {RUNTIME_DIR_NAME}/{PACKET}: read it first (the run, the "
        "repository's governance scan, the policy, the contract, the references and the output "
        "you must produce).",
        "",
        "The task:",
        skill.task.strip() or "(see the pack's instructions)",
    ]
    if skill.contract is not None:
        plan = skill.contract.plan
        lines += [
            "",
            f"The approved plan: {plan.approach}",
            "Target files: " + (", ".join(plan.target_files) or "(not listed)"),
            f"Test command: {skill.contract.toolchain.test or '(the detected one)'}",
        ]
    if skill.feedback:
        lines += ["", skill.feedback]
    return "\n".join(lines)


def contract_from_message(message: str | None) -> tuple[RepoContract | None, str | None]:
    """The last JSON object of the agent's final message, validated; or why there is none."""
    if not message:
        return None, "the agent's turn did not complete with a final message"
    text = message[-MAX_FINAL_MESSAGE:]
    decoder = json.JSONDecoder()
    found: Any = None
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            position = start + 1
            continue
        if isinstance(value, dict):
            found = value  # the last complete top-level object wins
        position = end
    if found is None:
        return None, "no JSON object in the agent's final message"
    try:
        return RepoContract.model_validate(found), None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "contract"
        return None, f"invalid contract: {where}: {first['msg']}"
