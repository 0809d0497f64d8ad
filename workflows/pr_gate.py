"""The PR gate: `request-open-pr` records what a human is asked to approve (and checks the
definition of done); `approve-open-pr` opens the PR only with the confirm token, `--confirm`,
an unchanged request file, before expiry — and exactly once. The refusals are pure rules in
`workflows/rules/pr_gate.py`."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.github import GitHubActivities, GitHubReadActivities
    from common.settings import github_queue_for
    from contracts import (
        ApprovePrRequest,
        CiBaselineInput,
        CommandResult,
        DodBypass,
        OpenPrRequest,
        OpenPullRequestInput,
        PullRequestAsk,
        PullRequestInfo,
        RunRecord,
    )
    from contracts.states import RunState

from workflows.rules.definition_of_done import check_definition_of_done
from workflows.rules.github_facts import remember_push
from workflows.rules.notifications import pr_request_notification
from workflows.rules.pr_gate import (
    already_approved,
    default_head,
    refuse_approval,
    refuse_pr_request,
)
from workflows.rules.transitions import refuse_unprepared
from workflows.run_core import RunCore, raise_if

GITHUB_TIMEOUT = timedelta(minutes=2)
# GitHub's rate-limit answers set their own delay (next_retry_delay); give them room.
GITHUB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=10,
)


class PrGate(RunCore):
    @workflow.update
    def request_open_pr(self, request: OpenPrRequest) -> CommandResult:
        if self._is_duplicate("request-open-pr", request):
            return self._apply("request-open-pr", request, self._record.state)
        return self._ask_for_pr(request)

    @request_open_pr.validator
    def _validate_request_open_pr(self, request: OpenPrRequest) -> None:
        if self._is_duplicate("request-open-pr", request):
            return
        self._validate_can_act()
        raise_if(refuse_unprepared("request-open-pr", self._record))
        raise_if(refuse_pr_request(self._record, request.head))

    def _ask_for_pr(self, request: OpenPrRequest) -> CommandResult:
        record = self._record
        assert record.workspace is not None
        body = request.body
        ask = PullRequestAsk(
            title=request.title,
            body=body,
            body_sha256=hashlib.sha256(body.encode()).hexdigest(),
            base=request.base or record.workspace.base_branch,
            head=request.head or default_head(record),
            draft=request.draft,
            request_file=request.request_file,
            request_file_sha256=request.request_file_sha256,
            token_sha256=request.token_sha256,
            expires_at=request.expires_at,
            requested_by=request.by,
            requested_at=workflow.now(),
            dod=check_definition_of_done(record, body),
        )

        def effect(record: RunRecord) -> None:
            record.pr_request = ask

        result = self._apply("request-open-pr", request, record.state, effect)
        self._notify("pr_request", pr_request_notification(record, ask, request.by))
        return result.model_copy(update={"pr_request": ask})

    @workflow.update
    async def approve_open_pr(self, request: ApprovePrRequest) -> CommandResult:
        record = self._record
        if self._is_duplicate("approve-open-pr", request) or already_approved(record, request):
            existing = PullRequestInfo(
                number=record.pr_number or 0,
                url=record.pr_url or "",
                head_sha=record.head_sha,
                created=False,
            )
            result = self._apply("approve-open-pr", request, record.state)
            return result.model_copy(update={"pull_request": existing})
        ask = record.pr_request
        assert ask is not None
        bypass = None
        if not ask.dod.passed:
            bypass = DodBypass(
                by=request.by, reason=request.reason, at=workflow.now(), failures=ask.dod.failures
            )
        opened: PullRequestInfo = await self._run_step(
            "approve-open-pr",
            GitHubActivities.create_pull_request,
            OpenPullRequestInput(
                run_id=record.run_id,
                repo=record.full_name,
                title=ask.title,
                body=ask.body,
                base=ask.base,
                head=ask.head,
                draft=ask.draft,
            ),
            GITHUB_TIMEOUT,
            GITHUB_RETRY,
            task_queue=github_queue_for(workflow.info().task_queue),
        )

        def effect(record: RunRecord) -> None:
            record.pr_number = opened.number
            record.pr_url = opened.url
            record.head_sha = opened.head_sha or record.head_sha
            if opened.head_sha:
                remember_push(record, opened.head_sha)
            record.dod_bypass = bypass

        result = self._apply("approve-open-pr", request, RunState.CI_WAIT, effect)
        if workflow.patched("ci-baseline"):
            await self._read_ci_baseline(ask.base)
        return result.model_copy(update={"pull_request": opened})

    async def _read_ci_baseline(self, base_branch: str) -> None:
        """The base branch's failing and required checks, read right after the PR opened (the
        run already waits for CI, so no fact is missed meanwhile). Without it CI is judged
        without a baseline: nothing is pre-existing and no check is known to be required."""
        record = self._record
        try:
            record.ci_baseline = await self._run_step(
                "read-ci-baseline",
                GitHubReadActivities.read_ci_baseline,
                CiBaselineInput(
                    run_id=record.run_id, repo=record.full_name, base_branch=base_branch
                ),
                GITHUB_TIMEOUT,
                RetryPolicy(maximum_attempts=3),
            )
        except ApplicationError as err:
            workflow.logger.info("no CI baseline for %s: %s", record.run_id, err.message)

    @approve_open_pr.validator
    def _validate_approve_open_pr(self, request: ApprovePrRequest) -> None:
        if self._is_duplicate("approve-open-pr", request) or already_approved(
            self._record, request
        ):
            return
        self._validate_can_act()
        raise_if(refuse_approval(self._record, request, workflow.now()))
