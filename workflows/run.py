"""IntegrationRunWorkflow: one durable workflow per run; workflow id = run id.

The workflow owns the run record. Operator commands arrive as Updates whose validators refuse
illegal requests before anything enters history; reads are Queries. Commands are applied
synchronously (no awaits inside handlers), so two commands can never interleave.
"""

from __future__ import annotations

import hashlib
import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType, ActivityHandle

with workflow.unsafe.imports_passed_through():
    from activities.agent import AgentActivities
    from activities.checks import PreflightActivities
    from activities.github import GitHubActivities, GitHubReadActivities
    from activities.notify import Notifier
    from activities.pr_request import PrRequestActivities
    from activities.finish import FinishActivities
    from activities.workspace import WorkspaceActivities
    from contracts.policy import RunPolicy
    from common.settings import agent_queue_for, github_queue_for, notify_queue_for
    from contracts import search_attributes as sa
    # The campaign module refers to this one too: each reaches the other through its module.
    from workflows import campaign as campaign_workflow
    from workflows.definition_of_done import check_definition_of_done
    from contracts import (
        Actor,
        AgentGrade,
        AgentStepInput,
        AgentStepRequest,
        AgentStepResult,
        ApprovePrRequest,
        CampaignControl,
        Engine,
        DodBypass,
        GitHubEvent,
        GitHubFactRecord,
        PullRequestStatusInput,
        ReconcileRequest,
        OpenPrRequest,
        OpenPullRequestInput,
        PullRequestAsk,
        PullRequestInfo,
        CheckConclusion,
        CheckRecord,
        CheckRequest,
        CommandRequest,
        CommandResult,
        ContractRef,
        ContractRequest,
        FinishInput,
        FinishResult,
        FinishRequest,
        LinkPrRequest,
        Notification,
        NotificationResult,
        PreflightInput,
        PreflightRequest,
        PrepareInput,
        PrepareResult,
        PrRequestFileInput,
        PrepareRequest,
        ReviewRecord,
        ReviewRequest,
        ReviewState,
        RunMode,
        RunRecord,
        RunResult,
        RunProgress,
        RunStart,
        TargetStateRequest,
        Transition,
        Verdict,
    )
    from contracts.states import RunState, can_transition, describe_allowed, path_to

# ApplicationError types, so doors can tell refusals apart without parsing messages.
ILLEGAL_TRANSITION = "IllegalTransition"
RUN_FINISHED = "RunFinished"
IDEMPOTENCY_CONFLICT = "IdempotencyKeyConflict"
PR_MISMATCH = "PullRequestMismatch"
RUN_BUSY = "RunBusy"
STEP_FAILED = "StepFailed"
NOT_PREPARED = "WorkspaceNotPrepared"
PREFLIGHT_FAILED = "PreflightFailed"
STEP_CANCELLED = "StepCancelled"
AGENT_STEP = "run-agent-step"
PR_GATE = "PullRequestGate"
NOTIFY_GRACE = timedelta(minutes=10)
NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5),
                           maximum_interval=timedelta(minutes=2))
NO_PR = "NoPullRequest"
# States in which GitHub's facts (checks, reviews) move the run; a close or merge moves it from
# anywhere short of terminal, except PAUSED (the operator holds it).
WAITING_ON_GITHUB = {RunState.CI_WAIT, RunState.REVIEW_WAIT}
# What a campaign pause holds: runs that would otherwise act by themselves (runs waiting for a
# human, or failed, are already still).
CAMPAIGN_PAUSES = {RunState.QUEUED, RunState.DISCOVERY, RunState.PLAN_READY,
                   RunState.IMPLEMENTING, RunState.LOCAL_VALIDATING, RunState.EXECUTING,
                   RunState.ITERATING, RunState.CI_WAIT, RunState.REVIEW_WAIT}
REMEMBERED_FACTS = 2000
SHOWN_FACTS = 200
FAILING_CONCLUSIONS = {"failure", "timed_out", "cancelled", "action_required"}
GITHUB_TIMEOUT = timedelta(minutes=2)
# GitHub's rate-limit answers set their own delay (next_retry_delay); give them room.
GITHUB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=10,
)

# Steps are idempotent activities: retrying one after a crash or a transient error is safe.
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=15),
    maximum_attempts=8,
)
# A push that fails three times in a row needs a person (or a later run-finish, which pushes
# the commit already made); the operator waits on the answer, so keep this short.
FINISH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=3
)
PREPARE_TIMEOUT = timedelta(minutes=30)
FINISH_TIMEOUT = timedelta(minutes=15)
PREFLIGHT_TIMEOUT = timedelta(minutes=3)
STEP_HEARTBEAT = timedelta(minutes=2)

# States in which the next agent step changes code (a read-only sandbox cannot do that).
IMPLEMENTING_STATES = {
    RunState.PLAN_READY,
    RunState.IMPLEMENTING,
    RunState.ITERATING,
    RunState.LOCAL_VALIDATING,
    RunState.EXECUTING,
}
PREPARE_FROM = {RunState.QUEUED, RunState.DISCOVERY}
# Where an agent step may run: exploring (DISCOVERY) or changing code.
AGENT_STATES = {RunState.DISCOVERY, *IMPLEMENTING_STATES, RunState.NEEDS_HUMAN_REVIEW}
# An agent step is never retried by Temporal: whether to try again is the grade's decision.
AGENT_RETRY = RetryPolicy(maximum_attempts=1)
AGENT_HEARTBEAT = timedelta(seconds=30)
# The grade of an agent step whose worker was lost; auto mode takes such a step again, a few
# times, before a person has to.
INTERRUPTED = "agent_step_interrupted"
AUTO_INTERRUPTED_RETRIES = 3
# Beyond the agent's own wall clock: time to stop it and grade what it left.
AGENT_SLACK = timedelta(minutes=5)

# How many explicit idempotency keys a run remembers (carried across continue-as-new).
REMEMBERED_KEYS = 1000

CHECK_PASSING = {CheckConclusion.SUCCESS, CheckConclusion.NEUTRAL, CheckConclusion.SKIPPED}
CHECK_FAILING = {
    CheckConclusion.FAILURE,
    CheckConclusion.TIMED_OUT,
    CheckConclusion.CANCELLED,
    CheckConclusion.ACTION_REQUIRED,
}

Effect = Callable[[RunRecord], None]


def _refuse(message: str, error_type: str) -> ApplicationError:
    return ApplicationError(message, type=error_type, non_retryable=True)


