"""`agentpr --help` stays light: it registers every command without loading the Temporal SDK,
the workflows, the activities, rich or structlog (their import cost is most of what a command
took before it parsed its arguments). Checked from `-X importtime`, never by timing."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.run_env import REPO_ROOT

NOT_FOR_HELP = {
    "temporalio",
    "workflows",
    "activities",
    "engines",
    "grading",
    "worker",
    "rich",
    "structlog",
    "aiogram",
    "aiohttp",
    "github",
    "grpc",
    "google",
}
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)")


def imported_by(*argv: str) -> set[str]:
    """The top-level packages `python -m starter.cli ARGV` imports."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "AGENTPR_FAST_LANE": "1"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "starter.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage:" in result.stdout
    return {
        match.group(1).split(".")[0]
        for line in result.stderr.splitlines()
        if (match := _IMPORTED.match(line))
    }


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("show-run", "--help"),
        ("pause", "--help"),
        ("campaign", "--help"),
        ("campaign", "watch", "--help"),
        ("run-agent-step", "--help"),
    ],
)
def test_help_imports_no_sdk_workflow_activity_or_renderer(argv: tuple[str, ...]) -> None:
    modules = imported_by(*argv)
    assert "typer" in modules and "starter" in modules  # the measurement works
    assert not modules & NOT_FOR_HELP, sorted(modules & NOT_FOR_HELP)


COMMAND_MODULES = ["agent", "campaigns", "github", "pull_requests", "runs", "services", "telegram"]


def _imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_no_command_module_imports_another(module: str) -> None:
    """Shared options live in options.py, invocation helpers in invoke.py: no command module
    imports another, at the top or inside a function (no cycle, lazy or not)."""
    imports = _imports_of(REPO_ROOT / "starter" / "cli" / f"{module}.py")
    others = {f"starter.cli.{name}" for name in COMMAND_MODULES if name != module}
    assert not imports & others, sorted(imports & others)


def test_support_modules_import_no_command_module() -> None:
    commands = {f"starter.cli.{name}" for name in COMMAND_MODULES}
    for support in ("options", "invoke", "plans", "render", "gate"):
        imports = _imports_of(REPO_ROOT / "starter" / "cli" / f"{support}.py")
        assert not imports & commands, (support, sorted(imports & commands))


def test_doors_name_the_workflows_they_address() -> None:
    """starter/client.py addresses workflows and their updates by name (so a door does not
    import workflow code); the names must stay those of the classes and their handlers."""
    from starter import client
    from workflows.campaign import CampaignWorkflow, campaign_workflow_id
    from workflows.run import IntegrationRunWorkflow

    assert client.RUN_WORKFLOW == IntegrationRunWorkflow.__name__
    assert client.CAMPAIGN_WORKFLOW == CampaignWorkflow.__name__
    assert client.campaign_workflow_id("x") == campaign_workflow_id("x")
    used = set()
    for path in (REPO_ROOT / "starter").rglob("*.py"):
        used |= set(re.findall(r'send_command\(\s*\w+,\s*"(\w+)"', path.read_text()))
        used |= set(re.findall(r'simple_command\(\s*"(\w+)"', path.read_text()))
        used |= set(re.findall(r'target_state_command\(\s*"(\w+)"', path.read_text()))
    assert {"pause", "resume", "mark_plan_ready", "run_agent_step"} <= used
    for name in used:
        assert callable(getattr(IntegrationRunWorkflow, name, None)), name
