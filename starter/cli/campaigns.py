"""`agentpr campaign …`: one change across many repositories, one auto-mode run per repository,
a human approving every PR. The campaign workflow does the work; these commands ask and show."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from common.errors import Refused, UsageError
from common.settings import Settings
from contracts import (
    Actor,
    CampaignApply,
    CampaignApplyPlan,
    CampaignCommand,
    CampaignPrAction,
    CampaignRepo,
    CampaignSpec,
    CampaignStart,
    CampaignStatus,
    Engine,
    RunProgress,
)
from contracts.campaign_spec import (
    CampaignSpecFile,
    SpecBudget,
    SpecCommit,
    SpecPolicy,
    SpecPullRequest,
    SpecRollout,
    SpecTargets,
)
from starter.cli import render
from starter.cli.invoke import build, parse_state
from starter.cli.options import (
    ApprovePlansOption,
    CodexConfigOption,
    CodexModelOption,
    CommandOption,
    CommitTitleOption,
    EngineOption,
    IgnorePolicyOption,
    JsonOption,
    MaxMinutesOption,
    PrBodyFileOption,
    PromptFileOption,
    PrTitleOption,
    ReasonOption,
    SkillOptionOption,
    SkillsOption,
    SkipNetworkCheckOption,
    ValidationOption,
)
from starter.cli.plans import (
    build_plan,
    check_skill_options,
    parse_skill_options,
    pin_skills,
    skills_task,
)
from starter.cli.rollout_flags import parse_failure_threshold, parse_window

if TYPE_CHECKING:
    from rich.console import Group

    from starter.client import CampaignClient

app = typer.Typer(
    name="campaign",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Campaigns: the same change across many repositories (auto-mode runs, "
    "a human approves every PR).",
)

NameOption = Annotated[str, typer.Option("--name", help="The campaign's name.")]


def _with_campaigns(action: Any) -> Any:
    from starter.client import with_campaign_client

    return asyncio.run(with_campaign_client(Settings.from_env(), action))


@app.command("start")
def start(
    name: NameOption,
    repos_file: Annotated[
        Path | None,
        typer.Option(
            "--repos-file",
            help="One owner/repo per line, optionally followed by upstream and fork URLs.",
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="Every repository of this GitHub organization.")
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Repositories with this GitHub topic.")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="A GitHub repository search query, e.g. 'langchain in:readme stars:>100'.",
        ),
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="Keep only owner/repo matching this regex (repeatable)."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Drop owner/repo matching this regex (repeatable). GitHub targets: not "
            "started; a repos file's: the run ends SKIPPED, the pattern its evidence.",
        ),
    ] = None,
    prompt_file: PromptFileOption = None,
    engine: EngineOption = Engine.CODEX,
    command: CommandOption = None,
    max_parallel: Annotated[
        int,
        typer.Option(
            "--max-parallel",
            min=1,
            max=1000,
            help="Runs "
            "working at once (agent slots and GitHub pacing "
            "still bound the whole machine).",
        ),
    ] = 4,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Validate the list, check each upstream and fork, print what would start.",
        ),
    ] = False,
    prompt_version: Annotated[str | None, typer.Option("--prompt-version")] = None,
    skills: SkillsOption = None,
    approve_plans: ApprovePlansOption = False,
    draft: Annotated[
        bool,
        typer.Option(
            "--draft/--no-draft",
            help="Open the campaign's PRs as drafts (default: drafts; maintainers mark them "
            "ready).",
        ),
    ] = True,
    skill_option: SkillOptionOption = None,
    max_prs_per_owner: Annotated[
        int,
        typer.Option(
            "--max-prs-per-owner",
            min=1,
            help="Open (or requested) PRs of this campaign per owner at a time.",
        ),
    ] = 1,
    commit_title: CommitTitleOption = "feat: apply the agentpr change",
    pr_title: PrTitleOption = None,
    pr_body_file: PrBodyFileOption = None,
    validation_command: ValidationOption = None,
    max_minutes: MaxMinutesOption = None,
    skip_network_check: SkipNetworkCheckOption = False,
    codex_model: CodexModelOption = None,
    codex_config: CodexConfigOption = None,
    ignore_policy: IgnorePolicyOption = None,
    prs_per_hour: Annotated[
        int | None,
        typer.Option(
            "--prs-per-hour",
            help="PR slots granted per hour across the campaign (default: no pace).",
        ),
    ] = None,
    window: Annotated[
        list[str] | None,
        typer.Option(
            "--window",
            metavar="DAYS HH:MM-HH:MM",
            help="When PR slots are granted and bulk comments/closes go out, e.g. "
            "'mon-fri 09:00-17:00' (repeatable; in --timezone; default: any time).",
        ),
    ] = None,
    timezone: Annotated[
        str,
        typer.Option("--timezone", help="The windows' time zone, e.g. Europe/Berlin."),
    ] = "UTC",
    failure_threshold: Annotated[
        str | None,
        typer.Option(
            "--failure-threshold",
            metavar="MAX/RECENT",
            help="Pause the campaign when MAX of the last RECENT runs failed, e.g. 5/10.",
        ),
    ] = None,
    max_cost_usd: Annotated[
        float | None,
        typer.Option(
            "--max-cost-usd",
            help="The campaign's money cap in US dollars (priced from the policy's prices): "
            "past it no run starts and its runs start no agent step.",
        ),
    ] = None,
    max_cost_usd_per_run: Annotated[
        float | None,
        typer.Option("--max-cost-usd-per-run", help="Each run's money cap in US dollars."),
    ] = None,
    print_spec: Annotated[
        bool,
        typer.Option(
            "--print-spec",
            help="Print the campaign spec these flags make (YAML for `campaign apply -f`) "
            "and start nothing.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Start a campaign and return at once; the worker does the work (`campaign watch`)."""
    if approve_plans and skills is None:
        raise UsageError("--approve-plans needs --skills (a pack's discovery writes the plan)")
    if repos_file is not None and (org or topic or search):
        raise UsageError("give --repos-file or --org/--topic/--search, not both")
    if skill_option and skills is None:
        raise UsageError("--skill-option needs --skills")
    wanted = build(
        CampaignSpecFile,
        name=name,
        targets=build(
            SpecTargets,
            repos_file=str(repos_file.resolve()) if repos_file is not None else None,
            org=org,
            topic=topic,
            search=search,
            include=include or [],
            exclude=exclude or [],
        ),
        skills=skills,
        skill_options=parse_skill_options(skill_option),
        approve_plans=approve_plans,
        prompt_file=str(prompt_file.resolve()) if prompt_file is not None else None,
        prompt_version=prompt_version,
        engine=engine,
        model=codex_model,
        codex_config=codex_config or [],
        command=command,
        validation_command=validation_command,
        skip_network_check=skip_network_check,
        commit=build(SpecCommit, _flags={"title": "commit_title"}, title=commit_title),
        pr=build(
            SpecPullRequest,
            _flags={"title": "pr_title"},
            title=pr_title,
            body_file=str(pr_body_file.resolve()) if pr_body_file is not None else None,
            draft=draft,
        ),
        policy=SpecPolicy(ignore=ignore_policy),
        rollout=build(
            SpecRollout,
            max_parallel=max_parallel,
            max_prs_per_owner=max_prs_per_owner,
            prs_per_hour=prs_per_hour,
            windows=[parse_window(text) for text in window or []],
            timezone=timezone,
            failure_threshold=(
                parse_failure_threshold(failure_threshold) if failure_threshold else None
            ),
        ),
        budget=build(
            SpecBudget,
            _flags={"max_minutes_per_step": "max_minutes"},
            max_minutes_per_step=max_minutes,
            max_cost_usd_per_run=max_cost_usd_per_run,
            max_cost_usd=max_cost_usd,
        ),
    )
    if print_spec:
        from starter.spec_file import spec_yaml

        if as_json:
            render.print_json(wanted)
        else:
            sys.stdout.write(spec_yaml(wanted))
        return
    settings = Settings.from_env()
    spec, skipped = resolve_campaign(settings, wanted)
    _start_resolved(settings, spec, skipped, dry_run, as_json)


