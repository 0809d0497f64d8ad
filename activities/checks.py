"""Environment checks.

- doctor (global): this machine, Temporal, GitHub, Telegram, the data and workspace dirs. Its
  quick subset (no network) is the startup gate of every mutable CLI command.
- preflight (per run, an activity): the workspace, its toolchain, registries, the sandbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity

from common.policy import PolicyError, load_policy
from common.settings import Settings
from contracts import CheckResult, CheckStatus, PreflightInput, PreflightResult
from engines import AgentMissing
from engines.codex import CodexEngine

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL
MIN_FREE_MB = 1024  # starter/cli/fast_lane.py MIN_FREE_BYTES follows it
LOW_RATE_LIMIT = 100
HTTP_TIMEOUT_S = 5.0


class DoctorReport(BaseModel):
    ok: bool
    checks: list[CheckResult]


def _check(name: str, status: CheckStatus, detail: str) -> CheckResult:
    return CheckResult(name=name, status=status, detail=detail)


def _command_version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    if done.returncode != 0:
        return None
    return text.splitlines()[0] if text else "ok"


def git_check() -> CheckResult:
    if shutil.which("git") is None:
        return _check("git", FAIL, "git is not on PATH")
    version = _command_version(["git", "--version"])
    return _check("git", OK, version) if version else _check("git", FAIL, "`git --version` failed")


def python_check() -> CheckResult:
    interpreter = shutil.which("python3") or shutil.which("python")
    here = f"agentpr runs on Python {sys.version.split()[0]}"
    if interpreter is None:
        return _check("python", WARN, f"{here}; no python3 on PATH for repositories' tooling")
    return _check("python", OK, f"{here}; {interpreter}")


def writable_dir_check(name: str, directory: Path) -> CheckResult:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as err:
        return _check(name, FAIL, f"{directory} is not writable: {err.strerror}")
    free_mb = shutil.disk_usage(directory).free // (1024 * 1024)
    if free_mb < MIN_FREE_MB:
        return _check(name, FAIL, f"{directory}: only {free_mb} MiB free (need {MIN_FREE_MB})")
    return _check(name, OK, f"{directory} writable, {free_mb} MiB free")


def policy_check(settings: Settings) -> CheckResult:
    path = settings.policy_file
    try:
        load_policy(path)
    except PolicyError as err:
        return _check("policy", FAIL, err.message)
    if not path.exists():
        return _check("policy", OK, f"defaults ({path} absent)")
    _stamp_validated_policy(settings, path)
    return _check("policy", OK, f"{path}")


def _stamp_validated_policy(settings: Settings, path: Path) -> None:
    """Record which bytes passed, so the CLI's fast lane can trust an unchanged file without
    loading pydantic (starter/cli/fast_lane.py). A file changed since is checked in full again."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        settings.policy_stamp_file.write_text(f"{digest} {path}\n")
    except OSError:
        pass  # no stamp: the fast lane defers to the full gate


def codex_check(settings: Settings, required: bool) -> CheckResult:
    """The binary an agent step would run (the codex engine's own lookup)."""
    missing = FAIL if required else WARN
    try:
        binary = CodexEngine().binary(settings)
    except AgentMissing as err:
        return _check("codex", missing, str(err))
    version = _command_version([binary, "--version"])
    if version is None:
        return _check("codex", missing, f"{binary} --version failed")
    return _check("codex", OK, f"{version} ({binary})")


def _http_json(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        return err.code, dict(err.headers), payload


def github_check(settings: Settings) -> CheckResult:
    if settings.github_token is None:
        return _check("github", WARN, "AGENTPR_GITHUB_TOKEN is not set (needed for forks and PRs)")
    url = settings.github_api_url.rstrip("/") + "/user"
    headers = {
        "Authorization": f"Bearer {settings.github_token.get_secret_value()}",
        "Accept": "application/vnd.github+json",
        "User-Agent": "agentpr-doctor",
    }
    try:
        status, response_headers, body = _http_json(url, headers)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return _check("github", FAIL, f"{settings.github_api_url} unreachable: {reason}")
    if status != 200 or not isinstance(body, dict):
        message = body.get("message") if isinstance(body, dict) else ""
        return _check("github", FAIL, f"GET /user answered {status} {message}".strip())
    lowered = {k.lower(): v for k, v in response_headers.items()}
    remaining = int(lowered.get("x-ratelimit-remaining", "0") or 0)
    limit = lowered.get("x-ratelimit-limit", "?")
    detail = f"authenticated as {body.get('login')}; rate limit {remaining}/{limit} left"
    return _check("github", WARN if remaining < LOW_RATE_LIMIT else OK, detail)


def telegram_check(settings: Settings) -> CheckResult | None:
    if settings.telegram_bot_token is None:
        return None
    token = settings.telegram_bot_token.get_secret_value()
    url = f"{settings.telegram_api_url.rstrip('/')}/bot{token}/getMe"
    try:
        status, _, body = _http_json(url, {"User-Agent": "agentpr-doctor"})
    except (urllib.error.URLError, OSError, ValueError):
        return _check("telegram", FAIL, f"{settings.telegram_api_url} unreachable")
    if status == 200 and isinstance(body, dict) and body.get("ok"):
        username = (body.get("result") or {}).get("username")
        return _check("telegram", OK, f"bot @{username}")
    description = body.get("description", "") if isinstance(body, dict) else ""
    return _check("telegram", FAIL, f"getMe answered {status} {description}".strip())


def quick_checks(settings: Settings) -> list[CheckResult]:
    """The startup gate: local, no network, well under a second."""
    return [
        git_check(),
        writable_dir_check("data dir", settings.home),
        writable_dir_check("workspace root", settings.workspace_root),
        policy_check(settings),
    ]


async def _temporal_checks(settings: Settings) -> list[CheckResult]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from common.connection import TemporalUnreachable, connect
    from contracts import search_attributes as sa

    try:
        client = await connect(settings)
    except TemporalUnreachable as err:
        return [_check("temporal", FAIL, err.message)]
    checks = [
        _check(
            "temporal",
            OK,
            f"reachable at {settings.temporal_address}, namespace {settings.temporal_namespace!r}",
        )
    ]
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=settings.temporal_namespace)
    )
    missing = [key.name for key in sa.ALL_KEYS if key.name not in listed.custom_attributes]
    checks.append(
        _check(
            "search attributes", FAIL, "missing " + ", ".join(missing) + " — run `agentpr init-db`"
        )
        if missing
        else _check("search attributes", OK, "all registered")
    )
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    pollers = len(described.pollers)
    checks.append(
        _check("worker", OK, f"{pollers} poller(s) on task queue {settings.task_queue!r}")
        if pollers
        else _check(
            "worker",
            WARN,
            f"no worker polls task queue {settings.task_queue!r} — start `agentpr worker`",
        )
    )
    return checks


