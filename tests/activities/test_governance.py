"""Governance scan on small repositories built in tmp_path, and on this project's own checkout."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from activities.governance import MAX_FILE_BYTES, GovernanceReport, scan_repository
from contracts import GovernanceSummary


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


PYTHON_REPO = {
    "pyproject.toml": """
        [project]
        name = "demo"

        [tool.ruff]
        line-length = 100

        [tool.pytest.ini_options]
        testpaths = ["tests"]
    """,
    "Makefile": """
        .PHONY: test lint
        VENV := .venv
        PYTHON ?= python3

        test:
        \tpytest

        lint: $(VENV)
        \truff check .
    """,
    "CONTRIBUTING.md": """
        # Contributing
        Every commit needs a `Signed-off-by` line: use `git commit -s`.
    """,
    ".github/pull_request_template.md": """
        <!-- Fill in every section.
        # Not a section
        -->
        ## Summary
        What changed and why.

        ## Testing:
        ```sh
        # a shell comment, not a heading
        ```
        ### Checklist ###
    """,
    ".github/CODEOWNERS": "* @maintainers\n",
    ".github/workflows/ci.yml": """
        name: CI
        on: [push, pull_request]
        defaults:
          run:
            shell: bash
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: pip install pytest ruff
              - name: Lint
                run: ruff check .  # style
              - name: Test
                run: |
                  echo "running pytest"
                  pytest -q
                env:
                  CI: "1"
    """,
    "tests/test_demo.py": "def test_ok():\n    pass\n",
}


def test_python_repository_every_field(tmp_path: Path) -> None:
    report = scan_repository(make_repo(tmp_path, PYTHON_REPO))

    assert report == GovernanceReport(
        project_types=["python"],
        test_commands=["make test", "pytest", "pytest -q"],
        lint_commands=["make lint", "ruff check ."],
        dco_required=True,
        cla_required=False,
        contributing="CONTRIBUTING.md",
        pr_template=".github/pull_request_template.md",
        pr_template_sections=["Summary", "Testing", "Checklist"],
        codeowners=".github/CODEOWNERS",
        ci_files=[".github/workflows/ci.yml"],
        evidence={
            "dco_required": "CONTRIBUTING.md: 'Signed-off-by'",
            "project_types[0]": "pyproject.toml",
            "test_commands[0]": "Makefile target test",
            "test_commands[1]": "pyproject.toml [tool.pytest.ini_options]",
            "test_commands[2]": ".github/workflows/ci.yml: run",
            "lint_commands[0]": "Makefile target lint",
            "lint_commands[1]": "pyproject.toml [tool.ruff]",
        },
        package_manager=None,
    )


def test_summary_is_a_plain_governance_summary_with_the_same_values(tmp_path: Path) -> None:
    report = scan_repository(make_repo(tmp_path, PYTHON_REPO))

    summary = report.summary()

    assert type(summary) is GovernanceSummary
    assert summary.model_dump() == report.model_dump(include=set(GovernanceSummary.model_fields))
    assert summary.test_commands == ["make test", "pytest", "pytest -q"]
    summary.test_commands.append("mutated")  # a copy: the report keeps its own list
    assert report.test_commands == ["make test", "pytest", "pytest -q"]


def test_node_repository_with_yarn(tmp_path: Path) -> None:
    package = {"name": "web", "scripts": {"test": "jest", "lint": "eslint ."}}
    make_repo(tmp_path, {"package.json": json.dumps(package), "yarn.lock": ""})

    report = scan_repository(tmp_path)

    assert report.project_types == ["node"]
    assert report.package_manager == "yarn"
    assert report.test_commands == ["yarn test"]
    assert report.lint_commands == ["yarn lint"]
    assert report.evidence["package_manager"] == "yarn.lock"


@pytest.mark.parametrize(
    ("lock_file", "manager", "test_command", "lint_command"),
    [
        (None, "npm", "npm test", "npm run lint"),
        ("package-lock.json", "npm", "npm test", "npm run lint"),
        ("pnpm-lock.yaml", "pnpm", "pnpm test", "pnpm lint"),
        ("bun.lockb", "bun", "bun run test", "bun run lint"),
        ("bun.lock", "bun", "bun run test", "bun run lint"),
    ],
)
def test_node_package_manager_from_lock_file(
    tmp_path: Path, lock_file: str | None, manager: str, test_command: str, lint_command: str
) -> None:
    files = {"package.json": json.dumps({"scripts": {"test": "vitest", "lint": "eslint ."}})}
    if lock_file:
        files[lock_file] = ""

    report = scan_repository(make_repo(tmp_path, files))

    assert (report.package_manager, report.test_commands, report.lint_commands) == (
        manager,
        [test_command],
        [lint_command],
    )


def test_npm_default_test_script_is_ignored(tmp_path: Path) -> None:
    default = {"scripts": {"test": 'echo "Error: no test specified" && exit 1'}}
    make_repo(tmp_path, {"package.json": json.dumps(default)})

    report = scan_repository(tmp_path)

    assert report.project_types == ["node"]
    assert report.test_commands == []


def test_cla_only_repository(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {"docs/Contributing.rst": "Before we can merge, sign the Contributor License Agreement.\n"},
    )

    report = scan_repository(tmp_path)

    assert report.contributing == "docs/Contributing.rst"
    assert report.cla_required is True
    assert report.dco_required is False
    assert report.evidence["cla_required"] == (
        "docs/Contributing.rst: 'Contributor License Agreement'"
    )


@pytest.mark.parametrize(
    "text",
    [
        "You must sign our CLA.",
        "CLAs are checked by a bot.",
        "Sign at https://cla.developers.google.com/ first.",
        "The cla-assistant bot will comment on your pull request.",
    ],
)
def test_cla_phrases(tmp_path: Path, text: str) -> None:
    make_repo(tmp_path, {"CONTRIBUTING": text})

    assert scan_repository(tmp_path).cla_required is True


def test_words_containing_cla_do_not_flag_a_cla(tmp_path: Path) -> None:
    text = (
        "Read CLAUDE.md and the declaration of each clause; see the disclaimer. Claims welcome.\n"
        "Sign your commits with `git commit -S` (GPG) if you like.\n"
    )
    make_repo(tmp_path, {"CONTRIBUTING.md": text})

    report = scan_repository(tmp_path)

    assert report.contributing == "CONTRIBUTING.md"
    assert (report.cla_required, report.dco_required) == (False, False)
    assert report.evidence == {}


def test_cla_action_in_a_workflow(tmp_path: Path) -> None:
    workflow = """
        on: [pull_request_target]
        jobs:
          cla:
            runs-on: ubuntu-latest
            steps:
              - uses: contributor-assistant/github-action@v2.6.1
    """
    make_repo(tmp_path, {".github/workflows/cla.yaml": workflow})

    report = scan_repository(tmp_path)

    assert report.cla_required is True
    assert report.evidence["cla_required"] == (
        ".github/workflows/cla.yaml: uses contributor-assistant/github-action@v2.6.1"
    )


@pytest.mark.parametrize(
    "text",
    [
        "We follow the Developer Certificate of Origin.",
        "Commits must pass the DCO check.",
        "Use git commit --signoff.",
        "Use `git commit -s -m 'message'`.",
        "Use `git commit -sm 'message'`.",
    ],
)
def test_dco_phrases(tmp_path: Path, text: str) -> None:
    make_repo(tmp_path, {".github/CONTRIBUTING.md": text})

    report = scan_repository(tmp_path)

    assert report.contributing == ".github/CONTRIBUTING.md"
    assert report.dco_required is True


def test_dco_app_config_and_pr_template_folder(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            ".github/dco.yml": "require:\n  members: false\n",
            ".github/PULL_REQUEST_TEMPLATE/feature.md": "# What\n# Why\n",
            ".github/PULL_REQUEST_TEMPLATE/bugfix.md": "# Bug\n",
            "docs/CODEOWNERS": "* @docs\n",
        },
    )

    report = scan_repository(tmp_path)

    assert report.dco_required is True
    assert report.evidence["dco_required"] == ".github/dco.yml"
    assert report.pr_template == ".github/PULL_REQUEST_TEMPLATE/bugfix.md"
    assert report.pr_template_sections == ["Bug"]
    assert report.codeowners == "docs/CODEOWNERS"


def test_malformed_package_json_and_pyproject_do_not_crash(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {"package.json": "{not json", "pyproject.toml": "[tool.ruff\nline = ", "tests/x": ""},
    )

    report = scan_repository(tmp_path)

    assert report.project_types == ["node", "python"]
    assert report.evidence["package.json"] == "invalid JSON"
    assert report.evidence["pyproject.toml"] == "invalid TOML"
    assert report.test_commands == ["pytest"]  # from tests/ in a python project
    assert report.lint_commands == []


def test_empty_directory_gives_an_empty_report(tmp_path: Path) -> None:
    assert scan_repository(tmp_path) == GovernanceReport()


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        scan_repository(tmp_path / "absent")


def test_other_ecosystems_and_config_files(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "go.mod": "module example.com/x\n",
            "Cargo.toml": "[package]\nname = 'x'\n",
            "requirements-dev.txt": "pytest\n",
            "setup.cfg": "[flake8]\nmax-line-length = 100\n\n[tool:pytest]\naddopts = -q\n",
            "tox.ini": "[tox]\nenvlist = py311\n",
            "noxfile.py": "",
            "uv.lock": "",
            ".pre-commit-config.yaml": "repos: []\n",
            ".gitlab-ci.yml": "test:\n  script: make test\n",
            ".travis.yml": "language: python\n",
        },
    )

    report = scan_repository(tmp_path)

    assert report.project_types == ["go", "python", "rust"]
    assert report.test_commands == ["tox", "nox", "uv run pytest", "go test ./...", "cargo test"]
    assert report.lint_commands == ["flake8", "pre-commit run --all-files", "go vet ./..."]
    assert report.ci_files == [".gitlab-ci.yml", ".travis.yml"]
    assert report.evidence["test_commands[2]"] == "setup.cfg [tool:pytest]; uv.lock"


def test_poetry_project_runs_pytest_through_poetry(tmp_path: Path) -> None:
    pyproject = '[tool.poetry]\nname = "x"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n'
    make_repo(tmp_path, {"pyproject.toml": pyproject, "ruff.toml": ""})

    report = scan_repository(tmp_path)

    assert report.test_commands == ["poetry run pytest"]
    assert report.lint_commands == ["ruff check ."]


def test_workflow_run_lines(tmp_path: Path) -> None:
    workflow = """
        jobs:
          checks:
            steps:
              - run: python -m pip install -U tox pytest-cov
              - run: "go test -race ./..."
              - run: >-
                  npx eslint src
              - name: many
                run: |
                  cd web && npm run test:unit
                  mypy \\
                    --strict src
                  cat tox.ini
                  # pytest is disabled for now
                  cargo clippy -- -D warnings
              - run: golangci-lint run ./...
    """
    make_repo(tmp_path, {".github/workflows/checks.yml": workflow, ".github/workflows/x.txt": ""})

    report = scan_repository(tmp_path)

    assert report.ci_files == [".github/workflows/checks.yml"]
    assert report.test_commands == ["go test -race ./...", "cd web && npm run test:unit"]
    assert report.lint_commands == [
        "npx eslint src",
        "mypy --strict src",
        "cargo clippy -- -D warnings",
        "golangci-lint run ./...",
    ]


def test_makefile_targets_ignore_phony_and_assignments(tmp_path: Path) -> None:
    makefile = ".PHONY: lint\ntest := x\nlint ::= y\ncheck test-all: deps\n\techo test:\n"
    make_repo(tmp_path, {"Makefile": makefile})

    assert scan_repository(tmp_path).test_commands == []

    (tmp_path / "Makefile").write_text("build lint test:: deps\n")
    report = scan_repository(tmp_path)
    assert (report.test_commands, report.lint_commands) == (["make test"], ["make lint"])


def test_symlinks_outside_the_repository_are_not_followed(tmp_path: Path) -> None:
    outside = make_repo(tmp_path / "outside", {"secret.md": "Signed-off-by: the host\n"})
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "CONTRIBUTING.md").symlink_to(outside / "secret.md")
    (repo / "pyproject.toml").symlink_to(outside / "secret.md")
    (repo / "docs").symlink_to(outside, target_is_directory=True)

    report = scan_repository(repo)

    assert report.contributing is None
    assert report.dco_required is False
    assert report.project_types == []
    assert report.evidence == {"pyproject.toml": "skipped: points outside the repository"}


def test_files_over_the_size_limit_are_skipped(tmp_path: Path) -> None:
    big = "Signed-off-by\n" + "x" * MAX_FILE_BYTES
    make_repo(tmp_path, {"CONTRIBUTING.md": big})

    report = scan_repository(tmp_path)

    assert report.contributing == "CONTRIBUTING.md"
    assert report.dco_required is False
    assert report.evidence == {"CONTRIBUTING.md": "skipped: larger than 1 MB"}


def test_this_project_checkout() -> None:
    project_root = Path(__file__).resolve().parents[2]

    report = scan_repository(project_root)

    assert "python" in report.project_types
    assert "make test" in report.test_commands
    assert "pytest" in report.test_commands
