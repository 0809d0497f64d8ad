"""Auto mode: a run created with `mode=auto` (every campaign run) takes its own steps between
human gates — start, prepare, plan, implement (agent), validate (the repository's tests) and
push, then write the PR request and wait for a human's double confirmation. Which step is due
is `workflows/rules/auto_driver.py`; this module takes it."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.maintainer_policy import MaintainerPolicyActivities
    from activities.pr_request import PrRequestActivities
    from contracts import (
        Actor,
        AgentStepRequest,
        ApprovePlanRequest,
        CommandRequest,
        CommandResult,
        Engine,
        MaintainerPolicy,
        OpenPrRequest,
        PolicyDocuments,
        PolicyDocumentsInput,
        PolicyOutcome,
        PrRequestFile,
        PrRequestFileInput,
        PrSlotAsk,
        PullRequestSearchInput,
        PullRequestsSeen,
        Refusal,
        RunRecord,
    )
    from contracts.bounds import clip
    from contracts.states import RunState, can_transition

from workflows.pr_gate import GITHUB_TIMEOUT, PrGate
from workflows.rules.auto_driver import (
    AutoStep,
    DriverState,
    next_auto_step,
    validation_command,
    waits_for_plan_approval,
)
from workflows.rules.campaign_apply import render_template, run_template_values
from workflows.rules.disclosure import pr_disclosure
from workflows.rules.grades import parking_state
from workflows.rules.maintainer_policy import decide_policy, policy_details
from workflows.rules.pr_gate import default_head
from workflows.rules.skill_stages import refuse_approve_plan
from workflows.run_core import CAMPAIGN_PR_SLOT_SIGNAL, raise_if
from workflows.steps import AGENT_STEP, RunSteps


def _auto_by(reason: str) -> CommandRequest:
    return CommandRequest(by=Actor.WORKFLOW, reason=f"auto: {reason}")


class AutoDriver(RunSteps, PrGate):
    def _auto_step_due(self) -> AutoStep | None:
        carried = self._carried
        return next_auto_step(
            self._record,
            DriverState(
                auto=self._auto,
                held=self._hold,
                step_running=self._step is not None,
                iteration_pending=carried.iterate_pending,
                tried_at=carried.auto_tried_at,
                interrupted_retries=carried.auto_interrupted_retries,
                checks_policy=self._checks_policy,
                paces_prs=self._paces_prs,
            ),
        )

    async def _take_auto_step(self, step: AutoStep) -> None:
        self._carried.auto_tried_at = len(self._record.history)
        if step == AutoStep.RETRY_INTERRUPTED:
            self._auto_retry_interrupted()
        elif step == AutoStep.START:
            self._apply("start-discovery", _auto_by("the run drives itself"), RunState.DISCOVERY)
        elif step == AutoStep.CHECK_POLICY:
            await self._auto_check_policy()
        elif step == AutoStep.PREPARE:
            await self._auto_prepare()
        elif step == AutoStep.DISCOVER:
            await self._auto_discover()
        elif step == AutoStep.PLAN:
            self._auto_plan()
        elif step == AutoStep.IMPLEMENT:
            await self._auto_implement()
        elif step == AutoStep.VALIDATE_AND_PUSH:
            await self._auto_validate_and_push()
        elif step == AutoStep.ASK_PR_SLOT:
            self._ask_for_pr_slot()
        elif step == AutoStep.REQUEST_PR:
            await self._auto_request_pr()

    def _auto_retry_interrupted(self) -> None:
        """A worker was lost under a running agent: nobody judged the work, so take the step
        again (a few times) instead of waiting for a person."""
        self._carried.auto_interrupted_retries += 1
        failed_from = self._record.history[-1].from_state
        if failed_from is not None and can_transition(self._record.state, failed_from):
            self._apply(
                "retry", _auto_by("the agent's worker was lost; taking the step again"), failed_from
            )

    async def _auto_check_policy(self) -> None:
        """Before any fork, clone or agent: the repository's rules for AI-generated or automated
        contributions, its opt-out, and the PRs that already make (or refused) this change. A
        run the rules stop ends SKIPPED, or waits for a person, having made no write."""
        record = self._record
        branch = f"agentpr/{record.run_id}"  # the branch prepare would create

        def decide(
            documents: PolicyDocuments | None, pulls: PullRequestsSeen | None
        ) -> MaintainerPolicy:
            return decide_policy(
                excluded_by=record.excluded_by,
                ignore_policy=record.ignore_policy,
                documents=documents,
                pulls=pulls,
                branch=branch,
                title=record.auto.pr_title if record.auto else None,
            )

        if record.excluded_by is not None:
            policy = decide(None, None)  # the operator's own list: nothing to read
        elif record.upstream_url is not None:
            policy = MaintainerPolicy(
                checked=False,
                summary="not checked: the upstream is not a GitHub repository",
                ignored_because=record.ignore_policy,
            )
        else:
            try:
                documents: PolicyDocuments = await self._run_step(
                    AutoStep.CHECK_POLICY.value,
                    MaintainerPolicyActivities.read_policy_documents,
                    PolicyDocumentsInput(run_id=record.run_id, repo=record.full_name),
                    GITHUB_TIMEOUT,
                )
                policy = decide(documents, None)
                if policy.outcome != PolicyOutcome.SKIP:
                    pulls: PullRequestsSeen = await self._run_step(
                        AutoStep.CHECK_POLICY.value,
                        MaintainerPolicyActivities.list_recent_pull_requests,
                        PullRequestSearchInput(run_id=record.run_id, repo=record.full_name),
                        GITHUB_TIMEOUT,
                    )
                    policy = decide(documents, pulls)
                if documents.unread:
                    policy.note = clip("unread: " + ", ".join(documents.unread), 500)
            except ApplicationError as err:
                self._auto_failed(AutoStep.CHECK_POLICY.value, err)
                return
        target = {
            PolicyOutcome.PROCEED: record.state,
            PolicyOutcome.SKIP: RunState.SKIPPED,
            PolicyOutcome.NEEDS_HUMAN: RunState.NEEDS_HUMAN_REVIEW,
        }[policy.outcome]

        def effect(record: RunRecord) -> None:
            record.maintainer_policy = policy

        self._apply(
            AutoStep.CHECK_POLICY.value,
            _auto_by(clip(f"maintainers' rules: {policy.summary}", 480)),
            target,
            effect,
        )
        workflow.set_current_details(policy_details(policy))

    async def _auto_prepare(self) -> None:
        try:
            prepared = await self._prepare_workspace(None)
        except ApplicationError as err:
            self._auto_failed("run-prepare", err)
            return
        self._apply(
            "run-prepare",
            _auto_by("workspace prepared"),
            RunState.DISCOVERY,
            lambda _: self._record_workspace(prepared),
        )

    async def _auto_discover(self) -> None:
        record = self._record
        assert record.auto is not None
        request = record.auto.step.model_copy(
            update={
                "by": Actor.WORKFLOW,
                "idempotency_key": None,
                "reason": "auto: discovery",
                "success_state": None,
            }
        )
        try:
            await self._discovery_step(request)
        except ApplicationError as err:
            self._auto_failed("discover", err)

    def _auto_plan(self) -> None:
        record = self._record
        by = _auto_by(
            "the contract is the plan" if record.repo_contract else "the prompt is the plan"
        )
        if record.state == RunState.DISCOVERY:
            self._apply("mark-plan-ready", by, RunState.PLAN_READY)
        if waits_for_plan_approval(record):
            return  # a person approves the plan: approve-plan
        self._apply("start-implementation", by, RunState.IMPLEMENTING)

    @workflow.update
    def approve_plan(self, request: ApprovePlanRequest) -> CommandResult:
        """A person approves the discovery stage's plan (or writes the contract themselves);
        the run goes on to implement it."""

        def effect(record: RunRecord) -> None:
            if request.contract is not None:
                record.repo_contract = request.contract
            record.plan_approved_by = request.by

        return self._apply("approve-plan", request, RunState.IMPLEMENTING, effect)

    @approve_plan.validator
    def _validate_approve_plan(self, request: ApprovePlanRequest) -> None:
        if self._is_duplicate("approve-plan", request):
            return
        self._validate_can_act()
        raise_if(refuse_approve_plan(self._record, request))
        self._validate("approve-plan", request, RunState.IMPLEMENTING)

    async def _auto_implement(self) -> None:
        record = self._record
        assert record.auto is not None
        executing = record.state == RunState.EXECUTING
        request = record.auto.step.model_copy(
            update={
                "by": Actor.WORKFLOW,
                "idempotency_key": None,
                "reason": "auto: agent step",
                "success_state": None if executing else RunState.LOCAL_VALIDATING,
            }
        )
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
        command = validation_command(record)
        try:
            if command is not None:
                check = AgentStepRequest(
                    by=Actor.WORKFLOW,
                    reason=f"auto: validation `{command}`",
                    engine=Engine.COMMAND,
                    command=command,
                    max_minutes=plan.step.max_minutes,
                )
                outcome = await self._run_agent(self._agent_step_input(check, state, None))
                outcome = await self._semantic_review(outcome)
                self._record_agent_outcome("validate", check, outcome, state, kind="validation")
                if record.state != state:
                    return  # graded for a human or a retry: the grade says why
            else:
                self._apply(
                    "validate",
                    _auto_by("no test command detected; the definition of done will say so"),
                    state,
                )
                agent_step = record.last_agent_step
                if agent_step is not None and record.model_review:
                    # No tests to run: the model's review is the only reading the change gets.
                    reviewed = await self._semantic_review(agent_step)
                    if reviewed is not agent_step:
                        by = _auto_by("semantic review of an untested change")
                        self._record_agent_outcome("semantic-review", by, reviewed, state)
                        if record.state != state:
                            return
            if self._hold:
                return  # a pause is waiting; validation runs again after resume
            finished = await self._finish(
                "run-finish", self._filled(plan.commit_title), plan.changes, record.repo
            )
        except ApplicationError as err:
            self._auto_failed("validate", err)
            return

        def effect(record: RunRecord) -> None:
            self._record_push(finished)
            record.changes = plan.changes
            record.project = record.repo

        self._apply("run-finish", _auto_by("pushed"), RunState.PUSHED, effect)

    def _ask_for_pr_slot(self) -> None:
        """The campaign caps open PRs per owner: ask it for a slot; `pr_slot_granted` answers."""
        record = self._record
        assert record.campaign_workflow_id is not None
        record.pr_slot_asked = True
        handle = workflow.get_external_workflow_handle(record.campaign_workflow_id)
        self._reports.append(
            asyncio.create_task(
                self._signal_quietly(
                    handle, CAMPAIGN_PR_SLOT_SIGNAL, PrSlotAsk(run_id=record.run_id)
                )
            )
        )

    @workflow.signal
    def pr_slot_granted(self) -> None:
        self._record.pr_slot_granted = True
        self._carried.auto_tried_at = -1  # the driver may act again on the same record

    async def _auto_request_pr(self) -> None:
        """Write the PR request and wait: opening it takes a human's double confirmation."""
        record = self._record
        assert record.auto is not None and record.workspace is not None
        head = default_head(record)
        if not head:
            workflow.logger.info(
                "run %s: no GitHub fork known; request-open-pr --head is for an operator",
                record.run_id,
            )
            return
        try:
            written: PrRequestFile = await self._run_step(
                "request-open-pr",
                PrRequestActivities.write_pr_request,
                PrRequestFileInput(
                    run_id=record.run_id,
                    repo=record.full_name,
                    title=self._filled(record.auto.pr_title),
                    body=self._filled(record.auto.pr_body),
                    base=record.workspace.base_branch,
                    head=head,
                    ttl_minutes=record.auto.pr_ttl_minutes,
                    draft=record.auto.draft,
                    disclosure=pr_disclosure(record),
                ),
                GITHUB_TIMEOUT,
            )
        except ApplicationError as err:
            workflow.logger.warning(
                "run %s: PR request not written: %s", record.run_id, err.message
            )
            return
        self._ask_for_pr(
            OpenPrRequest(
                by=Actor.WORKFLOW,
                reason="auto: waiting for a human to approve the PR",
                title=self._filled(record.auto.pr_title),
                body=written.body
                if written.body is not None
                else self._filled(record.auto.pr_body),
                draft=record.auto.draft,
                request_file=written.request_file,
                request_file_sha256=written.request_file_sha256,
                token_sha256=written.token_sha256,
                expires_at=written.expires_at,
            )
        )

    def _filled(self, template: str) -> str:
        """A campaign's commit and PR templates with this repository's {owner} {repo}
        {default_branch} {language}. Runs recorded before templates took the text as is."""
        if not workflow.patched("campaign-spec-templates"):
            return template
        return render_template(template, run_template_values(self._record))

    def _auto_failed(self, command: str, err: ApplicationError) -> None:
        """A step failed (retries spent): park the run where `retry` takes it back."""
        if err.type == Refusal.STEP_CANCELLED:
            return  # paused: the pause records it
        target = parking_state(self._record.state)
        if target is not None:
            self._apply(command, _auto_by(err.message), target)
