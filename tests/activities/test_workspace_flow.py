"""run-prepare, run-preflight and run-finish end to end: the real CLI, the real worker and
dev server, real git with bare upstream/fork repositories, and a loopback GitHub REST API."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from standins.git_repos import Remotes, git, make_remotes
from standins.github_api import FakeGitHub
from tests.run_env import Env, new_run_id

TOKEN = "ghp_WorkspaceFlowSecretToken0123456789"
AUTHOR = {"git_author_name": "Ops Person", "git_author_email": "ops@example.com"}


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    return result.stdout


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def record(env: Env, run_id: str) -> dict:
    return json.loads(ok(env.cli("show-run", "--run-id", run_id, "--json")))


@pytest.fixture
def remotes(tmp_path: Path) -> Remotes:
    return make_remotes(tmp_path / "git")


@pytest.fixture
def local_run(env: Env, remotes: Remotes) -> str:
    """A run over local bare repositories (no GitHub)."""
    env.reconfigure(**AUTHOR)
    run_id = new_run_id()
    ok(
        env.cli(
            "create-run",
            "--owner",
            "demo",
            "--repo",
            "calc",
            "--prompt-version",
            "v1",
            "--run-id",
            run_id,
            "--upstream-url",
            remotes.upstream_url,
            "--fork-url",
            remotes.fork_url,
        )
    )
    return run_id


def test_prepare_twice_second_is_a_no_op(env: Env, remotes: Remotes, local_run: str) -> None:
    first = ok(env.cli("run-prepare", "--run-id", local_run))
    workspace = env.settings.workspace_root / "demo" / "calc" / local_run
    assert f"{local_run}: QUEUED -> DISCOVERY (run-prepare)" in first
    assert f"workspace {workspace}" in first and "did: clone, branch" in first
    assert "DCO sign-off required" in first and "tests: make test" in first
    head = git("rev-parse", "HEAD", cwd=workspace)
    branch = git("rev-parse", "--abbrev-ref", "HEAD", cwd=workspace)
    assert branch == f"agentpr/{local_run}" and head == remotes.base_sha
    remotes_out = git("remote", "-v", cwd=workspace)
    assert remotes.fork_url in remotes_out and remotes.upstream_url in remotes_out
    mtimes = {p: p.stat().st_mtime_ns for p in workspace.rglob("*") if ".git" not in p.parts}

    second = ok(env.cli("run-prepare", "--run-id", local_run))
    assert "did: nothing (already prepared)" in second
    assert f"{local_run}: run-prepare recorded; state stays DISCOVERY" in second
    assert git("rev-parse", "HEAD", cwd=workspace) == head
    assert {
        p: p.stat().st_mtime_ns for p in workspace.rglob("*") if ".git" not in p.parts
    } == mtimes

    shown = record(env, local_run)
    assert shown["workspace"]["path"] == str(workspace)
    assert shown["workspace"]["base_branch"] == "main"
    assert shown["governance"]["dco_required"] is True
    assert shown["governance"]["pr_template_sections"] == ["Summary", "Testing"]
    assert shown["policy"]["codex_sandbox"] == "danger-full-access"
    report = Path(shown["reports"]["governance"])
    assert report.parent == env.settings.reports_dir and json.loads(report.read_text())
    assert [h["command"] for h in shown["history"]] == ["create-run", "run-prepare", "run-prepare"]


def test_preflight_verdicts_and_report(env: Env, local_run: str) -> None:
    ok(env.cli("run-prepare", "--run-id", local_run))
    out = ok(env.cli("run-preflight", "--run-id", local_run, "--skip-network-check"))
    assert f"{local_run}: preflight PASS (sandbox danger-full-access" in out
    report = env.settings.reports_dir / f"{local_run}_preflight.json"
    saved = json.loads(report.read_text())
    assert saved["verdict"] == "PASS"
    names = [c["name"] for c in saved["checks"]]
    assert names == ["workspace", ".git writable", "toolchain python3", "registry pypi", "sandbox"]
    # Discovery may read only; implementation may not.
    ok(
        env.cli(
            "run-preflight",
            "--run-id",
            local_run,
            "--skip-network-check",
            "--codex-sandbox",
            "read-only",
        )
    )
    ok(env.cli("mark-plan-ready", "--run-id", local_run, "--contract-path", str(report)))
    failed = env.cli(
        "run-preflight",
        "--run-id",
        local_run,
        "--skip-network-check",
        "--codex-sandbox",
        "read-only",
        "--json",
    )
    assert failed.returncode == 1
    answer = json.loads(failed.stdout)
    assert answer["preflight"]["verdict"] == "FAIL"
    sandbox = next(c for c in answer["preflight"]["checks"] if c["name"] == "sandbox")
    assert sandbox["status"] == "fail" and "read-only cannot implement" in sandbox["detail"]
    shown = record(env, local_run)
    assert shown["preflight"]["verdict"] == "FAIL"
    assert shown["reports"]["preflight"] == str(report)
    assert shown["state"] == "PLAN_READY"  # a check never moves the run


def test_preflight_probes_registries(env: Env, local_run: str) -> None:
    ok(env.cli("run-prepare", "--run-id", local_run))
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>simple</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env.reconfigure(pypi_url=f"http://127.0.0.1:{server.server_port}/simple/")
        out = ok(env.cli("run-preflight", "--run-id", local_run))
        assert "registry pypi" in out and "answered 200" in out
    finally:
        server.shutdown()
    env.reconfigure(pypi_url="http://127.0.0.1:9/simple/")  # nothing listens on port 9
    failed = env.cli("run-preflight", "--run-id", local_run)
    assert failed.returncode == 1 and "unreachable" in failed.stdout


def test_preflight_refuses_a_workspace_outside_the_root(
    env: Env, local_run: str, tmp_path: Path
) -> None:
    ok(env.cli("run-prepare", "--run-id", local_run))
    env.reconfigure(workspace_root_override=tmp_path / "another-root")
    failed = env.cli("run-preflight", "--run-id", local_run, "--skip-network-check", "--json")
    assert failed.returncode == 1
    checks = json.loads(failed.stdout)["preflight"]["checks"]
    assert checks[0]["name"] == "workspace" and checks[0]["status"] == "fail"
    assert "is outside the workspace root" in checks[0]["detail"]


def implement(env: Env, run_id: str) -> Path:
    """What an agent would do: change code; its tool caches land in .agentpr_runtime/."""
    ok(env.cli("run-prepare", "--run-id", run_id))
    contract = env.settings.home / "contract.md"
    contract.write_text("Add multiply.\n")
    ok(env.cli("mark-plan-ready", "--run-id", run_id, "--contract-path", str(contract)))
    ok(env.cli("start-implementation", "--run-id", run_id))
    workspace = env.settings.workspace_root / "demo" / "calc" / run_id
    (workspace / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef multiply(a, b):\n    return a * b\n"
    )
    cache = workspace / ".agentpr_runtime" / "cache" / "pip"
    cache.mkdir(parents=True)
    (cache / "wheel.bin").write_bytes(b"cache")
    ok(env.cli("mark-local-validated", "--run-id", run_id))
    return workspace


def test_finish_commits_signs_off_and_pushes(env: Env, remotes: Remotes, local_run: str) -> None:
    implement(env, local_run)
    bad = env.cli(
        "run-finish",
        "--run-id",
        local_run,
        "--changes",
        "x",
        "--project",
        "calc",
        "--commit-title",
        "Add multiply",
    )
    assert "not a conventional commit" in one_line(bad, 2)
    two_lines = env.cli(
        "run-finish",
        "--run-id",
        local_run,
        "--changes",
        "x",
        "--project",
        "calc",
        "--commit-title",
        "feat: a\nb",
    )
    assert "commit title must be a single line" in one_line(two_lines, 2)

    out = ok(
        env.cli(
            "run-finish",
            "--run-id",
            local_run,
            "--changes",
            "Add multiply()",
            "--project",
            "calc",
            "--commit-title",
            "feat(calc): add multiply",
        )
    )
    assert f"{local_run}: LOCAL_VALIDATING -> PUSHED (run-finish)" in out
    assert "committed and pushed" in out and "(1 files, +4 -0)" in out
    branch = f"agentpr/{local_run}"
    commits = remotes.branch_log(branch)
    assert len(commits) == 1
    message = git("--git-dir", str(remotes.fork), "log", "-1", "--format=%B", branch)
    assert message.startswith("feat(calc): add multiply\n\nAdd multiply()")
    assert f"Agentpr-Run: {local_run}" in message
    assert "Signed-off-by: Ops Person <ops@example.com>" in message  # DCO found by the scan
    author = git("--git-dir", str(remotes.fork), "log", "-1", "--format=%an <%ae>", branch)
    assert author == "Ops Person <ops@example.com>"
    files = git("--git-dir", str(remotes.fork), "show", "--name-only", "--format=", branch)
    assert files.split() == ["calc.py"]  # never .agentpr_runtime/
    shown = record(env, local_run)
    assert shown["state"] == "PUSHED" and shown["commit"]["commit_sha"] == commits[0]
    assert shown["changes"] == "Add multiply()" and shown["project"] == "calc"
    assert Path(shown["reports"]["finish"]).exists()


def test_finish_after_a_crash_between_commit_and_push(
    env: Env, remotes: Remotes, local_run: str
) -> None:
    implement(env, local_run)
    offline = remotes.fork.with_name("calc.git.offline")
    remotes.fork.rename(offline)  # the push will fail after the commit is made
    finish = (
        "run-finish",
        "--run-id",
        local_run,
        "--changes",
        "Add multiply()",
        "--project",
        "calc",
        "--commit-title",
        "feat(calc): add multiply",
    )
    crashed = env.cli(*finish, timeout=120)
    line = one_line(crashed, 1)
    assert line.startswith(f"agentpr: run-finish failed for run {local_run}: git push")
    assert record(env, local_run)["state"] == "LOCAL_VALIDATING"
    workspace = env.settings.workspace_root / "demo" / "calc" / local_run
    local_commit = git("rev-parse", "HEAD", cwd=workspace)
    assert local_commit != remotes.base_sha

    offline.rename(remotes.fork)
    out = ok(env.cli(*finish))
    assert "pushed the existing commit" in out
    assert remotes.branch_log(f"agentpr/{local_run}") == [local_commit]
    # And once more: the branch already holds it; nothing is committed or pushed again.
    ok(env.cli("pause", "--run-id", local_run))
    ok(env.cli("resume", "--run-id", local_run, "--target-state", "LOCAL_VALIDATING"))
    again = ok(env.cli(*finish))
    assert "already pushed; nothing to do" in again
    assert remotes.branch_log(f"agentpr/{local_run}") == [local_commit]


def test_finish_with_nothing_to_commit_is_refused(env: Env, local_run: str) -> None:
    ok(env.cli("run-prepare", "--run-id", local_run))
    ok(env.cli("pause", "--run-id", local_run))
    ok(env.cli("resume", "--run-id", local_run, "--target-state", "LOCAL_VALIDATING"))
    refused = env.cli(
        "run-finish",
        "--run-id",
        local_run,
        "--changes",
        "none",
        "--project",
        "calc",
        "--commit-title",
        "fix: nothing",
    )
    assert "nothing to commit" in one_line(refused, 1)
    assert record(env, local_run)["state"] == "LOCAL_VALIDATING"


def test_step_commands_before_prepare_are_refused(env: Env, local_run: str) -> None:
    line = one_line(env.cli("run-preflight", "--run-id", local_run), 1)
    assert line == (
        f"agentpr: run-preflight refused: run {local_run} has no workspace yet; "
        "run `agentpr run-prepare` first"
    )


@pytest.fixture
def github(tmp_path: Path, remotes: Remotes) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake.add_repo("demo", "calc", remotes.upstream)
        yield fake


async def test_prepare_forks_through_github_and_never_leaks_the_token(
    env: Env, github: FakeGitHub, client: Client
) -> None:
    from pydantic import SecretStr

    env.reconfigure(github_token=SecretStr(TOKEN), github_api_url=github.base_url, **AUTHOR)
    run_id = new_run_id()
    ok(
        env.cli(
            "create-run",
            "--owner",
            "demo",
            "--repo",
            "calc",
            "--prompt-version",
            "v1",
            "--run-id",
            run_id,
        )
    )
    out = ok(env.cli("run-prepare", "--run-id", run_id, timeout=120))
    assert "did: fork, clone, branch" in out
    forks = [r for r in github.requests if r.method == "POST"]
    assert [r.route_path for r in forks] == ["/repos/demo/calc/forks"]
    assert all(
        r.headers.get("authorization") in (f"token {TOKEN}", f"Bearer {TOKEN}")
        for r in github.requests
    )

    again = ok(env.cli("run-prepare", "--run-id", run_id, timeout=120))
    assert "did: nothing (already prepared)" in again
    assert len([r for r in github.requests if r.method == "POST"]) == 1  # found, not re-forked
    shown = record(env, run_id)
    assert shown["workspace"]["fork_full_name"] == "agentpr-bot/calc"

    # Finish pushes to the fork made through the API.
    workspace = Path(shown["workspace"]["path"])
    (workspace / "forge.py").write_text("PROVIDER = 'forge'\n")
    ok(env.cli("pause", "--run-id", run_id))
    ok(env.cli("resume", "--run-id", run_id, "--target-state", "LOCAL_VALIDATING"))
    ok(
        env.cli(
            "run-finish",
            "--run-id",
            run_id,
            "--changes",
            "Forge",
            "--project",
            "calc",
            "--commit-title",
            "feat(llm): add Forge provider",
        )
    )
    fork = github.fork_path("agentpr-bot", "calc")
    assert git("--git-dir", str(fork), "log", "-1", "--format=%s", f"agentpr/{run_id}") == (
        "feat(llm): add Forge provider"
    )

    # The token is nowhere on disk under $AGENTPR_HOME (workspaces, reports, git config)…
    leaks = [
        path
        for path in env.settings.home.rglob("*")
        if path.is_file() and TOKEN.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert "x-access-token" not in (workspace / ".git" / "config").read_text()
    # …nor in the workflow's history.
    history = await client.get_workflow_handle(run_id).fetch_history()
    assert TOKEN not in history.to_json()


def test_missing_token_without_fork_url_is_one_line(env: Env, remotes: Remotes) -> None:
    run_id = new_run_id()
    ok(
        env.cli(
            "create-run",
            "--owner",
            "demo",
            "--repo",
            "calc",
            "--prompt-version",
            "v1",
            "--run-id",
            run_id,
        )
    )
    line = one_line(env.cli("run-prepare", "--run-id", run_id), 1)
    assert line == (
        f"agentpr: run-prepare failed for run {run_id}: no GitHub token: set "
        "AGENTPR_GITHUB_TOKEN, or create the run with --upstream-url and --fork-url"
    )
    assert record(env, run_id)["state"] == "QUEUED"


def test_malformed_policy_file(env: Env, local_run: str, tmp_path: Path) -> None:
    policy = tmp_path / "manager_policy.json"
    policy.write_text(json.dumps({"defaults": {"agent_timeout_minutes": 0}}))
    env.reconfigure(policy_file_override=policy)
    expected = f"{policy}: defaults.agent_timeout_minutes: Input should be greater than 0"
    # The startup gate stops mutable commands with the policy's one-line error…
    gated = one_line(env.cli("run-prepare", "--run-id", local_run), 1)
    assert (
        gated == f"agentpr: startup check failed: policy: {expected} (see `agentpr doctor`; "
        "--skip-doctor bypasses this for recovery)"
    )
    # …and with --skip-doctor the worker's prepare refuses with the same words.
    line = one_line(env.cli("--skip-doctor", "run-prepare", "--run-id", local_run), 1)
    assert line == f"agentpr: run-prepare failed for run {local_run}: {expected}"
    assert record(env, local_run)["state"] == "QUEUED"
    policy.write_text(json.dumps({"repos": {"demo/calc": {"codex_sandbox": "workspace-write"}}}))
    ok(env.cli("run-prepare", "--run-id", local_run))
    assert record(env, local_run)["policy"]["codex_sandbox"] == "workspace-write"
    assert "sandbox workspace-write" in ok(
        env.cli("run-preflight", "--run-id", local_run, "--skip-network-check")
    )
    assert os.environ.get("AGENTPR_POLICY_FILE") is None
