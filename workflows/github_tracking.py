"""Following the PR on GitHub: facts arrive as webhook signals, from `sync-github`, and from the
run's own reconcile timer (GitHub does not redeliver failed webhooks); operators can also
link a PR and record checks and reviews by hand. Where each fact moves the run is decided by
`workflows/rules/github_facts.py`; a fact seen both ways is applied once."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.github import GitHubReadActivities
    from activities.landing import LandingActivities
    from contracts import (
        Actor,
        CheckRecord,
        CheckRequest,
        CommandRequest,
        CommandResult,
        GitHubEvent,
        GitHubFactRecord,
        LandedCheck,
        LandedCheckInput,
        LinkPrRequest,
        PullRequestStatus,
        PullRequestStatusInput,
        ReconcileRequest,
        ReviewRecord,
        ReviewRequest,
        RunRecord,
    )
    from contracts.bounds import MAX_REASON, clip
    from contracts.states import RunState, path_to

from workflows.pr_gate import GITHUB_RETRY, GITHUB_TIMEOUT
from workflows.rules.github_facts import (
    ci_waiting_on,
    fact_starts_iteration,
    fact_summary,
    fact_targets,
    head_checks_after,
    human_takeover,
    landing_target,
    pre_existing_failure,
    push_undecided,
    stale_commit,
    untrusted_author,
)
from workflows.rules.maintainer_replies import is_reply, reply_by_rules, reply_notification
from workflows.rules.notifications import untrusted_feedback_notification
from workflows.rules.transitions import (
    check_target,
    refuse_other_pr,
    refuse_reconcile,
    review_target,
)
from workflows.run_core import REMEMBERED_FACTS, SHOWN_FACTS, RunCore, raise_if
from workflows.states import WAITING_ON_GITHUB

MAX_SUMMARY = 1_000
MAINTAINER_REPLIES = "maintainer-replies"
CI_KINDS = ("check_run", "check_suite")


class GitHubTracking(RunCore):
    @workflow.signal
    def github_event(self, event: GitHubEvent) -> None:
        self._apply_github_fact(event, Actor.WEBHOOK, dry_run=False)

    @workflow.update
    async def reconcile_github(self, request: ReconcileRequest) -> CommandResult:
        before = self._record.state
        decisions = await self._reconcile(request.by, dry_run=request.dry_run)
        return CommandResult(
            run_id=self._record.run_id,
            command="sync-github",
            from_state=before,
            to_state=self._record.state,
            at=workflow.now(),
            applied=not request.dry_run,
            decisions=decisions,
        )

    @reconcile_github.validator
    def _validate_reconcile_github(self, request: ReconcileRequest) -> None:
        self._validate_can_act()
        raise_if(refuse_reconcile(self._record))

    async def _reconcile(self, by: Actor, dry_run: bool) -> list[str]:
        record = self._record
        assert record.pr_number is not None
        status: PullRequestStatus = await self._run_step(
            "sync-github",
            GitHubReadActivities.fetch_pull_request_status,
            PullRequestStatusInput(
                run_id=record.run_id, repo=record.full_name, pr_number=record.pr_number
            ),
            GITHUB_TIMEOUT,
            GITHUB_RETRY,
        )
        return [self._apply_github_fact(fact, by, dry_run) for fact in status.facts]

    def _apply_github_fact(self, event: GitHubEvent, by: Actor, dry_run: bool) -> str:
        record = self._record
        key = event.fact_key
        summary = fact_summary(event)
        if key in self._carried.facts_seen:
            return f"{summary}: already applied"
        if push_undecided(record, event):
            return f"{summary}: judged once the run waits on GitHub again"
        if record.state.is_terminal:
            return f"{summary}: ignored, run is {record.state}"
        held_back = stale_commit(record, event)
        if held_back is not None and not workflow.patched("ci-facts-bound-to-head"):
            held_back = None  # recorded before facts were bound to the head commit
        untrusted = untrusted_author(record, event)
        if untrusted is not None and workflow.patched("reviews-need-standing"):
            held_back = untrusted  # recorded, moves nothing, its text never reaches a prompt
        else:
            untrusted = None
        fail_closed = workflow.patched("ci-green-means-every-check")
        if held_back is None and fail_closed:
            held_back = pre_existing_failure(record, event)
        targets = [] if held_back else fact_targets(record, event, fail_closed)
        takeover = human_takeover(record, event)
        if takeover is not None and workflow.patched("human-takeover"):
            targets = path_to(record.state, RunState.NEEDS_HUMAN_REVIEW)
        else:
            takeover = None
        reply = None
        if not held_back and not takeover and is_reply(event):
            if workflow.patched(MAINTAINER_REPLIES):
                reply = reply_by_rules(event, key)
        if reply is not None and record.state in WAITING_ON_GITHUB:
            # Never iterate against a decline; a question waits for the operator's answer.
            if reply.kind == "decline":
                targets = path_to(record.state, RunState.NEEDS_HUMAN_REVIEW)
            elif targets and targets[-1] == RunState.ITERATING:
                targets = []
        outcome = held_back or ((" -> ".join(t.value for t in targets)) if targets else "recorded")
        if reply is not None:
            outcome = f"maintainer {reply.kind} ({reply.decided_by}): {outcome}"
        if fail_closed and not held_back and not targets and event.kind in CI_KINDS:
            waiting = ci_waiting_on(record, head_checks_after(record, event))
            if waiting and record.state == RunState.CI_WAIT:
                outcome = clip("recorded; not green yet: " + ", ".join(waiting[:5]), MAX_REASON)
        if takeover:
            outcome = f"{takeover} -> {outcome}"
        if dry_run:
            if held_back:
                return f"{summary}: would record as {held_back}"
            return f"{summary}: would {'move ' + outcome if targets else 'record'}"
        reason = takeover or f"{summary} ({event.source} {event.delivery_id})"
        if reply is not None and reply.kind == "decline":
            reason = f"a maintainer declined the change ({reply.decided_by}): {event.detail}"
        request = CommandRequest(by=by, reason=clip(reason, MAX_REASON))
        if reply is not None:
            record.reply_classification = reply
            if reply.kind == "question":
                self._notify(*reply_notification(record, reply, event.detail))
        if takeover:
            record.taken_over_by = event.author or "someone"
            record.head_sha = event.head_sha  # follow the person's commit from now on
        for target in targets:
            self._apply(f"github:{event.kind}", request, target)
        if event.kind == "pr_closed" and targets:
            self._carried.landing_check_pending = True  # the main loop looks at the branch
        if fact_starts_iteration(record, targets):
            self._carried.iterate_pending = True
        if fail_closed and not held_back:
            record.head_checks = head_checks_after(record, event)
            record.head_checks_sha = record.head_sha
        if held_back:
            pass  # stale, untrusted or pre-existing: the DoD and the iteration never see it
        elif event.kind in ("check_run", "check_suite") and event.conclusion is not None:
            record.checks.append(
                CheckRecord(
                    conclusion=event.conclusion,
                    pr_number=record.pr_number,
                    check_name=event.name,
                    by=by,
                    at=workflow.now(),
                )
            )
        elif event.kind == "review" and event.review_state is not None:
            record.reviews.append(
                ReviewRecord(
                    review_state=event.review_state,
                    pr_number=record.pr_number,
                    by=by,
                    at=workflow.now(),
                )
            )
        record.github_facts.append(
            GitHubFactRecord(
                fact_key=key,
                delivery_id=event.delivery_id,
                source=event.source,
                summary=clip(summary, MAX_SUMMARY),
                outcome=outcome,
                at=workflow.now(),
                detail=clip(event.detail, 1_000),
                reaches_agent=not held_back,
            )
        )
        if untrusted:
            self._notify(*untrusted_feedback_notification(record, event))
        del record.github_facts[:-SHOWN_FACTS]
        facts_seen = self._carried.facts_seen
        facts_seen.append(key)
        del facts_seen[:-REMEMBERED_FACTS]
        return f"{summary}: {outcome}"

    # ---- landed, not just merged ---------------------------------------------------------

    def _landing_check_due(self) -> bool:
        return self._carried.landing_check_pending and self._step is None

    async def _check_landing(self) -> None:
        """Once the PR closed: is the change on the default branch? A merge may have been
        reverted; a PR closed unmerged may have been applied another way (then the run is
        done). A check that cannot run leaves `landed` unknown; the run is not held by it."""
        self._carried.landing_check_pending = False
        record = self._record
        if not workflow.patched("landed-check"):
            return
        if record.workspace is None or record.head_sha is None:
            return
        try:
            check: LandedCheck = await workflow.execute_activity_method(
                LandingActivities.check_landed,
                LandedCheckInput(
                    run_id=record.run_id,
                    workspace_path=record.workspace.path,
                    base_branch=record.workspace.base_branch,
                    base_sha=record.workspace.base_sha,
                    head_sha=record.head_sha,
                ),
                start_to_close_timeout=GITHUB_TIMEOUT,
                retry_policy=GITHUB_RETRY,
            )
        except ActivityError as err:
            check = LandedCheck(
                landed=None, how="unknown", detail=clip(f"the check failed: {err.cause}", 500)
            )
        record.landed = check
        if workflow.patched("landed-search-attribute"):
            self._publish_search_attributes()  # the funnel's last step, for /overview
        target = landing_target(record, check)
        if target is not None:
            self._apply(
                "github:landed",
                CommandRequest(by=Actor.WORKFLOW, reason=clip(check.detail, MAX_REASON)),
                target,
            )

    # ---- operator commands about the PR ------------------------------------------------------

    @workflow.update
    async def link_pr(self, request: LinkPrRequest) -> CommandResult:
        head_sha: str | None = None
        if workflow.patched("link-pr-reads-head") and not self._is_duplicate("link-pr", request):
            # GitHub's check events for PRs from forks carry only the head commit: read it now
            # so webhooks find this run. Without a token (or off GitHub) the PR is linked as is.
            try:
                status: PullRequestStatus = await self._run_step(
                    "link-pr",
                    GitHubReadActivities.fetch_pull_request_status,
                    PullRequestStatusInput(
                        run_id=self._record.run_id,
                        repo=self._record.full_name,
                        pr_number=request.pr_number,
                    ),
                    GITHUB_TIMEOUT,
                    RetryPolicy(maximum_attempts=2),
                )
                head_sha = status.head_sha
            except ApplicationError as err:
                workflow.logger.info("link-pr without reading the PR: %s", err.message)

        def effect(record: RunRecord) -> None:
            record.pr_number = request.pr_number
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
                record.pr_number = request.pr_number
            record.checks.append(
                CheckRecord(
                    conclusion=request.conclusion,
                    pr_number=record.pr_number,
                    check_name=request.check_name,
                    by=request.by,
                    at=workflow.now(),
                )
            )

        return self._apply(
            "record-check", request, check_target(self._record, request.conclusion), effect
        )

    @record_check.validator
    def _validate_record_check(self, request: CheckRequest) -> None:
        raise_if(refuse_other_pr(self._record, request.pr_number))
        self._validate("record-check", request, check_target(self._record, request.conclusion))

    @workflow.update
    def record_review(self, request: ReviewRequest) -> CommandResult:
        def effect(record: RunRecord) -> None:
            if request.pr_number is not None:
                record.pr_number = request.pr_number
            record.reviews.append(
                ReviewRecord(
                    review_state=request.review_state,
                    pr_number=record.pr_number,
                    by=request.by,
                    at=workflow.now(),
                )
            )

        return self._apply(
            "record-review", request, review_target(self._record, request.review_state), effect
        )

    @record_review.validator
    def _validate_record_review(self, request: ReviewRequest) -> None:
        raise_if(refuse_other_pr(self._record, request.pr_number))
        self._validate("record-review", request, review_target(self._record, request.review_state))
