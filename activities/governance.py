"""Governance scan: what a contributor to a cloned repository must respect (sign-off, CLA, PR
template, owners) and which commands its maintainers use to test and lint.

Pure file reads on the clone: no network, no subprocess, no code from the clone is executed.
A clone is untrusted input, so malformed, oversized or escaping files are skipped and named in
`evidence` instead of failing the scan.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from contracts import GovernanceSummary

# Governance files are small; anything bigger is generated or hostile and not worth the memory.
MAX_FILE_BYTES = 1024 * 1024

# `git commit -s` also as `-sm` or `-asm`; upper-case `-S` is GPG signing, not sign-off.
_DCO_PHRASE = re.compile(
    r"(?i:signed-off-by)|(?i:developer certificate of origin)|--signoff"
    r"|\bgit commit -[a-zA-Z]*s|\bDCO\b"
)
# "CLA" only as an upper-case whole word: "declaration", "clause" and "CLAUDE.md" are not CLAs.
_CLA_PHRASE = re.compile(
    r"(?i:contributor licen[cs]e agreement)|\bCLAs?\b|(?i:cla-assistant)"
    r"|(?i:cla\.developers\.google\.com)"
)
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*['\"]?([^\s'\"#]+)", re.MULTILINE)
_CLA_ACTION = re.compile(r"(?i)(?:^|[/-])cla(?:[/@-]|$)|contributor-assistant|easycla")
_DCO_ACTION = re.compile(r"(?i)(?:^|[/-])dco(?:[/@-]|$)")

# `name:` / `name::` rules; the first character excludes `.PHONY`, `%` patterns and `$(VAR)`,
# the look-ahead excludes `:=` and `::=` assignments.
_MAKE_RULE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_./ \t-]*?)\s*::?(?![=:])")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*))?$")
_RUN_KEY = re.compile(r"^(\s*(?:-\s+)?)run:\s*(.*)$")  # group 1 ends at the key's column

# Test and lint tools in CI `run:` lines. Single words need boundaries so that `tox.ini`,
# `pytest-cov` or `mypy_extensions` do not count as running the tool.
_CI_TEST_TOOL = re.compile(
    r"(?<![\w.-])(?:pytest|tox|nox)(?![\w.-])"
    r"|\b(?:make|go|cargo) test|\b(?:npm|yarn|pnpm|bun)(?: run)? test"
)
_CI_LINT_TOOL = re.compile(
    r"(?<![\w.-])(?:ruff|flake8|eslint|mypy|golangci-lint)(?![\w.-])"
    r"|\b(?:npm|yarn|pnpm|bun)(?: run)? lint|\bcargo clippy"
)
# `pip install pytest` or `echo "running pytest"` mention a tool without running it.
_NOT_RUNNING_THE_TOOL = re.compile(
    r"^\s*(?:echo|printf)\b|(?<![\w-])(?:install|add|download)(?![\w-])"
)
_SHELL_SEPARATOR = re.compile(r"&&|\|\||;|\|")

_NPM_DEFAULT_TEST = "no test specified"  # `npm init` writes a test script that only fails
_NODE_LOCK_FILES = (
    ("bun.lockb", "bun"),
    ("bun.lock", "bun"),
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
)
_NODE_PACKAGE_MANAGERS = {"npm", "yarn", "pnpm", "bun"}
_OTHER_PROJECT_MARKERS = (("node", "package.json"), ("go", "go.mod"), ("rust", "Cargo.toml"))
_OTHER_CI_FILES = (".gitlab-ci.yml", ".circleci/config.yml", "azure-pipelines.yml", ".travis.yml")


class GovernanceReport(GovernanceSummary):
    """Full report saved to disk; the summary part goes into the run record."""

    ci_files: list[str] = Field(default_factory=list)  # repository-relative, POSIX separators
    # Why each finding was made ("dco_required": "CONTRIBUTING.md: 'Signed-off-by'",
    # "test_commands[0]": "Makefile target test") and which files were skipped and why.
    evidence: dict[str, str] = Field(default_factory=dict)
    package_manager: str | None = None  # node only: npm | yarn | pnpm | bun

    def summary(self) -> GovernanceSummary:
        fields = set(GovernanceSummary.model_fields)
        return GovernanceSummary.model_validate(self.model_dump(include=fields))


class _RepoFiles:
    """Read-only view of the clone that never leaves it: a symlink resolving outside the clone
    reads as absent, so a hostile repository cannot make us read the worker's files."""

    def __init__(self, root: Path, evidence: dict[str, str]) -> None:
        self.root = root.resolve()
        self.evidence = evidence
        self._texts: dict[str, str | None] = {}

    def _path(self, rel: str) -> Path | None:
        try:
            path = (self.root / rel).resolve()
        except (OSError, RuntimeError):  # symlink loop
            return None
        return path if path.is_relative_to(self.root) else None

    def is_file(self, rel: str) -> bool:
        path = self._path(rel)
        return path is not None and path.is_file()

    def is_dir(self, rel: str) -> bool:
        path = self._path(rel)
        return path is not None and path.is_dir()

    def list_dir(self, rel: str) -> list[str]:
        path = self._path(rel)
        try:
            return sorted(child.name for child in path.iterdir()) if path and path.is_dir() else []
        except OSError:
            return []

    def find(self, rel: str) -> str | None:
        """`rel` as a file, each path part matched case-insensitively; returns the real spelling."""
        found = ""
        for part in rel.split("/"):
            names = self.list_dir(found)
            if part not in names:
                part = next((name for name in names if name.lower() == part.lower()), "")
            if not part:
                return None
            found = f"{found}/{part}" if found else part
        return found if self.is_file(found) else None

    def read(self, rel: str) -> str | None:
        if rel not in self._texts:
            self._texts[rel] = self._read_uncached(rel)
        return self._texts[rel]

    def _read_uncached(self, rel: str) -> str | None:
        path = self._path(rel)
        if path is None:
            self.evidence[rel] = "skipped: points outside the repository"
            return None
        try:
            if not path.is_file():
                return None
            if path.stat().st_size > MAX_FILE_BYTES:
                self.evidence[rel] = "skipped: larger than 1 MB"
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            self.evidence[rel] = "skipped: unreadable"
            return None

    def has_ini_section(self, rel: str, section: str) -> bool:
        text = self.read(rel) or ""
        return re.search(rf"(?m)^\[{re.escape(section)}\][ \t]*$", text) is not None


