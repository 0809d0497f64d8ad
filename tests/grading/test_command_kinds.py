"""What counts as a test run, a lint or type check, or neither."""

from __future__ import annotations

import pytest

from grading import (
    analyze_shell,
)
from tests.transcript_builders import WS

# ---- what counts as a test run --------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "pytest -q",
        "pytest tests/llms/test_openai.py -x",
        "python -m pytest",
        "python3.11 -m pytest tests/",
        "/bin/zsh -lc 'cd pkg && pytest -x'",
        'bash -lc "make test"',
        "make check",
        "make test-py-3.11",
        "make -C sdk test",
        "npm test",
        "npm run test:unit",
        "yarn test",
        "pnpm test",
        "pnpm run test",
        "bun test",
        "go test ./...",
        "cargo test --all",
        "tox -e py311",
        "nox -s tests",
        "uv run pytest -q",
        "uv run --with pytest-cov pytest",
        "poetry run pytest",
        "hatch run test",
        "hatch run dev_py_3_11:test",
        "hatch run pytest tests/configs/test_prompts.py -q",
        "HATCH_PYTHON=/opt/homebrew/bin/python3.11 make test",
        "source .venv/bin/activate && export PIP_CACHE_DIR=/tmp/x && make test",
        "npx jest --ci",
        "npx vitest run",
        "timeout 600 pytest",
        "python -m unittest discover",
    ],
)
def test_test_commands_are_recognised(command: str) -> None:
    assert analyze_shell(command, WS).is_test, command


@pytest.mark.parametrize(
    "command",
    [
        "pip install pytest",
        "uv pip install pytest pytest-cov",
        "which pytest",
        "pytest --version",
        "hatch run pytest --version",
        "python -m pytest --collect-only -q",
        "echo pytest",
        "grep -n pytest setup.cfg",
        "cat Makefile | grep test",
        "rg 'make test' CONTRIBUTING.md",
        "make lint",
        "bun run typecheck",
        "ls tests",
    ],
)
def test_non_test_commands_are_not_test_runs(command: str) -> None:
    assert not analyze_shell(command, WS).is_test, command


def test_lint_and_type_checks_are_check_runs() -> None:
    for command in (
        "make lint",
        "ruff check .",
        "mypy src",
        "bun run typecheck",
        "npx tsc --noEmit",
        "hatch run lint",
        "pre-commit run --all-files",
        "cargo clippy",
    ):
        assert analyze_shell(command, WS).is_check, command


# ---- lint and type checks however they are invoked ------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "python -m mypy src",
        "python3 -m ruff check .",
        "python -m flake8 .",
        "python -m pylint pkg",
        "python -m pyright",
        "python -m black --check .",
        "python -m isort --check-only .",
        "uv run ruff check .",
        "uv run --with ruff ruff check",
        "uvx ruff check",
        "poetry run flake8",
        "poetry run mypy .",
        "npx eslint .",
        "yarn eslint src",
        "pnpm lint",
        "pnpm run lint",
        "npm run typecheck",
        "make lint",
        "tox -e lint",
        "tox -e lint,type",
        "nox -s lint",
        "pre-commit run --all-files",
        "hatch run lint:check",
        "hatch run types:check",
        "hatch fmt --check",
        "pdm run lint",
        "rye lint",
        "pixi run lint",
        "just lint",
        "task lint",
        "mise run lint",
        "bash -lc 'cd pkg && python -m mypy .'",
    ],
)
def test_checks_are_recognised_however_invoked(command: str) -> None:
    shell = analyze_shell(command, WS)
    assert shell.is_check and not shell.is_test, command


@pytest.mark.parametrize(
    "command",
    [
        "tox -e py311",
        "tox -e py311,lint",  # runs the tests too
        "nox -s tests",
        "hatch run dev_py_3_11:test",
        "just test",
    ],
)
def test_test_envs_stay_test_runs(command: str) -> None:
    assert analyze_shell(command, WS).is_test, command


@pytest.mark.parametrize("command", ["python -m black .", "hatch fmt", "python -m mypy --version"])
def test_fixers_and_probes_are_not_checks(command: str) -> None:
    assert not analyze_shell(command, WS).is_check, command