async def run_doctor(settings: Settings, *, require_codex: bool = False) -> DoctorReport:
    local = await asyncio.to_thread(
        lambda: [
            *quick_checks(settings),
            python_check(),
            codex_check(settings, require_codex),
            github_check(settings),
            *[c for c in [telegram_check(settings)] if c is not None],
        ]
    )
    checks = [*local, *await _temporal_checks(settings)]
    return DoctorReport(ok=all(c.status != FAIL for c in checks), checks=checks)


# ---- preflight (activity) --------------------------------------------------------------------

TOOLCHAINS: dict[str, list[str]] = {
    "python": ["python3"],
    "node": ["node", "npm"],
    "go": ["go"],
    "rust": ["cargo"],
}


def _registry_check(name: str, url: str) -> CheckResult:
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "agentpr-preflight"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return _check(f"registry {name}", OK, f"{url} answered {response.status}")
    except urllib.error.HTTPError as err:
        # Any HTTP answer means the registry is reachable.
        return _check(f"registry {name}", OK, f"{url} answered {err.code}")
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        return _check(f"registry {name}", FAIL, f"{url} unreachable: {reason}")


class PreflightActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    def preflight(self, request: PreflightInput) -> PreflightResult:
        from activities.workspace import inside, write_report

        settings = self.settings
        checks: list[CheckResult] = []
        workspace = Path(request.workspace)
        if not inside(workspace, settings.workspace_root):
            checks.append(
                _check(
                    "workspace",
                    FAIL,
                    f"{workspace} is outside the workspace root "
                    f"{settings.workspace_root}; refusing to run an agent there",
                )
            )
        elif not (workspace / ".git").is_dir():
            checks.append(
                _check(
                    "workspace",
                    FAIL,
                    f"{workspace} is not a prepared git workspace; run `agentpr run-prepare`",
                )
            )
        else:
            checks.append(_check("workspace", OK, f"{workspace} inside {settings.workspace_root}"))
            checks.append(self._git_writable(workspace / ".git"))
        for project in request.project_types:
            for tool in TOOLCHAINS.get(project, []):
                found = shutil.which(tool)
                checks.append(
                    _check(f"toolchain {tool}", OK, found)
                    if found
                    else _check(
                        f"toolchain {tool}", FAIL, f"{tool} not on PATH ({project} project)"
                    )
                )
        registries = {
            "python": ("pypi", settings.pypi_url),
            "node": ("npm", settings.npm_registry_url),
        }
        for project in request.project_types:
            if project not in registries:
                continue
            name, url = registries[project]
            if request.skip_network_check:
                checks.append(_check(f"registry {name}", OK, "skipped (--skip-network-check)"))
            else:
                checks.append(_registry_check(name, url))
        checks.append(self._sandbox_check(request))
        verdict = "FAIL" if any(c.status == FAIL for c in checks) else "PASS"
        now = activity.info().current_attempt_scheduled_time
        report = write_report(
            settings,
            f"{request.run_id}_preflight.json",
            {
                "run_id": request.run_id,
                "verdict": verdict,
                "codex_sandbox": request.codex_sandbox,
                "workspace": request.workspace,
                "at": now.isoformat(),
                "checks": [c.model_dump(mode="json") for c in checks],
            },
        )
        return PreflightResult(
            verdict=verdict,
            codex_sandbox=request.codex_sandbox,
            checks=checks,
            report=str(report),
            at=now,
        )

    def _git_writable(self, git_dir: Path) -> CheckResult:
        try:
            with tempfile.NamedTemporaryFile(dir=git_dir, prefix=".preflight-"):
                pass
        except OSError as err:
            return _check(".git writable", FAIL, f"{git_dir}: {err.strerror}")
        return _check(".git writable", OK, str(git_dir))

    def _sandbox_check(self, request: PreflightInput) -> CheckResult:
        sandbox = request.codex_sandbox
        if sandbox == "read-only" and request.implementing:
            return _check(
                "sandbox",
                FAIL,
                "read-only cannot implement: the agent could not write "
                "files; use workspace-write or danger-full-access",
            )
        if sandbox == "workspace-write":
            return _check(
                "sandbox",
                OK,
                "workspace-write: files writable, .git read-only and no "
                "network inside the sandbox (agentpr commits in run-finish)",
            )
        if sandbox == "danger-full-access":
            return _check("sandbox", OK, "danger-full-access with agentpr's runtime guardrails")
        return _check("sandbox", OK, sandbox)
