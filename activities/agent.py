"""run_agent: one agent step (Codex CLI, Claude Code or a plain command) in the run's workspace.

Never hangs and never leaves processes behind: the agent runs in its own process group with
stdin closed after the prompt, a wall-clock limit, heartbeats every few seconds, and on timeout
or cancellation SIGINT → grace period → SIGKILL of the whole group. The event stream goes to a
file under $AGENTPR_HOME/reports/; only its path, hash and a graded summary return to history.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from activities.agent_env import agent_base_env
from activities.git import Git
from activities.runtime_env import guarded_env, load_runtime_overrides, overrides_path_from_env
from activities.skill_stage import contract_from_message, prepare_stage
from activities.step_spend import StepSpend, step_cost_usd
from activities.workspace import inside, write_report
from common.metrics import record_agent_step
from common.redaction import Redactor
from common.settings import Settings
from contracts import (
    AgentGrade,
    AgentStepInput,
    AgentStepResult,
    Engine,
)
from contracts.skills import StageOutcome
from engines import AgentMissing, engine_for, node_bin_dir
from grading import GradeInput, grade
from grading.contract_checks import grade_against_contract
from grading.discovery import grade_discovery
from grading.spend import grade_spend

HEARTBEAT_EVERY_S = 2.0
AGENT_MISSING = "AgentMissing"
WORKSPACE_MISSING = "WorkspaceMissing"


class _StreamPump(threading.Thread):
    """Copies the agent's output (stdout: the transcript; stderr: its log) to a file line by
    line, redacted on the way (secrets, private keys, tokens: no unredacted byte reaches the
    reports directory, and the grade is read from the same redacted bytes), counting events and
    remembering the last command, so heartbeats can say where the agent is."""

    def __init__(
        self,
        source: IO[bytes],
        sink: IO[bytes],
        redactor: Redactor,
        spend: StepSpend | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.source, self.sink = source, sink
        self.spend = spend
        self.redactor = redactor.lines()
        self.lines = 0
        self.last_command: str | None = None
        self.digest = hashlib.sha256()
        self.size = 0

    def run(self) -> None:
        for raw in iter(self.source.readline, b""):
            # surrogateescape: bytes that are not UTF-8 go through unchanged.
            line = self.redactor.redact(raw.decode("utf-8", "surrogateescape")).encode(
                "utf-8", "surrogateescape"
            )
            self.sink.write(line)
            self.sink.flush()
            self.digest.update(line)
            self.size += len(line)
            self.lines += 1
            if b'"command' in line:
                self.last_command = _command_of(line) or self.last_command
            if self.spend is not None:
                self.spend.feed(line)


def _command_of(line: bytes) -> str | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    item = event.get("item") if isinstance(event, dict) else None
    if isinstance(item, dict) and isinstance(item.get("command"), str):
        return item["command"][:200]
    return None


def kill_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGINT the whole group (codex cleans up on SIGINT), wait, then SIGKILL what is left."""
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None and not _group_alive(pgid):
                return
            time.sleep(0.05)


def kill_marked(marker: str, grace_s: float = 2.0) -> list[str]:
    """Stop every process whose environment carries `marker` (AGENTPR_RUN_ID=<run>).

    Some agents start tool commands in sessions of their own (Claude Code's Bash tool does, and
    pyenv shims background a `pyenv-rehash`), so killing the agent's process group is not
    enough to leave nothing behind. SIGTERM first, so their exit traps run (pyenv-rehash removes
    its lock file), then SIGKILL. Linux only; a no-op elsewhere."""
    strays = _marked_processes(marker)
    for pid in strays:
        _signal(pid, signal.SIGTERM)
    left = dict(strays)
    deadline = time.monotonic() + grace_s
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {pid: name for pid, name in left.items() if _alive(pid)}
    for pid in left:
        _signal(pid, signal.SIGKILL)
    return [f"{pid} {name}" for pid, name in strays.items()]


def _marked_processes(marker: str) -> dict[int, str]:
    needle = marker.encode()
    found: dict[int, str] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if not _alive(int(entry.name)):
                continue
            found[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
            )
        except (OSError, ValueError):
            continue
    return found


