"""prepare_workspace: fork (GitHub API) or given fork URL, clone, upstream remote, branch,
governance scan. Safe to run twice: it finds the fork, clone and branch before creating any."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.git import Git, GitError
from activities.github import github_client
from activities.governance import scan_repository
from activities.runtime_env import RUNTIME_DIR_NAME
from common.metrics import record_github_write
from common.policy import PolicyError, load_policy
from common.settings import Settings
from contracts import PrepareInput, PrepareResult, WorkspaceInfo

# ApplicationError types the workflow's retry policy must not retry.
POLICY_INVALID = "PolicyInvalid"
GITHUB_TOKEN_MISSING = "GitHubTokenMissing"
GITHUB_REFUSED = "GitHubRefused"
WORKSPACE_OUTSIDE_ROOT = "WorkspaceOutsideRoot"
FORK_NOT_READY = "ForkNotReady"  # retryable: GitHub creates forks asynchronously
GIT_FAILED = "GitFailed"


def inside(path: Path, root: Path) -> bool:
    path, root = path.resolve(), root.resolve()
    return path == root or root in path.parents


def write_report(settings: Settings, name: str, payload: Any) -> Path:
    """Reports are files; history carries their path. Every string in them is redacted before
    writing (secrets, private keys, token shapes: common/redaction.py), before JSON encoding,
    so a secret is found whatever JSON would escape in it."""
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    path = settings.reports_dir / name
    text = json.dumps(
        settings.redactor.redact_value(payload), indent=2, default=str, ensure_ascii=False
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(path)
    return path


class GitHubRemotes:
    """Finds (or creates) the operator's fork through the GitHub REST API with PyGithub."""

    def __init__(self, settings: Settings) -> None:
        if settings.github_token is None:
            raise ApplicationError(
                "no GitHub token: set AGENTPR_GITHUB_TOKEN, or create the run with "
                "--upstream-url and --fork-url",
                type=GITHUB_TOKEN_MISSING,
                non_retryable=True,
            )
        self.github = github_client(settings)

    def resolve(
        self, owner: str, repo: str, want_fork: bool, on_fork_requested: Callable[[], None]
    ) -> tuple[Any, Any | None, list[str]]:
        from github import GithubException, UnknownObjectException

        try:
            upstream = self.github.get_repo(f"{owner}/{repo}")
            if not want_fork:
                return upstream, None, []
            login = self.github.get_user().login
            try:
                existing = self.github.get_repo(f"{login}/{repo}")
                if (
                    existing.fork
                    and existing.parent
                    and existing.parent.full_name == upstream.full_name
                ):
                    return upstream, existing, []
            except UnknownObjectException:
                pass
            fork = upstream.create_fork()
            record_github_write("create_fork")
            on_fork_requested()
            try:
                ready = self.github.get_repo(fork.full_name)
            except UnknownObjectException:
                raise ApplicationError(
                    f"fork {fork.full_name} is being created by GitHub; retrying",
                    type=FORK_NOT_READY,
                ) from None
            return upstream, ready, ["fork"]
        except GithubException as err:
            if err.status in (401, 403, 404):
                message = (err.data or {}).get("message", "") if isinstance(err.data, dict) else ""
                raise ApplicationError(
                    f"GitHub refused ({err.status} {message}) for {owner}/{repo}",
                    type=GITHUB_REFUSED,
                    non_retryable=err.status in (401, 404),
                ) from None
            raise


class WorkspaceActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @staticmethod
    def _earlier_actions() -> list[str]:
        """What earlier attempts of this activity did (a fork survives a retry): carried in
        the heartbeat details Temporal hands to the next attempt."""
        details = activity.info().heartbeat_details
        if details and isinstance(details[0], dict):
            return [str(action) for action in details[0].get("actions", [])]
        return []

    @activity.defn
    def prepare_workspace(self, request: PrepareInput) -> PrepareResult:
        settings = self.settings
        try:
            policy = load_policy(settings.policy_file).for_repo(f"{request.owner}/{request.repo}")
        except PolicyError as err:
            raise ApplicationError(err.message, type=POLICY_INVALID, non_retryable=True) from None

        actions = self._earlier_actions()
        upstream_url, fork_url = request.upstream_url, request.fork_url
        default_branch: str | None = None
        fork_full_name: str | None = None
        if upstream_url is None or fork_url is None:
            remotes = GitHubRemotes(settings)
            upstream, fork, created = remotes.resolve(
                request.owner,
                request.repo,
                want_fork=fork_url is None,
                on_fork_requested=lambda: self._note(actions, "fork"),
            )
            actions += [action for action in created if action not in actions]
            upstream_url = upstream_url or upstream.clone_url
            default_branch = upstream.default_branch
            if fork is not None:
                fork_url, fork_full_name = fork.clone_url, fork.full_name
        assert upstream_url is not None and fork_url is not None

        root = settings.workspace_root
        path = root / request.owner / request.repo / request.run_id
        if not inside(path, root):
            raise ApplicationError(
                f"workspace {path} would be outside the workspace root {root}",
                type=WORKSPACE_OUTSIDE_ROOT,
                non_retryable=True,
            )
        git = Git.for_activity(
            settings, lambda doing: activity.heartbeat({"actions": actions, "doing": doing})
        )
        try:
            actions += self._clone(git, path, fork_url)
            self._ensure_remote(git, path, "upstream", upstream_url)
            git.run("fetch", "--quiet", "--prune", "upstream", cwd=path)
            base = default_branch or self._remote_default_branch(git, path)
            actions += self._ensure_branch(git, path, request.branch, base)
            base_sha = git.run("rev-parse", f"upstream/{base}", cwd=path)
        except GitError as err:
            raise ApplicationError(str(err), type=GIT_FAILED) from None
        self._exclude_runtime_dir(path)

        report = scan_repository(path)
        report_path = write_report(
            settings, f"{request.run_id}_governance.json", report.model_dump(mode="json")
        )
        activity.logger.info("workspace ready: %s (%s)", path, ", ".join(actions) or "no change")
        return PrepareResult(
            workspace=WorkspaceInfo(
                path=str(path),
                branch=request.branch,
                base_branch=base,
                base_sha=base_sha,
                upstream_url=upstream_url,
                fork_url=fork_url,
                fork_full_name=fork_full_name,
            ),
            actions=actions,
            governance=report.summary(),
            governance_report=str(report_path),
            policy=policy,
        )

    @staticmethod
    def _note(actions: list[str], action: str) -> None:
        if action not in actions:
            actions.append(action)
        activity.heartbeat({"actions": actions, "doing": action})

    def _clone(self, git: Git, path: Path, fork_url: str) -> list[str]:
        if (path / ".git").is_dir():
            origin = git.run("remote", "get-url", "origin", cwd=path, check=False)
            if origin == fork_url and git.ok("rev-parse", "--verify", "HEAD", cwd=path):
                return []
        # A half-made clone (crash mid-clone) or a stale directory: start again. It is inside
        # our workspace root, created by us.
        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        git.run("clone", "--quiet", "--no-tags", fork_url, str(path))
        return ["clone"]

    def _ensure_remote(self, git: Git, path: Path, name: str, url: str) -> None:
        current = git.run("remote", "get-url", name, cwd=path, check=False)
        if not current:
            git.run("remote", "add", name, url, cwd=path)
        elif current != url:
            git.run("remote", "set-url", name, url, cwd=path)

    def _remote_default_branch(self, git: Git, path: Path) -> str:
        for line in git.run("ls-remote", "--symref", "upstream", "HEAD", cwd=path).splitlines():
            if line.startswith("ref: refs/heads/"):
                return line.split()[1].removeprefix("refs/heads/")
        raise ApplicationError("cannot tell upstream's default branch", type=GIT_FAILED)

    def _ensure_branch(self, git: Git, path: Path, branch: str, base: str) -> list[str]:
        current = git.run("rev-parse", "--abbrev-ref", "HEAD", cwd=path, check=False)
        if git.ok("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=path):
            if current != branch:
                git.run("checkout", "--quiet", branch, cwd=path)
            return []
        if git.ok("rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}", cwd=path):
            # Pushed by an earlier attempt of this run: continue from it.
            git.run("checkout", "--quiet", "-b", branch, f"origin/{branch}", cwd=path)
        else:
            git.run("checkout", "--quiet", "--no-track", "-b", branch, f"upstream/{base}", cwd=path)
        return ["branch"]

    def _exclude_runtime_dir(self, path: Path) -> None:
        """Keep the guardrails' runtime dir out of every commit without touching .gitignore."""
        exclude = path / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        lines = exclude.read_text().splitlines() if exclude.exists() else []
        entry = f"/{RUNTIME_DIR_NAME}/"
        if entry not in lines:
            exclude.write_text("\n".join([*lines, entry]) + "\n")
