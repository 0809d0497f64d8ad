"""Output for operators: rich on a terminal, one JSON document with --json. rich is imported
when something is printed for a human, never for --json or --help."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from contracts import CheckStatus, LandedCheck

if TYPE_CHECKING:
    from rich.console import Console

    from contracts import CommandResult, GovernanceSummary, RunRecord, RunSummary


@cache
def _console() -> Console:
    from rich.console import Console

    # Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; keep rows whole.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def __getattr__(name: str) -> Any:
    """`render.console`: the one rich console, made on first use."""
    if name == "console":
        return _console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True)
    elif isinstance(data, list):
        data = [
            item.model_dump(mode="json", by_alias=True) if isinstance(item, BaseModel) else item
            for item in data
        ]
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def print_command_result(result: CommandResult) -> None:
    if result.preflight is not None and not result.duplicate:
        print_preflight(result)
        return
    if result.duplicate:
        _console().print(
            f"{result.run_id}: {result.command} was already applied with this idempotency key "
            f"at {_when(result.at)} ({result.from_state} -> {result.to_state}); nothing changed"
        )
    elif result.from_state == result.to_state:
        _console().print(
            f"{result.run_id}: {result.command} recorded; state stays {result.to_state}"
        )
    else:
        _console().print(
            f"{result.run_id}: {result.from_state} -> [bold]{result.to_state}[/bold] "
            f"({result.command})"
        )

    if result.prepare is not None:
        prepared = result.prepare
        ws = prepared.workspace
        did = ", ".join(prepared.actions) if prepared.actions else "nothing (already prepared)"
        _console().print(f"  workspace {ws.path}")
        _console().print(
            f"  branch {ws.branch} from upstream {ws.base_branch} @ {ws.base_sha[:12]}"
        )
        _console().print(f"  did: {did}")
        _console().print("  governance: " + describe_governance(prepared.governance))
    if result.agent is not None:
        step = result.agent
        graded = step.grade
        ended = "timed out" if step.timed_out else f"exit {step.exit_code}"
        _console().print(
            f"  {step.engine.value}: {ended} after {step.duration_s:.1f}s, {step.event_count} "
            f"events; diff {step.changed_files} files +{step.added_lines} -{step.removed_lines}"
        )
        _console().print(f"  verdict [bold]{graded.verdict.value}[/bold] ({graded.reason_code})")
        for line in graded.reasons:
            _console().print(f"    - {line}")
        _console().print(f"  next: {graded.next_action}")
        _console().print(f"  report {step.report}")
    if result.finish is not None:
        done = result.finish
        if done.pushed:
            how = "committed and pushed" if done.committed else "pushed the existing commit"
        else:
            how = "already pushed; nothing to do"
        _console().print(
            f"  {how}: {done.commit_sha[:12]} ({done.files_changed} files, +{done.added_lines} "
            f"-{done.removed_lines})"
        )


def describe_governance(governance: GovernanceSummary) -> str:
    parts = [", ".join(governance.project_types) or "unknown project type"]
    if governance.test_commands:
        parts.append("tests: " + "; ".join(governance.test_commands))
    if governance.dco_required:
        parts.append("DCO sign-off required")
    if governance.cla_required:
        parts.append("CLA required")
    if governance.pr_template:
        parts.append(f"PR template {governance.pr_template}")
    return " | ".join(parts)


def print_preflight(result: CommandResult) -> None:
    assert result.preflight is not None
    checked = result.preflight
    marks = {CheckStatus.OK: "ok  ", CheckStatus.WARN: "warn", CheckStatus.FAIL: "FAIL"}
    _console().print(
        f"{result.run_id}: preflight {checked.verdict} (sandbox {checked.codex_sandbox}; "
        f"report {checked.report})"
    )
    for check in checked.checks:
        _console().print(f"  {marks[check.status]}  {check.name:<18} {check.detail}")


def describe_cost(record: RunRecord) -> str | None:
    """What the agent steps cost, against the cap; None before any step was priced."""
    cap = record.max_cost_usd or (record.policy.max_cost_usd if record.policy else None)
    if record.cost_usd == 0 and not record.unpriced_agent_steps and cap is None:
        return None
    text = f"${record.cost_usd:.4f}"
    if cap is not None:
        text += f" of ${cap:.2f} cap"
    if record.unpriced_agent_steps:
        text += f" (+{record.unpriced_agent_steps} unpriced step(s): no price in the policy)"
    return text


def describe_landing(check: LandedCheck) -> str:
    answer = {True: "yes", False: "no", None: "unknown"}[check.landed]
    return f"{answer} ({check.how}): {check.detail}"  # escaped where printed


def print_run(record: RunRecord) -> None:
    _console().print(
        f"[bold]{record.run_id}[/bold]  {record.full_name}  state [bold]{record.state}[/bold]"
    )
    details = [
        ("prompt version", record.prompt_version),
        ("mode", record.mode.value),
        ("budget", str(record.budget) if record.budget else "policy default"),
        ("pull request", f"#{record.pr_number}" if record.pr_number else "-"),
        ("landed", describe_landing(record.landed) if record.landed else None),
        ("cost", describe_cost(record)),
        (
            "grade",
            f"{record.grade.verdict} ({record.grade.reason_code}; next: {record.grade.next_action})"
            if record.grade
            else "-",
        ),
        ("paused from", str(record.paused_from) if record.paused_from else None),
        (
            "contract",
            f"{record.contract.path} (sha256 {record.contract.sha256[:12]})"
            if record.contract
            else None,
        ),
        ("upstream", record.workspace.upstream_url if record.workspace else record.upstream_url),
        ("fork", record.workspace.fork_url if record.workspace else record.fork_url),
        (
            "workspace",
            f"{record.workspace.path} (branch {record.workspace.branch})"
            if record.workspace
            else None,
        ),
        ("governance", describe_governance(record.governance) if record.governance else None),
        (
            "preflight",
            f"{record.preflight.verdict} ({record.preflight.codex_sandbox})"
            if record.preflight
            else None,
        ),
        (
            "commit",
            f"{record.commit.commit_sha[:12]} +{record.commit.added_lines} "
            f"-{record.commit.removed_lines} in {record.commit.files_changed} files"
            if record.commit
            else None,
        ),
        ("maintainers", describe_policy(record) if record.maintainer_policy else None),
        ("campaign", record.campaign),
        ("created", _when(record.created_at)),
        ("updated", _when(record.updated_at)),
    ]
    from rich.markup import escape

    for label, value in details:
        if value is not None:
            _console().print(f"  {label:<15} {escape(value)}")
    if record.maintainer_policy:
        for evidence in record.maintainer_policy.evidence:
            _console().print(f"    {evidence.kind.value:<20} {escape(evidence.cite())}")
    for name, path in record.reports.items():
        _console().print(f"  report {name:<8} {path}")
    from rich.table import Table

    table = Table(title="history", title_justify="left", show_edge=False)
    for column in ("at (UTC)", "command", "from", "to", "by", "reason"):
        table.add_column(column)
    for entry in record.history:
        table.add_row(
            _when(entry.at),
            entry.command,
            str(entry.from_state or "-"),
            str(entry.to_state),
            entry.by.value,
            escape(entry.reason or ""),  # may quote a repository's own text
        )
    _console().print(table)
    _print_github_facts(record)


def _print_github_facts(record: RunRecord) -> None:
    """GitHub's latest facts and what the run did with each. Held-back reviews and comments
    (by people without standing) show their text here, for the operator only: it never reaches
    the agent. Text is cleaned of what a terminal would hide or reorder."""
    if not record.github_facts:
        return
    from rich.markup import escape

    from workflows.rules.quoted_feedback import clean_quoted_text

    _console().print("github facts (latest last)")
    for fact in record.github_facts[-10:]:
        _console().print(f"  {_when(fact.at)}  {escape(fact.summary)}  [dim]{escape(fact.outcome)}")
        if not fact.reaches_agent and fact.detail:
            quoted = clean_quoted_text(fact.detail, 300).replace("\n", " ")
            _console().print(f"      held back, never shown to the agent: {escape(quoted)}")


def describe_policy(record: RunRecord) -> str:
    """The maintainers' rules in one line: outcome, why, override, disclosure."""
    policy = record.maintainer_policy
    assert policy is not None
    parts = [f"{policy.outcome.value}: {policy.summary}"]
    if policy.ignored_because:
        parts.append(f"ignored ({policy.ignored_because})")
    if policy.disclosure_required:
        parts.append("disclosure of AI use required")
    return "; ".join(parts)


def print_run_list(rows: list[RunSummary]) -> None:
    if not rows:
        _console().print("no runs match")
        return
    from rich.table import Table

    table = Table(show_edge=False)
    for column in ("run id", "repo", "state", "PR", "verdict", "status", "started (UTC)"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.run_id,
            row.repo or "-",
            str(row.state or "-"),
            f"#{row.pr_number}" if row.pr_number else "-",
            row.verdict or "-",
            row.status.lower(),
            _when(row.started_at),
        )
    _console().print(table)
    _console().print(f"{len(rows)} run(s)")
