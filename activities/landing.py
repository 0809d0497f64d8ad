"""check_landed: is the run's change on the upstream's default branch? Merged is not landed: a
merge can be reverted, and a PR closed unmerged may have been applied another way (a squash
by hand, a maintainer's own commit).

The test is git's own: the run's change (the diff from where its branch started to the PR's
last head) applies *in reverse* to the default branch's tree exactly when the change is there.
Then, whether the PR's commits are on the branch tells a merge from a change found another
way; and when the change is no longer there, a commit saying it reverts one of them tells a
revert from a change that was edited since."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.git import Git, GitError
from common.settings import Settings
from contracts import LandedCheck, LandedCheckInput

GIT_FAILED = "GitFailed"
# GitHub's revert button writes 'Revert "<title>"' and 'This reverts commit <sha>.'.
REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")


class LandingActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    def check_landed(self, request: LandedCheckInput) -> LandedCheck:
        path = Path(request.workspace_path)
        if not (path / ".git").exists():
            return LandedCheck(landed=None, how="unknown", detail=f"the workspace {path} is gone")
        git = Git.for_activity(self.settings)
        try:
            git.run("fetch", "--quiet", "upstream", request.base_branch, cwd=path)
            tip = git.run("rev-parse", "FETCH_HEAD", cwd=path)
            return change_on_branch(git, path, request.base_sha, request.head_sha, tip)
        except GitError as err:
            raise ApplicationError(str(err), type=GIT_FAILED) from None


def change_on_branch(git: Git, path: Path, base_sha: str, head_sha: str, tip: str) -> LandedCheck:
    """How the change base_sha..head_sha stands on the branch whose tip is `tip`."""
    branch = f"the default branch at {tip[:12]}"
    with tempfile.TemporaryDirectory(prefix="agentpr-landing-") as scratch:
        patch = Path(scratch) / "change.diff"
        bare = Path(scratch) / "change-without-context.diff"
        for output, context in ((patch, "--unified=3"), (bare, "--unified=0")):
            git.run(
                "diff", "--binary", "--full-index", context, base_sha, head_sha,
                f"--output={output}", cwd=path,
            )  # fmt: skip
        if patch.stat().st_size == 0:
            return LandedCheck(
                landed=None, how="unknown", detail="the run's branch changes nothing",
                default_branch_sha=tip,
            )  # fmt: skip
        # The branch's tree in a scratch index: the workspace's own index and files stay as
        # they are.
        index = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        git.run("read-tree", tip, cwd=path, extra_env=index)
        reverse = ("apply", "--cached", "--reverse", "--check")
        # With its context first; then the changed lines alone, for a change applied by hand
        # next to lines a maintainer also touched.
        present = git.ok(*reverse, str(patch), cwd=path, extra_env=index) or git.ok(
            *reverse, "--unidiff-zero", str(bare), cwd=path, extra_env=index
        )
    commits_on_branch = git.ok("merge-base", "--is-ancestor", head_sha, tip, cwd=path)
    if present:
        how = "merged" if commits_on_branch else "found"
        detail = (
            f"the PR's commits and its change are on {branch}"
            if commits_on_branch
            else f"the change is on {branch} without the PR's commits (squashed, rebased or "
            "applied by hand)"
        )
        return LandedCheck(landed=True, how=how, detail=detail, default_branch_sha=tip)
    if not commits_on_branch:
        return LandedCheck(
            landed=False, how="absent", detail=f"the change is not on {branch}",
            default_branch_sha=tip,
        )  # fmt: skip
    ours = set(git.run("rev-list", f"{base_sha}..{head_sha}", cwd=path).split())
    merges = git.run(
        "rev-list", "--merges", "--ancestry-path", f"{head_sha}..{tip}", cwd=path
    ).split()
    ours.update(merges[-1:])  # the merge commit that brought the PR in
    for line in git.run("log", "--format=%H%x00%s%x00%b%x1e", f"{head_sha}..{tip}", cwd=path).split(
        "\x1e"
    ):
        sha, _, rest = line.strip().partition("\x00")
        subject, _, body = rest.partition("\x00")
        reverted = {m for m in REVERTS.findall(body) if any(o.startswith(m) for o in ours)}
        if reverted:
            return LandedCheck(
                landed=False, how="reverted",
                detail=f"reverted by {sha[:12]} ({subject[:120]})", default_branch_sha=tip,
            )  # fmt: skip
    return LandedCheck(
        landed=True, how="edited",
        detail=f"the PR's commits are on {branch}; later commits changed the same lines",
        default_branch_sha=tip,
    )  # fmt: skip
