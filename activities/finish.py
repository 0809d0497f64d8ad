"""finish_run: commit the workspace's changes with the operator's identity and push the branch
to the fork. Crash-safe: a retry after a crash between commit and push pushes the commit that
exists instead of committing again."""

from __future__ import annotations

import subprocess
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.git import Git, GitError
from activities.workspace import inside, write_report
from common.settings import Settings
from contracts import FinishInput, FinishResult

NOTHING_TO_COMMIT = "NothingToCommit"
GIT_IDENTITY_MISSING = "GitIdentityMissing"
PUSH_REJECTED = "PushRejected"
WORKSPACE_MISSING = "WorkspaceMissing"
PUSH_FAILED = "PushFailed"  # retryable (network, server)

RUN_TRAILER = "Agentpr-Run"


def commit_message(request: FinishInput) -> str:
    body = request.changes.strip()
    assisted = f"Assisted-by: {request.assisted_by}\n" if request.assisted_by else ""
    return (
        f"{request.commit_title}\n\n{body}\n\n"
        f"Project: {request.project}\n{RUN_TRAILER}: {request.run_id}\n{assisted}"
    )


class FinishActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _identity(self, git: Git, path: Path) -> tuple[str, str]:
        name = self.settings.git_author_name or git.run(
            "config", "user.name", cwd=path, check=False
        )
        email = self.settings.git_author_email or git.run(
            "config", "user.email", cwd=path, check=False
        )
        if not name or not email:
            raise ApplicationError(
                "no git identity for the commit: set AGENTPR_GIT_AUTHOR_NAME and "
                "AGENTPR_GIT_AUTHOR_EMAIL (or git config --global user.name/user.email) "
                "for the worker",
                type=GIT_IDENTITY_MISSING,
                non_retryable=True,
            )
        return name, email

    @activity.defn
    def finish_run(self, request: FinishInput) -> FinishResult:
        path = Path(request.workspace)
        if not inside(path, self.settings.workspace_root) or not (path / ".git").is_dir():
            raise ApplicationError(
                f"workspace {path} is missing or outside the workspace root; run run-prepare",
                type=WORKSPACE_MISSING,
                non_retryable=True,
            )
        git = Git.for_activity(self.settings)
        try:
            return self._finish(git, path, request)
        except GitError as err:
            raise ApplicationError(str(err), type=PUSH_FAILED) from None

    def _finish(self, git: Git, path: Path, request: FinishInput) -> FinishResult:
        branch = request.branch
        current = git.run("rev-parse", "--abbrev-ref", "HEAD", cwd=path)
        if current != branch:
            git.run("checkout", "--quiet", branch, cwd=path)
        remote_ref = f"refs/remotes/origin/{branch}"
        git.run("fetch", "--quiet", "origin", cwd=path, check=False)
        pushed_before = git.ok("rev-parse", "--verify", "--quiet", remote_ref, cwd=path)
        base_ref = remote_ref if pushed_before else f"upstream/{request.base_branch}"

        committed = False
        if git.run("status", "--porcelain", cwd=path):
            name, email = self._identity(git, path)
            git.run("add", "--all", cwd=path)
            args = ["commit", "--quiet", "--no-verify", "-F", "-"]
            if request.signoff:
                args.append("--signoff")
            self._commit(git, path, args, commit_message(request), name, email)
            committed = True

        head = git.run("rev-parse", "HEAD", cwd=path)
        ahead = int(git.run("rev-list", "--count", f"{base_ref}..HEAD", cwd=path) or 0)
        if ahead == 0:
            own = f"{RUN_TRAILER}: {request.run_id}" in git.run(
                "log", "-1", "--format=%B", cwd=path
            )
            if not (pushed_before and own):
                raise ApplicationError(
                    f"nothing to commit in {path}: no changes and no commit of this run to push",
                    type=NOTHING_TO_COMMIT,
                    non_retryable=True,
                )
            pushed = False  # the fork already has it: an earlier attempt pushed, then crashed
        else:
            self._push(git, path, branch)
            pushed = True

        files, added, removed = self._diff_stats(git, path, f"upstream/{request.base_branch}")
        result = FinishResult(
            commit_sha=head,
            committed=committed,
            pushed=pushed,
            files_changed=files,
            added_lines=added,
            removed_lines=removed,
            report="",
            signed_off=self._signed_off(git, path),
        )
        report = write_report(
            self.settings,
            f"{request.run_id}_finish.json",
            {
                **result.model_dump(mode="json"),
                "branch": branch,
                "title": request.commit_title,
                "changes": request.changes,
                "project": request.project,
                "signoff": request.signoff,
            },
        )
        return result.model_copy(update={"report": str(report)})

    def _commit(
        self, git: Git, path: Path, args: list[str], message: str, name: str, email: str
    ) -> None:
        env = {
            **git.env,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        result = subprocess.run(
            ["git", *args],
            cwd=path,
            env=env,
            input=message,
            text=True,
            capture_output=True,
        )
        if result.returncode != 0:
            raise GitError(args, result.returncode, git.scrub(result.stderr or result.stdout))

    def _push(self, git: Git, path: Path, branch: str) -> None:
        try:
            git.run("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=path)
        except GitError as err:
            if "rejected" in err.output or "non-fast-forward" in err.output:
                raise ApplicationError(
                    f"push to {branch} was rejected: the fork's branch has commits this "
                    "workspace lacks; resolve by hand",
                    type=PUSH_REJECTED,
                    non_retryable=True,
                ) from None
            raise

    def _signed_off(self, git: Git, path: Path) -> bool:
        return "Signed-off-by:" in git.run("log", "-1", "--format=%B", cwd=path, check=False)

    def _diff_stats(self, git: Git, path: Path, base: str) -> tuple[int, int, int]:
        files = added = removed = 0
        for line in git.run("diff", "--numstat", f"{base}...HEAD", cwd=path).splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                files += 1
                added += int(parts[0]) if parts[0].isdigit() else 0
                removed += int(parts[1]) if parts[1].isdigit() else 0
        return files, added, removed
