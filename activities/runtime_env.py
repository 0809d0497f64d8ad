"""Environment guardrails for every agent and command a run executes.

Agents run with wide sandboxes (`danger-full-access` by default), so the cheapest protection
of the operator's machine is the environment: tool caches, data and "global" install
prefixes are pointed into `<repo>/.agentpr_runtime/`, and pip refuses to install outside a
virtualenv. This is a practical safety layer, not a security sandbox; hard isolation needs a
container or VM.

Which variables are set lives in `runtime_env_overrides.json` (or the file named by
`AGENTPR_RUNTIME_ENV_OVERRIDES`, which replaces it entirely), so a new toolchain needs a line
of JSON, not code. Values may use these placeholders:

    {repo_dir}     the run's checkout
    {runtime_dir}  {repo_dir}/.agentpr_runtime
    {cache_dir}    {runtime_dir}/cache
    {data_dir}     {runtime_dir}/data
    {tmp_dir}      {runtime_dir}/tmp

Every value that lies under `{runtime_dir}` is taken to be a directory and is created, so a
tool never fails on a missing cache directory. (A variable that names a *file* therefore
should not point under `{runtime_dir}`.)

Deliberately left alone:
- HOME: agent CLIs keep their logins there (~/.codex), and repositories' own tests read it.
- XDG_CONFIG_HOME and npm's userconfig: they hold the operator's package mirrors, registry
  credentials, `gh` login and git identity; moving them changes behaviour silently, while
  isolating caches and data is what keeps installs off the machine.
- GIT_CONFIG_NOSYSTEM: the system git config is read-only for an agent and may carry the
  proxy or safe.directory settings a run needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from common.errors import UsageError
from common.policy import read_json_model

RUNTIME_DIR_NAME = ".agentpr_runtime"
DEFAULT_OVERRIDES_PATH = Path(__file__).with_name("runtime_env_overrides.json")
OVERRIDES_PATH_ENV = "AGENTPR_RUNTIME_ENV_OVERRIDES"

PLACEHOLDERS = ("repo_dir", "runtime_dir", "cache_dir", "data_dir", "tmp_dir")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# npm reads `npm_config_*` case-insensitively, so a `NPM_CONFIG_PREFIX` inherited from the
# caller could win over our `npm_config_prefix`; inherited spellings of an overridden name
# are dropped for these prefixes.
_CASE_INSENSITIVE_PREFIXES = ("npm_config_",)

# Ignore everything in the runtime dir: the agent's `git add -A`, the dirty-workspace check
# and linters that honour .gitignore (ruff scanned vendored cache files in an earlier tool's
# runs) must not see caches as part of the repository.
_RUNTIME_GITIGNORE = "# Created by agentpr: tool caches and data for this run.\n*\n"


class RuntimeEnvError(UsageError):
    """The runtime overrides file cannot be read or is invalid."""


def _known_placeholders_only(value: str) -> str:
    for name in _PLACEHOLDER.findall(value):
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + known_name + "}" for known_name in PLACEHOLDERS)
            raise ValueError(f"unknown placeholder {{{name}}} (known: {known})")
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


class RuntimeEnvOverrides(BaseModel):
    """Environment variables to set for a run, with `{placeholder}`s in their values."""

    model_config = ConfigDict(extra="forbid")

    env: dict[str, Annotated[str, AfterValidator(_known_placeholders_only)]]

    @field_validator("env", mode="before")
    @classmethod
    def _names_are_environment_names(cls, value: object) -> object:
        if isinstance(value, dict):
            for name in value:
                if not isinstance(name, str) or not _ENV_NAME.match(name):
                    raise ValueError(f"{name!r} is not an environment variable name")
        return value


def load_runtime_overrides(path: Path | None = None) -> RuntimeEnvOverrides:
    """The overrides in `path` (default: the file shipped next to this module)."""
    source = DEFAULT_OVERRIDES_PATH if path is None else path
    try:
        return read_json_model(source, RuntimeEnvOverrides, RuntimeEnvError)
    except FileNotFoundError as err:
        raise RuntimeEnvError(f"{source}: cannot read: {err.strerror}") from err


def overrides_path_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """The overrides file to use: `$AGENTPR_RUNTIME_ENV_OVERRIDES` or the shipped default."""
    env = os.environ if environ is None else environ
    configured = env.get(OVERRIDES_PATH_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_OVERRIDES_PATH


def runtime_placeholders(repo_dir: Path) -> dict[str, str]:
    """What each placeholder stands for in this checkout."""
    runtime_dir = repo_dir / RUNTIME_DIR_NAME
    return {
        "repo_dir": str(repo_dir),
        "runtime_dir": str(runtime_dir),
        "cache_dir": str(runtime_dir / "cache"),
        "data_dir": str(runtime_dir / "data"),
        "tmp_dir": str(runtime_dir / "tmp"),
    }


def expand_overrides(overrides: RuntimeEnvOverrides, repo_dir: Path) -> dict[str, str]:
    """The override values with their placeholders filled in for `repo_dir`."""
    values = runtime_placeholders(repo_dir)
    return {
        name: _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
        for name, template in overrides.env.items()
    }


def _make_dir_inside(root: Path, target: Path) -> None:
    """Create `target` and its parents below `root`, refusing to follow a symlink: the
    checkout is someone else's repository, and a committed `.agentpr_runtime -> ~` link
    must not turn our mkdirs into writes in the operator's home."""
    current = root
    for part in target.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise ValueError(f"{current} is a symbolic link; refusing to create directories there")
        try:
            current.mkdir()
        except FileExistsError:
            if not current.is_dir():
                raise ValueError(f"{current} exists and is not a directory") from None


