"""What kind of command a segment runs: a test run (pytest, make test, npm test, go test...), a
lint or type check, a dependency install, or only information (--version, --help)."""

from __future__ import annotations

import re

from grading.shell_lexing import PIP_RE, PYTHON_RE, program_name

# -- what kind of command --

_INFO_OPTIONS = frozenset(
    {
        "--version",
        "-V",
        "--help",
        "-h",
        "--collect-only",
        "--co",
        "--fixtures",
        "--markers",
        "--listTests",
        "--showConfig",
    }
)


_TEST_SCRIPT_RE = re.compile(
    r"^(test|tests|unittest|unit[-_]?tests?|integration[-_]?tests?|e2e|"
    r"test[-_:.][\w:.-]*|[\w.-]*[-_:]tests?|check|coverage|cov)$"
)


_CHECK_SCRIPT_RE = re.compile(
    r"^(lint|lint[-_:][\w:-]*|[\w-]*[-_:]lint|typecheck|type[-_:]check|check[-_:]types|"
    r"types|tsc|mypy|pyright|ruff|flake8|format[-_:]check|fmt[-_:]check|style|check[-_:]format)$"
)


# A tox env, nox session or hatch environment named for a check (`tox -e lint`, `nox -s
# typecheck`, `hatch run lint:check`) runs linters, not the test suite.
_CHECK_ENV_RE = re.compile(
    r"^(lint|lints|linting|linters?|[\w-]*[-_]lint|lint[-_][\w-]*|flake8|pylint|ruff|mypy|pyright|"
    r"types?|typing|typecheck|type[-_]?check|check[-_]types|style|format|fmt|pep8|pre-?commit|"
    r"static|static[-_]\w+|docs?[-_]?lint)$"
)


_RUNNERS_WITH_RUN = frozenset(
    {"uv", "poetry", "pdm", "pipenv", "rye", "hatch", "conda", "micromamba", "mamba", "pixi"}
)


_VALUE_OPTIONS = frozenset(
    {
        "--with",
        "--extra",
        "--group",
        "--python",
        "-p",
        "--env",
        "-e",
        "--project",
        "--directory",
        "-n",
        "--name",
        "--package",
        "--index",
        "--from",
        "-C",
        "--filter",
        "-w",
        "--workspace",
        "--cwd",
        "--prefix",
    }
)


def _after_options(words: list[str]) -> list[str]:
    """Drop leading options (and the values of options known to take one)."""
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in _VALUE_OPTIONS else 1
    return words[i:]


def _inner_command(argv: list[str]) -> list[str] | None:
    """The command a runner runs: `uv run pytest` → [pytest], `npx jest` → [jest]."""
    name = program_name(argv[0])
    rest = _after_options(argv[1:])
    if name in _RUNNERS_WITH_RUN and rest[:1] == ["run"]:
        inner = _after_options(rest[1:])
        if name == "hatch" and inner and ":" in inner[0]:
            inner = [inner[0].split(":", 1)[1]] + inner[1:]  # hatch run env:script
        return inner or None
    if name in ("npx", "bunx", "pnpx", "uvx") or (name == "pipx" and rest[:1] == ["run"]):
        inner = rest[1:] if name == "pipx" else rest
        return _after_options(inner) or None
    if name in ("pnpm", "yarn", "bun", "npm") and rest[:1] in (["exec"], ["dlx"], ["x"]):
        return _after_options(rest[1:]) or None
    if name == "bundle" and rest[:1] == ["exec"]:
        return rest[1:] or None
    return None


def _script_name(argv: list[str]) -> str | None:
    """`npm run test:unit` → "test:unit"; `yarn lint` → "lint"; `make test` → "test"."""
    name = program_name(argv[0])
    rest = _after_options(argv[1:])
    if name in ("npm", "pnpm", "yarn", "bun"):
        if rest[:1] in (["run"], ["run-script"]):
            return rest[1] if len(rest) > 1 else None
        return rest[0] if rest else None
    return None


_DIRECT_TEST_RUNNERS = frozenset(
    "pytest py.test tox nox jest vitest mocha ava rspec phpunit ctest nosetests trial ward".split()
)


_RUNNERS = (
    frozenset(
        "make gmake go cargo deno swift mix dotnet bazel zig mvn gradle gradlew mvnw rake sbt hatch "
        "playwright npm pnpm yarn bun npx bunx pnpx uvx pipx bundle".split()
    )
    | _RUNNERS_WITH_RUN
)