def scan_repository(repo_dir: Path) -> GovernanceReport:
    """Scan the clone at `repo_dir`. Raises NotADirectoryError only when there is no clone."""
    if not repo_dir.is_dir():
        raise NotADirectoryError(f"not a directory: {repo_dir}")
    evidence: dict[str, str] = {}
    files = _RepoFiles(repo_dir, evidence)

    pyproject = _load_mapping(files, "pyproject.toml", tomllib.loads, "TOML")
    package_json = _load_mapping(files, "package.json", json.loads, "JSON")
    project_types = _project_types(files)
    package_manager, package_manager_source = (
        _node_package_manager(files, package_json) if "node" in project_types else (None, "")
    )
    scripts = _table(package_json, "scripts")
    makefile, make_targets = _makefile_targets(files)
    ci_files = _ci_files(files)
    workflows = {p: files.read(p) or "" for p in ci_files if p.startswith(".github/workflows/")}
    run_lines = [(path, line) for path, text in workflows.items() for line in _run_lines(text)]

    test_commands: dict[str, str] = {}  # command -> evidence; insertion order is the priority
    if "test" in make_targets:
        test_commands["make test"] = f"{makefile} target test"
    if files.is_file("tox.ini"):
        test_commands.setdefault("tox", "tox.ini")
    if files.is_file("noxfile.py"):
        test_commands.setdefault("nox", "noxfile.py")
    test_script = scripts["test"] if isinstance(scripts.get("test"), str) else ""
    if test_script.strip() and _NPM_DEFAULT_TEST not in test_script:
        test_commands.setdefault(
            _script_command(package_manager, "test"), "package.json scripts.test"
        )
    if pytest_source := _pytest_config(files, pyproject, project_types):
        runner, runner_source = _python_runner(files, pyproject)
        test_commands.setdefault(f"{runner}pytest", pytest_source + runner_source)
    if "go" in project_types:
        test_commands.setdefault("go test ./...", "go.mod")
    if "rust" in project_types:
        test_commands.setdefault("cargo test", "Cargo.toml")

    lint_commands: dict[str, str] = {}
    if "lint" in make_targets:
        lint_commands["make lint"] = f"{makefile} target lint"
    if ruff_source := _ruff_config(files, pyproject):
        lint_commands.setdefault("ruff check .", ruff_source)
    if flake8_source := _flake8_config(files):
        lint_commands.setdefault("flake8", flake8_source)
    if isinstance(scripts.get("lint"), str):
        lint_commands.setdefault(
            _script_command(package_manager, "lint"), "package.json scripts.lint"
        )
    if files.is_file(".pre-commit-config.yaml"):
        lint_commands.setdefault("pre-commit run --all-files", ".pre-commit-config.yaml")
    if "go" in project_types:
        lint_commands.setdefault("go vet ./...", "go.mod")

    for path, line in run_lines:
        if _runs_tool(line, _CI_TEST_TOOL):
            test_commands.setdefault(line, f"{path}: run")
        if _runs_tool(line, _CI_LINT_TOOL):
            lint_commands.setdefault(line, f"{path}: run")

    contributing = _first_file(
        files,
        [
            f"{folder}CONTRIBUTING{ext}"
            for folder in ("", ".github/", "docs/")
            for ext in (".md", ".rst", ".txt", "")
        ],
    )
    pr_template = _pr_template(files)
    codeowners = _first_file(files, [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"])
    documents = {path: files.read(path) or "" for path in (contributing, pr_template) if path}

    dco_source = _phrase_evidence(documents, _DCO_PHRASE)
    dco_source = dco_source or _action_evidence(workflows, _DCO_ACTION)
    if dco_source is None and files.is_file(".github/dco.yml"):
        dco_source = ".github/dco.yml"
    cla_source = _phrase_evidence(documents, _CLA_PHRASE)
    cla_source = cla_source or _action_evidence(workflows, _CLA_ACTION)

    for key, source in (("dco_required", dco_source), ("cla_required", cla_source)):
        if source:
            evidence[key] = source
    for i, (name, source) in enumerate(sorted(project_types.items())):
        evidence[f"project_types[{i}]"] = source
    if package_manager:
        evidence["package_manager"] = package_manager_source
    for field, commands in (("test_commands", test_commands), ("lint_commands", lint_commands)):
        for i, source in enumerate(commands.values()):
            evidence[f"{field}[{i}]"] = source

    return GovernanceReport(
        project_types=sorted(project_types),
        test_commands=list(test_commands),
        lint_commands=list(lint_commands),
        dco_required=dco_source is not None,
        cla_required=cla_source is not None,
        contributing=contributing,
        pr_template=pr_template,
        pr_template_sections=_markdown_headings(documents.get(pr_template or "", "")),
        codeowners=codeowners,
        ci_files=ci_files,
        evidence=evidence,
        package_manager=package_manager,
    )


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _load_mapping(
    files: _RepoFiles, rel: str, parse: Callable[[str], Any], file_format: str
) -> dict[str, Any]:
    text = files.read(rel)
    try:
        data = parse(text) if text is not None else {}
    except (ValueError, RecursionError):  # TOMLDecodeError is a ValueError; deep nesting recurses
        files.evidence[rel] = f"invalid {file_format}"
        return {}
    if not isinstance(data, dict):
        files.evidence[rel] = "not a mapping"
        return {}
    return data


def _project_types(files: _RepoFiles) -> dict[str, str]:
    """Project type -> the root file that shows it."""
    requirements = [
        name for name in files.list_dir("") if re.fullmatch(r"requirements.*\.txt", name)
    ]
    markers = ["pyproject.toml", "setup.py", "setup.cfg", *requirements]
    types: dict[str, str] = {}
    if python := [name for name in markers if files.is_file(name)]:
        types["python"] = ", ".join(python)
    for project_type, marker in _OTHER_PROJECT_MARKERS:
        if files.is_file(marker):
            types[project_type] = marker
    return types


def _node_package_manager(files: _RepoFiles, package_json: dict[str, Any]) -> tuple[str, str]:
    """(package manager, why) for a node project."""
    for lock_file, manager in _NODE_LOCK_FILES:
        if files.is_file(lock_file):
            return manager, lock_file
    # Without a lock file, corepack's `"packageManager": "pnpm@9.1.0"` is the maintainers' word.
    declared = str(package_json.get("packageManager", "")).split("@")[0]
    if declared in _NODE_PACKAGE_MANAGERS:
        return declared, "package.json packageManager"
    return "npm", "package-lock.json" if files.is_file("package-lock.json") else "default"


def _script_command(package_manager: str | None, script: str) -> str:
    if package_manager in (None, "npm"):
        return "npm test" if script == "test" else f"npm run {script}"
    if package_manager == "bun":
        return f"bun run {script}"  # plain `bun test` runs bun's own test runner, not the script
    return f"{package_manager} {script}"


def _makefile_targets(files: _RepoFiles) -> tuple[str, set[str]]:
    """(Makefile name, its explicit targets), looking for the names in the order make does."""
    for name in ("GNUmakefile", "makefile", "Makefile"):
        if (text := files.read(name)) is not None:
            targets: set[str] = set()
            for line in text.splitlines():
                if rule := _MAKE_RULE.match(line):
                    targets.update(rule.group(1).split())
            return name, targets
    return "Makefile", set()


def _pytest_config(
    files: _RepoFiles, pyproject: dict[str, Any], types: dict[str, str]
) -> str | None:
    # [tool.pytest.ini_options], or pytest 9's native [tool.pytest] table
    if "pytest" in _table(pyproject, "tool"):
        return "pyproject.toml [tool.pytest.ini_options]"
    if files.is_file("pytest.ini"):
        return "pytest.ini"
    for name, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        if files.has_ini_section(name, section):
            return f"{name} [{section}]"
    if "python" in types and files.is_dir("tests"):
        return "tests/ directory"
    return None


def _python_runner(files: _RepoFiles, pyproject: dict[str, Any]) -> tuple[str, str]:
    """Prefix that runs a tool inside the project's environment, and why."""
    if files.is_file("uv.lock"):
        return "uv run ", "; uv.lock"
    if "poetry" in _table(pyproject, "tool"):
        return "poetry run ", "; pyproject.toml [tool.poetry]"
    return "", ""


def _ruff_config(files: _RepoFiles, pyproject: dict[str, Any]) -> str | None:
    if "ruff" in _table(pyproject, "tool"):
        return "pyproject.toml [tool.ruff]"
    return next((name for name in ("ruff.toml", ".ruff.toml") if files.is_file(name)), None)


def _flake8_config(files: _RepoFiles) -> str | None:
    if files.is_file(".flake8"):
        return ".flake8"
    for name in ("setup.cfg", "tox.ini"):
        if files.has_ini_section(name, "flake8"):
            return f"{name} [flake8]"
    return None


def _ci_files(files: _RepoFiles) -> list[str]:
    workflows = [
        f".github/workflows/{name}"
        for name in files.list_dir(".github/workflows")
        if name.endswith((".yml", ".yaml")) and files.is_file(f".github/workflows/{name}")
    ]
    return workflows + [path for path in _OTHER_CI_FILES if files.is_file(path)]


def _run_lines(workflow: str) -> list[str]:
    """Shell lines of every `run:` step. YAML is read as text: no YAML library is installed, and
    steps are regular enough (`run: cmd` or a `run: |` block indented under its key)."""
    lines = workflow.splitlines()
    commands: list[str] = []
    i = 0
    while i < len(lines):
        key = _RUN_KEY.match(lines[i])
        i += 1
        if key is None:
            continue
        indent, value = len(key.group(1)), key.group(2).strip()
        if value[:1] in ("|", ">"):
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
                block.append(lines[i])
                i += 1
            commands.extend(_shell_lines(block))
        elif value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) > 1:
            commands.extend(_shell_lines([value[1:-1]]))
        elif value:  # `run:` alone is a mapping (e.g. `defaults: run: shell: bash`), not a command
            commands.extend(_shell_lines([re.split(r"\s+#", value)[0]]))
    return commands


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _shell_lines(lines: list[str]) -> list[str]:
    """Stripped commands, comments dropped and backslash continuations joined."""
    commands: list[str] = []
    pending = ""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        commands.append(pending + line)
        pending = ""
    if pending.strip():
        commands.append(pending.strip())
    return commands


def _runs_tool(line: str, tool: re.Pattern[str]) -> bool:
    return any(
        tool.search(part) and not _NOT_RUNNING_THE_TOOL.search(part)
        for part in _SHELL_SEPARATOR.split(line)
    )


def _first_file(files: _RepoFiles, candidates: list[str]) -> str | None:
    return next((found for rel in candidates if (found := files.find(rel))), None)


def _pr_template(files: _RepoFiles) -> str | None:
    single = _first_file(
        files,
        [f"{folder}pull_request_template.md" for folder in (".github/", "", "docs/")],
    )
    if single:
        return single
    # Several templates (`.github/PULL_REQUEST_TEMPLATE/*.md`): the first one is the default.
    folders = [
        f".github/{name}"
        for name in files.list_dir(".github")
        if name.lower() == "pull_request_template"
    ]
    templates = [f"{f}/{name}" for f in folders[:1] for name in files.list_dir(f)]
    return next((path for path in templates if files.is_file(path)), None)


def _markdown_headings(text: str) -> list[str]:
    """ATX headings in order, skipping fenced code and HTML comments (GitHub renders neither)."""
    headings: list[str] = []
    in_fence = in_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if stripped.startswith("<!--") and "-->" not in stripped:
            in_comment = True
            continue
        if (heading := _HEADING.match(line)) is None:
            continue
        title = re.sub(r"(?:^|\s+)#+$", "", (heading.group(1) or "").strip())  # closing `##`
        if title := title.strip().rstrip(":").strip():
            headings.append(title)
    return headings


def _phrase_evidence(documents: dict[str, str], phrase: re.Pattern[str]) -> str | None:
    for path, text in documents.items():
        if found := phrase.search(text):
            return f"{path}: '{found.group(0)}'"
    return None


def _action_evidence(workflows: dict[str, str], action: re.Pattern[str]) -> str | None:
    for path, text in workflows.items():
        for uses in _USES.finditer(text):
            if action.search(uses.group(1)):
                return f"{path}: uses {uses.group(1)}"
    return None
