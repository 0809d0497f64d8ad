"""Workflow code runs in Temporal's sandbox, which executes a workflow's modules again for every
run. A contracts submodule imported there outside `imports_passed_through()` rebuilds its
pydantic models for every run: `contracts.campaign_spec` imported by one rule once cost each run
~0.4 s of CPU before its first workflow task (a 10,000-run campaign: an hour of CPU). Workflow
code reads models from the `contracts` package (passed through); rules and states are passed
through whole (worker.workflow_runner)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from pydantic import BaseModel

from worker import workflow_runner

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def sandboxed_imports(path: Path) -> list[str]:
    """`contracts.*` modules the file imports outside `imports_passed_through()` blocks."""
    tree = ast.parse(path.read_text())
    passed = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        and "imports_passed_through" in ast.unparse(node.items[0].context_expr)
        for inner in ast.walk(node)
    }
    return [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("contracts.")
        and id(node) not in passed
    ]


def defines_models(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    return [
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseModel)
        and value.__module__ == module_name
    ]


def test_workflow_code_never_rebuilds_contract_models_per_run() -> None:
    passthrough = workflow_runner().restrictions.passthrough_modules
    offenders = []
    for path in sorted(WORKFLOWS.rglob("*.py")):
        dotted = ".".join(path.relative_to(WORKFLOWS.parent).with_suffix("").parts)
        if any(dotted == m or dotted.startswith(f"{m}.") for m in passthrough):
            continue  # passed through: imported once per worker
        for module in sandboxed_imports(path):
            if models := defines_models(module):
                offenders.append(f"{path.name}: from {module} import … ({', '.join(models)})")
    assert not offenders, "import these from `contracts` instead:\n" + "\n".join(offenders)


def test_the_rules_are_passed_through_and_stay_pure() -> None:
    """What makes passing them through safe: no Temporal, no clock, no I/O in the rules."""
    passthrough = workflow_runner().restrictions.passthrough_modules
    assert {"workflows.rules", "workflows.states"} <= passthrough
    for path in [*(WORKFLOWS / "rules").glob("*.py"), WORKFLOWS / "states.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                for name in names:
                    root = name.split(".")[0]
                    assert root not in {
                        "temporalio",
                        "activities",
                        "starter",
                        "asyncio",
                        "time",
                        "random",
                        "os",
                        "subprocess",
                    }, (  # fmt: skip
                        f"{path.name} imports {name}: the rules are passed through the sandbox"
                    )