def is_test_argv(argv: list[str]) -> bool:
    name = program_name(argv[0])
    if (
        name not in _DIRECT_TEST_RUNNERS
        and name not in _RUNNERS
        and name not in _TASK_RUNNERS
        and not PYTHON_RE.match(name)
    ):
        return False
    if any(word in _INFO_OPTIONS for word in argv[1:]):
        return False
    if name in ("tox", "nox"):
        return not _selects_only_checks(argv)
    if name in _DIRECT_TEST_RUNNERS:
        return True
    if PYTHON_RE.match(name):
        for i, word in enumerate(argv[1:-1], start=1):
            if word == "-m":
                return argv[i + 1] in ("pytest", "unittest", "nose2", "tox", "nox", "green")
        return False
    if name in ("make", "gmake"):
        return any(_TEST_SCRIPT_RE.match(t) for t in _make_targets(argv))
    rest = _after_options(argv[1:])
    sub = rest[0] if rest else ""
    if name in ("go", "cargo", "deno", "swift", "mix", "dotnet", "bazel", "zig"):
        return sub in ("test", "nextest")
    if name in ("mvn", "gradle", "gradlew", "mvnw"):
        return any(t in ("test", "verify", "check") for t in rest)
    if name in ("rake", "sbt"):
        return sub in ("test", "spec")
    if name == "hatch" and sub == "test":
        return True
    if name == "hatch" and _CHECK_ENV_RE.match(_hatch_env(argv)):
        return False
    if name == "playwright":
        return sub == "test"
    if name in ("npm", "pnpm", "yarn", "bun"):
        if name == "bun" and sub == "test":
            return True
        if sub in ("t", "tst"):
            return True
        script = _script_name(argv)
        if script is not None and _TEST_SCRIPT_RE.match(script) and script != "check":
            return True
    if name in _TASK_RUNNERS:
        return any(_TEST_SCRIPT_RE.match(t) for t in _task_names(argv))
    inner = _inner_command(argv)
    if inner:
        if name in _SCRIPT_RUNNERS and _TEST_SCRIPT_RE.match(inner[0]):
            return True
        return is_test_argv(inner)
    return False


# Runners whose `run X` may name a project script rather than a program (`pdm run lint`).
_SCRIPT_RUNNERS = frozenset({"hatch", "pdm", "pixi", "rye"})


# `just lint`, `task test`, `invoke lint`, `mise run lint`: the task names say what they run.
_TASK_RUNNERS = frozenset({"just", "task", "invoke", "inv", "mise"})


def _task_names(argv: list[str]) -> list[str]:
    rest = _after_options(argv[1:])
    if program_name(argv[0]) == "mise":
        rest = _after_options(rest[1:]) if rest[:1] == ["run"] else []
    return [word for word in rest if "=" not in word][:1]


