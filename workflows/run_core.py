"""The run workflow's core: its record, the one place a change is applied (with what follows
every change: search attributes, campaign progress, notifications), command validation, and
the step runner through which every activity-backed step goes.

The run's parts (steps, PR gate, GitHub tracking, auto driver) are mixins over this class;
`workflows/run.py` assembles them into IntegrationRunWorkflow. Where the run goes is decided
by the pure rules in `workflows/rules/`; this module only acts on their answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.workflow import ActivityHandle

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notifier
    from common.settings import notify_queue_for
    from contracts import (
        AgentStepResult,
        CarriedState,
        CommandRequest,
        CommandResult,
        Notification,
        NotificationResult,
        Refusal,
        RunProgress,
        RunRecord,
    )
    from contracts import search_attributes as sa
    from contracts.states import RunState

from workflows.rules.auto_driver import waits_for_plan_approval
from workflows.rules.campaign_apply import run_language
from workflows.rules.maintainer_policy import policy_note
from workflows.rules.notifications import change_notification
from workflows.rules.refusal import Refused
from workflows.rules.transitions import (
    busy_message,
    record_transition,
    refuse_acting,
    refuse_after_takeover,
    refuse_transition,
)

NOTIFY_GRACE = timedelta(minutes=10)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=2)
)
# Steps are idempotent activities: retrying one after a crash or a transient error is safe.
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=15),
    maximum_attempts=8,
)
STEP_HEARTBEAT = timedelta(minutes=2)
# How many explicit idempotency keys and GitHub facts a run remembers (carried across
# continue-as-new), and how many facts `show-run` shows.
REMEMBERED_KEYS = 1000
REMEMBERED_FACTS = 2000
SHOWN_FACTS = 200
# The campaign's signal for a run's news (by name: the run does not import the campaign).
CAMPAIGN_PROGRESS_SIGNAL = "run_progress"
CAMPAIGN_PR_SLOT_SIGNAL = "pr_slot_wanted"  # a run of the campaign asks for a PR slot
# The patch (in the campaign and in its runs) under which `campaign apply` with a changed money
# cap lifts or sets the campaign's money stop.
MONEY_CAP_APPLIED = "campaign-money-cap-applied"

Effect = Callable[[RunRecord], None]


def refusal_error(refused: Refused) -> ApplicationError:
    return ApplicationError(refused.message, type=refused.refusal.value, non_retryable=True)


def refuse(message: str, refusal: Refusal) -> ApplicationError:
    return refusal_error(Refused(message, refusal))


def raise_if(refused: Refused | None) -> None:
    if refused is not None:
        raise refusal_error(refused)


class RunCore:
    _record: RunRecord
    _carried: CarriedState
    _continue_as_new_after: int
    _reconcile_every: timedelta
    # The step (activity-backed command) in progress; other commands wait for it.
    _step: str | None
    # The running agent activity, so `pause` can cancel it (and wait until it stopped).
    _agent: ActivityHandle[AgentStepResult] | None
    _notifications: list[ActivityHandle[NotificationResult]]
    # Auto mode (set in run()): the main loop takes the next step itself between gates.
    _auto: bool
    # A pause waits for the running auto step to end; no new step starts meanwhile.
    _hold: bool
    # Progress reports to the campaign, awaited before the run closes.
    _reports: list[asyncio.Task[None]]
    # Auto mode reads the maintainers' rules before preparing (set in run(), patched).
    _checks_policy: bool
    _paces_prs: bool

    def _init_core(
        self, carried: CarriedState, continue_as_new_after: int, reconcile_every_s: int
    ) -> None:
        self._carried = carried
        self._continue_as_new_after = continue_as_new_after
        self._reconcile_every = timedelta(seconds=reconcile_every_s)
        self._step = None
        self._agent = None
        self._notifications = []
        self._auto = False
        self._hold = False
        self._reports = []
        self._checks_policy = False
        self._paces_prs = False

    # ---- the one place a command changes the record ------------------------------------------

    def _apply(
        self, command: str, request: CommandRequest, target: RunState, effect: Effect | None = None
    ) -> CommandResult:
        key = request.idempotency_key
        applied = self._carried.applied_commands
        if key is not None and key in applied:
            return applied[key].model_copy(update={"applied": False, "duplicate": True})
        record = self._record
        now = workflow.now()
        source = record_transition(record, command, request.by, request.reason, target, now)
        if effect is not None:
            effect(record)
        self._publish_search_attributes()
        result = CommandResult(
            run_id=record.run_id, command=command, from_state=source, to_state=target, at=now
        )
        self._remember(key, result)
        if target != source or command == "request-open-pr":
            self._report_progress()
        message = change_notification(record, command, request.reason, source, target)
        if message is not None:
            self._notify(*message)
        workflow.logger.info(
            "run %s: %s %s -> %s by %s", record.run_id, command, source, target, request.by
        )
        return result

    def _remember(self, key: str | None, result: CommandResult) -> None:
        if key is None:
            return
        applied = self._carried.applied_commands
        applied[key] = result
        while len(applied) > REMEMBERED_KEYS:
            applied.pop(next(iter(applied)))

    def _notify(self, kind: str, text: str) -> None:
        """Schedule a notification; it waits durably on the notify queue until a bot sends it."""
        if not self._record.notify:
            return
        self._notifications.append(
            workflow.start_activity_method(
                Notifier.send_notification,
                Notification(run_id=self._record.run_id, kind=kind, text=text),
                task_queue=notify_queue_for(workflow.info().task_queue),
                schedule_to_close_timeout=timedelta(days=3),
                retry_policy=NOTIFY_RETRY,
            )
        )

    def _report_progress(self) -> None:
        """The run's news for its campaign, by signal (the campaign never polls its runs)."""
        record = self._record
        if record.campaign_workflow_id is None:
            return
        progress = RunProgress(
            run_id=record.run_id,
            repo=record.full_name,
            state=record.state,
            verdict=record.grade.verdict.value if record.grade else None,
            reason_code=record.grade.reason_code if record.grade else None,
            pr_number=record.pr_number,
            pr_url=record.pr_url,
            seq=len(record.history),
            updated_at=workflow.now(),
            pr_requested=record.pr_request is not None,
            plan_waiting=record.state == RunState.PLAN_READY and waits_for_plan_approval(record),
            note=policy_note(record.maintainer_policy),
            default_branch=record.workspace.base_branch if record.workspace else None,
            language=run_language(record),
            taken_over_by=record.taken_over_by,
            cost_usd=record.cost_usd,
        )
        handle = workflow.get_external_workflow_handle(record.campaign_workflow_id)
        self._reports.append(
            asyncio.create_task(self._signal_quietly(handle, CAMPAIGN_PROGRESS_SIGNAL, progress))
        )
        self._reports = [task for task in self._reports if not task.done()]

    async def _signal_quietly(self, handle: Any, signal: str, argument: Any) -> None:
        try:
            await handle.signal(signal, argument)
        except FailureError as err:  # a campaign that has closed no longer listens
            workflow.logger.info("%s not delivered to %s: %s", signal, handle.id, err)

    def _publish_search_attributes(self) -> None:
        record = self._record
        wanted: list[SearchAttributePair[Any]] = [
            SearchAttributePair(sa.STATE, record.state.value),
            SearchAttributePair(sa.REPO, record.full_name),
        ]
        if record.pr_number is not None:
            wanted.append(SearchAttributePair(sa.PR, record.pr_number))
        if record.grade is not None:
            wanted.append(SearchAttributePair(sa.VERDICT, record.grade.verdict.value))
        if record.campaign:
            wanted.append(SearchAttributePair(sa.CAMPAIGN, record.campaign))
        if record.head_sha:
            wanted.append(SearchAttributePair(sa.HEAD_SHA, record.head_sha))
        if record.cost_usd > 0 and workflow.patched("cost-search-attribute"):
            wanted.append(SearchAttributePair(sa.COST_USD, record.cost_usd))
        landed = record.landed.landed if record.landed is not None else None
        if landed is not None and workflow.patched("landed-search-attribute"):
            wanted.append(SearchAttributePair(sa.LANDED, sa.LANDED_YES if landed else sa.LANDED_NO))
        current: TypedSearchAttributes = workflow.info().typed_search_attributes
        updates = [
            pair.key.value_set(pair.value) for pair in wanted if current.get(pair.key) != pair.value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= self._continue_as_new_after
            or info.is_continue_as_new_suggested()
        )

    # ---- validation (never mutates) --------------------------------------------------------

    def _is_duplicate(self, command: str, request: CommandRequest) -> bool:
        """True when this idempotency key already applied this command; the same key on
        another command is refused."""
        key = request.idempotency_key
        applied = self._carried.applied_commands
        if key is None or key not in applied:
            return False
        earlier = applied[key].command
        if earlier != command:
            raise refuse(
                f"idempotency key {key!r} was already used for {earlier!r} on run "
                f"{self._record.run_id}; use a new key",
                Refusal.IDEMPOTENCY_CONFLICT,
            )
        return True

    def _validate_can_act(self, interrupts_agent: bool = False) -> None:
        may_interrupt = interrupts_agent and (self._agent is not None or self._auto)
        raise_if(refuse_acting(self._record, self._step, may_interrupt))

    def _validate(
        self,
        command: str,
        request: CommandRequest,
        target: RunState,
        interrupts_agent: bool = False,
    ) -> None:
        if self._is_duplicate(command, request):
            return
        self._validate_can_act(interrupts_agent)
        raise_if(refuse_transition(command, self._record, target))
        raise_if(refuse_after_takeover(command, self._record, target))

    # ---- the step runner: one activity-backed step at a time ---------------------------------

    async def _run_step(
        self,
        name: str,
        activity: Callable[..., Any],
        argument: Any,
        timeout: timedelta,
        retry: RetryPolicy = STEP_RETRY,
        task_queue: str | None = None,
    ) -> Any:
        """Run one activity-backed step; other commands are refused while it runs."""
        if self._step is not None:  # two steps accepted in one activation
            raise refuse(busy_message(self._record.run_id, self._step), Refusal.RUN_BUSY)
        self._step = name
        try:
            return await workflow.execute_activity_method(
                activity,
                argument,
                start_to_close_timeout=timeout,
                heartbeat_timeout=STEP_HEARTBEAT,
                retry_policy=retry,
                task_queue=task_queue,
            )
        except ActivityError as err:
            cause = err.cause
            while isinstance(cause, ActivityError) and cause.cause is not None:
                cause = cause.cause
            detail = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise refuse(
                f"{name} failed for run {self._record.run_id}: {detail}", Refusal.STEP_FAILED
            ) from None
        finally:
            self._step = None
