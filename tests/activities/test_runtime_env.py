"""Runtime guardrails, checked against the real tools an agent would run (all offline)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from activities.runtime_env import (
    DEFAULT_OVERRIDES_PATH,
    OVERRIDES_PATH_ENV,
    RUNTIME_DIR_NAME,
    RuntimeEnvError,
    RuntimeEnvOverrides,
    guarded_env,
    load_runtime_overrides,
    overrides_path_from_env,
)
from common.errors import UsageError

REQUIRED_VARIABLES = {
    "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "PIP_CACHE_DIR",
    "PIP_REQUIRE_VIRTUALENV", "PIP_USER", "PYTHONUSERBASE", "UV_CACHE_DIR", "POETRY_CACHE_DIR",
    "PRE_COMMIT_HOME", "HF_HOME", "MPLCONFIGDIR", "npm_config_cache", "npm_config_prefix",
    "YARN_CACHE_FOLDER", "PNPM_HOME", "BUN_INSTALL", "BUN_INSTALL_CACHE_DIR", "GOPATH",
    "GOCACHE", "GOMODCACHE", "CARGO_HOME", "TMPDIR",
}  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME for the real tools: afterwards it shows whether they wrote outside the
    repository."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def base_env(home: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        # Whatever the developer's shell sets for these tools must not decide the outcome.
        if not name.upper().startswith(("PIP_", "NPM_CONFIG_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["HOME"] = str(home)
    # Offline safety net: should a guard fail, pip and npm still cannot reach the network.
    env["PIP_NO_INDEX"] = "1"
    env["npm_config_offline"] = "true"
    env["npm_config_update_notifier"] = "false"
    return env


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def non_venv_python_with_pip(env: dict[str, str]) -> str:
    """A python3 outside any virtualenv that has pip: what an agent gets when it forgets to
    activate one. The test itself runs inside .venv, so PATH alone may not find it."""
    candidates = [
        shutil.which("python3", path=env.get("PATH")),
        getattr(sys, "_base_executable", None),
        str(Path(sys.base_prefix) / "bin" / "python3"),
        "/usr/bin/python3",
    ]
    probe = "import sys, pip; sys.exit(0 if sys.prefix == sys.base_prefix else 1)"
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        if run([candidate, "-c", probe], env, Path("/")).returncode == 0:
            return candidate
    pytest.skip("no python3 outside a virtualenv with pip installed on this machine")


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_default_file_covers_the_guardrails() -> None:
    overrides = load_runtime_overrides()
    assert REQUIRED_VARIABLES <= overrides.env.keys()
    assert "HOME" not in overrides.env
    assert overrides.env["PIP_REQUIRE_VIRTUALENV"] == "true"


def test_placeholders_are_expanded(repo: Path, home: Path) -> None:
    env = guarded_env(repo, base_env(home))
    runtime = repo / RUNTIME_DIR_NAME
    assert env["TMPDIR"] == str(runtime / "tmp")
    assert env["XDG_CACHE_HOME"] == str(runtime / "cache")
    assert env["XDG_DATA_HOME"] == str(runtime / "data")
    assert env["PIP_CACHE_DIR"] == str(runtime / "cache" / "pip")
    assert env["npm_config_prefix"] == str(runtime / "data" / "npm-global")
    assert env["HOME"] == str(home)  # HOME stays: agent logins live there
    assert not any("{" in value for name, value in env.items() if name in REQUIRED_VARIABLES)


def test_every_placeholder(repo: Path) -> None:
    overrides = RuntimeEnvOverrides(
        env={
            "A": "{repo_dir}",
            "B": "{runtime_dir}",
            "C": "{cache_dir}/c",
            "D": "{data_dir}/d",
            "E": "{tmp_dir}",
            "F": "x={repo_dir}:{tmp_dir}",
        }
    )
    env = guarded_env(repo, {}, overrides)
    runtime = repo / RUNTIME_DIR_NAME
    assert env == {
        "A": str(repo),
        "B": str(runtime),
        "C": str(runtime / "cache" / "c"),
        "D": str(runtime / "data" / "d"),
        "E": str(runtime / "tmp"),
        "F": f"x={repo}:{runtime / 'tmp'}",
    }


def test_base_env_is_kept_and_not_mutated(repo: Path) -> None:
    base = {"PATH": "/usr/bin", "KEEP": "1", "TMPDIR": "/tmp"}
    env = guarded_env(repo, base, RuntimeEnvOverrides(env={"TMPDIR": "{tmp_dir}"}))
    assert env == {"PATH": "/usr/bin", "KEEP": "1", "TMPDIR": str(repo / RUNTIME_DIR_NAME / "tmp")}
    assert base["TMPDIR"] == "/tmp"


def test_npm_settings_in_another_case_do_not_shadow_ours(repo: Path) -> None:
    # npm reads npm_config_* case-insensitively; an inherited NPM_CONFIG_PREFIX could win.
    env = guarded_env(repo, {"NPM_CONFIG_PREFIX": "/usr/local", "NPM_CONFIG_REGISTRY": "r"})
    assert "NPM_CONFIG_PREFIX" not in env
    assert env["npm_config_prefix"].startswith(str(repo))
    assert env["NPM_CONFIG_REGISTRY"] == "r"  # not overridden, so left alone


def test_directories_are_created_inside_the_repo_only(tmp_path: Path, repo: Path) -> None:
    env = guarded_env(repo, {})
    runtime = repo / RUNTIME_DIR_NAME
    for name in ("cache", "data", "tmp"):
        assert (runtime / name).is_dir()
    for name in ("PIP_CACHE_DIR", "npm_config_prefix", "GOMODCACHE", "CARGO_HOME", "PNPM_HOME"):
        assert Path(env[name]).is_dir(), name
    assert {path.name for path in tmp_path.iterdir()} == {"repo"}
    assert {path.name for path in repo.iterdir()} == {RUNTIME_DIR_NAME}


def test_values_outside_the_runtime_dir_are_not_created(tmp_path: Path, repo: Path) -> None:
    overrides = RuntimeEnvOverrides(
        env={
            "ESCAPES": "{runtime_dir}/../../outside",
            "ELSEWHERE": str(tmp_path / "elsewhere"),
            "IN_REPO": "{repo_dir}/.venv",
            "NOT_A_PATH": "true",
        }
    )
    guarded_env(repo, {}, overrides)
    assert {path.name for path in tmp_path.iterdir()} == {"repo"}
    assert {path.name for path in repo.iterdir()} == {RUNTIME_DIR_NAME}


def test_runtime_dir_is_ignored_by_git(repo: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not on PATH")
    subprocess.run([git, "init", "-q", str(repo)], check=True)
    guarded_env(repo, {})
    (repo / RUNTIME_DIR_NAME / "cache" / "pip" / "wheel.whl").write_text("x")
    status = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=all"],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert status.stdout == ""


def test_idempotent(repo: Path) -> None:
    first = guarded_env(repo, {})
    second = guarded_env(repo, {})
    assert first == second


def test_relative_repo_dir_is_refused() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        guarded_env(Path("repo"), {})


def test_missing_repo_dir_is_refused_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an existing directory"):
        guarded_env(tmp_path / "missing", {})
    assert not (tmp_path / "missing").exists()


def test_symlinked_runtime_dir_is_refused(tmp_path: Path, repo: Path) -> None:
    # A cloned repository could commit `.agentpr_runtime -> <somewhere else>`.
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / RUNTIME_DIR_NAME).symlink_to(outside)
    with pytest.raises(ValueError, match="symbolic link"):
        guarded_env(repo, {})
    assert list(outside.iterdir()) == []


def test_symlinked_gitignore_is_not_followed(tmp_path: Path, repo: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (repo / RUNTIME_DIR_NAME).mkdir()
    (repo / RUNTIME_DIR_NAME / ".gitignore").symlink_to(victim)
    with pytest.raises(ValueError, match="cannot write"):
        guarded_env(repo, {})
    assert victim.read_text() == "precious\n"


# --- the real tools -------------------------------------------------------------------------


def test_pip_refuses_to_install_outside_a_virtualenv(repo: Path, home: Path) -> None:
    env = guarded_env(repo, base_env(home))
    python = non_venv_python_with_pip(env)
    result = run([python, "-m", "pip", "install", "six"], env, repo)
    assert result.returncode != 0
    assert "Could not find an activated virtualenv (required)" in result.stderr
    # The refusal happens before pip resolves anything, so no index was contacted.
    assert "six" not in result.stdout + result.stderr


def test_npm_global_prefix_points_into_the_repo(repo: Path, home: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not on PATH")
    env = guarded_env(repo, base_env(home))
    result = run([npm, "config", "get", "prefix"], env, repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(repo / RUNTIME_DIR_NAME / "data" / "npm-global")


def test_python_tempdir_is_inside_the_runtime_dir(repo: Path, home: Path) -> None:
    env = guarded_env(repo, base_env(home))
    python = shutil.which("python3", path=env.get("PATH")) or sys.executable
    result = run([python, "-c", "import tempfile; print(tempfile.gettempdir())"], env, repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(repo / RUNTIME_DIR_NAME / "tmp")


def test_python_bytecode_stays_in_the_runtime_dir(repo: Path, home: Path) -> None:
    """The agent's test runs import the repository's modules: their bytecode goes below the
    runtime directory, not into `__pycache__` folders that would count as changed files."""
    (repo / "calc_module.py").write_text("ANSWER = 42\n")
    env = guarded_env(repo, base_env(home))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    python = shutil.which("python3", path=env.get("PATH")) or sys.executable
    result = run([python, "-c", "import calc_module"], env, repo)
    assert result.returncode == 0, result.stderr
    assert not list(repo.glob("**/__pycache__")) or all(
        RUNTIME_DIR_NAME in p.parts for p in repo.glob("**/__pycache__")
    )
    assert list((repo / RUNTIME_DIR_NAME).rglob("calc_module*.pyc"))


def test_real_tools_write_nothing_outside_the_repo(tmp_path: Path, repo: Path, home: Path) -> None:
    env = guarded_env(repo, base_env(home))
    run([non_venv_python_with_pip(env), "-m", "pip", "install", "six"], env, repo)
    if (npm := shutil.which("npm")) is not None:
        run([npm, "config", "get", "prefix"], env, repo)
        run([npm, "cache", "ls"], env, repo)
    run([sys.executable, "-c", "import tempfile; tempfile.mkstemp()"], env, repo)
    assert {path.name for path in tmp_path.iterdir()} == {"repo", "home"}
    assert tree(home) == set()
    assert {path.name for path in repo.iterdir()} == {RUNTIME_DIR_NAME}
    assert list((repo / RUNTIME_DIR_NAME / "tmp").iterdir())  # the temp file landed here


# --- a custom overrides file ----------------------------------------------------------------


def test_custom_overrides_file_adds_a_toolchain_without_code(
    tmp_path: Path, repo: Path, home: Path
) -> None:
    custom = tmp_path / "overrides.json"
    new_toolchains = {"DENO_DIR": "{cache_dir}/deno", "GRADLE_USER_HOME": "{data_dir}/gradle"}
    custom.write_text(json.dumps({"env": new_toolchains}))
    env = guarded_env(repo, {"PATH": os.environ.get("PATH", ""), OVERRIDES_PATH_ENV: str(custom)})
    assert env["DENO_DIR"] == str(repo / RUNTIME_DIR_NAME / "cache" / "deno")
    assert Path(env["DENO_DIR"]).is_dir()
    assert Path(env["GRADLE_USER_HOME"]).is_dir()
    # The custom file replaces the shipped one: what it says is what applies.
    assert "PIP_REQUIRE_VIRTUALENV" not in env
    # And a real process sees it.
    result = run([sys.executable, "-c", "import os; print(os.environ['DENO_DIR'])"], env, repo)
    assert result.stdout.strip() == env["DENO_DIR"]


def test_overrides_path_from_env(tmp_path: Path) -> None:
    assert overrides_path_from_env({}) == DEFAULT_OVERRIDES_PATH
    assert overrides_path_from_env({OVERRIDES_PATH_ENV: ""}) == DEFAULT_OVERRIDES_PATH
    assert overrides_path_from_env({OVERRIDES_PATH_ENV: str(tmp_path / "o.json")}) == (
        tmp_path / "o.json"
    )


# --- one-line errors ------------------------------------------------------------------------


def overrides_error(path: Path) -> str:
    with pytest.raises(RuntimeEnvError) as caught:
        load_runtime_overrides(path)
    assert isinstance(caught.value, UsageError)
    assert "\n" not in caught.value.message
    return caught.value.message


def test_unknown_placeholder_names_variable_and_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"env": {"DENO_DIR": "{nope}/deno"}}))
    assert overrides_error(path) == (
        f"{path}: env.DENO_DIR: unknown placeholder {{nope}} "
        "(known: {repo_dir}, {runtime_dir}, {cache_dir}, {data_dir}, {tmp_dir})"
    )


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text('{"env": {"A": "1" "B": "2"}}')
    assert overrides_error(path) == (
        f"{path}: invalid JSON at line 1 column 19: Expecting ',' delimiter"
    )


def test_missing_custom_file(tmp_path: Path, repo: Path) -> None:
    path = tmp_path / "absent.json"
    assert overrides_error(path) == f"{path}: cannot read: No such file or directory"
    with pytest.raises(RuntimeEnvError):
        guarded_env(repo, {OVERRIDES_PATH_ENV: str(path)})


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"env": {"BAD NAME": "x"}}, "env: 'BAD NAME' is not an environment variable name"),
        ({"env": {"A": 1}}, "env.A: Input should be a valid string"),
        ({"env": {}, "extra": {}}, "extra: unknown field"),
        ({}, "env: Field required"),
    ],
)
def test_invalid_documents(tmp_path: Path, document: object, problem: str) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps(document))
    assert overrides_error(path) == f"{path}: {problem}"