def _selected(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    """The values of `-e a,b` / `--env=a` style options."""
    found: list[str] = []
    for i, word in enumerate(argv):
        value = None
        if word in flags and i + 1 < len(argv):
            value = argv[i + 1]
        elif word.startswith(tuple(f + "=" for f in flags if f.startswith("--"))):
            value = word.split("=", 1)[1]
        if value is not None:
            found += [v.strip() for v in value.split(",") if v.strip()]
    return found


def _selects_only_checks(argv: list[str]) -> bool:
    """`tox -e lint,type` / `nox -s lint`: every selected env is a check."""
    flags = ("-e", "--env") if program_name(argv[0]) == "tox" else ("-s", "--session", "--sessions")
    envs = _selected(argv, flags)
    return bool(envs) and all(_CHECK_ENV_RE.match(env) for env in envs)


def _hatch_env(argv: list[str]) -> str:
    """`hatch run lint:check` → "lint"; `hatch -e lint run check` → "lint"."""
    rest = _after_options(argv[1:])
    if rest[:1] == ["run"]:
        script = _after_options(rest[1:])
        if script and ":" in script[0]:
            return script[0].split(":", 1)[0]
    if "-e" not in argv and not any(word.startswith("--env") for word in argv):
        return ""
    envs = _selected(argv, ("-e", "--env"))
    return envs[0] if envs else ""


def _make_targets(argv: list[str]) -> list[str]:
    targets: list[str] = []
    words = argv[1:]
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-C", "-f", "--directory", "--file", "-j", "--jobs", "-I", "-o", "-W"):
            i += 2
            continue
        if not word.startswith("-") and "=" not in word:
            targets.append(word)
        i += 1
    return targets


_LINTERS = frozenset(
    "mypy pyright flake8 pylint eslint tsc golangci-lint shellcheck rubocop stylelint biome "
    "pyflakes pycodestyle".split()
)


_FORMATTERS = frozenset({"ruff", "black", "isort", "prettier", "gofmt", "pre-commit"})


_CHECK_MODULES = _LINTERS | _FORMATTERS | {"pycodestyle", "pydocstyle", "bandit"}


_MAY_CHECK = _LINTERS | _FORMATTERS | _RUNNERS | _TASK_RUNNERS | {"tox", "nox"}


def is_check_argv(argv: list[str]) -> bool:
    name = program_name(argv[0])
    if name not in _MAY_CHECK and not name.startswith("python"):
        return False  # most commands: one set lookup
    if PYTHON_RE.match(name):
        # `python -m mypy src`, `python3 -m ruff check .`
        if argv[1:2] == ["-m"] and len(argv) > 2 and argv[2] in _CHECK_MODULES:
            return is_check_argv(argv[2:])
        return False
    if name in ("tox", "nox"):
        return _selects_only_checks(argv)
    if name in _TASK_RUNNERS:
        return any(_CHECK_SCRIPT_RE.match(t) for t in _task_names(argv))
    if name not in _LINTERS and name not in _FORMATTERS and name not in _RUNNERS:
        return False
    if any(word in ("--version", "-V", "--help", "-h") for word in argv[1:]):
        return False
    rest = _after_options(argv[1:])
    sub = rest[0] if rest else ""
    if name in _LINTERS:
        return True
    if name == "ruff":
        return sub == "check" or (sub == "format" and "--check" in argv)
    if name in ("black", "isort", "prettier", "gofmt"):
        return bool({"--check", "--check-only", "-l", "--list-different"} & set(argv))
    if name == "go":
        return sub == "vet"
    if name == "cargo":
        return sub == "clippy" or (sub == "fmt" and "--check" in argv)
    if name == "pre-commit":
        return sub == "run"
    if name == "hatch":
        if sub == "fmt":
            return "--check" in argv
        if _CHECK_ENV_RE.match(_hatch_env(argv)):
            return True
    if name == "rye":
        return sub == "lint" or (sub == "fmt" and "--check" in argv) or _runs_check_script(argv)
    if name in ("make", "gmake"):
        return any(_CHECK_SCRIPT_RE.match(t) for t in _make_targets(argv))
    if name in ("npm", "pnpm", "yarn", "bun"):
        script = _script_name(argv)
        if script is not None and (
            _CHECK_SCRIPT_RE.match(script) or script == "check" or script in _LINTERS
        ):
            return True
    return _runs_check_script(argv)


def _runs_check_script(argv: list[str]) -> bool:
    inner = _inner_command(argv)
    if inner:
        if program_name(argv[0]) in _SCRIPT_RUNNERS and _CHECK_SCRIPT_RE.match(inner[0]):
            return True
        return is_check_argv(inner)
    return False


def pip_install(argv: list[str]) -> bool:
    name = program_name(argv[0])
    words = argv[1:]
    if PYTHON_RE.match(name) and words[:2] == ["-m", "pip"]:
        words = words[2:]
    elif name == "uv" and words[:1] == ["pip"]:
        words = words[1:]
    elif not PIP_RE.match(name):
        return False
    return _after_options(words)[:1] == ["install"]


def is_install_argv(argv: list[str]) -> bool:
    name = program_name(argv[0])
    if (
        name not in _RUNNERS
        and name not in ("composer",)
        and not (PIP_RE.match(name) or PYTHON_RE.match(name))
    ):
        return False
    if pip_install(argv):
        return True
    rest = _after_options(argv[1:])
    sub = rest[0] if rest else ""
    if name in ("npm", "pnpm", "bun"):
        return sub in ("install", "i", "ci", "add")
    if name == "yarn":
        return sub in ("", "install", "add")
    if name in ("poetry", "pdm", "pipenv"):
        return sub in ("install", "add", "sync", "lock")
    if name == "uv":
        return sub in ("sync", "add", "lock")
    if name == "hatch":
        return rest[:2] == ["env", "create"]
    if name == "go":
        return sub in ("get", "mod") and (sub == "get" or rest[1:2] in (["download"], ["tidy"]))
    if name == "cargo":
        return sub in ("fetch", "build")
    if name in ("bundle", "composer"):
        return sub in ("install", "update")
    inner = _inner_command(argv)
    return inner is not None and is_install_argv(inner)
