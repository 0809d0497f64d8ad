"""`make demo`: the whole path on this machine, with no network, in about a minute.

An embedded Temporal dev server, an `agentpr worker`, three small Python projects in local bare
git repositories, and the loopback stand-in for GitHub's REST API (standins/github_api.py)
in front of them. Then the real `agentpr` CLI, as an operator types it: a campaign over the
three repositories with a codemod as the "agent", the live table until every run waits for a
human, the double-confirmed approval of one PR, and the final table.

    .venv/bin/python demo/run_demo.py [--keep]

Everything lives in a fresh temporary directory, removed at the end (kept with --keep, or when
a step failed, so its logs and reports can be read). Exit code 0 when every step did what it
should; 1 with the failing step named otherwise; 130 after Ctrl-C (everything is stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

# Run as a plain script (`python demo/run_demo.py`), the repository root is not on sys.path,
# and the loopback stand-ins live in tests/, which is not an installed package.
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from common.settings import Settings  # noqa: E402
from standins.git_repos import CALC_FILES, git  # noqa: E402
from standins.github_api import FakeGitHub  # noqa: E402
from starter.devserver import DevServer, _die_with_parent, free_port  # noqa: E402

CAMPAIGN = "demo"
OWNER = "demo"
REPOS = ("calc1", "calc2", "calc3")
APPROVED_REPO = REPOS[0]
TASK_QUEUE = "demo"
# Only the stand-in knows this token; it never leaves this machine.
TOKEN = "ghp_demoLoopbackToken0000000000000000"
BOT_LOGIN = "agentpr-bot"
COMMIT_TITLE = "feat: add the Forge LLM provider"
# The repositories' PR template asks for these sections; the definition of done checks them.
PR_BODY = (
    "## Summary\nAdds Forge (an OpenAI-compatible LLM gateway) as a provider.\n\n"
    "## Testing\n`make test` passes, including the new provider test.\n"
)
CODEMOD = f"python3 {REPO_ROOT / 'demo' / 'add_forge_provider.py'}"
WATCH_TIMEOUT_S = 120
SETTLE_TIMEOUT_S = 30


class DemoFailed(Exception):
    """A step did not do what it should; the message says which and what happened."""


def agentpr_argv() -> list[str]:
    script = Path(sys.executable).parent / "agentpr"
    return [str(script)] if script.exists() else [sys.executable, "-m", "starter.cli"]


def banner(number: int, title: str) -> None:
    print(f"\n=== {number}. {title} ===", flush=True)


def seed_upstream(root: Path, name: str) -> Path:
    """A bare upstream repository holding a small Python project: `make test` runs pytest, a
    CONTRIBUTING asking for DCO sign-off and a PR template (what a real project has)."""
    upstream = root / "upstream" / f"{name}.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(upstream))
    work = root / "seed" / name
    git("clone", "--quiet", str(upstream), str(work))
    git("checkout", "--quiet", "-B", "main", cwd=work)
    for relative, text in CALC_FILES.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "Initial calc", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    return upstream


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "agentpr-home"
        self.settings = Settings(home=self.home, task_queue=TASK_QUEUE)
        self.server: DevServer | None = None
        self.github: FakeGitHub | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_log = root / "worker.log"
        self.env: dict[str, str] = {}

    # ---- the stack ---------------------------------------------------------------------------

    def start_temporal(self) -> None:
        banner(1, "Temporal: an embedded dev server (SQLite in a temporary directory)")
        self.server = DevServer(self.settings, port=free_port(), headless=True)
        self.server.start()
        asyncio.run(self.server.wait_ready())
        assert self.server.process is not None
        print(
            f"dev server ready at {self.server.address} (pid {self.server.process.pid}, "
            f"data: {self.home})"
        )

    def start_github(self) -> None:
        banner(2, "Three repositories behind a LOOPBACK STAND-IN for GitHub")
        for name in REPOS:
            seed_upstream(self.root / "git", name)
        self.github = FakeGitHub(self.root / "github", token=TOKEN, login=BOT_LOGIN)
        self.github.start()
        for name in REPOS:
            self.github.add_repo(OWNER, name, self.root / "git" / "upstream" / f"{name}.git")
        print(
            f"GitHub REST API stand-in at {self.github.base_url}: a LOOPBACK STAND-IN for "
            "GitHub (standins/github_api.py),"
        )
        print(
            "NOT github.com. Nothing leaves this machine; its repositories are local bare git "
            "repositories."
        )
        print(
            f"  upstreams: {', '.join(f'{OWNER}/{n}' for n in REPOS)} (a Python project each: "
            "make test runs pytest)"
        )
        print(
            f"  the token's account: {BOT_LOGIN} (forks are created through POST "
            "/repos/{owner}/{repo}/forks)"
        )

    def configure(self) -> None:
        """One environment for the worker and every CLI call, as an operator's shell would have.
        The caller's AGENTPR_*/TEMPORAL_* settings are dropped: the demo must never reach their
        real server, GitHub account or Telegram bot."""
        assert self.server is not None and self.github is not None
        # The agent's processes (the codemod, then `make test`) get the venv first on PATH, so
        # `python3 -m pytest` finds pytest without touching the system Python.
        agent_env = self.root / "agent_env.json"
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        agent_env.write_text(json.dumps({"PATH": path}))
        # An empty global git config: an operator's commit signing or URL rewrites must not
        # change what the demo's git does.
        gitconfig = self.root / "gitconfig"
        gitconfig.touch()
        os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTPR_", "TEMPORAL_"))}
        env.update(
            {
                "AGENTPR_HOME": str(self.home),
                "TEMPORAL_ADDRESS": self.server.address,
                "AGENTPR_TASK_QUEUE": TASK_QUEUE,
                "AGENTPR_GITHUB_TOKEN": TOKEN,
                "AGENTPR_GITHUB_API_URL": self.github.base_url,
                "AGENTPR_GIT_AUTHOR_NAME": "Demo Operator",
                "AGENTPR_GIT_AUTHOR_EMAIL": "operator@example.com",
                "AGENTPR_AGENT_ENV_FILE": str(agent_env),
                "GIT_CONFIG_GLOBAL": str(gitconfig),
            }
        )
        self.env = env

    def start_worker(self) -> None:
        banner(3, "The worker (`agentpr worker`) and the doctor")
        with open(self.worker_log, "wb") as log:
            self.worker = subprocess.Popen(
                [*agentpr_argv(), "worker"],
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Stopped by us in order (before the server), not by the terminal's Ctrl-C, and
                # by the kernel if this script is killed outright.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        print(f"worker pid {self.worker.pid} on task queue {TASK_QUEUE!r} (log: {self.worker_log})")
        deadline = time.monotonic() + 30
        while not self._worker_polling():
            if self.worker.poll() is not None:
                raise DemoFailed(f"the worker exited with code {self.worker.returncode}")
            if time.monotonic() > deadline:
                raise DemoFailed("the worker did not start polling within 30 s")
            time.sleep(0.3)
        self.agentpr("doctor")

    def _worker_polling(self) -> bool:
        report = json.loads(self.agentpr("doctor", "--json", quiet=True, check=False))
        return any(c["name"] == "worker" and c["status"] == "ok" for c in report["checks"])

    def close(self) -> None:
        """Worker first, so it does not spend its last seconds reconnecting to a dead server."""
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        if self.server is not None:
            self.server.stop()
        if self.github is not None:
            self.github.stop()

    # ---- the operator's commands -------------------------------------------------------------

    def agentpr(
        self,
        *args: str,
        quiet: bool = False,
        capture: bool = False,
        check: bool = True,
        timeout: float = 120,
    ) -> str:
        """Run `agentpr ARGS` as typed in a shell; a non-zero exit fails the demo."""
        shown = "agentpr " + " ".join(shlex.quote(a) for a in args)
        if not quiet:
            print(f"\n$ {shown}", flush=True)
        try:
            done = subprocess.run(
                [*agentpr_argv(), *args],
                env=self.env,
                cwd=self.root,
                text=True,
                stdout=subprocess.PIPE if quiet or capture else None,
                stderr=subprocess.PIPE if quiet else None,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise DemoFailed(f"`{shown}` did not finish within {timeout:.0f} s") from None
        if check and done.returncode != 0:
            detail = (done.stderr or "").strip().splitlines()[-1:] if quiet else []
            raise DemoFailed(
                f"`{shown}` exited with code {done.returncode}"
                + (f": {detail[0]}" if detail else "")
            )
        if capture and not quiet:
            print(done.stdout, end="", flush=True)
        return done.stdout or ""

    def campaign_status(self) -> dict[str, Any]:
        return json.loads(
            self.agentpr("campaign", "show", "--name", CAMPAIGN, "--json", quiet=True)
        )

    def run_campaign(self) -> None:
        banner(4, "A campaign: one auto-mode run per repository, a codemod as the agent")
        repos_file = self.root / "repos.txt"
        # No URLs: the runs find each upstream and create the fork through the (stand-in's)
        # GitHub API, so each run knows its fork's GitHub name and can write its PR request.
        repos_file.write_text("".join(f"{OWNER}/{name}\n" for name in REPOS))
        body_file = self.root / "body.md"
        body_file.write_text(PR_BODY)
        print(f"{repos_file.name}: " + ", ".join(f"{OWNER}/{n}" for n in REPOS))
        self.agentpr(
            "campaign",
            "start",
            "--name",
            CAMPAIGN,
            "--repos-file",
            str(repos_file),
            "--engine",
            "command",
            "--command",
            CODEMOD,
            "--commit-title",
            COMMIT_TITLE,
            "--pr-body-file",
            str(body_file),
            "--skip-network-check",
            "--max-parallel",
            "3",
            # The three demo repositories share one owner: let each ask for its PR (a real
            # campaign keeps the default, one open PR per owner at a time).
            "--max-prs-per-owner",
            "3",
        )
        print(
            "\nEach run: fork, clone, branch, preflight, the codemod, `make test`, commit "
            "(signed off: the repo asks for DCO),\npush to the fork, write a PR request; then "
            "it waits for a human.",
            flush=True,
        )
        self.agentpr(
            "campaign",
            "watch",
            "--name",
            CAMPAIGN,
            "--until-settled",
            "--interval",
            "0.5",
            timeout=WATCH_TIMEOUT_S,
        )
        status = self.campaign_status()
        if status["counts"] != {"PUSHED": len(REPOS)}:
            raise DemoFailed(
                f"expected every run PUSHED at the PR gate, got {status['counts']}"
                f"; runs: {[(r['run_id'], r.get('note')) for r in status['runs']]}"
            )
        print(
            f"\nall {len(REPOS)} runs are PUSHED, each waiting at the PR gate; no PR is open "
            "yet (approval is never automatic)"
        )

    def approve_one(self) -> None:
        assert self.github is not None
        banner(5, f"A human approves one PR ({OWNER}/{APPROVED_REPO}): token + --confirm")
        run_id = f"{CAMPAIGN}.{OWNER}.{APPROVED_REPO}"
        ask = json.loads(
            self.agentpr("show-pr-request", "--run-id", run_id, "--json", capture=True)
        )
        if not ask["dod"]["passed"]:
            raise DemoFailed(f"the definition of done is not met: {ask['dod']['failures']}")
        self.agentpr(
            "approve-open-pr",
            "--run-id",
            run_id,
            "--request-file",
            ask["request_file"],
            "--confirm-token",
            ask["confirm_token"],
            "--confirm",
        )
        pulls = self.github.pulls(OWNER, APPROVED_REPO)
        if len(pulls) != 1:
            raise DemoFailed(
                f"expected one PR in the stand-in's {OWNER}/{APPROVED_REPO}, found {len(pulls)}"
            )
        pr = pulls[0]
        print(
            f"\nin the LOOPBACK STAND-IN (not github.com): {OWNER}/{APPROVED_REPO} PR "
            f"#{pr['number']} {pr['state']}: {pr['title']!r}"
        )
        print(
            f"  {pr['head']['label']} -> {pr['base']['label']}, {pr['commits']} commit(s), "
            f"+{pr['additions']} lines, {pr['changed_files']} files"
        )
        writes = Counter(
            r.route_path.rsplit("/", 1)[-1] for r in self.github.requests if r.method == "POST"
        )
        print(
            f"  the stand-in served {len(self.github.requests)} REST requests; its writes: "
            f"{writes['forks']} x POST /repos/{OWNER}/<repo>/forks, "
            f"{writes['pulls']} x POST /repos/{OWNER}/<repo>/pulls"
        )
        others = {name: len(self.github.pulls(OWNER, name)) for name in REPOS[1:]}
        print(
            "  PRs in the other repositories: "
            + ", ".join(f"{OWNER}/{n}: {count}" for n, count in others.items())
        )
        if any(others.values()):
            raise DemoFailed(f"PRs were opened without approval: {others}")

    def show_final(self) -> None:
        banner(6, "The campaign now")
        want = {"PUSHED": len(REPOS) - 1, "CI_WAIT": 1}
        # The approved run reports CI_WAIT to the campaign by a signal: give it a moment.
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while (status := self.campaign_status())["counts"] != want:
            if time.monotonic() > deadline:
                raise DemoFailed(f"expected {want}, the campaign shows {status['counts']}")
            time.sleep(0.3)
        self.agentpr("campaign", "show", "--name", CAMPAIGN)
        print(
            f"\n{want['PUSHED']} runs wait at the PR gate (PUSHED); 1 is in CI_WAIT with its "
            "PR, following CI and reviews."
        )

    def worker_log_tail(self, lines: int = 8) -> list[str]:
        """The worker's last distinct complaints, one line each: its JSON records carry whole
        tracebacks, of which the last line says what went wrong."""
        try:
            with open(self.worker_log, errors="replace") as fh:
                records = list(fh)
        except OSError:
            return []
        first_error: str | None = None
        shown: deque[str] = deque(maxlen=lines)
        for raw in records:
            try:
                record = json.loads(raw)
                error = (record.get("exception") or "").strip().splitlines()[-1:]
                line = record.get("event", "")[:140] + (f" -> {error[0][:200]}" if error else "")
                # Later failures are often consequences: the first one is worth seeing.
                first_error = first_error or (line if error else None)
            except (ValueError, AttributeError):
                line = raw.rstrip()[:300]
            shown.append(line)
        if first_error is not None and first_error not in shown:
            return [f"first error: {first_error}", *shown]
        return list(shown)


def wait_for_enter() -> None:
    print("(press Enter for the next step, Ctrl-C to stop)", flush=True)
    sys.stdin.readline()  # at end of input: go on


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (data, logs, workspaces, reports)",
    )
    parser.add_argument(
        "--step",
        action="store_true",
        help="wait for Enter before each step after the worker starts (for presenting)",
    )
    options = parser.parse_args(argv)
    # `kill` (and a test runner's timeout) gets the same orderly stop as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Ctrl-C stops the demo even when it was started from a background job, which inherits
    # SIGINT ignored (and Python then installs no KeyboardInterrupt handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="agentpr-demo-"))
    demo = Demo(root)
    code = 0
    try:
        demo.start_temporal()
        demo.start_github()
        demo.configure()
        demo.start_worker()
        for step in (demo.run_campaign, demo.approve_one, demo.show_final):
            if options.step:
                wait_for_enter()
            step()
    except DemoFailed as failure:
        code = 1
        print(f"\nDEMO FAILED: {failure}", file=sys.stderr)
        tail = demo.worker_log_tail()
        if tail:
            print("last lines of the worker log:\n  " + "\n  ".join(tail), file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
        print(
            "\ninterrupted: stopping the worker, the dev server and the stand-in", file=sys.stderr
        )
    except SystemExit as stop:
        code = int(stop.code or 0)
    finally:
        demo.close()
    keep = options.keep or code == 1
    if keep:
        print(f"\nkept {root} (worker.log, agentpr-home/reports, agentpr-home/workspaces)")
    else:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.monotonic() - started
    if code == 0:
        print(
            f"\ndemo OK: the whole path worked on this machine in {elapsed:.1f} s (no network used)"
        )
    else:
        print(f"\ndemo stopped after {elapsed:.1f} s (exit {code})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
