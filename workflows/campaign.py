"""CampaignWorkflow: one change across many repositories; one child run per repository.

The campaign decides when each run starts (at most `max_parallel` runs doing work by themselves
at a time) and keeps counts per state from the runs' own progress signals, so it never polls
its children. Pause, resume, cancel and retry reach the runs as signals. Runs are started with
ParentClosePolicy.ABANDON: they outlive the campaign's continue-as-new (and a cancelled
campaign), and keep reporting to the campaign's workflow id.

Runs report to the campaign by signal name (`run_progress`), so the run workflow does not
import this module; this one refers to the run workflow by its typed reference.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.github import GitHubActivities
    from activities.notify import Notifier
    from common.settings import github_queue_for, notify_queue_for
    from contracts import (
        Actor,
        CampaignApply,
        CampaignApplyPlan,
        CampaignCarried,
        CampaignCommand,
        CampaignCommandResult,
        CampaignControl,
        CampaignPrAction,
        CampaignRepo,
        CampaignStart,
        CampaignStatus,
        Notification,
        PackedRuns,
        PrSlotAsk,
        PullRequestActionInput,
        PullRequestActionResult,
        Refusal,
        RunMode,
        RunProgress,
        RunSpec,
        RunStart,
        packed,
        unpacked,
    )
    from contracts import search_attributes as sa
    from contracts.campaign import PACK_PROGRESS_OVER
    from contracts.states import RunState

from workflows.rules.campaign_apply import next_repos, plan_apply, render_template, template_values
from workflows.rules.campaign_ledger import RunLedger
from workflows.rules.campaign_pacing import owner_of
from workflows.rules.campaign_rollout import (
    failure_threshold_tripped,
    money_spent,
    next_grant_allowed,
    next_window_opens,
    outcome_of,
    slots_held_back,
    window_open,
)
from workflows.rules.maintainer_policy import excluded_by
from workflows.run import IntegrationRunWorkflow
from workflows.run_core import MONEY_CAP_APPLIED, NOTIFY_RETRY

NOT_STARTED = "NOT_STARTED"
START_FAILED = "START_FAILED"
# Children started in one workflow task at most (their start commands travel together).
START_BATCH = 50
# Each child's result lands in the campaign's history (~3 KB a run record): cut it at this size
# too (Temporal warns at 10 MB; a worker replays the whole history after an eviction).
MAX_HISTORY_BYTES = 4 * 1024 * 1024
# The runs' outcomes the failure threshold looks back on (the largest `recent` it allows).
MAX_OUTCOMES = 1_000
# GitHub's rate-limit answers set their own delay (next_retry_delay); give them room.
GITHUB_WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=10,
)


def campaign_workflow_id(name: str) -> str:
    return f"campaign.{name}"


def campaign_run_id(name: str, repo: CampaignRepo, attempt: int = 0) -> str:
    """Readable and stable: the same campaign and repository always name the same run (a run
    `campaign apply` started again ends in `.r<attempt>`)."""
    again = f".r{attempt}" if attempt else ""
    run_id = f"{name}.{repo.owner}.{repo.repo}{again}"
    if len(run_id) <= 100:
        return run_id
    return f"{name}.{hashlib.sha256(repo.full_name.encode()).hexdigest()[:16]}{again}"


@workflow.defn
class CampaignWorkflow:
    @workflow.init
    def __init__(self, start: CampaignStart) -> None:
        self._spec = start.spec
        self._started = start.started
        carried = unpacked(CampaignCarried, start.carried) if start.carried else CampaignCarried()
        self._runs = RunLedger([*start.runs.values(), *carried.runs])
        self._paused = start.paused
        self._cancelled = start.cancelled
        self._created_at = start.created_at or workflow.now()
        self._continue_as_new_after = start.continue_as_new_after
        self._signals: list[asyncio.Task[None]] = []
        self._pr_slot_waiting: list[str] = [*start.pr_slot_waiting, *carried.pr_slot_waiting]
        self._attempts: dict[str, int] = dict(start.attempts)
        self._pr_grants = list(start.pr_grants)
        self._outcomes = list(start.outcomes)
        # An ordered set (a dict): the same order on every worker, whatever its hash seed.
        self._outcome_seen = dict.fromkeys([*start.outcome_seen, *carried.outcome_seen])
        self._paused_because = start.paused_because
        self._money_spent = start.money_spent
        self._slots_held: str | None = None

    @workflow.run
    async def run(self, start: CampaignStart) -> CampaignStatus:
        workflow.upsert_search_attributes([sa.CAMPAIGN.value_set(self._spec.name)])
        while True:
            await self._start_due_runs()
            if self._finished():
                break
            if self._continue_as_new_due():
                await self._settle()
                workflow.continue_as_new(self._carried_over())
            try:
                await workflow.wait_condition(
                    lambda: self._finished() or self._start_due() or self._continue_as_new_due(),
                    timeout=self._pacing_wake(),
                )
            except TimeoutError:
                self._grant_pr_slots()  # a rollout window opened, or the hourly pace allows
        await self._settle()
        return self._status(with_runs=True)

    def _carried_over(self) -> CampaignStart:
        """The next run's input. A large campaign's per-run lists travel packed (the new
        run's input reads either form, so no patch is needed: the payload of a
        continue-as-new is not part of what replay compares)."""
        carried = CampaignCarried(
            runs=self._runs.values(),
            pr_slot_waiting=self._pr_slot_waiting,
            outcome_seen=list(self._outcome_seen),
        )
        big = len(self._runs) > PACK_PROGRESS_OVER
        return CampaignStart(
            spec=self._spec,
            started=self._started,
            runs={} if big else self._runs.as_dict(),
            paused=self._paused,
            cancelled=self._cancelled,
            created_at=self._created_at,
            continue_as_new_after=self._continue_as_new_after,
            pr_slot_waiting=[] if big else carried.pr_slot_waiting,
            attempts=self._attempts,
            pr_grants=self._pr_grants[-100:],
            outcomes=self._outcomes[-MAX_OUTCOMES:],
            outcome_seen=[] if big else carried.outcome_seen,
            paused_because=self._paused_because,
            money_spent=self._money_spent,
            carried=packed(carried) if big else None,
        )

    async def _settle(self) -> None:
        """Before closing or continuing as new: no command half answered, no signal unsent."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self._signals)

    # ---- starting runs ---------------------------------------------------------------------

    def _active(self) -> int:
        return self._runs.working

    def _start_due(self) -> bool:
        return (
            not self._paused
            and not self._cancelled
            and self._money_spent is None
            and self._started < len(self._spec.repos)
            and self._active() < self._spec.max_parallel
        )

    async def _start_due_runs(self) -> None:
        while self._start_due():
            if self._continue_as_new_due() and self._cuts_history_while_starting():
                return  # runs that end at once keep room free: without this, 10,000 starts
                # (and their results) land in one history — 30 MB, past what a worker replays
                # within a workflow task's timeout
            room = min(
                self._spec.max_parallel - self._active(),
                START_BATCH,
                len(self._spec.repos) - self._started,
            )
            batch = self._spec.repos[self._started : self._started + room]
            # Count them as QUEUED before their first signal arrives, so the gate holds.
            for repo in batch:
                run_id = self._run_id(repo)
                self._runs.put(
                    RunProgress(
                        run_id=run_id,
                        repo=repo.full_name,
                        state=RunState.QUEUED,
                        updated_at=workflow.now(),
                    )
                )
            self._started += len(batch)
            await asyncio.gather(*(self._start_run(repo) for repo in batch))

    def _run_id(self, repo: CampaignRepo) -> str:
        return campaign_run_id(self._spec.name, repo, self._attempts.get(repo.full_name.lower(), 0))

    async def _start_run(self, repo: CampaignRepo) -> None:
        spec = self._spec
        run_id = self._run_id(repo)
        run_spec = RunSpec(
            run_id=run_id,
            owner=repo.owner,
            repo=repo.repo,
            prompt_version=spec.prompt_version,
            mode=RunMode.AUTO,
            upstream_url=repo.upstream_url,
            fork_url=repo.fork_url,
            campaign=spec.name,
            created_by=Actor.WORKFLOW,
            notify=spec.notify,
            model_review=spec.model_review,
            auto=spec.plan,
            campaign_workflow_id=workflow.info().workflow_id,
            skills=spec.skills,
            approve_plans=spec.approve_plans,
            skill_options=spec.skill_options,
            ignore_policy=spec.ignore_policy,
            excluded_by=excluded_by(repo.full_name, spec.exclude),
            max_cost_usd=spec.max_cost_usd_per_run,
        )
        try:
            await workflow.start_child_workflow(
                IntegrationRunWorkflow.run,
                RunStart(spec=run_spec),
                id=run_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.STATE, RunState.QUEUED.value),
                        SearchAttributePair(sa.REPO, repo.full_name),
                        SearchAttributePair(sa.CAMPAIGN, spec.name),
                    ]
                ),
            )
        except FailureError as err:  # e.g. a run with this id is still open
            workflow.logger.warning("campaign %s: %s not started: %s", spec.name, run_id, err)
            self._runs.put(
                RunProgress(
                    run_id=run_id,
                    repo=repo.full_name,
                    state=None,
                    updated_at=workflow.now(),
                    note=f"not started: {err}",
                )
            )

    # ---- progress from the runs --------------------------------------------------------------

    @workflow.signal
    def run_progress(self, progress: RunProgress) -> None:
        known = self._runs.get(progress.run_id)
        if known is not None and known.seq > progress.seq:
            return  # an older report overtaken by a newer one
        self._runs.put(progress)
        if self._rollout():
            self._judge_outcome(progress)
            self._judge_money()
        self._grant_pr_slots()  # a finished run frees its owner's slot

    def _rollout(self) -> bool:
        """Campaigns recorded before paced rollout existed go on as they were."""
        return workflow.patched("campaign-rollout")

    def _judge_outcome(self, progress: RunProgress) -> None:
        """A run's first outcome counts toward the failure threshold; tripping it pauses the
        campaign (runs included, as `campaign pause` does) and tells the operator."""
        outcome = outcome_of(progress.state)
        if outcome is None or progress.run_id in self._outcome_seen:
            return
        self._outcome_seen[progress.run_id] = None
        self._outcomes.append(outcome)
        del self._outcomes[:-MAX_OUTCOMES]
        why = failure_threshold_tripped(self._spec, self._outcomes)
        if why is None or self._paused:
            return
        self._paused, self._paused_because = True, why
        self._tell_runs("pause", CampaignCommand(by=Actor.WORKFLOW, reason=why))
        self._outcomes.clear()  # after a resume, the threshold counts afresh
        self._notify("campaign_paused", f"campaign {self._spec.name} paused itself: {why}")

    def _judge_money(self) -> None:
        """Past the campaign's money cap no new run starts and its runs start no new agent
        step (the ones running finish)."""
        if self._money_spent is not None:
            return
        why = money_spent(self._spec, self._runs.cost_usd)
        if why is None:
            return
        self._money_spent = why
        self._signal_open_runs(
            CampaignControl(action="budget_spent", by=Actor.WORKFLOW, reason=why)
        )
        self._notify("campaign_budget_spent", f"campaign {self._spec.name}: {why}")

    def _restore_money(self, plan: CampaignApplyPlan, by: Actor) -> None:
        """`campaign apply` raised (or removed) the cap past what the runs spent: new runs
        start again (the main loop sees it) and the open runs may start agent steps again."""
        self._money_spent = None
        self._signal_open_runs(CampaignControl(action="budget_restored", by=by, reason=plan.money))
        self._notify("campaign_budget_restored", f"campaign {self._spec.name}: {plan.money}")

    def _signal_open_runs(self, control: CampaignControl) -> None:
        for progress in self._runs:
            if progress.state is not None and not progress.state.is_terminal:
                handle = workflow.get_external_workflow_handle_for(
                    IntegrationRunWorkflow.run, progress.run_id
                )
                self._signals.append(asyncio.create_task(self._signal(handle, control)))

    def _notify(self, kind: str, text: str) -> None:
        if not self._spec.notify:
            return
        # With the signals: settled before the campaign closes or continues as new.
        self._signals.append(asyncio.create_task(self._send_notification(kind, text)))

    async def _send_notification(self, kind: str, text: str) -> None:
        try:
            await workflow.execute_activity_method(
                Notifier.send_notification,
                Notification(run_id=workflow.info().workflow_id, kind=kind, text=text),
                task_queue=notify_queue_for(workflow.info().task_queue),
                schedule_to_close_timeout=timedelta(days=3),
                retry_policy=NOTIFY_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("campaign %s: notification lost: %s", self._spec.name, err)

    def _pacing_wake(self) -> timedelta | None:
        """While runs wait for a PR slot only because of the rollout's windows or hourly
        pace: when to look again."""
        if not self._pr_slot_waiting or self._slots_held is None:
            return None
        now = workflow.now()
        wake = next_window_opens(self._spec, now) or next_grant_allowed(
            self._spec, self._pr_grants, now
        )
        if wake is None:
            return timedelta(minutes=1)
        return max(wake - now, timedelta(seconds=1))

    @workflow.signal
    def pr_slot_wanted(self, ask: PrSlotAsk) -> None:
        if ask.run_id not in self._pr_slot_waiting:
            self._pr_slot_waiting.append(ask.run_id)
        self._grant_pr_slots()

    def _grant_pr_slots(self) -> None:
        """Runs waiting for a PR slot get one, oldest first, while their owner has fewer than
        `max_prs_per_owner` runs with a PR requested or open — inside the rollout windows and
        the hourly pace."""
        self._slots_held = None
        if not self._pr_slot_waiting:
            return
        rollout = self._rollout()
        still_waiting: list[str] = []
        full: set[str] = set()  # owners at their cap in this pass
        for run_id in self._pr_slot_waiting:
            if self._slots_held is None and rollout:
                self._slots_held = slots_held_back(self._spec, self._pr_grants, workflow.now())
            if self._slots_held is not None:
                still_waiting.append(run_id)
                continue
            progress = self._runs.get(run_id)
            if progress is None or (progress.state is not None and progress.state.is_terminal):
                continue
            owner = owner_of(progress.repo)
            if owner in full or self._runs.slot_holders(progress.repo) >= (
                self._spec.max_prs_per_owner
            ):
                full.add(owner)
                still_waiting.append(run_id)
                continue
            # It holds the slot from now on, before its own news says it requested the PR.
            self._runs.put(progress.model_copy(update={"pr_requested": True}))
            self._pr_grants.append(workflow.now())
            del self._pr_grants[:-100]
            handle = workflow.get_external_workflow_handle_for(IntegrationRunWorkflow.run, run_id)
            self._signals.append(
                asyncio.create_task(handle.signal(IntegrationRunWorkflow.pr_slot_granted))
            )
        self._pr_slot_waiting = still_waiting

    @workflow.query
    def get_campaign(self) -> CampaignStatus:
        return self._status(with_runs=True)

    def _status(self, with_runs: bool) -> CampaignStatus:
        counts: dict[str, int] = {}
        for progress in self._runs:
            key = progress.state.value if progress.state is not None else START_FAILED
            counts[key] = counts.get(key, 0) + 1
        runs = self._runs.values()
        big = len(runs) > PACK_PROGRESS_OVER  # sent packed (the client unpacks)
        waiting = len(self._spec.repos) - self._started
        if waiting:
            counts[NOT_STARTED] = waiting
        return CampaignStatus(
            name=self._spec.name,
            total=len(self._spec.repos),
            started=self._started,
            max_parallel=self._spec.max_parallel,
            paused=self._paused,
            cancelled=self._cancelled,
            finished=self._finished(),
            created_at=self._created_at,
            counts=counts,
            active=self._active(),
            runs=runs if with_runs and not big else [],
            packed_runs=packed(PackedRuns(runs=runs)) if with_runs and big else None,
            paused_because=self._paused_because if self._paused else None,
            pr_slots_held=self._slots_held if self._pr_slot_waiting else None,
            money_spent=self._money_spent,
            cost_usd=round(self._runs.cost_usd, 4),
        )

    def _finished(self) -> bool:
        """Every repository has a run and every run has ended (a cancelled campaign starts no
        more runs; it ends when the started ones have)."""
        if self._started < len(self._spec.repos) and not self._cancelled:
            return False
        return self._runs.all_ended

    # ---- operator commands -----------------------------------------------------------------

    @workflow.update
    def pause_campaign(self, command: CampaignCommand) -> CampaignCommandResult:
        self._paused = True
        return self._tell_runs("pause", command)

    @workflow.update
    def resume_campaign(self, command: CampaignCommand) -> CampaignCommandResult:
        self._paused = False
        self._paused_because = None
        return self._tell_runs("resume", command)

    @workflow.update
    def cancel_campaign(self, command: CampaignCommand) -> CampaignCommandResult:
        self._cancelled = True
        return self._tell_runs("cancel", command)

    @workflow.update
    def retry_failed(self, command: CampaignCommand) -> CampaignCommandResult:
        return self._tell_runs("retry", command, only={RunState.FAILED, RunState.FAILED_RETRYABLE})

    @workflow.update
    async def act_on_pull_requests(self, command: CampaignPrAction) -> CampaignCommandResult:
        """Comment on or close the open PRs of the campaign's runs (optionally only runs in
        the given states). Each is a write on the paced GitHub queue, so a thousand PRs take
        as long as GitHub's pacing says, never faster."""
        wanted = set(command.states)
        targets = [
            p
            for p in self._runs.values()
            if p.pr_number is not None and p.state is not None and (not wanted or p.state in wanted)
        ]
        results = await asyncio.gather(*(self._act_on(p, command) for p in targets))
        return CampaignCommandResult(
            name=self._spec.name,
            action=command.action,
            paused=self._paused,
            cancelled=self._cancelled,
            pull_requests=list(results),
        )

    async def _act_on(
        self,
        progress: RunProgress,
        command: CampaignPrAction,
        action: str | None = None,
        title: str | None = None,
    ) -> PullRequestActionResult:
        assert progress.pr_number is not None
        try:
            return await workflow.execute_activity_method(
                GitHubActivities.act_on_pull_request,
                PullRequestActionInput(
                    run_id=progress.run_id,
                    repo=progress.repo,
                    pr_number=progress.pr_number,
                    action=action or command.action,
                    body=command.body,
                    title=title,
                ),
                task_queue=github_queue_for(workflow.info().task_queue),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=GITHUB_WRITE_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            detail = cause.message if isinstance(cause, ApplicationError) else str(cause)
            return PullRequestActionResult(
                run_id=progress.run_id,
                pr_number=progress.pr_number,
                action=action or command.action,
                done=False,
                detail=detail,
            )

    @act_on_pull_requests.validator
    def _validate_act_on_pull_requests(self, command: CampaignPrAction) -> None:
        if command.action == "comment" and not command.body.strip():
            raise ApplicationError(
                "campaign comment needs --body or --body-file", non_retryable=True
            )
        # Bulk comments and closes obey the rollout windows too (validators cannot patch:
        # no window is configured on campaigns recorded before them).
        now = workflow.now()
        if not window_open(self._spec, now):
            opens = next_window_opens(self._spec, now)
            when = f"; the next opens {opens:%a %H:%M} {self._spec.timezone}" if opens else ""
            raise ApplicationError(
                f"campaign {command.action} refused: outside the campaign's rollout windows{when}",
                type=Refusal.ILLEGAL_TRANSITION.value,
                non_retryable=True,
            )

    @pause_campaign.validator
    def _validate_pause(self, command: CampaignCommand) -> None:
        self._validate_open("pause")

    @resume_campaign.validator
    def _validate_resume(self, command: CampaignCommand) -> None:
        self._validate_open("resume")

    @cancel_campaign.validator
    def _validate_cancel(self, command: CampaignCommand) -> None:
        self._validate_open("cancel")

    @retry_failed.validator
    def _validate_retry(self, command: CampaignCommand) -> None:
        self._validate_open("retry")

    def _validate_open(self, action: str) -> None:
        if self._finished():
            raise ApplicationError(
                f"campaign {self._spec.name} is finished; {action} does not apply",
                type=Refusal.CAMPAIGN_FINISHED.value,
                non_retryable=True,
            )
        if self._cancelled:
            raise ApplicationError(
                f"campaign {self._spec.name} was cancelled; {action} does not apply",
                type=Refusal.CAMPAIGN_FINISHED.value,
                non_retryable=True,
            )

    def _tell_runs(
        self, action: str, command: CampaignCommand, only: set[RunState] | None = None
    ) -> CampaignCommandResult:
        control = CampaignControl(action=action, by=command.by, reason=command.reason)
        told = [
            p.run_id
            for p in self._runs.values()
            if p.state is not None and not p.state.is_terminal and (only is None or p.state in only)
        ]
        for run_id in told:
            handle = workflow.get_external_workflow_handle_for(IntegrationRunWorkflow.run, run_id)
            # Fire and forget, but never lose the command: it is in this history either way.
            self._signals.append(asyncio.create_task(self._signal(handle, control)))
        self._signals = [task for task in self._signals if not task.done()]
        workflow.logger.info(
            "campaign %s: %s sent to %d run(s)", self._spec.name, action, len(told)
        )
        return CampaignCommandResult(
            name=self._spec.name,
            action=action,
            runs_signalled=told,
            paused=self._paused,
            cancelled=self._cancelled,
        )

    async def _signal(
        self,
        handle: workflow.ExternalWorkflowHandle[IntegrationRunWorkflow],
        control: CampaignControl,
    ) -> None:
        try:
            await handle.signal(IntegrationRunWorkflow.campaign_control, control)
        except FailureError as err:  # the run closed meanwhile
            workflow.logger.info(
                "campaign %s: %s not delivered to %s: %s",
                self._spec.name,
                control.action,
                handle.id,
                err,
            )

    # ---- campaign apply --------------------------------------------------------------------

    def _plan(self, apply: CampaignApply) -> CampaignApplyPlan:
        # Insertion order: a re-run's newer entry wins over the run it replaced.
        run_ids = {p.repo.lower(): p.run_id for p in self._runs}
        return plan_apply(
            self._spec,
            apply.spec,
            self._started,
            self._runs.as_dict(),
            run_ids,
            stopped=self._money_spent,
            spent=self._runs.cost_usd,
        )

    @workflow.query
    def preview_apply(self, apply: CampaignApply) -> CampaignApplyPlan:
        """`campaign apply --dry-run`: the plan, from the same rule `apply_spec` follows,
        without a trace in history."""
        return self._plan(apply)

    @workflow.update
    async def apply_spec(self, apply: CampaignApply) -> CampaignApplyPlan:
        """Follow a new spec: start runs for repositories added, end runs of repositories
        removed, start again runs that had not passed their agent step when the task changed,
        and retitle the open PRs of runs nobody took over (paced GitHub writes)."""
        plan = self._plan(apply)
        old, new = self._spec, apply.spec
        rerun_repos = [self._runs[run_id].repo for run_id in plan.reruns]
        control = CampaignControl(action="cancel", by=apply.by, reason="campaign apply")
        for run_id in [*plan.cancelled, *plan.reruns]:
            handle = workflow.get_external_workflow_handle_for(IntegrationRunWorkflow.run, run_id)
            self._signals.append(asyncio.create_task(self._signal(handle, control)))
        for full_name in rerun_repos:
            self._attempts[full_name.lower()] = self._attempts.get(full_name.lower(), 0) + 1
        repos, started = next_repos(old, new, self._started, rerun_repos)
        self._spec = new.model_copy(update={"repos": repos})
        self._started = started
        # Histories recorded before a changed cap lifted (or set) the money stop replay as
        # they were: there, the stop only ever came from a run's progress.
        if (plan.money_restored or plan.money_stops) and workflow.patched(MONEY_CAP_APPLIED):
            if plan.money_restored:
                self._restore_money(plan, apply.by)
            else:
                self._judge_money()
        workflow.logger.info(
            "campaign %s: applied (%s); %d added, %d cancelled, %d re-run, %d PR(s) to retitle",
            new.name,
            ", ".join(plan.changed) or "no change",
            len(plan.added),
            len(plan.cancelled),
            len(plan.reruns),
            len(plan.pr_updates),
        )
        updates = [self._runs[run_id] for run_id in plan.pr_updates]
        results = await asyncio.gather(*(self._retitle(p) for p in updates))
        return plan.model_copy(update={"pull_requests": list(results), "applied": True})

    async def _retitle(self, progress: RunProgress) -> PullRequestActionResult:
        values = template_values(progress)
        plan = self._spec.plan
        command = CampaignPrAction(
            action="comment", by=Actor.WORKFLOW, body=render_template(plan.pr_body, values)
        )
        return await self._act_on(
            progress, command, action="update", title=render_template(plan.pr_title, values)
        )

    @apply_spec.validator
    def _validate_apply(self, apply: CampaignApply) -> None:
        self._validate_open("apply")
        if apply.spec.name != self._spec.name:
            raise ApplicationError(
                f"the spec names campaign {apply.spec.name}, not {self._spec.name}",
                non_retryable=True,
            )

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= self._continue_as_new_after
            or info.is_continue_as_new_suggested()
            or (
                info.get_current_history_size() >= MAX_HISTORY_BYTES
                and self._cuts_history_while_starting()
            )
        )

    def _cuts_history_while_starting(self) -> bool:
        """Campaigns recorded before: they went on starting runs past the cut."""
        return workflow.patched("campaign-cut-while-starting")
