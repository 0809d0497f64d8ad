"""Run records in a given shape, for the rule tables (no server, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import (
    AgentGrade,
    AgentStepRequest,
    AutoPlan,
    DodResult,
    Engine,
    FinishResult,
    GovernanceSummary,
    PullRequestAsk,
    RunMode,
    RunRecord,
    Transition,
    Verdict,
    WorkspaceInfo,
)
from contracts.states import RunState

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def workspace(fork: str | None = "agentpr-bot/calc") -> WorkspaceInfo:
    return WorkspaceInfo(
        path="/ws/demo/calc/r1",
        branch="agentpr/r1",
        base_branch="main",
        base_sha="0" * 40,
        upstream_url="https://github.com/demo/calc",
        fork_url="https://github.com/agentpr-bot/calc",
        fork_full_name=fork,
    )


def grade(verdict: Verdict = Verdict.PASS, code: str = "tests_passed") -> AgentGrade:
    return AgentGrade(verdict=verdict, reason_code=code, next_action="", at=NOW)


def step_request(prompt: str = "Add Forge as a provider.") -> AgentStepRequest:
    return AgentStepRequest(engine=Engine.CODEX, prompt=prompt)


def pr_ask(
    token: str = "a" * 64,
    file_sha: str = "b" * 64,
    passed: bool = True,
    expires_at: datetime | None = None,
) -> PullRequestAsk:
    return PullRequestAsk(
        title="feat: forge",
        body="",
        body_sha256="c" * 64,
        base="main",
        head="agentpr-bot:agentpr/r1",
        request_file="/req.json",
        request_file_sha256=file_sha,
        token_sha256=token,
        expires_at=expires_at or NOW + timedelta(hours=1),
        requested_by="cli",
        requested_at=NOW,
        dod=DodResult(passed=passed, failures=[] if passed else ["no test evidence"]),
    )


def record(state: RunState = RunState.QUEUED, **fields: Any) -> RunRecord:
    """A run in `state`; its history ends with a move into it (from QUEUED)."""
    history = [
        Transition(
            from_state=None, to_state=RunState.QUEUED, by="cli", at=NOW, command="create-run"
        )
    ]
    if state != RunState.QUEUED:
        history.append(
            Transition(
                from_state=fields.pop("came_from", RunState.QUEUED),
                to_state=state,
                by="cli",
                at=NOW,
                command="test",
            )
        )
    return RunRecord(
        run_id="r1",
        owner="demo",
        repo="calc",
        prompt_version="v1",
        state=state,
        history=history,
        **fields,
    )


def auto_record(state: RunState, **fields: Any) -> RunRecord:
    fields.setdefault("workspace", workspace())
    return record(state, mode=RunMode.AUTO, auto=AutoPlan(step=step_request()), **fields)


def pushed(**fields: Any) -> RunRecord:
    return record(
        RunState.PUSHED,
        workspace=workspace(),
        grade=grade(),
        commit=FinishResult(
            commit_sha="d" * 40,
            committed=True,
            pushed=True,
            files_changed=2,
            added_lines=10,
            report="/r.json",
        ),
        governance=GovernanceSummary(),
        **fields,
    )
