"""What `campaign apply` changes in a running campaign, decided from the spec it follows, the
spec it is given, and its runs' progress. Pure: the campaign workflow answers `--dry-run` and
applies with the same plan.

- a repository added gets a run (started by the campaign's own pacing);
- a repository removed: its run is cancelled (SKIPPED), unless it already finished (a merged
  PR stays merged); one not yet started is simply dropped;
- a changed commit/PR template: every open PR of a run nobody took over gets the new title and
  body (a run a person took over is theirs: never edited);
- a changed task (prompt, pack, engine, validation): runs that have not passed their agent step
  end and start again on the new task; runs past it keep the work they did;
- a changed money cap: a campaign whose money was spent goes on when the new cap is not
  reached (or there is none); one whose new cap is already reached stops.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from contracts import (
    TEMPLATE_VARIABLE,
    CampaignApplyPlan,
    CampaignRepo,
    CampaignSpec,
    RunProgress,
    RunRecord,
)
from contracts.states import RunState
from workflows.rules.campaign_rollout import money_spent

S = RunState
# Runs whose agent has not finished changing the code: a new task can still be taken from the
# start (they have forked and cloned at most, or the agent is working).
BEFORE_AGENT_DONE: frozenset[RunState] = frozenset(
    {S.QUEUED, S.DISCOVERY, S.PLAN_READY, S.IMPLEMENTING, S.EXECUTING}
)
# The spec's fields that make up the task: a change re-runs the runs above.
TASK_FIELDS = ("step", "validation_command")
TEMPLATE_FIELDS = ("pr_title", "pr_body", "commit_title")
_ESCAPED = re.compile(r"\{\{|\}\}")


def render_template(text: str, values: Mapping[str, str | None]) -> str:
    """{owner} {repo} {default_branch} {language} filled; `{{` and `}}` are literal braces;
    an unknown name (the spec refuses those) is left as written."""

    def fill(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        value = values.get(match.group(1))
        return value if value is not None else match.group(0)

    pattern = re.compile(f"{_ESCAPED.pattern}|{TEMPLATE_VARIABLE.pattern}")
    return pattern.sub(fill, text)


def template_values(progress: RunProgress) -> dict[str, str | None]:
    owner, _, repo = progress.repo.partition("/")
    return {
        "owner": owner,
        "repo": repo,
        "default_branch": progress.default_branch or "main",
        "language": progress.language or "unknown",
    }


def run_language(record: RunRecord) -> str | None:
    """The first project type the governance scan found (python, node, go, …)."""
    types = record.governance.project_types if record.governance else []
    return types[0] if types else None


def run_template_values(record: RunRecord) -> dict[str, str | None]:
    return {
        "owner": record.owner,
        "repo": record.repo,
        "default_branch": record.workspace.base_branch if record.workspace else "main",
        "language": run_language(record) or "unknown",
    }


def changed_fields(old: CampaignSpec, new: CampaignSpec) -> list[str]:
    changed = [
        name
        for name in CampaignSpec.model_fields
        if name not in ("repos", "plan") and getattr(old, name) != getattr(new, name)
    ]
    changed += [
        f"plan.{name}"
        for name in type(old.plan).model_fields
        if getattr(old.plan, name) != getattr(new.plan, name)
    ]
    if [r.full_name.lower() for r in old.repos] != [r.full_name.lower() for r in new.repos]:
        changed.append("repos")
    return changed


def _cap(usd: float | None) -> str:
    return "none" if usd is None else f"${usd:.2f}"


def money_change(
    old: CampaignSpec, new: CampaignSpec, stopped: str | None, spent: float
) -> tuple[str | None, bool, bool]:
    """What the new money cap says, whether it lifts the campaign's money stop, and whether it
    stops the campaign now. `stopped`: why the campaign's money is spent (None: it is not)."""
    if old.max_cost_usd == new.max_cost_usd:
        return None, False, False  # the same cap: reached or not, as it was
    change = f"budget.max_cost_usd {_cap(old.max_cost_usd)} → {_cap(new.max_cost_usd)}"
    why = money_spent(new, spent)
    if stopped is not None and why is None:
        return f"{change}: the money stop lifts (${spent:.2f} spent); runs start again", True, False
    if stopped is not None:
        return f"{change}: the money stays spent ({why})", False, False
    if why is not None:
        return f"{change}: {why}; the campaign stops", False, True
    return f"{change} (${spent:.2f} spent)", False, False


