"""Landed, not just merged: check_landed on real local repositories — an upstream the
maintainers merge into (with a merge commit, a squash, by hand), revert and edit, and a run's
workspace whose branch holds the change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.landing import LandingActivities
from common.settings import Settings
from contracts import LandedCheckInput
from standins.git_repos import git, make_remotes

MULTIPLY = "\n\ndef multiply(a, b):\n    return a * b\n"


class Upstream:
    """A maintainer's clone of the upstream, and the run's workspace with its change."""

    def __init__(self, root: Path) -> None:
        self.remotes = make_remotes(root / "git")
        self.maintainer = root / "maintainer"
        git("clone", "--quiet", self.remotes.upstream_url, str(self.maintainer))
        self.workspace = root / "workspace"
        git("clone", "--quiet", self.remotes.fork_url, str(self.workspace))
        git("remote", "add", "upstream", self.remotes.upstream_url, cwd=self.workspace)
        git("checkout", "--quiet", "-b", "agentpr/multiply", cwd=self.workspace)
        with open(self.workspace / "calc.py", "a") as calc:
            calc.write(MULTIPLY)
        git("commit", "--quiet", "-am", "feat: multiply", cwd=self.workspace)
        self.head = git("rev-parse", "HEAD", cwd=self.workspace)
        git("push", "--quiet", "origin", "agentpr/multiply", cwd=self.workspace)

    def maintain(self, *args: str) -> str:
        return git(*args, cwd=self.maintainer)

    def fetch_pr(self) -> None:
        self.maintain("fetch", "--quiet", self.remotes.fork_url, "agentpr/multiply")

    def push(self) -> None:
        self.maintain("push", "--quiet", "origin", "main")

    def edit_calc(self, old: str, new: str, message: str) -> None:
        calc = self.maintainer / "calc.py"
        calc.write_text(calc.read_text().replace(old, new))
        self.maintain("commit", "--quiet", "-am", message)


def merge_commit(up: Upstream) -> None:
    up.fetch_pr()
    up.maintain("merge", "--quiet", "--no-ff", "-m", "Merge pull request #7", "FETCH_HEAD")
    up.push()


def squash(up: Upstream) -> None:
    up.fetch_pr()
    up.maintain("merge", "--quiet", "--squash", "FETCH_HEAD")
    up.maintain("commit", "--quiet", "-m", "feat: multiply (#7)")
    up.push()


def merged_then_reverted(up: Upstream) -> None:
    merge_commit(up)
    up.maintain("revert", "--no-edit", "-m", "1", "HEAD")
    up.push()


def merged_then_edited(up: Upstream) -> None:
    merge_commit(up)
    up.edit_calc("return a * b", "return b * a  # commutative", "style: multiply")
    up.push()


def applied_by_hand(up: Upstream) -> None:
    """The PR was closed; a maintainer wrote the same change in a commit of their own, after
    an unrelated one."""
    up.edit_calc("return a + b", "return a + b  # adds", "docs: add")
    with open(up.maintainer / "calc.py", "a") as calc:
        calc.write(MULTIPLY)
    up.maintain("commit", "--quiet", "-am", "Add multiply (thanks to #7)")
    up.push()


def closed_unmerged(up: Upstream) -> None:
    up.edit_calc("return a + b", "return a + b  # adds", "docs: add")
    up.push()


@pytest.mark.parametrize(
    ("maintainers", "landed", "how", "detail"),
    [
        (merge_commit, True, "merged", "the PR's commits and its change are on"),
        (squash, True, "found", "without the PR's commits"),
        (merged_then_reverted, False, "reverted", 'reverted by'),
        (merged_then_edited, True, "edited", "later commits changed the same lines"),
        (applied_by_hand, True, "found", "applied by hand"),
        (closed_unmerged, False, "absent", "the change is not on"),
    ],
)  # fmt: skip
def test_landed_not_just_merged(
    tmp_path: Path,
    maintainers: Callable[[Upstream], None],
    landed: bool,
    how: str,
    detail: str,
) -> None:
    up = Upstream(tmp_path)
    maintainers(up)
    check = ActivityEnvironment().run(
        LandingActivities(Settings(home=tmp_path / "home")).check_landed,
        LandedCheckInput(
            run_id="t_landing",
            workspace_path=str(up.workspace),
            base_branch="main",
            base_sha=up.remotes.base_sha,
            head_sha=up.head,
        ),
    )
    assert (check.landed, check.how) == (landed, how), check.detail
    assert detail in check.detail
    assert check.default_branch_sha == up.maintain("rev-parse", "HEAD")
    if how == "reverted":
        assert 'Revert "Merge pull request #7"' in check.detail
    # The workspace is as it was: same branch, clean tree, same index.
    assert git("status", "--porcelain", cwd=up.workspace) == ""
    assert git("rev-parse", "HEAD", cwd=up.workspace) == up.head


def test_a_workspace_that_is_gone_is_unknown(tmp_path: Path) -> None:
    check = ActivityEnvironment().run(
        LandingActivities(Settings(home=tmp_path / "home")).check_landed,
        LandedCheckInput(
            run_id="t_gone", workspace_path=str(tmp_path / "nowhere"), base_branch="main",
            base_sha="a" * 40, head_sha="b" * 40,
        ),
    )  # fmt: skip
    assert (check.landed, check.how) == (None, "unknown")
