"""IntegrationRunWorkflow: one durable workflow per run; workflow id = run id.

The workflow owns the run record. Operator commands arrive as Updates whose validators refuse
illegal requests before anything enters history; reads are Queries; GitHub's facts and a
campaign's controls are Signals. The class is assembled from one mixin per job:

    run_core.RunCore            the record, `_apply` (the one place it changes), validation,
                                search attributes, campaign progress, notifications
    steps.RunSteps              prepare, preflight, agent step + grade, finish, iteration
    pr_gate.PrGate              request-open-pr, approve-open-pr (double confirmation)
    github_tracking.GitHubTracking  webhook facts, sync-github, the reconcile timer, link-pr,
                                record-check, record-review
    auto_driver.AutoDriver      auto mode: the run takes its own steps between gates

and this module: the main loop, continue-as-new, the state-changing operator commands and a
campaign's controls. Where the run goes is decided by the pure rules in `workflows/rules/`.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts import (
        Actor,
        CampaignControl,
        CommandRequest,
        CommandResult,
        ContractRef,
        ContractRequest,
        Refusal,
        RunMode,
        RunRecord,
        RunResult,
        RunStart,
        TargetStateRequest,
        Transition,
    )
    from contracts.states import RunState, can_transition

from workflows.auto_driver import AutoDriver
from workflows.github_tracking import GitHubTracking
from workflows.rules.campaign_control import control_plan
from workflows.rules.iteration import can_iterate
from workflows.rules.maintainer_policy import policy_details
from workflows.rules.transitions import refuse_resume
from workflows.run_core import (
    MONEY_CAP_APPLIED,
    NOTIFY_GRACE,
    REMEMBERED_FACTS,
    raise_if,
    refuse,
)
from workflows.states import WAITING_ON_GITHUB


@workflow.defn
class IntegrationRunWorkflow(AutoDriver, GitHubTracking):
    @workflow.init
    def __init__(self, start: RunStart) -> None:
        self._init_core(start.carried_state(), start.continue_as_new_after, start.reconcile_every_s)
        if start.record is not None:
            self._record = start.record
            return
        now = workflow.now()
        self._record = RunRecord(
            **start.spec.model_dump(),
            created_at=now,
            updated_at=now,
            history=[
                Transition(
                    from_state=None,
                    to_state=RunState.QUEUED,
                    by=start.spec.created_by,
                    at=now,
                    command="create-run",
                )
            ],
        )

    @workflow.run
    async def run(self, start: RunStart) -> RunResult:
        self._publish_search_attributes()
        if self._record.mode == RunMode.AUTO and workflow.patched("auto-mode"):
            self._auto = True
            # Runs recorded before the maintainers' rules existed go on as they were.
            self._checks_policy = workflow.patched("maintainer-policy")
            self._paces_prs = workflow.patched("campaign-pr-slots")
        if self._record.maintainer_policy is not None:
            workflow.set_current_details(policy_details(self._record.maintainer_policy))
        if workflow.patched("reconcile-timer"):
            await self._follow_github_until_done()
        else:
            await workflow.wait_condition(
                lambda: self._record.state.is_terminal or self._continue_as_new_due()
            )
        if self._record.state.is_terminal and self._carried.landing_check_pending:
            await self._check_landing()  # merged: did it land?
        # Never finish (or continue as new) while a command is being answered: its caller
        # would lose the reply.
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._notifications:
            # Give pending notifications (e.g. "PR merged") time to reach a bot before the run
            # closes; they are best effort beyond that.
            try:
                await workflow.wait_condition(
                    lambda: all(n.done() for n in self._notifications), timeout=NOTIFY_GRACE
                )
            except TimeoutError:
                workflow.logger.warning("closing with notifications still waiting for a bot")
        if self._reports:
            await asyncio.gather(*self._reports)
        if not self._record.state.is_terminal:
            carried = self._carried.model_copy(
                update={"facts_seen": self._carried.facts_seen[-REMEMBERED_FACTS:]}
            )
            workflow.continue_as_new(
                RunStart(
                    spec=start.spec,
                    record=self._record,
                    carried=carried,
                    continue_as_new_after=self._continue_as_new_after,
                    reconcile_every_s=int(self._reconcile_every.total_seconds()),
                )
            )
        return RunResult(record=self._record)

    async def _follow_github_until_done(self) -> None:
        """The main loop: run a pending iteration, take the auto driver's next step, and while
        the run waits on GitHub reconcile on a durable timer too (GitHub does not redeliver
        failed webhooks). Ends when the run is finished or continue-as-new is due."""

        def finished() -> bool:
            return self._record.state.is_terminal or self._continue_as_new_due()

        def waiting() -> bool:
            return self._record.state in WAITING_ON_GITHUB and self._record.pr_number is not None

        def iteration_due() -> bool:
            return self._carried.iterate_pending and self._step is None

        while not finished():
            if iteration_due():
                await self._iterate()
                continue
            if self._landing_check_due():
                await self._check_landing()
                continue
            auto_step = self._auto_step_due()
            if auto_step is not None:
                await self._take_auto_step(auto_step)
                continue
            if not waiting():
                await workflow.wait_condition(
                    lambda: (
                        finished()
                        or waiting()
                        or iteration_due()
                        or self._landing_check_due()
                        or self._auto_step_due() is not None
                    )
                )
                continue
            try:
                await workflow.wait_condition(
                    lambda: finished() or not waiting() or iteration_due(),
                    timeout=self._reconcile_every,
                )
            except TimeoutError:
                if self._step is None:
                    try:
                        await self._reconcile(Actor.WORKFLOW, dry_run=False)
                    except ApplicationError as err:
                        workflow.logger.warning("reconcile failed: %s", err.message)

    # ---- reads ---------------------------------------------------------------------------

    @workflow.query
    def get_run(self) -> RunRecord:
        return self._record

    # ---- operator commands that move the run -------------------------------------------------

    @workflow.update
    def start_discovery(self, request: CommandRequest) -> CommandResult:
        return self._apply("start-discovery", request, RunState.DISCOVERY)

    @start_discovery.validator
    def _validate_start_discovery(self, request: CommandRequest) -> None:
        self._validate("start-discovery", request, RunState.DISCOVERY)

    @workflow.update
    def mark_plan_ready(self, request: ContractRequest) -> CommandResult:
        def effect(record: RunRecord) -> None:
            record.contract = ContractRef(
                path=request.contract_path, sha256=request.contract_sha256
            )
            record.reports["contract"] = request.contract_path

        return self._apply("mark-plan-ready", request, RunState.PLAN_READY, effect)

    @mark_plan_ready.validator
    def _validate_mark_plan_ready(self, request: ContractRequest) -> None:
        self._validate("mark-plan-ready", request, RunState.PLAN_READY)

    @workflow.update
    def start_implementation(self, request: CommandRequest) -> CommandResult:
        return self._apply("start-implementation", request, RunState.IMPLEMENTING)

    @start_implementation.validator
    def _validate_start_implementation(self, request: CommandRequest) -> None:
        self._validate("start-implementation", request, RunState.IMPLEMENTING)

    @workflow.update
    def mark_local_validated(self, request: CommandRequest) -> CommandResult:
        return self._apply("mark-local-validated", request, RunState.LOCAL_VALIDATING)

    @mark_local_validated.validator
    def _validate_mark_local_validated(self, request: CommandRequest) -> None:
        self._validate("mark-local-validated", request, RunState.LOCAL_VALIDATING)

    @workflow.update
    def mark_done(self, request: CommandRequest) -> CommandResult:
        return self._apply("mark-done", request, RunState.DONE)

    @mark_done.validator
    def _validate_mark_done(self, request: CommandRequest) -> None:
        self._validate("mark-done", request, RunState.DONE)

    @workflow.update
    async def pause(self, request: CommandRequest) -> CommandResult:
        if self._auto and self._step is not None and not self._is_duplicate("pause", request):
            # Auto mode: stop the agent, or let the running step end, and start nothing new.
            await self._hold_steps()
            if not can_transition(self._record.state, RunState.PAUSED):
                raise refuse(
                    f"pause refused: run {self._record.run_id} moved on to "
                    f"{self._record.state} while its step ended",
                    Refusal.ILLEGAL_TRANSITION,
                )
        elif self._agent is not None and not self._is_duplicate("pause", request):
            # Stop the agent first: the activity stops its whole process group, then reports
            # the cancellation; only then is the run PAUSED.
            self._agent.cancel()
            await workflow.wait_condition(lambda: self._step is None)
        return self._apply("pause", request, RunState.PAUSED)

    @pause.validator
    def _validate_pause(self, request: CommandRequest) -> None:
        self._validate("pause", request, RunState.PAUSED, interrupts_agent=True)

    @workflow.update
    def resume(self, request: TargetStateRequest) -> CommandResult:
        return self._apply("resume", request, request.target_state)

    @resume.validator
    def _validate_resume(self, request: TargetStateRequest) -> None:
        if self._is_duplicate("resume", request):
            return
        if self._record.state != RunState.PAUSED:
            self._validate_can_act()
            raise_if(refuse_resume(self._record))
        self._validate("resume", request, request.target_state)

    @workflow.update
    def retry(self, request: TargetStateRequest) -> CommandResult:
        result = self._apply("retry", request, request.target_state)
        if request.target_state == RunState.ITERATING and can_iterate(self._record):
            self._carried.iterate_pending = True
        return result

    @retry.validator
    def _validate_retry(self, request: TargetStateRequest) -> None:
        self._validate("retry", request, request.target_state)

    # ---- campaigns: control comes down by signal (progress goes up from `_apply`) -----------

    @workflow.signal
    async def campaign_control(self, control: CampaignControl) -> None:
        """Pause, resume, cancel or retry on behalf of the campaign; a run that cannot follow
        (a human holds it, it is finished) stays as it is."""
        record = self._record
        if record.state.is_terminal:
            return
        if control.action == "budget_spent":
            record.campaign_money_spent = control.reason or "the campaign's money is spent"
            return
        if control.action == "budget_restored":
            if workflow.patched(MONEY_CAP_APPLIED):
                record.campaign_money_spent = None
            return
        by = CommandRequest(
            by=control.by,
            reason=f"campaign {record.campaign}: {control.action}"
            + (f" ({control.reason})" if control.reason else ""),
        )
        if control.action in ("pause", "cancel") and self._step is not None:
            await self._hold_steps()
        plan = control_plan(record, control)
        for target in plan.targets:
            self._apply(plan.command, by, target)
        if plan.paused_by_campaign is not None:
            record.paused_by_campaign = plan.paused_by_campaign
        if plan.iterate:
            self._carried.iterate_pending = True