def _alive(pid: int) -> bool:
    """Running (not a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies of our own children count as gone once reaped; others hold the group alive.
    return True


class AgentActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # No exception is thrown into this thread on cancellation: the loop below notices it and
    # stops the process group itself, so cleanup can never be interrupted half-way.
    @activity.defn(no_thread_cancel_exception=True)
    def run_agent(self, request: AgentStepInput) -> AgentStepResult:
        settings = self.settings
        workspace = Path(request.workspace)
        if not inside(workspace, settings.workspace_root) or not (workspace / ".git").is_dir():
            raise ApplicationError(
                f"workspace {workspace} is missing or outside the workspace root",
                type=WORKSPACE_MISSING,
                non_retryable=True,
            )
        engine = engine_for(request.engine)
        env = guarded_env(
            workspace,
            agent_base_env(os.environ, engine.inherits, settings.agent_env, settings.secrets()),
            load_runtime_overrides(overrides_path_from_env(os.environ)),
        )
        if request.skill is not None:  # a skill pack's stage: task packet and composed prompt
            request = prepare_stage(settings, request)
        try:
            argv = engine.argv(settings, request)
        except AgentMissing as err:
            raise ApplicationError(str(err), type=AGENT_MISSING, non_retryable=True) from None
        stdin_text = engine.stdin(request)
        node = node_bin_dir()
        if node is not None:
            env["PATH"] = f"{node}{os.pathsep}{env.get('PATH', '')}"
        # Marks every process of this step, so strays can be found and stopped (kill_marked).
        env["AGENTPR_RUN_ID"] = request.run_id
        env.update(engine.env(request))

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        settings.reports_dir.mkdir(parents=True, exist_ok=True)
        transcript = settings.reports_dir / f"{request.run_id}_agent_events_{stamp}.jsonl"
        stderr_path = settings.reports_dir / f"{request.run_id}_agent_stderr_{stamp}.log"
        prompt_file = None
        if request.prompt:
            # What the agent was told, kept beside its transcript (history keeps neither).
            prompt_file = settings.reports_dir / f"{request.run_id}_agent_prompt_{stamp}.md"
            prompt_file.write_text(settings.redactor.redact(stdin_text or request.prompt))
        started = time.monotonic()
        timed_out = cancelled = over_budget = False
        redactor = settings.redactor
        price = request.policy.price_for(request.codex_model)
        spend = StepSpend(price)
        with open(transcript, "wb") as sink, open(stderr_path, "wb") as errors:
            process = subprocess.Popen(
                argv,
                cwd=workspace,
                env=env,
                stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            pump = _StreamPump(process.stdout, sink, redactor, spend)  # type: ignore[arg-type]
            pump.start()
            error_pump = _StreamPump(process.stderr, errors, redactor)  # type: ignore[arg-type]
            error_pump.start()
            if stdin_text is not None and process.stdin is not None:
                try:
                    process.stdin.write(stdin_text.encode())
                finally:
                    process.stdin.close()
            limit = request.max_minutes * 60
            next_beat = 0.0
            try:
                while process.poll() is None:
                    now = time.monotonic()
                    if now >= next_beat:
                        activity.heartbeat(
                            {
                                "events": pump.lines,
                                "last_command": pump.last_command,
                                "elapsed_s": round(now - started, 1),
                            }
                        )
                        next_beat = now + HEARTBEAT_EVERY_S
                    if activity.is_cancelled():
                        cancelled = True
                        break
                    if now - started > limit:
                        timed_out = True
                        break
                    spent = spend.spent_usd()
                    if request.cost_cap_usd is not None and spent is not None:
                        if spent >= request.cost_cap_usd:
                            over_budget = True  # stopped like a timeout, graded on its own
                            break
                    time.sleep(0.1)
            finally:
                # Whatever happened, nothing of the agent outlives the step.
                stopping = timed_out or cancelled or over_budget
                kill_group(process, settings.agent_grace_s if stopping else 0.5)
                process.wait()
                strays = kill_marked(f"AGENTPR_RUN_ID={request.run_id}")
                if strays:
                    activity.logger.warning("killed stray agent processes: %s", "; ".join(strays))
                pump.join(timeout=10)
                error_pump.join(timeout=10)
        duration = time.monotonic() - started
        if cancelled:
            activity.logger.info("agent step cancelled; process group stopped")
            raise CancelledError("agent step cancelled; its process group was stopped")

        exit_code = None if (timed_out or over_budget) else process.returncode
        changed, added, removed = diff_stats(settings, workspace, request.base_branch)
        evidence = engine.evidence(request, transcript, stderr_path, exit_code)
        outcome = grade(
            GradeInput(
                evidence=evidence,
                exit_code=exit_code,
                timed_out=timed_out,
                changed_files=changed,
                added_lines=added,
                removed_lines=removed,
                state=request.state,
                expects_changes=request.expects_changes,
                policy=request.policy,
                attempt=request.attempt,
                codex_sandbox=request.codex_sandbox if request.engine == Engine.CODEX else None,
            )
        )
        contract = contract_file = contract_error = None
        skill = request.skill
        if skill is not None and skill.stage != "discover" and skill.contract is not None:
            outcome = grade_against_contract(
                outcome,
                skill.contract,
                changed_paths(settings, workspace, request.base_branch),
                added,
                evidence.test_runs,
                request.policy.require_test_evidence,
                request.state,
            )
        if skill is not None and skill.stage == "discover":
            contract, contract_error = contract_from_message(evidence.agent_final_message)
            outcome = grade_discovery(outcome, contract, contract_error, changed, request.state)
            if contract is not None:
                contract_file = str(
                    write_report(
                        settings,
                        f"{request.run_id}_contract_{stamp}.json",
                        contract.model_dump(mode="json"),
                    )
                )
        cost = step_cost_usd(evidence.usage, price, spend.reported_usd)
        outcome = grade_spend(
            outcome, cost, request.cost_cap_usd, over_budget, request.codex_model, request.state
        )
        now_dt = datetime.now(UTC)
        agent_grade = AgentGrade(
            verdict=outcome.verdict,
            reason_code=outcome.reason_code,
            next_action=outcome.next_action,
            at=now_dt,
            reasons=outcome.reasons,
        )
        record_agent_step(
            request.engine.value, outcome.verdict.value, duration, evidence.usage, cost
        )
        report = write_report(
            settings,
            f"{request.run_id}_agent_runtime_{stamp}.json",
            {
                "run_id": request.run_id,
                "engine": request.engine.value,
                "command_line": redact_argv(argv),
                "workspace": str(workspace),
                "state": request.state.value,
                "attempt": request.attempt,
                "started_at": (now_dt.timestamp() - duration),
                "duration_s": round(duration, 3),
                "exit_code": exit_code,
                "timed_out": timed_out,
                "max_minutes": request.max_minutes,
                "transcript": str(transcript),
                "transcript_sha256": pump.digest.hexdigest(),
                "prompt_file": str(prompt_file) if prompt_file else None,
                "stderr": str(stderr_path),
                "diff": {"files": changed, "added": added, "removed": removed},
                "usage": evidence.usage.model_dump(),
                "cost_usd": cost,
                "cost_cap_usd": request.cost_cap_usd,
                "stopped_at_cost_cap": over_budget,
                "command_samples": [c.model_dump() for c in evidence.command_samples],
                "test_runs": [t.model_dump() for t in evidence.test_runs],
                "git_signals": evidence.git_signals,
                "safety_violations": evidence.safety_violations,
                "transient_errors": evidence.transient_errors,
                "hard_failures": evidence.hard_failures,
                "credential_reads": evidence.credential_reads,
                "empty_test_runs": evidence.empty_test_runs,
                "tests_weakened": evidence.tests_weakened,
                "code_edits_after_last_test": evidence.code_edits_after_last_test,
                "environment_outage": evidence.environment_outage,
                "agent_status": evidence.agent_status,
                "grade": outcome.verdict.value,
                "reason_code": outcome.reason_code,
                "next_action": outcome.next_action,
                "reasons": outcome.reasons,
            },
        )
        return AgentStepResult(
            engine=request.engine,
            exit_code=exit_code,
            timed_out=timed_out,
            duration_s=round(duration, 3),
            transcript=str(transcript),
            transcript_sha256=pump.digest.hexdigest(),
            transcript_bytes=pump.size,
            event_count=evidence.event_count or pump.lines,
            report=str(report),
            grade=agent_grade,
            changed_files=changed,
            added_lines=added,
            removed_lines=removed,
            usage=evidence.usage,
            cost_usd=cost,
            contract=contract,
            contract_file=contract_file,
            contract_error=contract_error,
            stage=StageOutcome(
                pack=skill.pack.label,
                stage=skill.stage,
                verdict=outcome.verdict.value,
                reason_code=outcome.reason_code,
                duration_s=round(duration, 3),
            )
            if skill is not None
            else None,
        )


def redact_argv(argv: list[str]) -> list[str]:
    """The command line for reports: the prompt is on stdin, but `-c` values may carry keys."""
    redacted: list[str] = []
    for arg in argv:
        lowered = arg.lower()
        if any(marker in lowered for marker in ("key=", "token=", "secret=", "password=")):
            name = arg.split("=", 1)[0]
            redacted.append(f"{name}=***")
        else:
            redacted.append(arg)
    return redacted


def changed_paths(settings: Settings, workspace: Path, base_branch: str) -> list[str]:
    """The paths the step changed vs upstream's base, untracked files included."""
    git = Git(home=settings.home)
    tracked = git.run("diff", "--name-only", f"upstream/{base_branch}", cwd=workspace, check=False)
    untracked = git.run("ls-files", "--others", "--exclude-standard", cwd=workspace, check=False)
    return sorted({*tracked.splitlines(), *untracked.splitlines()} - {""})


def diff_stats(settings: Settings, workspace: Path, base_branch: str) -> tuple[int, int, int]:
    """Files/lines the step changed vs upstream's base, untracked files included, without
    touching the index."""
    git = Git(home=settings.home)
    files = added = removed = 0
    base = f"upstream/{base_branch}"
    out = git.run("diff", "--numstat", base, cwd=workspace, check=False)
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            files += 1
            added += int(parts[0]) if parts[0].isdigit() else 0
            removed += int(parts[1]) if parts[1].isdigit() else 0
    untracked = git.run("ls-files", "--others", "--exclude-standard", cwd=workspace, check=False)
    for name in untracked.splitlines():
        files += 1
        try:
            with open(workspace / name, "rb") as fh:
                added += sum(1 for _ in fh)
        except OSError:
            pass
    return files, added, removed