@app.command("apply")
def apply(
    spec_file: Annotated[
        Path, typer.Option("-f", "--file", help="The campaign spec (YAML; see docs/examples).")
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print what would change against the running campaign (repositories added "
            "and removed, PRs retitled, runs re-run) and change nothing.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make the campaign follow a spec file: start it if it is not running, else apply the
    difference (new repositories get runs, removed ones are cancelled, open PRs get a changed
    title/body unless a person took them over, runs not past their agent step re-run on a
    changed task)."""
    from starter.spec_file import load_spec

    wanted = load_spec(spec_file)
    settings = Settings.from_env()
    spec, skipped = resolve_campaign(settings, wanted)
    apply_spec = CampaignApply(spec=spec)

    async def action(campaigns: CampaignClient) -> CampaignApplyPlan | None:
        if not await campaigns.is_running(spec.name):
            return None
        if dry_run:
            return await campaigns.preview_apply(apply_spec)
        return await campaigns.apply(apply_spec)

    if not dry_run:
        from starter.cli.gate import require_healthy

        require_healthy(settings)
    plan = _with_campaigns(action)
    if plan is None:  # not running yet: `apply` starts it
        if dry_run:
            _print_new(spec, skipped, as_json)
            return
        _start_resolved(settings, spec, skipped, dry_run=False, as_json=as_json)
        return
    if as_json:
        render.print_json(plan)
        return
    _print_plan(plan)


def _print_new(spec: CampaignSpec, skipped: list[tuple[str, str]], as_json: bool) -> None:
    if as_json:
        render.print_json(
            {
                "name": spec.name,
                "new": True,
                "would_start": len(spec.repos),
                "repos": [r.full_name for r in spec.repos],
                "skipped": [{"repo": n, "reason": why} for n, why in skipped],
            }
        )
        return
    render.console.print(
        f"campaign {spec.name} is not running: apply would start it with "
        f"{len(spec.repos)} repositories (dry run: nothing started)"
    )
    for full_name, why in skipped:
        render.console.print(f"  skipped {full_name}: {why}")


def _print_plan(plan: CampaignApplyPlan) -> None:
    from rich.markup import escape

    verb = "applied" if plan.applied else "dry run: nothing changed"
    render.console.print(f"campaign {plan.name} ({verb})")
    if plan.empty:
        render.console.print("  the campaign already follows this spec")
        return
    rows = [
        ("changed", plan.changed),
        ("repositories added (runs start)", plan.added),
        ("repositories removed", plan.removed),
        ("runs cancelled", plan.cancelled),
        ("runs already finished (left as they are)", plan.finished),
        ("PRs retitled", plan.pr_updates),
        ("PRs taken over by a person (untouched)", plan.taken_over),
        ("runs re-run on the new task", plan.reruns),
    ]
    for label, items in rows:
        if items:
            render.console.print(f"  {label} ({len(items)}): " + escape(", ".join(items)))
    if plan.money:
        render.console.print(f"  money: {escape(plan.money)}")
    for pr in plan.pull_requests:
        render.console.print(
            f"  {pr.run_id} PR #{pr.pr_number}: {escape(pr.detail or ('done' if pr.done else '-'))}"
        )


def resolve_campaign(
    settings: Settings, wanted: CampaignSpecFile
) -> tuple[CampaignSpec, list[tuple[str, str]]]:
    """The spec as the workflow carries it: repositories listed (GitHub asked), prompt and PR
    body read, skill pack pinned. Also the repositories GitHub found but the filters left out,
    with why."""
    from starter.repos_file import read_repos_file
    from starter.targets import find_repositories

    pack = pin_skills(wanted.skills, wanted.prompt_version)
    targets = wanted.targets
    skipped: list[tuple[str, str]] = []
    if targets.repos_file is not None:
        repos = read_repos_file(Path(targets.repos_file))
    else:
        found = find_repositories(
            settings, targets.org, targets.topic, targets.search, targets.include, targets.exclude
        )
        repos, skipped = found.repos, found.skipped
        if not repos:
            raise Refused(
                f"GitHub found no repository to target ({found.query}; {len(skipped)} skipped)"
            )
    plan = build_plan(
        wanted.engine,
        Path(wanted.prompt_file) if wanted.prompt_file else None,
        wanted.command,
        wanted.commit.title,
        wanted.pr.title,
        Path(wanted.pr.body_file) if wanted.pr.body_file else None,
        wanted.validation_command,
        wanted.budget.max_minutes_per_step,
        wanted.skip_network_check,
        wanted.model,
        wanted.codex_config,
        default_prompt=skills_task(pack),
        draft=wanted.pr.draft,
        prompt=wanted.prompt,
        pr_body=wanted.pr.body,
    )
    spec = build(
        CampaignSpec,
        name=wanted.name,
        repos=repos,
        plan=plan,
        prompt_version=wanted.prompt_version or (pack.version if pack else "v1"),
        skills=pack,
        approve_plans=wanted.approve_plans,
        skill_options=check_skill_options(pack, wanted.skill_options),
        max_prs_per_owner=wanted.rollout.max_prs_per_owner,
        max_parallel=wanted.rollout.max_parallel,
        prs_per_hour=wanted.rollout.prs_per_hour,
        windows=wanted.rollout.windows,
        timezone=wanted.rollout.timezone,
        failure_threshold=wanted.rollout.failure_threshold,
        max_cost_usd_per_run=wanted.budget.max_cost_usd_per_run,
        max_cost_usd=wanted.budget.max_cost_usd,
        notify=settings.notifications_enabled,
        model_review=settings.model_configured,
        exclude=wanted.targets.exclude,
        ignore_policy=wanted.policy.ignore,
    )
    return spec, skipped


def _start_resolved(
    settings: Settings,
    spec: CampaignSpec,
    skipped: list[tuple[str, str]],
    dry_run: bool,
    as_json: bool,
) -> None:
    name, repos, max_parallel = spec.name, spec.repos, spec.max_parallel
    if dry_run:
        _dry_run(settings, spec, skipped, as_json)
        return
    from starter.cli.gate import require_healthy

    require_healthy(settings)

    async def action(campaigns: CampaignClient) -> None:
        await campaigns.start(CampaignStart(spec=spec))

    _with_campaigns(action)
    if as_json:
        render.print_json(
            {"name": name, "repos": len(repos), "max_parallel": max_parallel, "started": True}
        )
        return
    render.console.print(
        f"campaign {name} started: {len(repos)} repositories, at most "
        f"{max_parallel} working at once"
    )
    render.console.print(f"  watch it: agentpr campaign watch --name {name}")


def _dry_run(
    settings: Settings, spec: CampaignSpec, skipped: list[tuple[str, str]], as_json: bool
) -> None:
    from workflows.campaign import campaign_run_id

    rows = [
        (repo, campaign_run_id(spec.name, repo), _check_remotes(settings, repo))
        for repo in spec.repos
    ]
    problems = [row for row in rows if row[2].startswith("FAIL")]
    if as_json:
        render.print_json(
            {
                "name": spec.name,
                "would_start": len(rows) - len(problems),
                "repos": [
                    {"repo": r.full_name, "run_id": run_id, "check": check}
                    for r, run_id, check in rows
                ],
                "skipped": [{"repo": n, "reason": why} for n, why in skipped],
            }
        )
    else:
        from rich.table import Table

        table = Table(
            "repo",
            "run id",
            "upstream",
            "fork",
            "check",
            title=f"campaign {spec.name} (dry run: nothing started)",
        )
        for repo, run_id, check in rows:
            table.add_row(
                repo.full_name,
                run_id,
                repo.upstream_url or "github",
                repo.fork_url or "fork via API",
                check,
            )
        render.console.print(table)
        for full_name, why in skipped:
            render.console.print(f"  skipped {full_name}: {why}")
        render.console.print(
            f"{len(rows) - len(problems)} of {len(rows)} would start "
            f"(engine {spec.plan.step.engine}, at most {spec.max_parallel} "
            "at once)"
        )
    if problems:
        raise typer.Exit(1)


def _check_remotes(settings: Settings, repo: CampaignRepo) -> str:
    """Whether prepare can work: remotes answer `git ls-remote`; GitHub repositories exist, are
    not archived, and the token's account has (or can create) its fork."""
    if repo.upstream_url:
        for role, url in (("upstream", repo.upstream_url), ("fork", repo.fork_url)):
            if url and not _ls_remote(url):
                return f"FAIL: {role} {url} does not answer git ls-remote"
        return "ok" if repo.fork_url else "ok (fork via API)"
    from github import GithubException

    from activities.github import github_client

    try:
        gh = github_client(settings)
        upstream = gh.get_repo(repo.full_name)
        if upstream.archived:
            return "FAIL: archived"
        login = gh.get_user().login
        try:
            fork = gh.get_repo(f"{login}/{repo.repo}")
        except GithubException:
            return f"ok (will fork to {login})"
        # A repository of that name that is not this one's fork would make GitHub name the new
        # fork `<repo>-1`, and prepare would push to the wrong repository: say so now.
        if (
            not fork.fork
            or fork.parent is None
            or fork.parent.full_name.lower() != upstream.full_name.lower()
        ):
            return f"FAIL: {fork.full_name} exists and is not a fork of {upstream.full_name}"
        if fork.permissions is None or not fork.permissions.push:
            return f"FAIL: {login} cannot push to {fork.full_name}"
        return f"ok (fork {fork.full_name} exists)"
    except GithubException as err:
        return f"FAIL: GitHub answered {err.status}"
    except Exception as err:  # no token, unreachable API: say so per row
        return f"FAIL: {str(err).splitlines()[0][:120]}"


def _ls_remote(url: str) -> bool:
    try:
        done = subprocess.run(
            ["git", "ls-remote", "--heads", url],
            capture_output=True,
            timeout=60,
            env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@app.command("show")
def show(name: NameOption, as_json: JsonOption = False) -> None:
    """Counts per state and one row per run."""

    async def action(campaigns: CampaignClient) -> CampaignStatus:
        return await campaigns.status(name)

    status = _with_campaigns(action)
    if as_json:
        render.print_json(status)
        return
    render.console.print(_view(status))


@app.command("list")
def list_campaigns(as_json: JsonOption = False) -> None:
    """Every campaign with its counts."""

    async def action(campaigns: CampaignClient) -> list[CampaignStatus]:
        return [await campaigns.status(name) for name in await campaigns.names()]

    statuses: list[CampaignStatus] = _with_campaigns(action)
    if as_json:
        render.print_json([s.model_copy(update={"runs": []}) for s in statuses])
        return
    from rich.table import Table

    table = Table("campaign", "runs", "finished", "active", "state", "counts")
    for status in statuses:
        table.add_row(
            status.name,
            str(status.total),
            str(_finished_runs(status)),
            str(status.active),
            _campaign_state(status),
            ", ".join(f"{k} {v}" for k, v in sorted(status.counts.items())),
        )
    render.console.print(table)


@app.command("watch")
def watch(
    name: NameOption,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between refreshes.")
    ] = 1.0,
    until_settled: Annotated[
        bool,
        typer.Option(
            "--until-settled",
            help="Stop once no run "
            "works by itself (all finished or waiting for "
            "a human) instead of at Ctrl-C.",
        ),
    ] = False,
) -> None:
    """A live table (repo, state, verdict, PR, age) and a progress bar of finished runs."""
    from starter.client import with_campaign_client

    settings = Settings.from_env()

    async def loop(campaigns: CampaignClient) -> CampaignStatus:
        status = await campaigns.status(name)
        from rich.live import Live

        rows = WATCH_ROWS
        with Live(_view(status, rows), console=render.console, auto_refresh=False) as live:
            while not (until_settled and _settled(status)):
                await asyncio.sleep(interval)
                status = await campaigns.status(name)
                live.update(_view(status, rows), refresh=True)
        return status

    try:
        asyncio.run(with_campaign_client(settings, loop))
    except KeyboardInterrupt:
        pass  # the operator stops watching; the campaign goes on


def _settled(status: CampaignStatus) -> bool:
    return status.finished or (
        status.active == 0 and (status.started == status.total or status.paused or status.cancelled)
    )


def _finished_runs(status: CampaignStatus) -> int:
    return (
        sum(1 for run in status.runs if run.state is None or run.state.is_terminal)
        if status.runs
        else sum(
            n
            for k, n in status.counts.items()
            if k in ("DONE", "SKIPPED", "FAILED_TERMINAL", "START_FAILED")
        )
    )


def _campaign_state(status: CampaignStatus) -> str:
    if status.finished:
        return "finished"
    if status.cancelled:
        return "cancelling"
    return "paused" if status.paused else "running"


def _age(progress: RunProgress) -> str:
    if progress.updated_at is None:
        return "-"
    seconds = int((datetime.now(UTC) - progress.updated_at).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    return f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"


# `campaign watch` redraws every second: a 10,000-run table would not fit a screen nor redraw
# in time, so it shows the runs still going first, this many at most (`campaign show`: all).
WATCH_ROWS = 40


def _view(status: CampaignStatus, max_rows: int | None = None) -> Group:
    from rich.console import Group
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn
    from rich.table import Table

    from workflows.states import WORKING_BY_ITSELF

    table = Table(
        "repo",
        "run",
        "state",
        "verdict",
        "PR",
        "age",
        title=f"campaign {status.name} ({_campaign_state(status)}, "
        f"{status.active}/{status.max_parallel} working)",
    )
    runs = sorted(status.runs, key=lambda r: r.repo)
    if max_rows is not None and len(runs) > max_rows:
        runs.sort(key=lambda r: r.state is None or r.state.is_terminal)  # stable: by repo within
        hidden, runs = len(runs) - max_rows, runs[:max_rows]
        table.caption = f"… {hidden} more run(s): agentpr campaign show --name {status.name}"
    for run in runs:
        state = run.state.value if run.state else "START_FAILED"
        if run.state is not None and run.state in WORKING_BY_ITSELF:
            state = f"[bold]{state}[/bold]"
        pr = f"#{run.pr_number}" if run.pr_number else ("requested" if run.pr_requested else "-")
        if run.plan_waiting:
            pr = "plan waits"  # agentpr approve-plan --run-id <run>
        verdict = f"{run.verdict} {run.reason_code}" if run.verdict else (run.note or "-")
        if run.note and run.verdict:
            verdict = f"{verdict}; {run.note}"
        # A note may quote a repository's own text: never read it as markup.
        table.add_row(run.repo, run.run_id, state, escape(verdict), pr, _age(run))
    progress = Progress(
        TextColumn("finished"), BarColumn(), TextColumn("{task.completed}/{task.total}")
    )
    progress.add_task("runs", total=status.total, completed=_finished_runs(status))
    counts = Table.grid(padding=(0, 2))
    plans = [run.run_id for run in status.runs if run.plan_waiting]
    counts.add_row(
        *(f"{k} {v}" for k, v in sorted(status.counts.items())),
        *([f"plans waiting {len(plans)} (agentpr approve-plan --run-id …)"] if plans else []),
    )
    notes = Table.grid()
    for line in _rollout_lines(status):
        notes.add_row(escape(line))
    return Group(table, counts, notes, progress)


def _rollout_lines(status: CampaignStatus) -> list[str]:
    """What the paced rollout and the money say about the campaign now."""
    lines = []
    if status.paused_because:
        lines.append(f"paused by itself: {status.paused_because}")
    if status.pr_slots_held:
        lines.append(f"PR slots wait: {status.pr_slots_held}")
    if status.money_spent:
        lines.append(f"money spent: {status.money_spent}")
    if status.cost_usd:
        lines.append(f"cost so far ${status.cost_usd:.2f}")
    return lines


def _command(name: str, update: str, reason: str | None, as_json: bool) -> None:
    from starter.cli.gate import require_healthy

    require_healthy(Settings.from_env())

    async def action(campaigns: CampaignClient) -> Any:
        return await campaigns.send(name, update, CampaignCommand(by=Actor.CLI, reason=reason))

    result = _with_campaigns(action)
    if as_json:
        render.print_json(result)
        return
    render.console.print(
        f"campaign {name}: {result.action} sent to {len(result.runs_signalled)} run(s)"
    )


@app.command("pause")
def pause(name: NameOption, reason: ReasonOption = None, as_json: JsonOption = False) -> None:
    """Start no more runs and pause the runs working (a running agent is stopped)."""
    _command(name, "pause_campaign", reason, as_json)


@app.command("resume")
def resume(name: NameOption, reason: ReasonOption = None, as_json: JsonOption = False) -> None:
    """Resume the runs the campaign paused, and start runs again."""
    _command(name, "resume_campaign", reason, as_json)


@app.command("cancel")
def cancel(name: NameOption, reason: ReasonOption = None, as_json: JsonOption = False) -> None:
    """Start no more runs and end the open ones (SKIPPED where the state table allows it).
    PRs already opened stay open on GitHub: `campaign close` them first if they should go."""
    _command(name, "cancel_campaign", reason, as_json)


@app.command("retry")
def retry(
    name: NameOption,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="Retry the runs that failed "
            "(FAILED, FAILED_RETRYABLE), from the step that "
            "failed.",
        ),
    ] = False,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-run failed runs from the step that failed."""
    if not failed:
        raise UsageError("say which runs: --failed")
    _command(name, "retry_failed", reason, as_json)


def _act_on_pull_requests(
    name: str, action: str, body: str, states: list[str] | None, reason: str | None, as_json: bool
) -> None:
    from starter.cli.gate import require_healthy

    require_healthy(Settings.from_env())
    command = build(
        CampaignPrAction,
        action=action,
        body=body,
        reason=reason,
        states=[parse_state(s, "--state") for s in states or []],
    )

    async def act(campaigns: CampaignClient) -> Any:
        return await campaigns.send(name, "act_on_pull_requests", command)

    result = _with_campaigns(act)
    if as_json:
        render.print_json(result)
        return
    for pr in result.pull_requests:
        render.console.print(
            f"{pr.run_id} PR #{pr.pr_number}: "
            f"{action + ('ed' if action == 'comment' else 'd') if pr.done else 'unchanged'}"
            + (f" ({pr.detail})" if pr.detail else "")
        )
    render.console.print(f"campaign {name}: {action} on {len(result.pull_requests)} PR(s)")


def _body(body: str | None, body_file: Path | None) -> str:
    if body is not None and body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    if body_file is not None:
        if not body_file.is_file():
            raise UsageError(f"body file not found: {body_file}")
        return body_file.read_text(errors="replace")
    return body or ""


BodyOption = Annotated[str | None, typer.Option("--body", help="Comment text (markdown).")]
BodyFileOption = Annotated[Path | None, typer.Option("--body-file", help="Comment from a file.")]
StateFilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--state", help="Only runs in this state (repeatable; default: every run with a PR)."
    ),
]


@app.command("comment")
def comment(
    name: NameOption,
    body: BodyOption = None,
    body_file: BodyFileOption = None,
    state: StateFilterOption = None,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Comment on every open PR of the campaign (paced GitHub writes; posted once per PR)."""
    _act_on_pull_requests(name, "comment", _body(body, body_file), state, reason, as_json)


@app.command("close")
def close(
    name: NameOption,
    body: BodyOption = None,
    body_file: BodyFileOption = None,
    state: StateFilterOption = None,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close the campaign's open PRs (with an optional closing comment); their runs then go to
    NEEDS_HUMAN_REVIEW when GitHub reports the close."""
    _act_on_pull_requests(name, "close", _body(body, body_file), state, reason, as_json)


@app.command("report")
def report(
    name: NameOption,
    out: Annotated[
        Path, typer.Option("--out", help="The HTML file to write (one self-contained page).")
    ] = Path("report.html"),
    ui_url: Annotated[
        str | None,
        typer.Option(
            "--ui-url",
            envvar="AGENTPR_WEB_UI_URL",
            help="The Temporal Web UI the page links runs to (default http://localhost:8233).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """One HTML page about the campaign, viewable offline: runs by state and PRs over time, the
    funnel, failure reasons, where the time goes, cost, and every run with links to its PR and
    its Web UI page."""
    from starter.cli.insight import campaign_report

    campaign_report(name, out, ui_url, as_json)