def _write_runtime_gitignore(runtime_dir: Path) -> None:
    path = runtime_dir / ".gitignore"
    try:
        if path.read_text(encoding="utf-8") == _RUNTIME_GITIGNORE and not path.is_symlink():
            return
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    except OSError as err:
        raise ValueError(f"{path}: cannot read: {err.strerror}") from err
    # O_NOFOLLOW for the same reason as in _make_dir_inside.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o644)
    except OSError as err:
        raise ValueError(f"{path}: cannot write: {err.strerror}") from err
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(_RUNTIME_GITIGNORE)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def guarded_env(
    repo_dir: Path,
    base_env: Mapping[str, str] | None = None,
    overrides: RuntimeEnvOverrides | None = None,
) -> dict[str, str]:
    """The environment for a command run in `repo_dir`: `base_env` (default: this process's)
    plus the expanded overrides. Creates the runtime directories, only ever below
    `repo_dir/.agentpr_runtime`."""
    if not repo_dir.is_absolute():
        raise ValueError(f"repo_dir must be absolute, got {str(repo_dir)!r}")
    if not repo_dir.is_dir():
        raise ValueError(f"repo_dir {str(repo_dir)!r} is not an existing directory")
    # Normalised lexically (not resolved) so every path we hand out starts with the repo_dir
    # the caller knows, and `..` in an override cannot hide where a value points.
    repo_dir = Path(os.path.normpath(repo_dir))
    base = os.environ if base_env is None else base_env
    if overrides is None:
        overrides = load_runtime_overrides(overrides_path_from_env(base))

    values = expand_overrides(overrides, repo_dir)
    placeholders = runtime_placeholders(repo_dir)
    runtime_dir = Path(placeholders["runtime_dir"])
    wanted_dirs = [
        runtime_dir,
        Path(placeholders["cache_dir"]),
        Path(placeholders["data_dir"]),
        Path(placeholders["tmp_dir"]),
    ]
    for value in values.values():
        if os.path.isabs(value):
            candidate = Path(os.path.normpath(value))
            if _inside(candidate, runtime_dir):
                wanted_dirs.append(candidate)
    for directory in wanted_dirs:
        _make_dir_inside(repo_dir, directory)
    _write_runtime_gitignore(runtime_dir)

    overridden_folded = {
        name.casefold() for name in values if name.casefold().startswith(_CASE_INSENSITIVE_PREFIXES)
    }
    env = {name: value for name, value in base.items() if name.casefold() not in overridden_folded}
    env.update(values)
    return env
