"""Reading the maintainers' rules through the GitHub API (the loopback stand-in's contents and
pulls endpoints): which files are read, within which bounds, and which PRs are seen."""

from __future__ import annotations

import base64
from pathlib import Path

from github import Auth, Github
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.maintainer_policy import MaintainerPolicyActivities
from common.settings import Settings
from contracts import PolicyDocumentsInput, PullRequestSearchInput
from contracts.maintainer_policy import MAX_POLICY_FILE_BYTES
from standins.git_repos import CALC_FILES, git, make_remotes
from standins.github_api import FakeGitHub

TOKEN = "ghp_PolicyReadSecretToken0123456789ab"


def reader(tmp_path: Path, fake: FakeGitHub) -> MaintainerPolicyActivities:
    return MaintainerPolicyActivities(
        Settings(
            home=tmp_path / "home", github_token=SecretStr(TOKEN), github_api_url=fake.base_url
        )
    )


def test_contents_api_speaks_githubs_wire_format(tmp_path: Path) -> None:
    remotes = make_remotes(tmp_path / "git")
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake.add_repo("demo", "calc", remotes.upstream)
        gh = Github(auth=Auth.Token(TOKEN), base_url=fake.base_url)
        repo = gh.get_repo("demo/calc")
        root = repo.get_contents("")
        assert isinstance(root, list)
        kinds = {entry.path: entry.type for entry in root}
        assert kinds[".github"] == "dir" and kinds["CONTRIBUTING.md"] == "file"
        contributing = repo.get_contents("CONTRIBUTING.md")
        assert not isinstance(contributing, list)
        assert contributing.encoding == "base64"
        assert contributing.decoded_content.decode() == CALC_FILES["CONTRIBUTING.md"]
        assert all(len(line) <= 60 for line in contributing.content.splitlines())
        nested = repo.get_contents(".github/pull_request_template.md")
        assert not isinstance(nested, list) and nested.name == "pull_request_template.md"
        listing = repo.get_contents(".github")
        assert [e.path for e in listing] == [".github/pull_request_template.md"]  # type: ignore[union-attr]
        raw = fake.requests[-1]
        assert raw.route_path == "/repos/demo/calc/contents/.github"
        missing = gh.get_repo("demo/calc")
        try:
            missing.get_contents("AI_POLICY.md")
            raise AssertionError("a missing file must be a 404")
        except Exception as err:  # noqa: BLE001
            assert getattr(err, "status", None) == 404
        assert base64.b64decode(contributing.content).startswith(b"# Contributing")


def test_reads_the_policy_files_bounded_and_in_order(tmp_path: Path) -> None:
    files = {
        **CALC_FILES,
        "docs/CONTRIBUTING.rst": "Discuss before submitting a PR.\n",
        ".github/AI_POLICY.md": "We do not accept AI-generated pull requests.\n",
        "AGENTS.md": "Run make test.\n",
        "ai.md": "x" * (MAX_POLICY_FILE_BYTES + 10),
        "logo.md": "not a policy",
        "docs/.agentprignore": "an opt-out only counts at the root or in .github/",
        "CLAUDE.md": "\x00binary",
    }
    remotes = make_remotes(tmp_path / "git", files=files)
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake.add_repo("demo", "calc", remotes.upstream)
        read = ActivityEnvironment().run(
            reader(tmp_path, fake).read_policy_documents,
            PolicyDocumentsInput(run_id="r1", repo="demo/calc"),
        )
    paths = [d.path for d in read.documents]
    assert paths == [
        "ai.md",
        ".github/AI_POLICY.md",
        "CONTRIBUTING.md",
        "docs/CONTRIBUTING.rst",
        "AGENTS.md",
        ".github/pull_request_template.md",
    ]
    big = read.documents[0]
    assert big.truncated and len(big.text) == MAX_POLICY_FILE_BYTES
    assert read.unread == ["CLAUDE.md (binary)"]
    assert not any(r.method != "GET" for r in fake.requests)


def test_lists_recent_pull_requests(tmp_path: Path) -> None:
    remotes = make_remotes(tmp_path / "git")
    work = tmp_path / "work"
    git("clone", "--quiet", remotes.fork_url, str(work))
    for branch in ("agentpr/one", "feature"):
        git("checkout", "--quiet", "-B", branch, "main", cwd=work)
        (work / f"{branch.replace('/', '_')}.py").write_text("x = 1\n")
        git("add", "--all", cwd=work)
        git("commit", "--quiet", "-m", branch, cwd=work)
        git("push", "--quiet", "origin", branch, cwd=work)
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake.add_repo("demo", "calc", remotes.upstream)
        fake.add_repo(fake.login, "calc", remotes.fork, fork_of=("demo", "calc"))
        upstream = Github(auth=Auth.Token(TOKEN), base_url=fake.base_url).get_repo("demo/calc")
        upstream.create_pull(title="One", body="", base="main", head=f"{fake.login}:agentpr/one")
        upstream.create_pull(title="Two", body="", base="main", head=f"{fake.login}:feature")
        fake.close_pull("demo", "calc", 1)
        seen = ActivityEnvironment().run(
            reader(tmp_path, fake).list_recent_pull_requests,
            PullRequestSearchInput(run_id="r1", repo="demo/calc"),
        )
    assert [(p.number, p.title, p.head_ref, p.state, p.merged) for p in seen.pulls] == [
        (2, "Two", "feature", "open", False),
        (1, "One", "agentpr/one", "closed", False),
    ]