def plan_apply(
    old: CampaignSpec,
    new: CampaignSpec,
    started: int,
    runs: Mapping[str, RunProgress],
    run_ids: Mapping[str, str],
    stopped: str | None = None,
    spent: float = 0.0,
) -> CampaignApplyPlan:
    """`started`: old.repos[:started] have a run; `run_ids`: owner/repo (lower) → its run id;
    `stopped`: why the campaign's money is spent (None: it is not); `spent`: what its runs
    spent together."""
    changed = changed_fields(old, new)
    old_names = {r.full_name.lower() for r in old.repos}
    new_names = {r.full_name.lower() for r in new.repos}
    started_names = {r.full_name.lower() for r in old.repos[:started]}
    plan = CampaignApplyPlan(name=new.name, changed=changed)
    plan.money, plan.money_restored, plan.money_stops = money_change(old, new, stopped, spent)
    plan.added = [r.full_name for r in new.repos if r.full_name.lower() not in old_names]
    plan.removed = [r.full_name for r in old.repos if r.full_name.lower() not in new_names]
    for full_name in plan.removed:
        progress = runs.get(run_ids.get(full_name.lower(), ""))
        if full_name.lower() not in started_names or progress is None:
            continue  # never started: dropped from the list, nothing to end
        if progress.state is None or progress.state.is_terminal:
            plan.finished.append(progress.run_id)
        else:
            plan.cancelled.append(progress.run_id)
    kept = [
        runs[run_ids[name]]
        for name in sorted(started_names & new_names)
        if run_ids.get(name) in runs
    ]
    templates_changed = any(f"plan.{name}" in changed for name in TEMPLATE_FIELDS)
    task_changed = any(f"plan.{name}" in changed for name in TASK_FIELDS) or any(
        name in changed for name in ("skills", "skill_options", "prompt_version")
    )
    for progress in kept:
        if progress.state is None or progress.state.is_terminal:
            continue
        if task_changed and progress.state in BEFORE_AGENT_DONE and progress.pr_number is None:
            plan.reruns.append(progress.run_id)
        elif templates_changed and progress.pr_number is not None:
            if progress.taken_over_by is not None:
                plan.taken_over.append(f"{progress.run_id} (by {progress.taken_over_by})")
            else:
                plan.pr_updates.append(progress.run_id)
    return plan


def next_repos(
    old: CampaignSpec, new: CampaignSpec, started: int, rerun: Iterable[str]
) -> tuple[list[CampaignRepo], int]:
    """The repository list after applying, and how many of it have a run: the started ones
    kept (in their order), then the ones to start — re-runs first, then the rest in the new
    spec's order. Keeps the campaign's invariant that repos[:started] have a run."""
    new_by_name = {r.full_name.lower(): r for r in new.repos}
    rerun_names = {name.lower() for name in rerun}
    kept = [
        new_by_name[r.full_name.lower()]
        for r in old.repos[:started]
        if r.full_name.lower() in new_by_name and r.full_name.lower() not in rerun_names
    ]
    kept_names = {r.full_name.lower() for r in kept}
    again = [
        new_by_name[r.full_name.lower()]
        for r in old.repos[:started]
        if r.full_name.lower() in rerun_names and r.full_name.lower() in new_by_name
    ]
    again_names = {r.full_name.lower() for r in again}
    rest = [r for r in new.repos if r.full_name.lower() not in kept_names | again_names]
    return kept + again + rest, len(kept)
