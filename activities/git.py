"""Running git for activities: credentials through GIT_ASKPASS (the token lives only in the git
process's environment, never in a remote URL, a config file or a log), heartbeats while a long
command (clone, fetch, push) runs, and errors with secrets scrubbed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from temporalio import activity

from common.logs import REDACTED
from common.settings import Settings

HEARTBEAT_EVERY_S = 5.0

# Answers git's username/password prompts from the environment of this one git process.
_ASKPASS_SCRIPT = """#!/bin/sh
case "$1" in
  Username*) echo "x-access-token" ;;
  *) echo "$AGENTPR_GIT_TOKEN" ;;
esac
"""


class GitError(Exception):
    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        self.git_args = list(args)
        self.returncode = returncode
        self.output = output
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        super().__init__(f"git {' '.join(self.git_args[:2])} failed (exit {returncode}): {last}")


def askpass_script(home: Path) -> Path:
    """Write (once) the askpass helper under $AGENTPR_HOME/bin; it holds no secret itself."""
    path = home / "bin" / "git-askpass"
    if not path.exists() or path.read_text() != _ASKPASS_SCRIPT:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(_ASKPASS_SCRIPT)
        tmp.chmod(0o700)
        tmp.replace(path)
    return path


class Git:
    """One configured way to call git: environment, credentials, heartbeat, scrubbing."""

    def __init__(
        self,
        *,
        home: Path,
        token: str | None = None,
        heartbeat: Callable[[str], None] | None = None,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        env = dict(os.environ if base_env is None else base_env)
        env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_ASKPASS=str(askpass_script(home)),
            # Never let a system credential helper store the token on disk.
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="credential.helper",
            GIT_CONFIG_VALUE_0="",
        )
        env.pop("AGENTPR_GITHUB_TOKEN", None)
        if token:
            env["AGENTPR_GIT_TOKEN"] = token
        self.env = env
        self.token = token
        self.heartbeat = heartbeat

    @classmethod
    def for_activity(
        cls, settings: Settings, heartbeat: Callable[[str], None] | None = None
    ) -> Git:
        """git as an activity runs it: the worker's token, heartbeating while it waits."""
        token = settings.github_token
        return cls(
            home=settings.home,
            token=token.get_secret_value() if token else None,
            heartbeat=heartbeat or (lambda doing: activity.heartbeat(doing)),
        )

    def scrub(self, text: str) -> str:
        return text.replace(self.token, REDACTED) if self.token else text

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> str:
        """Run `git ARGS`; return stdout (stripped). Heartbeats while it runs."""
        env = {**self.env, **(extra_env or {})}
        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if self.heartbeat is None:
            out, err = process.communicate()
        else:
            while True:
                try:
                    out, err = process.communicate(timeout=HEARTBEAT_EVERY_S)
                    break
                except subprocess.TimeoutExpired:
                    self.heartbeat(f"git {args[0]}")
        if check and process.returncode != 0:
            raise GitError(args, process.returncode, self.scrub(err or out))
        return self.scrub(out).strip()

    def ok(
        self, *args: str, cwd: Path | None = None, extra_env: Mapping[str, str] | None = None
    ) -> bool:
        """Whether `git ARGS` succeeds (for questions such as: does this ref exist?)."""
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**self.env, **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
        return result.returncode == 0