@workflow.defn
class IntegrationRunWorkflow:
    @workflow.init
    def __init__(self, start: RunStart) -> None:
        self._continue_as_new_after = start.continue_as_new_after
        self._applied: dict[str, CommandResult] = dict(start.applied_commands)
        # The step (activity-backed command) in progress; other commands wait for it.
        self._step: str | None = None
        # The running agent activity, so `pause` can cancel it (and wait until it stopped).
        self._agent: ActivityHandle[AgentStepResult] | None = None
        # Facts from GitHub already applied (webhook and polling share the keys).
        self._facts_seen: list[str] = list(start.facts_seen)
        self._reconcile_every = timedelta(seconds=start.reconcile_every_s)
        # Set by `retry --target-state ITERATING` (or a failing fact in auto mode): the main
        # loop then runs one iteration (agent, grade, push) when no step is running.
        self._iterate_pending = False
        self._notifications: list[ActivityHandle[NotificationResult]] = []
        # Auto mode (set in run()): the main loop takes the next step itself between gates.
        self._auto = False
        # A pause waits for the running auto step to end; no new step starts meanwhile.
        self._hold = False
        # History length when the auto driver last acted: a step that left the record
        # unchanged is not tried again until something (an operator, GitHub) changes it.
        self._auto_tried_at = -1
        self._auto_interrupted_retries = 0
        # Progress reports to the campaign, awaited before the run closes.
        self._reports: list[asyncio.Task[None]] = []
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
        if workflow.patched("reconcile-timer"):
            await self._follow_github_until_done()
        else:
            await workflow.wait_condition(
                lambda: self._record.state.is_terminal or self._continue_as_new_due()
            )
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
            workflow.continue_as_new(
                RunStart(
                    spec=start.spec,
                    record=self._record,
                    applied_commands=self._applied,
                    continue_as_new_after=self._continue_as_new_after,
                    facts_seen=self._facts_seen[-REMEMBERED_FACTS:],
                    reconcile_every_s=int(self._reconcile_every.total_seconds()),
                )
            )
        return RunResult(record=self._record)

    async def _follow_github_until_done(self) -> None:
        """Wait for the end; while the run waits on GitHub, reconcile on a durable timer too
        (GitHub does not redeliver failed webhooks)."""

        def finished() -> bool:
            return self._record.state.is_terminal or self._continue_as_new_due()

        def waiting() -> bool:
            return self._record.state in WAITING_ON_GITHUB and self._record.pr_number is not None

        def iteration_due() -> bool:
            return self._iterate_pending and self._step is None

        while not finished():
            if iteration_due():
                await self._iterate()
                continue
            auto_step = self._auto_step_due()
            if auto_step is not None:
                self._auto_tried_at = len(self._record.history)
                await auto_step()
                continue
            if not waiting():
                await workflow.wait_condition(
                    lambda: finished() or waiting() or iteration_due()
                    or self._auto_step_due() is not None
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

    # ---- GitHub facts (webhook signals and polling) ---------------------------------------

    @workflow.signal
    def github_event(self, event: GitHubEvent) -> None:
        self._apply_github_fact(event, Actor.WEBHOOK, dry_run=False)

    @workflow.update
    async def reconcile_github(self, request: ReconcileRequest) -> CommandResult:
        before = self._record.state
        decisions = await self._reconcile(request.by, dry_run=request.dry_run)
        return CommandResult(
            run_id=self._record.run_id, command="sync-github", from_state=before,
            to_state=self._record.state, at=workflow.now(), applied=not request.dry_run,
            decisions=decisions,
        )

    @reconcile_github.validator
    def _validate_reconcile_github(self, request: ReconcileRequest) -> None:
        self._validate_can_act()
        if self._record.pr_number is None:
            raise _refuse(f"run {self._record.run_id} has no PR to reconcile", NO_PR)

    async def _reconcile(self, by: Actor, dry_run: bool) -> list[str]:
        record = self._record
        assert record.pr_number is not None
        status = await self._run_step(
            "sync-github",
            GitHubReadActivities.fetch_pull_request_status,
            PullRequestStatusInput(run_id=record.run_id, repo=record.full_name,
                                   pr_number=record.pr_number),
            GITHUB_TIMEOUT,
            GITHUB_RETRY,
        )
        return [self._apply_github_fact(fact, by, dry_run) for fact in status.facts]

    def _github_targets(self, event: GitHubEvent) -> list[RunState]:
        """Where this fact moves the run from its current state ([] = record only)."""
        state = self._record.state
        if event.kind == "pr_closed":
            if state == RunState.PAUSED:
                return []
            if event.merged:
                return path_to(state, RunState.DONE)
            return path_to(state, RunState.NEEDS_HUMAN_REVIEW)
        if state not in WAITING_ON_GITHUB:
            return []
        failing = event.conclusion is not None and event.conclusion.value in FAILING_CONCLUSIONS
        if event.kind in ("check_run", "check_suite") and failing:
            return [RunState.ITERATING]
        if event.kind == "check_suite" and event.conclusion == "success" and state == RunState.CI_WAIT:
            return [RunState.REVIEW_WAIT]
        if event.kind == "review" and event.review_state == ReviewState.CHANGES_REQUESTED:
            return [RunState.ITERATING]
        return []

    def _apply_github_fact(self, event: GitHubEvent, by: Actor, dry_run: bool) -> str:
        record = self._record
        key = event.fact_key
        summary = {
            "check_run": f"check {event.name} {event.conclusion}",
            "check_suite": f"checks {event.conclusion}",
            "review": f"review {event.review_state}",
            "pr_closed": "PR merged" if event.merged else "PR closed unmerged",
        }[event.kind]
        if key in self._facts_seen:
            return f"{summary}: already applied"
        if record.state.is_terminal:
            return f"{summary}: ignored, run is {record.state}"
        targets = self._github_targets(event)
        outcome = (" -> ".join(t.value for t in targets)) if targets else "recorded"
        if dry_run:
            return f"{summary}: would {'move ' + outcome if targets else 'record'}"
        request = CommandRequest(by=by, reason=f"{summary} ({event.source} {event.delivery_id})")
        for target in targets:
            self._apply(f"github:{event.kind}", request, target)
        if (targets and targets[-1] == RunState.ITERATING and record.mode == RunMode.AUTO
                and self._can_iterate()):
            self._iterate_pending = True
        if event.kind in ("check_run", "check_suite") and event.conclusion is not None:
            record.checks.append(CheckRecord(conclusion=event.conclusion, pr_number=record.pr_number,
                                             check_name=event.name, by=by, at=workflow.now()))
        elif event.kind == "review" and event.review_state is not None:
            record.reviews.append(ReviewRecord(review_state=event.review_state,
                                               pr_number=record.pr_number, by=by,
                                               at=workflow.now()))
        record.github_facts.append(GitHubFactRecord(
            fact_key=key, delivery_id=event.delivery_id, source=event.source, summary=summary,
            outcome=outcome, at=workflow.now(), detail=event.detail[:1000],
        ))
        del record.github_facts[:-SHOWN_FACTS]
        self._facts_seen.append(key)
        del self._facts_seen[:-REMEMBERED_FACTS]
        return f"{summary}: {outcome}"

    # ---- reads ---------------------------------------------------------------------------

    @workflow.query
    def get_run(self) -> RunRecord:
        return self._record

    # ---- operator commands -----------------------------------------------------------------

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
    async def link_pr(self, request: LinkPrRequest) -> CommandResult:
        head_sha: str | None = None
        if workflow.patched("link-pr-reads-head") and not self._is_duplicate("link-pr", request):
            # GitHub's check events for PRs from forks carry only the head commit: read it now
            # so webhooks find this run. Without a token (or off GitHub) the PR is linked as is.
            try:
                status = await self._run_step(
                    "link-pr",
                    GitHubReadActivities.fetch_pull_request_status,
                    PullRequestStatusInput(run_id=self._record.run_id,
                                           repo=self._record.full_name,
                                           pr_number=request.pr_number),
                    GITHUB_TIMEOUT,
                    RetryPolicy(maximum_attempts=2),
                )
                head_sha = status.head_sha
            except ApplicationError as err:
                workflow.logger.info("link-pr without reading the PR: %s", err.message)
        set_number = self._set_pr_number(request.pr_number)

        def effect(record: RunRecord) -> None:
            set_number(record)
            if head_sha:
                record.head_sha = head_sha

        return self._apply("link-pr", request, RunState.CI_WAIT, effect)

    @link_pr.validator
    def _validate_link_pr(self, request: LinkPrRequest) -> None:
        self._validate("link-pr", request, RunState.CI_WAIT)

    @workflow.update
    def record_check(self, request: CheckRequest) -> CommandResult:
        def effect(record: RunRecord) -> None:
            if request.pr_number is not None:
                self._set_pr_number(request.pr_number)(record)
            record.checks.append(
                CheckRecord(
                    conclusion=request.conclusion,
                    pr_number=record.pr_number,
                    check_name=request.check_name,
                    by=request.by,
                    at=workflow.now(),
                )
            )

        return self._apply("record-check", request, self._check_target(request), effect)

    @record_check.validator
    def _validate_record_check(self, request: CheckRequest) -> None:
        self._validate_pr_number(request.pr_number)
        self._validate("record-check", request, self._check_target(request))

    @workflow.update
    def record_review(self, request: ReviewRequest) -> CommandResult:
        def effect(record: RunRecord) -> None:
            if request.pr_number is not None:
                self._set_pr_number(request.pr_number)(record)
            record.reviews.append(
                ReviewRecord(
                    review_state=request.review_state,
                    pr_number=record.pr_number,
                    by=request.by,
                    at=workflow.now(),
                )
            )

        return self._apply("record-review", request, self._review_target(request), effect)

    @record_review.validator
    def _validate_record_review(self, request: ReviewRequest) -> None:
        self._validate_pr_number(request.pr_number)
        self._validate("record-review", request, self._review_target(request))

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
                raise _refuse(f"pause refused: run {self._record.run_id} moved on to "
                              f"{self._record.state} while its step ended", ILLEGAL_TRANSITION)
        elif self._agent is not None and not self._is_duplicate("pause", request):
            # Stop the agent first: the activity stops its whole process group, then reports
            # the cancellation; only then is the run PAUSED.
            self._agent.cancel()
            await workflow.wait_condition(lambda: self._step is None)
        return self._apply("pause", request, RunState.PAUSED)

    async def _hold_steps(self) -> None:
        """Wait until no step runs (cancelling a running agent); the auto driver starts none
        meanwhile."""
        self._hold = True
        try:
            if self._agent is not None:
                self._agent.cancel()
            await workflow.wait_condition(lambda: self._step is None)
        finally:
            self._hold = False

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
            raise _refuse(
                f"run {self._record.run_id} is not paused (state {self._record.state}); "
                "resume applies to PAUSED runs — use retry to move a failed run",
                ILLEGAL_TRANSITION,
            )
        self._validate("resume", request, request.target_state)

    @workflow.update
    def retry(self, request: TargetStateRequest) -> CommandResult:
        result = self._apply("retry", request, request.target_state)
        if request.target_state == RunState.ITERATING and self._can_iterate():
            self._iterate_pending = True
        return result

    @retry.validator
    def _validate_retry(self, request: TargetStateRequest) -> None:
        self._validate("retry", request, request.target_state)

    # ---- steps: commands that act through activities -----------------------------------------

    @workflow.update
    async def run_prepare(self, request: PrepareRequest) -> CommandResult:
        if self._is_duplicate("run-prepare", request):
            return self._apply("run-prepare", request, self._record.state)
        prepared = await self._prepare_workspace(request.branch)
        result = self._apply("run-prepare", request, RunState.DISCOVERY,
                             lambda _: self._record_workspace(prepared))
        return result.model_copy(update={"prepare": prepared})

    async def _prepare_workspace(self, branch: str | None) -> PrepareResult:
        record = self._record
        return await self._run_step(
            "run-prepare",
            WorkspaceActivities.prepare_workspace,
            PrepareInput(
                run_id=record.run_id, owner=record.owner, repo=record.repo,
                upstream_url=record.upstream_url, fork_url=record.fork_url,
                branch=branch
                or (record.workspace.branch if record.workspace else f"agentpr/{record.run_id}"),
            ),
            PREPARE_TIMEOUT,
        )

    def _record_workspace(self, prepared: PrepareResult) -> None:
        record = self._record
        record.workspace = prepared.workspace
        record.governance = prepared.governance
        record.policy = prepared.policy
        record.reports["governance"] = prepared.governance_report

    @run_prepare.validator
    def _validate_run_prepare(self, request: PrepareRequest) -> None:
        if self._is_duplicate("run-prepare", request):
            return
        self._validate_can_act()
        if self._record.state not in PREPARE_FROM:
            raise _refuse(
                f"run-prepare refused: run {self._record.run_id} is {self._record.state}; "
                "the workspace is prepared from QUEUED or DISCOVERY",
                ILLEGAL_TRANSITION,
            )

    @workflow.update
    async def run_preflight(self, request: PreflightRequest) -> CommandResult:
        if self._is_duplicate("run-preflight", request):
            return self._applied[request.idempotency_key or ""].model_copy(
                update={"applied": False, "duplicate": True}
            )
        record = self._record
        assert record.workspace is not None
        sandbox = request.codex_sandbox or (
            record.policy.codex_sandbox if record.policy else "danger-full-access"
        )
        checked = await self._run_step(
            "run-preflight",
            PreflightActivities.preflight,
            PreflightInput(
                run_id=record.run_id,
                workspace=record.workspace.path,
                codex_sandbox=sandbox,
                skip_network_check=request.skip_network_check,
                implementing=record.state in IMPLEMENTING_STATES,
                project_types=record.governance.project_types if record.governance else [],
            ),
            PREFLIGHT_TIMEOUT,
        )
        record.preflight = checked
        record.reports["preflight"] = checked.report
        record.updated_at = workflow.now()
        # A check, not a transition: recorded on the record, not in the state history.
        result = CommandResult(
            run_id=record.run_id, command="run-preflight", from_state=record.state,
            to_state=record.state, at=workflow.now(), preflight=checked,
        )
        self._remember(request.idempotency_key, result)
        return result

    @run_preflight.validator
    def _validate_run_preflight(self, request: PreflightRequest) -> None:
        if self._is_duplicate("run-preflight", request):
            return
        self._validate_can_act()
        self._validate_prepared("run-preflight")

    @workflow.update
    async def run_finish(self, request: FinishRequest) -> CommandResult:
        if self._is_duplicate("run-finish", request):
            return self._apply("run-finish", request, self._record.state)
        record = self._record
        assert record.workspace is not None
        finished = await self._run_step(
            "run-finish",
            FinishActivities.finish_run,
            self._finish_input(request.commit_title, request.changes, request.project),
            FINISH_TIMEOUT,
            FINISH_RETRY,
        )

        def effect(record: RunRecord) -> None:
            self._record_push(finished)
            record.changes = request.changes
            record.project = request.project

        result = self._apply("run-finish", request, RunState.PUSHED, effect)
        return result.model_copy(update={"finish": finished})

    @run_finish.validator
    def _validate_run_finish(self, request: FinishRequest) -> None:
        if self._is_duplicate("run-finish", request):
            return
        self._validate("run-finish", request, RunState.PUSHED)
        self._validate_prepared("run-finish")

    # ---- the PR gate: a PR opens only after a human confirms twice, exactly once ------------

    @workflow.update
    def request_open_pr(self, request: OpenPrRequest) -> CommandResult:
        if self._is_duplicate("request-open-pr", request):
            return self._apply("request-open-pr", request, self._record.state)
        return self._ask_for_pr(request)

    def _ask_for_pr(self, request: OpenPrRequest) -> CommandResult:
        record = self._record
        assert record.workspace is not None
        body = request.body
        ask = PullRequestAsk(
            title=request.title, body=body,
            body_sha256=hashlib.sha256(body.encode()).hexdigest(),
            base=request.base or record.workspace.base_branch,
            head=request.head or self._default_head(),
            request_file=request.request_file, request_file_sha256=request.request_file_sha256,
            token_sha256=request.token_sha256, expires_at=request.expires_at,
            requested_by=request.by, requested_at=workflow.now(),
            dod=check_definition_of_done(record, body),
        )

        def effect(record: RunRecord) -> None:
            record.pr_request = ask

        result = self._apply("request-open-pr", request, record.state, effect)
        self._notify("pr_request", (
            f"📬 {record.run_id} ({record.full_name}) waits for PR approval: {ask.title}\n"
            f"DoD {'met' if ask.dod.passed else 'NOT met: ' + '; '.join(ask.dod.failures)}\n"
            + ("Confirm token: agentpr show-pr-request --run-id " + record.run_id + "\n"
               if request.by == Actor.WORKFLOW else "")
            + f"Approve: /approve_pr {record.run_id} <confirm_token>  (expires "
            f"{ask.expires_at.isoformat(timespec='minutes')})"))
        return result.model_copy(update={"pr_request": ask})

    @request_open_pr.validator
    def _validate_request_open_pr(self, request: OpenPrRequest) -> None:
        if self._is_duplicate("request-open-pr", request):
            return
        self._validate_can_act()
        self._validate_prepared("request-open-pr")
        if self._record.state != RunState.PUSHED:
            raise _refuse(
                f"request-open-pr refused: run {self._record.run_id} is {self._record.state}; "
                "a PR is requested from PUSHED (run-finish first)",
                ILLEGAL_TRANSITION,
            )
        if request.head is None and self._default_head() == "":
            raise _refuse(
                "request-open-pr refused: the fork is not a GitHub repository this run knows; "
                "pass --head OWNER:BRANCH",
                PR_GATE,
            )

    @workflow.update
    async def approve_open_pr(self, request: ApprovePrRequest) -> CommandResult:
        record = self._record
        if self._is_duplicate("approve-open-pr", request) or self._already_approved(request):
            existing = PullRequestInfo(number=record.pr_number or 0, url=record.pr_url or "",
                                       head_sha=record.head_sha, created=False)
            result = self._apply("approve-open-pr", request, record.state)
            return result.model_copy(update={"pull_request": existing})
        ask = record.pr_request
        assert ask is not None
        bypass = None
        if not ask.dod.passed:
            bypass = DodBypass(by=request.by, reason=request.reason, at=workflow.now(),
                               failures=ask.dod.failures)
        opened = await self._run_step(
            "approve-open-pr",
            GitHubActivities.create_pull_request,
            OpenPullRequestInput(run_id=record.run_id, repo=record.full_name, title=ask.title,
                                 body=ask.body, base=ask.base, head=ask.head),
            GITHUB_TIMEOUT,
            GITHUB_RETRY,
            task_queue=github_queue_for(workflow.info().task_queue),
        )

        def effect(record: RunRecord) -> None:
            record.pr_number = opened.number
            record.pr_url = opened.url
            record.head_sha = opened.head_sha or record.head_sha
            record.dod_bypass = bypass

        result = self._apply("approve-open-pr", request, RunState.CI_WAIT, effect)
        return result.model_copy(update={"pull_request": opened})

    @approve_open_pr.validator
    def _validate_approve_open_pr(self, request: ApprovePrRequest) -> None:
        if self._is_duplicate("approve-open-pr", request) or self._already_approved(request):
            return
        self._validate_can_act()
        record = self._record
        ask = record.pr_request
        if record.state != RunState.PUSHED or ask is None:
            raise _refuse(
                f"approve-open-pr refused: run {record.run_id} is {record.state} and has no "
                "pending PR request; run request-open-pr first",
                PR_GATE,
            )
        if not request.confirm:
            raise _refuse("approve-open-pr refused: --confirm is required as well as the "
                          "confirm token (double confirmation)", PR_GATE)
        if request.token_sha256 != ask.token_sha256:
            raise _refuse("approve-open-pr refused: the confirm token does not match the "
                          "pending PR request", PR_GATE)
        if request.request_file_sha256 != ask.request_file_sha256:
            raise _refuse(f"approve-open-pr refused: the request file {ask.request_file} was "
                          "changed after request-open-pr; request again", PR_GATE)
        if workflow.now() >= ask.expires_at:
            raise _refuse(f"approve-open-pr refused: the PR request expired at "
                          f"{ask.expires_at.isoformat(timespec='seconds')}; request again",
                          PR_GATE)
        if not ask.dod.passed and not request.allow_dod_bypass:
            raise _refuse("approve-open-pr refused: definition of done not met ("
                          + "; ".join(ask.dod.failures) + "); fix it or pass --allow-dod-bypass",
                          PR_GATE)

    def _already_approved(self, request: ApprovePrRequest) -> bool:
        """A second approval of the request that opened the run's PR: answered, not redone."""
        record = self._record
        ask = record.pr_request
        return (
            record.pr_number is not None
            and ask is not None
            and record.state != RunState.PUSHED
            and request.token_sha256 == ask.token_sha256
            and request.request_file_sha256 == ask.request_file_sha256
        )

    def _default_head(self) -> str:
        workspace = self._record.workspace
        if workspace is None or not workspace.fork_full_name:
            return ""
        return f"{workspace.fork_full_name.split('/')[0]}:{workspace.branch}"

    @workflow.update
    async def run_agent_step(self, request: AgentStepRequest) -> CommandResult:
        if self._is_duplicate(AGENT_STEP, request):
            return self._apply(AGENT_STEP, request, self._record.state)
        outcome, result = await self._agent_step(request)
        return result.model_copy(update={"agent": outcome})

    async def _agent_step(
        self, request: AgentStepRequest, validated_after: bool = False
    ) -> tuple[AgentStepResult, CommandResult]:
        """Preflight (unless skipped), the agent, then converge the state by the grade. With
        `validated_after`, a validation step supplies the test evidence, so the agent's own
        step is not graded down for running no tests."""
        record = self._record
        assert record.workspace is not None
        policy = record.policy or RunPolicy()
        sandbox = request.codex_sandbox or policy.codex_sandbox
        state = record.state
        if not request.skip_preflight:
            checked = await self._run_step(
                AGENT_STEP,
                PreflightActivities.preflight,
                PreflightInput(
                    run_id=record.run_id, workspace=record.workspace.path, codex_sandbox=sandbox,
                    skip_network_check=request.skip_network_check,
                    implementing=state in IMPLEMENTING_STATES,
                    project_types=record.governance.project_types if record.governance else [],
                ),
                PREFLIGHT_TIMEOUT,
            )
            record.preflight = checked
            record.reports["preflight"] = checked.report
            if checked.verdict != "PASS":
                failed = next(c for c in checked.checks if c.status == "fail")
                raise _refuse(
                    f"run-agent-step refused: preflight failed ({failed.name}: {failed.detail}); "
                    f"report {checked.report}; fix it or pass --skip-preflight",
                    PREFLIGHT_FAILED,
                )
        record.agent_attempts += 1
        step_input = self._agent_step_input(request, state, request.prompt)
        if validated_after:
            step_input.policy = step_input.policy.model_copy(
                update={"require_test_evidence": False})
        record.agent_request = request.model_copy(update={"idempotency_key": None})
        outcome = await self._run_agent(step_input)
        return outcome, self._record_agent_outcome(AGENT_STEP, request, outcome,
                                                   request.success_state)

    def _record_agent_outcome(
        self,
        command: str,
        request: CommandRequest,
        outcome: AgentStepResult,
        success_state: RunState | None,
        kind: str = "agent",
    ) -> CommandResult:
        """Converge the state by the grade, as the previous tool did: PASS → success state;
        HUMAN_REVIEW → NEEDS_HUMAN_REVIEW; RETRYABLE → FAILED_RETRYABLE."""
        state = self._record.state
        grade = outcome.grade
        if grade.verdict == Verdict.PASS:
            target = success_state or state
        elif grade.verdict == Verdict.HUMAN_REVIEW:
            target = RunState.NEEDS_HUMAN_REVIEW
        else:
            target = RunState.FAILED_RETRYABLE
        if not can_transition(state, target):
            # e.g. RETRYABLE in PLAN_READY, which has no FAILED_RETRYABLE edge: the nearest
            # failure state the table allows, else stay (the grade still records the verdict).
            target = RunState.FAILED if can_transition(state, RunState.FAILED) else state

        def effect(record: RunRecord) -> None:
            record.grade = grade
            record.last_agent_step = outcome
            record.reports[f"{kind}_runtime"] = outcome.report
            record.reports[f"{kind}_transcript"] = outcome.transcript

        return self._apply(command, request, target, effect)

    def _agent_step_input(
        self, ask: AgentStepRequest, state: RunState, prompt: str | None
    ) -> AgentStepInput:
        """What the agent activity gets, from a step request (operator's, or the one kept for
        iterations) and the run's policy."""
        record = self._record
        assert record.workspace is not None
        policy = record.policy or RunPolicy()
        return AgentStepInput(
            run_id=record.run_id, workspace=record.workspace.path,
            base_branch=record.workspace.base_branch, engine=ask.engine,
            prompt=prompt, command=ask.command,
            codex_sandbox=ask.codex_sandbox or policy.codex_sandbox,
            codex_model=ask.codex_model, codex_config=ask.codex_config,
            max_minutes=ask.max_minutes or policy.agent_timeout_minutes, state=state,
            policy=policy, attempt=record.agent_attempts, governance=record.governance,
        )

    def _finish_input(self, commit_title: str, changes: str, project: str) -> FinishInput:
        record = self._record
        assert record.workspace is not None
        return FinishInput(
            run_id=record.run_id, workspace=record.workspace.path,
            branch=record.workspace.branch, base_branch=record.workspace.base_branch,
            commit_title=commit_title, changes=changes, project=project,
            signoff=bool(record.governance and record.governance.dco_required),
        )

    def _record_push(self, finished: FinishResult) -> None:
        record = self._record
        record.commit = finished
        record.head_sha = finished.commit_sha
        record.reports["finish"] = finished.report

    # ---- iteration: CI failed or changes were requested ------------------------------------

    def _can_iterate(self) -> bool:
        record = self._record
        return record.agent_request is not None and record.workspace is not None \
            and record.pr_number is not None

    def _iteration_prompt(self) -> str:
        record = self._record
        assert record.agent_request is not None
        lines = [
            f"Iteration {record.iterations} on pull request #{record.pr_number} "
            f"({record.pr_url or record.full_name}).",
            "The pull request needs changes. Address what follows, keep the change minimal, "
            "and run the tests again.",
            "",
        ]
        facts = [f for f in record.github_facts if f.outcome.endswith("ITERATING")
                 or "failure" in f.summary or "changes_requested" in f.summary]
        for fact in facts[-10:]:
            lines.append(f"- {fact.summary}" + (f": {fact.detail}" if fact.detail else ""))
        lines += ["", "The original task:", record.agent_request.prompt or "(a command step)"]
        return "\n".join(lines)

    async def _iterate(self) -> None:
        """One iteration: agent in the same workspace, grade, commit + push to the same branch,
        back to CI_WAIT; past the policy's retry cap, a human decides."""
        self._iterate_pending = False
        record = self._record
        if record.state != RunState.ITERATING or not self._can_iterate():
            return
        assert record.agent_request is not None and record.workspace is not None
        policy = record.policy or RunPolicy()
        by = CommandRequest(by=Actor.WORKFLOW)
        record.iterations += 1
        if record.iterations > policy.retry_cap:
            self._apply("iterate", by.model_copy(update={"reason": (
                f"retry cap reached: {record.iterations - 1} iteration(s) did not get the PR "
                f"green (policy retry_cap {policy.retry_cap})")}), RunState.NEEDS_HUMAN_REVIEW)
            return
        ask = record.agent_request
        record.agent_attempts += 1
        step_input = self._agent_step_input(ask, RunState.ITERATING, self._iteration_prompt())
        reason = f"iteration {record.iterations}"
        try:
            outcome = await self._run_agent(step_input)
            self._record_agent_outcome("iterate", by.model_copy(update={"reason": reason}),
                                       outcome, RunState.LOCAL_VALIDATING)
            if record.state != RunState.LOCAL_VALIDATING:
                return  # graded for a human or a retry: the grade says why
            finished = await self._run_step(
                "iterate",
                FinishActivities.finish_run,
                self._finish_input("fix: address CI and review feedback",
                                   f"Iteration {record.iterations} on PR #{record.pr_number}.",
                                   record.project or record.repo),
                FINISH_TIMEOUT,
                FINISH_RETRY,
            )
        except ApplicationError as err:
            self._apply("iterate", by.model_copy(update={"reason": err.message}),
                        RunState.NEEDS_HUMAN_REVIEW if can_transition(
                            record.state, RunState.NEEDS_HUMAN_REVIEW) else record.state)
            return

        self._apply("iterate", by.model_copy(update={"reason": reason + " pushed"}),
                    RunState.PUSHED, lambda _: self._record_push(finished))
        self._apply("iterate", by.model_copy(update={"reason": f"PR #{record.pr_number} "
                                                     "updated; waiting for CI"}),
                    RunState.CI_WAIT)

    @run_agent_step.validator
    def _validate_run_agent_step(self, request: AgentStepRequest) -> None:
        if self._is_duplicate(AGENT_STEP, request):
            return
        self._validate_can_act()
        self._validate_prepared(AGENT_STEP)
        state = self._record.state
        if state not in AGENT_STATES:
            raise _refuse(
                f"run-agent-step refused: run {self._record.run_id} is {state}; agent steps run "
                "in DISCOVERY, PLAN_READY, IMPLEMENTING, LOCAL_VALIDATING, ITERATING, EXECUTING "
                "or NEEDS_HUMAN_REVIEW",
                ILLEGAL_TRANSITION,
            )
        target = request.success_state
        if target is not None and not can_transition(state, target):
            raise _refuse(
                f"run-agent-step refused: --success-state {target} cannot follow {state}; "
                + describe_allowed(state),
                ILLEGAL_TRANSITION,
            )

    async def _run_agent(self, step_input: AgentStepInput) -> AgentStepResult:
        """The agent activity on the agent queue; `pause` may cancel it while it runs."""
        if self._step is not None:
            raise _refuse(self._busy_message(), RUN_BUSY)
        self._step = AGENT_STEP
        self._agent = workflow.start_activity_method(
            AgentActivities.run_agent,
            step_input,
            task_queue=agent_queue_for(workflow.info().task_queue),
            start_to_close_timeout=timedelta(minutes=step_input.max_minutes) + AGENT_SLACK,
            heartbeat_timeout=AGENT_HEARTBEAT,
            retry_policy=AGENT_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        try:
            return await self._agent
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, CancelledError):
                raise _refuse(
                    f"run-agent-step for run {self._record.run_id} was cancelled (the run was "
                    "paused); the agent's process group was stopped",
                    STEP_CANCELLED,
                ) from None
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise _refuse(
                    f"run-agent-step failed for run {self._record.run_id}: {cause.message}",
                    STEP_FAILED,
                ) from None
            # The worker running the agent was lost (heartbeat timeout) or the step overran its
            # limits: grade it as retryable so the run shows it, instead of failing the command.
            detail = cause.message if isinstance(cause, ApplicationError) else str(cause)
            return AgentStepResult(
                engine=step_input.engine, exit_code=None, duration_s=0.0, transcript="",
                transcript_sha256="", transcript_bytes=0, event_count=0, report="",
                grade=AgentGrade(
                    verdict=Verdict.RETRYABLE, reason_code=INTERRUPTED,
                    next_action=f"retry the step: agentpr run-agent-step --run-id "
                    f"{self._record.run_id} …",
                    at=workflow.now(), reasons=[f"the agent activity did not finish: {detail}"],
                ),
            )
        finally:
            self._step = None
            self._agent = None

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
            raise _refuse(self._busy_message(), RUN_BUSY)
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
            raise _refuse(f"{name} failed for run {self._record.run_id}: {detail}", STEP_FAILED)
        finally:
            self._step = None

    # ---- auto mode: the run takes its own steps and stops at every human gate ---------------

    def _auto_step_due(self) -> Callable[[], Awaitable[None]] | None:
        """The next step an auto-mode run takes by itself, or None (a gate, a failure, a
        pause, or a step already tried on this record)."""
        record = self._record
        if (not self._auto or self._hold or self._step is not None or self._iterate_pending
                or len(record.history) == self._auto_tried_at):
            return None
        state = record.state
        if (state == RunState.FAILED_RETRYABLE and record.grade is not None
                and record.grade.reason_code == INTERRUPTED
                and self._auto_interrupted_retries < AUTO_INTERRUPTED_RETRIES):
            return self._auto_retry_interrupted
        if state == RunState.QUEUED:
            return self._auto_start
        if state == RunState.DISCOVERY and record.workspace is None:
            return self._auto_prepare
        if record.auto is None or record.workspace is None:
            return None  # nothing to run: an operator takes it from here
        if state in (RunState.DISCOVERY, RunState.PLAN_READY):
            return self._auto_plan
        if state in (RunState.IMPLEMENTING, RunState.EXECUTING):
            return self._auto_implement
        if state == RunState.LOCAL_VALIDATING:
            return self._auto_validate_and_push
        if state == RunState.PUSHED and record.pr_request is None and record.pr_number is None:
            return self._auto_request_pr
        return None

    async def _auto_retry_interrupted(self) -> None:
        """A worker was lost under a running agent: nobody judged the work, so take the step
        again (a few times) instead of waiting for a person."""
        self._auto_interrupted_retries += 1
        failed_from = self._record.history[-1].from_state
        if failed_from is not None and can_transition(self._record.state, failed_from):
            self._apply("retry", self._auto_by("the agent's worker was lost; taking the step "
                                               "again"), failed_from)

    def _auto_by(self, reason: str) -> CommandRequest:
        return CommandRequest(by=Actor.WORKFLOW, reason=f"auto: {reason}")

    async def _auto_start(self) -> None:
        self._apply("start-discovery", self._auto_by("the run drives itself"), RunState.DISCOVERY)

    async def _auto_prepare(self) -> None:
        try:
            prepared = await self._prepare_workspace(None)
        except ApplicationError as err:
            self._auto_failed("run-prepare", err)
            return
        self._apply("run-prepare", self._auto_by("workspace prepared"), RunState.DISCOVERY,
                    lambda _: self._record_workspace(prepared))

    async def _auto_plan(self) -> None:
        by = self._auto_by("the prompt is the plan")
        if self._record.state == RunState.DISCOVERY:
            self._apply("mark-plan-ready", by, RunState.PLAN_READY)
        self._apply("start-implementation", by, RunState.IMPLEMENTING)

    async def _auto_implement(self) -> None:
        record = self._record
        assert record.auto is not None
        executing = record.state == RunState.EXECUTING
        request = record.auto.step.model_copy(update={
            "by": Actor.WORKFLOW, "idempotency_key": None, "reason": "auto: agent step",
            "success_state": None if executing else RunState.LOCAL_VALIDATING,
        })
        try:
            await self._agent_step(request, validated_after=True)
        except ApplicationError as err:
            self._auto_failed(AGENT_STEP, err)
            return
        if executing and record.state == RunState.EXECUTING and not self._hold:
            # EXECUTING goes straight to PUSHED: validate and push in the same breath.
            await self._auto_validate_and_push()

    async def _auto_validate_and_push(self) -> None:
        """The validation step (the repository's own test command, so even a codemod has test
        evidence), then commit and push."""
        record = self._record
        assert record.auto is not None and record.workspace is not None
        plan = record.auto
        state = record.state
        detected = record.governance.test_commands if record.governance else []
        command = plan.validation_command or (detected[0] if detected else None)
        try:
            if command is not None:
                check = AgentStepRequest(
                    by=Actor.WORKFLOW, reason=f"auto: validation `{command}`",
                    engine=Engine.COMMAND, command=command, max_minutes=plan.step.max_minutes,
                )
                outcome = await self._run_agent(self._agent_step_input(check, state, None))
                self._record_agent_outcome("validate", check, outcome, state, kind="validation")
                if record.state != state:
                    return  # graded for a human or a retry: the grade says why
            else:
                self._apply("validate", self._auto_by(
                    "no test command detected; the definition of done will say so"), state)
            if self._hold:
                return  # a pause is waiting; validation runs again after resume
            finished = await self._run_step(
                "run-finish", FinishActivities.finish_run,
                self._finish_input(plan.commit_title, plan.changes, record.repo),
                FINISH_TIMEOUT, FINISH_RETRY,
            )
        except ApplicationError as err:
            self._auto_failed("validate", err)
            return

        def effect(record: RunRecord) -> None:
            self._record_push(finished)
            record.changes = plan.changes
            record.project = record.repo

        self._apply("run-finish", self._auto_by("pushed"), RunState.PUSHED, effect)

    async def _auto_request_pr(self) -> None:
        """Write the PR request and wait: opening it takes a human's double confirmation."""
        record = self._record
        assert record.auto is not None and record.workspace is not None
        head = self._default_head()
        if not head:
            workflow.logger.info("run %s: no GitHub fork known; request-open-pr --head is for "
                                 "an operator", record.run_id)
            return
        try:
            written = await self._run_step(
                "request-open-pr", PrRequestActivities.write_pr_request,
                PrRequestFileInput(run_id=record.run_id, repo=record.full_name,
                                   title=record.auto.pr_title, body=record.auto.pr_body,
                                   base=record.workspace.base_branch, head=head,
                                   ttl_minutes=record.auto.pr_ttl_minutes),
                GITHUB_TIMEOUT,
            )
        except ApplicationError as err:
            workflow.logger.warning("run %s: PR request not written: %s", record.run_id,
                                    err.message)
            return
        self._ask_for_pr(OpenPrRequest(
            by=Actor.WORKFLOW, reason="auto: waiting for a human to approve the PR",
            title=record.auto.pr_title, body=record.auto.pr_body,
            request_file=written.request_file, request_file_sha256=written.request_file_sha256,
            token_sha256=written.token_sha256, expires_at=written.expires_at,
        ))

    def _auto_failed(self, command: str, err: ApplicationError) -> None:
        """A step failed (retries spent): park the run where `retry` takes it back."""
        if err.type == STEP_CANCELLED:
            return  # paused: the pause records it
        state = self._record.state
        for target in (RunState.FAILED_RETRYABLE, RunState.NEEDS_HUMAN_REVIEW, RunState.FAILED):
            if can_transition(state, target) and target != state:
                self._apply(command, self._auto_by(err.message), target)
                return

    # ---- campaigns: progress goes up by signal, control comes down by signal ---------------

    @workflow.signal
    async def campaign_control(self, control: CampaignControl) -> None:
        """Pause, resume, cancel or retry on behalf of the campaign; a run that cannot follow
        (a human holds it, it is finished) stays as it is."""
        record = self._record
        by = CommandRequest(by=control.by, reason=f"campaign {record.campaign}: {control.action}"
                            + (f" ({control.reason})" if control.reason else ""))
        if record.state.is_terminal:
            return
        if control.action in ("pause", "cancel") and self._step is not None:
            await self._hold_steps()
        state = record.state
        if control.action == "pause":
            if state in CAMPAIGN_PAUSES and can_transition(state, RunState.PAUSED):
                self._apply("pause", by, RunState.PAUSED)
                record.paused_by_campaign = True
        elif control.action == "resume":
            if state == RunState.PAUSED and record.paused_by_campaign:
                back = record.paused_from or RunState.DISCOVERY
                target = back if can_transition(state, back) else RunState.DISCOVERY
                self._apply("resume", by, target)
                record.paused_by_campaign = False
        elif control.action == "cancel":
            # SKIPPED where the table allows it, else the terminal failure; never via a detour.
            chain = next(([end] for end in (RunState.SKIPPED, RunState.FAILED_TERMINAL)
                          if can_transition(state, end)), path_to(state, RunState.SKIPPED))
            for target in chain:
                self._apply("cancel", by, target)
        elif control.action == "retry" and state in (RunState.FAILED_RETRYABLE, RunState.FAILED):
            failed_from = next((t.from_state for t in reversed(record.history)
                                if t.to_state == state and t.from_state != state), None)
            target = failed_from if failed_from and can_transition(state, failed_from) \
                else RunState.EXECUTING
            if failed_from == RunState.QUEUED:
                target = RunState.DISCOVERY
            if can_transition(state, target):
                self._apply("retry", by, target)
                if target == RunState.ITERATING and self._can_iterate():
                    self._iterate_pending = True

    def _report_progress(self) -> None:
        record = self._record
        if record.campaign_workflow_id is None:
            return
        progress = RunProgress(
            run_id=record.run_id, repo=record.full_name, state=record.state,
            verdict=record.grade.verdict.value if record.grade else None,
            reason_code=record.grade.reason_code if record.grade else None,
            pr_number=record.pr_number, pr_url=record.pr_url, seq=len(record.history),
            updated_at=workflow.now(), pr_requested=record.pr_request is not None,
        )
        CampaignWorkflow = campaign_workflow.CampaignWorkflow  # noqa: N806
        handle = workflow.get_external_workflow_handle_for(
            CampaignWorkflow.run, record.campaign_workflow_id)

        async def send() -> None:
            try:
                await handle.signal(CampaignWorkflow.run_progress, progress)
            except Exception as err:  # a campaign that has closed no longer listens
                workflow.logger.info("progress not delivered to %s: %s",
                                     record.campaign_workflow_id, err)

        self._reports.append(asyncio.create_task(send()))
        self._reports = [task for task in self._reports if not task.done()]

    # ---- the one place a command changes the record ------------------------------------------

    def _apply(
        self,
        command: str,
        request: CommandRequest,
        target: RunState,
        effect: Effect | None = None,
    ) -> CommandResult:
        key = request.idempotency_key
        if key is not None and key in self._applied:
            return self._applied[key].model_copy(update={"applied": False, "duplicate": True})
        record = self._record
        now = workflow.now()
        source = record.state
        record.history.append(
            Transition(
                from_state=source,
                to_state=target,
                by=request.by,
                at=now,
                command=command,
                reason=request.reason,
            )
        )
        if target == RunState.PAUSED and source != RunState.PAUSED:
            record.paused_from = source
        elif target != RunState.PAUSED:
            record.paused_from = None
        record.state = target
        record.updated_at = now
        if effect is not None:
            effect(record)
        self._publish_search_attributes()
        result = CommandResult(
            run_id=record.run_id, command=command, from_state=source, to_state=target, at=now
        )
        self._remember(key, result)
        if target != source or command == "request-open-pr":
            self._report_progress()
        if target != source and target == RunState.NEEDS_HUMAN_REVIEW:
            grade = record.grade
            self._notify("needs_human_review", "\n".join(filter(None, [
                f"🙋 {record.run_id} ({record.full_name}) needs a human: {request.reason or command}",
                f"verdict {grade.verdict} ({grade.reason_code}); next: {grade.next_action}"
                if grade and command in (AGENT_STEP, "iterate") else None,
            ])))
        elif target == RunState.DONE and command == "github:pr_closed":
            self._notify("pr_merged", f"✅ {record.run_id}: PR #{record.pr_number} merged "
                         f"({record.pr_url or record.full_name}); run DONE")
        workflow.logger.info(
            "run %s: %s %s -> %s by %s", record.run_id, command, source, target, request.by
        )
        return result

    def _notify(self, kind: str, text: str) -> None:
        """Schedule a notification; it waits durably on the notify queue until a bot sends it."""
        if not self._record.notify:
            return
        self._notifications.append(workflow.start_activity_method(
            Notifier.send_notification,
            Notification(run_id=self._record.run_id, kind=kind, text=text),
            task_queue=notify_queue_for(workflow.info().task_queue),
            schedule_to_close_timeout=timedelta(days=3),
            retry_policy=NOTIFY_RETRY,
        ))

    def _remember(self, key: str | None, result: CommandResult) -> None:
        if key is None:
            return
        self._applied[key] = result
        while len(self._applied) > REMEMBERED_KEYS:
            self._applied.pop(next(iter(self._applied)))

    # ---- validation (never mutates) --------------------------------------------------------

    def _is_duplicate(self, command: str, request: CommandRequest) -> bool:
        key = request.idempotency_key
        if key is None or key not in self._applied:
            return False
        earlier = self._applied[key].command
        if earlier != command:
            raise _refuse(
                f"idempotency key {key!r} was already used for {earlier!r} on run "
                f"{self._record.run_id}; use a new key",
                IDEMPOTENCY_CONFLICT,
            )
        return True

    def _validate_can_act(self, interrupts_agent: bool = False) -> None:
        state = self._record.state
        if state.is_terminal:
            raise _refuse(
                f"run {self._record.run_id} is finished ({state}); no command applies",
                RUN_FINISHED,
            )
        if self._step is not None and not (
            interrupts_agent and (self._agent is not None or self._auto)
        ):
            raise _refuse(self._busy_message(), RUN_BUSY)

    def _busy_message(self) -> str:
        return (
            f"run {self._record.run_id} is busy: {self._step} is in progress; "
            "try again when it finishes"
        )

    def _validate_prepared(self, command: str) -> None:
        if self._record.workspace is None:
            raise _refuse(
                f"{command} refused: run {self._record.run_id} has no workspace yet; "
                "run `agentpr run-prepare` first",
                NOT_PREPARED,
            )

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
        current = self._record.state
        if not can_transition(current, target):
            raise _refuse(
                f"{command} refused: run {self._record.run_id} cannot go {current} -> {target}; "
                + describe_allowed(current),
                ILLEGAL_TRANSITION,
            )

    def _validate_pr_number(self, pr_number: int | None) -> None:
        linked = self._record.pr_number
        if pr_number is not None and linked is not None and pr_number != linked:
            raise _refuse(
                f"run {self._record.run_id} tracks PR #{linked}, not #{pr_number}",
                PR_MISMATCH,
            )

    # ---- derived targets -------------------------------------------------------------------

    def _check_target(self, request: CheckRequest) -> RunState:
        if request.conclusion in CHECK_PASSING:
            return RunState.REVIEW_WAIT
        if request.conclusion in CHECK_FAILING:
            return RunState.ITERATING
        return self._record.state  # stale: recorded, no move

    def _review_target(self, request: ReviewRequest) -> RunState:
        if request.review_state == ReviewState.CHANGES_REQUESTED:
            return RunState.ITERATING
        return self._record.state  # approval or comment: recorded; merge moves the run

    def _set_pr_number(self, pr_number: int) -> Effect:
        def effect(record: RunRecord) -> None:
            record.pr_number = pr_number

        return effect

    # ---- plumbing --------------------------------------------------------------------------

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= self._continue_as_new_after
            or info.is_continue_as_new_suggested()
        )

    def _publish_search_attributes(self) -> None:
        record = self._record
        wanted: list[SearchAttributePair] = [
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
        current: TypedSearchAttributes = workflow.info().typed_search_attributes
        updates = [
            pair.key.value_set(pair.value)
            for pair in wanted
            if current.get(pair.key) != pair.value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)
