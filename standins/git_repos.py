"""Real git repositories for demos and tests: a bare "upstream" seeded with a small Python project and a
bare "fork" cloned from it, both reachable by file:// URL."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Upstream Dev", "-c", "user.email=dev@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


CALC_FILES = {
    "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1.0"\n\n'
    '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    "Makefile": "test:\n\tpython3 -m pytest -q\n",
    "CONTRIBUTING.md": "# Contributing\n\nAll commits must be signed off (DCO): use "
    "`git commit -s` to add a Signed-off-by line.\n",
    ".github/pull_request_template.md": "## Summary\n\n## Testing\n",
}


@dataclass
class Remotes:
    upstream: Path
    fork: Path
    base_sha: str

    @property
    def upstream_url(self) -> str:
        return self.upstream.as_uri()

    @property
    def fork_url(self) -> str:
        return self.fork.as_uri()

    def branch_log(self, branch: str, fmt: str = "%H") -> list[str]:
        """Commits on the fork's branch that upstream's main lacks, newest first."""
        out = git(
            "--git-dir", str(self.fork), "log", f"--format={fmt}", f"{self.base_sha}..{branch}"
        )
        return [line for line in out.split("\x00" if "%x00" in fmt else "\n") if line]


def make_remotes(root: Path, name: str = "calc", files: dict[str, str] | None = None) -> Remotes:
    upstream = root / "upstream" / f"{name}.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(upstream))
    work = root / "seed"
    git("clone", "--quiet", str(upstream), str(work))
    git("checkout", "--quiet", "-B", "main", cwd=work)
    for relative, text in (CALC_FILES if files is None else files).items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "Initial calc", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    fork = root / "fork" / f"{name}.git"
    git("clone", "--quiet", "--bare", str(upstream), str(fork))
    return Remotes(upstream=upstream, fork=fork, base_sha=git("rev-parse", "HEAD", cwd=work))
