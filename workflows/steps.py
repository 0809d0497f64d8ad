"""The run's steps: commands that act through activities — prepare the workspace, preflight,
the agent step (codex, claude or a command) graded into the next state, finish (commit and
push), and iteration on a failing PR. One step runs at a time; `pause` may cancel an agent.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.agent import AgentActivities
    from activities.checks import PreflightActivities
    from activities.finish import FinishActivities
    from activities.model import ModelActivities
    from activities.workspace import WorkspaceActivities
    from common.settings import agent_queue_for
    from contracts import (
        Actor,
        AgentGrade,
        AgentStepInput,
        AgentStepRequest,
        AgentStepResult,
        CommandRequest,
        CommandResult,
        Engine,
        FinishInput,
        FinishRequest,
        FinishResult,
        PreflightInput,
        PreflightRequest,
        PreflightResult,
        PrepareInput,
        PrepareRequest,
        PrepareResult,
        ReasonCode,
        Refusal,
        ReplyClassification,
        ReplyClassificationInput,
        RunRecord,
        SemanticReview,
        SemanticReviewInput,
        Verdict,
    )
    from contracts.bounds import MAX_REASON, clip
    from contracts.policy import CodexSandbox, RunPolicy
    from contracts.states import RunState, can_transition

from workflows.rules.disclosure import assisting_agent
from workflows.rules.github_facts import remember_push
from workflows.rules.grades import target_for_grade
from workflows.rules.iteration import (
    can_iterate,
    iteration_feedback,
    iteration_prompt,
    retry_cap_reason,
)
from workflows.rules.maintainer_replies import (
    classify_by_rules,
    reply_notification,
    reply_text,
    reply_to_read,
)
from workflows.rules.semantic_review import review_kind, reviewed_grade
from workflows.rules.skill_stages import discovery_target, remember_stage, skill_stage_input
from workflows.rules.spend import add_step_cost, cost_cap, cost_left
from workflows.rules.transitions import (
    busy_message,
    refuse_agent_step,
    refuse_prepare,
    refuse_unprepared,
)
from workflows.run_core import RunCore, raise_if, refuse
from workflows.states import step_changes_code

AGENT_STEP = "run-agent-step"
# A push that fails three times in a row needs a person (or a later run-finish, which pushes
# the commit already made); the operator waits on the answer, so keep this short.
FINISH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=3
)
PREPARE_TIMEOUT = timedelta(minutes=30)
FINISH_TIMEOUT = timedelta(minutes=15)
PREFLIGHT_TIMEOUT = timedelta(minutes=3)
# An agent step is never retried by Temporal: whether to try again is the grade's decision.
AGENT_RETRY = RetryPolicy(maximum_attempts=1)
AGENT_HEARTBEAT = timedelta(seconds=30)
# Beyond the agent's own wall clock: time to stop it and grade what it left.
AGENT_SLACK = timedelta(minutes=5)
SEMANTIC_REVIEW = "semantic-review"
READ_REPLY = "read-maintainer-reply"
# The model's call has its own timeout (AGENTPR_LLM_TIMEOUT_S); this bounds the activity. A
# timeout or a 5xx is tried three times in all, a 4xx or a malformed answer once: then the
# rules' grade stands.
MODEL_TIMEOUT = timedelta(minutes=3)
MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
)


class RunSteps(RunCore):
    # ---- workspace ---------------------------------------------------------------------------

    @workflow.update
    async def run_prepare(self, request: PrepareRequest) -> CommandResult:
        if self._is_duplicate("run-prepare", request):
            return self._apply("run-prepare", request, self._record.state)
        prepared = await self._prepare_workspace(request.branch)
        result = self._apply(
            "run-prepare", request, RunState.DISCOVERY, lambda _: self._record_workspace(prepared)
        )
        return result.model_copy(update={"prepare": prepared})

    @run_prepare.validator
    def _validate_run_prepare(self, request: PrepareRequest) -> None:
        if self._is_duplicate("run-prepare", request):
            return
        self._validate_can_act()
        raise_if(refuse_prepare(self._record))

    async def _prepare_workspace(self, branch: str | None) -> PrepareResult:
        record = self._record
        prepared: PrepareResult = await self._run_step(
            "run-prepare",
            WorkspaceActivities.prepare_workspace,
            PrepareInput(
                run_id=record.run_id,
                owner=record.owner,
                repo=record.repo,
                upstream_url=record.upstream_url,
                fork_url=record.fork_url,
                branch=branch
                or (record.workspace.branch if record.workspace else f"agentpr/{record.run_id}"),
            ),
            PREPARE_TIMEOUT,
        )
        return prepared

    def _record_workspace(self, prepared: PrepareResult) -> None:
        record = self._record
        record.workspace = prepared.workspace
        record.governance = prepared.governance
        record.policy = prepared.policy
        record.reports["governance"] = prepared.governance_report

    # ---- preflight ---------------------------------------------------------------------------

    @workflow.update
    async def run_preflight(self, request: PreflightRequest) -> CommandResult:
        if self._is_duplicate("run-preflight", request):
            return self._carried.applied_commands[request.idempotency_key or ""].model_copy(
                update={"applied": False, "duplicate": True}
            )
        record = self._record
        sandbox = request.codex_sandbox or (
            record.policy.codex_sandbox if record.policy else "danger-full-access"
        )
        checked = await self._preflight("run-preflight", sandbox, request.skip_network_check)
        record.updated_at = workflow.now()
        # A check, not a transition: recorded on the record, not in the state history.
        result = CommandResult(
            run_id=record.run_id,
            command="run-preflight",
            from_state=record.state,
            to_state=record.state,
            at=workflow.now(),
            preflight=checked,
        )
        self._remember(request.idempotency_key, result)
        return result

    @run_preflight.validator
    def _validate_run_preflight(self, request: PreflightRequest) -> None:
        if self._is_duplicate("run-preflight", request):
            return
        self._validate_can_act()
        raise_if(refuse_unprepared("run-preflight", self._record))

    async def _preflight(
        self, step: str, sandbox: CodexSandbox, skip_network_check: bool
    ) -> PreflightResult:
        record = self._record
        assert record.workspace is not None
        checked: PreflightResult = await self._run_step(
            step,
            PreflightActivities.preflight,
            PreflightInput(
                run_id=record.run_id,
                workspace=record.workspace.path,
                codex_sandbox=sandbox,
                skip_network_check=skip_network_check,
                implementing=step_changes_code(record.state),
                project_types=record.governance.project_types if record.governance else [],
            ),
            PREFLIGHT_TIMEOUT,
        )
        record.preflight = checked
        record.reports["preflight"] = checked.report
        return checked

    # ---- finish: commit and push -------------------------------------------------------------

    @workflow.update
    async def run_finish(self, request: FinishRequest) -> CommandResult:
        if self._is_duplicate("run-finish", request):
            return self._apply("run-finish", request, self._record.state)
        finished = await self._finish(
            "run-finish", request.commit_title, request.changes, request.project
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
        raise_if(refuse_unprepared("run-finish", self._record))

    async def _finish(
        self, step: str, commit_title: str, changes: str, project: str
    ) -> FinishResult:
        record = self._record
        assert record.workspace is not None
        finished: FinishResult = await self._run_step(
            step,
            FinishActivities.finish_run,
            FinishInput(
                run_id=record.run_id,
                workspace=record.workspace.path,
                branch=record.workspace.branch,
                base_branch=record.workspace.base_branch,
                commit_title=commit_title,
                changes=changes,
                project=project,
                signoff=bool(record.governance and record.governance.dco_required),
                assisted_by=assisting_agent(record),
            ),
            FINISH_TIMEOUT,
            FINISH_RETRY,
        )
        return finished

    def _record_push(self, finished: FinishResult) -> None:
        record = self._record
        record.commit = finished
        record.head_sha = finished.commit_sha
        remember_push(record, finished.commit_sha)
        record.reports["finish"] = finished.report

    # ---- the agent step --------------------------------------------------------------------

    @workflow.update
    async def run_agent_step(self, request: AgentStepRequest) -> CommandResult:
        if self._is_duplicate(AGENT_STEP, request):
            return self._apply(AGENT_STEP, request, self._record.state)
        outcome, result = await self._agent_step(request)
        return result.model_copy(update={"agent": outcome})

    @run_agent_step.validator
    def _validate_run_agent_step(self, request: AgentStepRequest) -> None:
        if self._is_duplicate(AGENT_STEP, request):
            return
        self._validate_can_act()
        raise_if(refuse_unprepared(AGENT_STEP, self._record))
        raise_if(refuse_agent_step(self._record, request.success_state))

    async def _agent_step(
        self, request: AgentStepRequest, validated_after: bool = False
    ) -> tuple[AgentStepResult, CommandResult]:
        """Preflight (unless skipped), the agent, then converge the state by the grade. With
        `validated_after`, a validation step supplies the test evidence, so the agent's own
        step is not graded down for running no tests."""
        record = self._record
        state = record.state
        await self._preflight_unless_skipped(request)
        record.agent_attempts += 1
        step_input = self._agent_step_input(request, state, request.prompt)
        if validated_after:
            step_input.policy = step_input.policy.model_copy(
                update={"require_test_evidence": False}
            )
        record.agent_request = request.model_copy(update={"idempotency_key": None})
        outcome = await self._run_agent(step_input)
        if not validated_after:  # else the model reads the step after its validation
            outcome = await self._semantic_review(outcome)
        return outcome, self._record_agent_outcome(
            AGENT_STEP, request, outcome, request.success_state
        )

    async def _preflight_unless_skipped(self, request: AgentStepRequest) -> None:
        if request.skip_preflight:
            return
        policy = self._record.policy or RunPolicy()
        checked = await self._preflight(
            AGENT_STEP, request.codex_sandbox or policy.codex_sandbox, request.skip_network_check
        )
        if checked.verdict != "PASS":
            failed = next(c for c in checked.checks if c.status == "fail")
            raise refuse(
                f"run-agent-step refused: preflight failed ({failed.name}: {failed.detail}); "
                f"report {checked.report}; fix it or pass --skip-preflight",
                Refusal.PREFLIGHT_FAILED,
            )

    async def _discovery_step(self, request: AgentStepRequest) -> CommandResult:
        """A skill pack's discovery stage (read-only): its contract decides where the run goes
        (rules/skill_stages.py discovery_target)."""
        record = self._record
        await self._preflight_unless_skipped(request)
        record.agent_attempts += 1
        record.discovery_attempts += 1
        outcome = await self._run_agent(
            self._agent_step_input(request, RunState.DISCOVERY, request.prompt)
        )
        target, reason = discovery_target(record, outcome)

        def effect(record: RunRecord) -> None:
            record.grade = outcome.grade
            record.last_agent_step = outcome
            remember_stage(record, outcome, RunState.DISCOVERY)
            add_step_cost(record, outcome)
            record.reports["discovery_runtime"] = outcome.report
            record.reports["discovery_transcript"] = outcome.transcript
            if outcome.contract is not None:
                record.repo_contract = outcome.contract
                if outcome.contract_file:
                    record.reports["contract"] = outcome.contract_file

        return self._apply(
            "discover",
            request.model_copy(update={"reason": clip(reason, MAX_REASON)}),
            target,
            effect,
        )

    async def _semantic_review(self, outcome: AgentStepResult) -> AgentStepResult:
        """The optional model reads a step the rules passed (rules/semantic_review.py decides
        which steps and what its answer may change); any failure leaves the rules' grade."""
        record = self._record
        kind = review_kind(record, outcome)
        if kind is None or not workflow.patched(SEMANTIC_REVIEW) or record.workspace is None:
            return outcome
        governance = record.governance
        rules_files = (
            [p for p in (governance.contributing, governance.pr_template) if p]
            if governance
            else []
        )
        try:
            review: SemanticReview = await self._run_step(
                SEMANTIC_REVIEW,
                ModelActivities.review_pass,
                SemanticReviewInput(
                    run_id=record.run_id,
                    workspace=record.workspace.path,
                    base_branch=record.workspace.base_branch,
                    grade=outcome.grade,
                    contract=record.repo_contract,
                    report=outcome.report or None,
                    rules_files=rules_files,
                    no_test_infra=kind == "no_test_infra",
                ),
                MODEL_TIMEOUT,
                MODEL_RETRY,
            )
        except ApplicationError as err:
            review = SemanticReview(
                verdict="agree", decided_by=clip(f"rules: the model failed ({err.message})", 500)
            )
        record.semantic_review = review
        record.model_usage = record.model_usage.plus(review.usage)
        grade = reviewed_grade(record.run_id, outcome.grade, kind, review, workflow.now())
        return outcome.model_copy(update={"grade": grade})

    def _record_agent_outcome(
        self,
        command: str,
        request: CommandRequest,
        outcome: AgentStepResult,
        success_state: RunState | None,
        kind: str = "agent",
    ) -> CommandResult:
        grade = outcome.grade
        state = self._record.state
        target = target_for_grade(state, grade.verdict, success_state)

        def effect(record: RunRecord) -> None:
            record.grade = grade
            record.last_agent_step = outcome
            remember_stage(record, outcome, state)
            add_step_cost(record, outcome)
            record.reports[f"{kind}_runtime"] = outcome.report
            record.reports[f"{kind}_transcript"] = outcome.transcript

        return self._apply(command, request, target, effect)

    def _agent_step_input(
        self,
        ask: AgentStepRequest,
        state: RunState,
        prompt: str | None,
        feedback: str | None = None,
    ) -> AgentStepInput:
        """What the agent activity gets, from a step request (operator's, or the one kept for
        iterations), the run's policy and — with a skill pack — the stage to run."""
        record = self._record
        assert record.workspace is not None
        policy = record.policy or RunPolicy()
        return AgentStepInput(
            run_id=record.run_id,
            workspace=record.workspace.path,
            base_branch=record.workspace.base_branch,
            engine=ask.engine,
            prompt=prompt,
            command=ask.command,
            codex_sandbox=ask.codex_sandbox or policy.codex_sandbox,
            codex_model=ask.codex_model,
            codex_config=ask.codex_config,
            max_minutes=ask.max_minutes or policy.agent_timeout_minutes,
            state=state,
            policy=policy,
            attempt=record.agent_attempts,
            governance=record.governance,
            expects_changes=step_changes_code(state),
            skill=skill_stage_input(record, ask, state, feedback),
            cost_cap_usd=cost_left(record) if ask.engine != Engine.COMMAND else None,
        )

    def _over_cost_cap(self, step_input: AgentStepInput) -> AgentStepResult:
        """The run spent its money: the step does not start; graded for a person."""
        record = self._record
        if record.campaign_money_spent:
            why = (
                f"campaign {record.campaign}: {record.campaign_money_spent}: "
                "no new agent step starts"
            )
            # The campaign's verdict holds whatever the run's own cap is: raising that would
            # not start the step, so the person is pointed at the campaign instead.
            next_action = (
                f"the campaign's money is spent (agentpr campaign show --name {record.campaign}):"
                f" finish this run by hand or stop it: agentpr show-run --run-id {record.run_id}"
            )
        else:
            why = (
                f"the run has spent ${record.cost_usd:.4f} of its "
                f"${cost_cap(record) or 0:.4f} cap: no new agent step starts"
            )
            next_action = (
                f"raise the run's money cap (max_cost_usd in the policy, or a new run with "
                f"--max-cost-usd) or stop it: agentpr show-run --run-id {record.run_id}"
            )
        return ungraded_step(
            step_input, Verdict.HUMAN_REVIEW, ReasonCode.COST_CAP_REACHED, next_action, why
        )

    async def _run_agent(self, step_input: AgentStepInput) -> AgentStepResult:
        """The agent activity on the agent queue; `pause` may cancel it while it runs."""
        if self._step is not None:
            raise refuse(busy_message(self._record.run_id, self._step), Refusal.RUN_BUSY)
        money_gone = step_input.cost_cap_usd is not None and step_input.cost_cap_usd <= 0
        if (
            money_gone or self._record.campaign_money_spent
        ) and step_input.engine != Engine.COMMAND:
            return self._over_cost_cap(step_input)
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
                raise refuse(
                    f"run-agent-step for run {self._record.run_id} was cancelled (the "
                    "run was paused); the agent's process group was stopped",
                    Refusal.STEP_CANCELLED,
                ) from None
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                raise refuse(
                    f"run-agent-step failed for run {self._record.run_id}: {cause.message}",
                    Refusal.STEP_FAILED,
                ) from None
            # The worker running the agent was lost (heartbeat timeout) or the step overran its
            # limits: grade it as retryable so the run shows it, instead of failing the command.
            detail = cause.message if isinstance(cause, ApplicationError) else str(cause)
            return ungraded_step(
                step_input,
                Verdict.RETRYABLE,
                ReasonCode.AGENT_STEP_INTERRUPTED,
                f"retry the step: agentpr run-agent-step --run-id {self._record.run_id} …",
                f"the agent activity did not finish: {detail}",
            )
        finally:
            self._step = None
            self._agent = None

    async def _maintainer_says_stop(self) -> bool:
        """Read the newest trusted reply before iterating on it: rules first, then the model;
        a question or a decline goes to a person instead of the agent. Without an answer from
        the model, requested changes are a fix, as they were before it."""
        record = self._record
        fact = reply_to_read(record)
        if fact is None:
            return False
        text = reply_text(fact)
        decided = classify_by_rules(text)
        if decided is not None:
            reply = ReplyClassification(kind=decided[0], decided_by=decided[1])
        else:
            try:
                reply = await self._run_step(
                    READ_REPLY,
                    ModelActivities.classify_reply,
                    ReplyClassificationInput(
                        run_id=record.run_id,
                        text=text,
                        pr_title=record.auto.pr_title if record.auto else None,
                    ),
                    MODEL_TIMEOUT,
                    MODEL_RETRY,
                )
            except ApplicationError as err:
                reply = ReplyClassification(
                    kind="fix",
                    decided_by=clip(f"rules: the model failed ({err.message})", 500),
                )
            record.model_usage = record.model_usage.plus(reply.usage)
        reply = reply.model_copy(update={"fact_key": fact.fact_key})
        record.reply_classification = reply
        if reply.kind == "fix":
            return False
        said = "declined the change" if reply.kind == "decline" else "asked a question"
        self._apply(
            "iterate",
            CommandRequest(
                by=Actor.WORKFLOW,
                reason=clip(f"a maintainer {said} ({reply.decided_by}): {text}", MAX_REASON),
            ),
            RunState.NEEDS_HUMAN_REVIEW,
        )
        if reply.kind == "question":
            self._notify(*reply_notification(record, reply, text))
        return True

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

    # ---- iteration: CI failed or changes were requested ------------------------------------

    async def _iterate(self) -> None:
        """One iteration: agent in the same workspace, grade, commit + push to the same branch,
        back to CI_WAIT; past the policy's retry cap, a human decides."""
        self._carried.iterate_pending = False
        record = self._record
        if record.state != RunState.ITERATING or not can_iterate(record):
            return
        assert record.agent_request is not None and record.workspace is not None
        by = CommandRequest(by=Actor.WORKFLOW)
        if record.model_review and workflow.patched(READ_REPLY):
            if await self._maintainer_says_stop():
                return
        record.iterations += 1
        capped = retry_cap_reason(record, record.policy or RunPolicy())
        if capped is not None:
            self._apply(
                "iterate", by.model_copy(update={"reason": capped}), RunState.NEEDS_HUMAN_REVIEW
            )
            return
        record.agent_attempts += 1
        step_input = self._agent_step_input(
            record.agent_request,
            RunState.ITERATING,
            iteration_prompt(record),
            iteration_feedback(record),
        )
        reason = f"iteration {record.iterations}"
        try:
            outcome = await self._semantic_review(await self._run_agent(step_input))
            self._record_agent_outcome(
                "iterate",
                by.model_copy(update={"reason": reason}),
                outcome,
                RunState.LOCAL_VALIDATING,
            )
            # (mypy keeps `record.state` narrowed to ITERATING; the grade has moved it since.)
            if record.state != RunState.LOCAL_VALIDATING:  # type: ignore[comparison-overlap]
                return  # graded for a human or a retry: the grade says why
            finished = await self._finish(
                "iterate",
                "fix: address CI and review feedback",
                f"Iteration {record.iterations} on PR #{record.pr_number}.",
                record.project or record.repo,
            )
        except ApplicationError as err:
            self._apply(
                "iterate",
                by.model_copy(update={"reason": err.message}),
                RunState.NEEDS_HUMAN_REVIEW
                if can_transition(record.state, RunState.NEEDS_HUMAN_REVIEW)
                else record.state,
            )
            return

        self._apply(
            "iterate",
            by.model_copy(update={"reason": reason + " pushed"}),
            RunState.PUSHED,
            lambda _: self._record_push(finished),
        )
        self._apply(
            "iterate",
            by.model_copy(update={"reason": f"PR #{record.pr_number} updated; waiting for CI"}),
            RunState.CI_WAIT,
        )


def ungraded_step(
    step_input: AgentStepInput, verdict: Verdict, code: str, next_action: str, why: str
) -> AgentStepResult:
    """A step the workflow grades itself, without an agent having run (or finished): no
    transcript, no report."""
    return AgentStepResult(
        engine=step_input.engine,
        exit_code=None,
        duration_s=0.0,
        transcript="",
        transcript_sha256="",
        transcript_bytes=0,
        event_count=0,
        report="",
        grade=AgentGrade(
            verdict=verdict,
            reason_code=code,
            next_action=next_action,
            at=workflow.now(),
            reasons=[why],
        ),
    )
