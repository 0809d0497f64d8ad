"""Typed calls to the run workflow, shared by every door (CLI, Telegram bot, webhook).

No door keeps its own copy of run state: they all ask the workflow (updates and queries) or
Temporal visibility (listing) through this module, and turn its errors into one-line refusals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from common.connection import connect
from common.errors import Refused, refused
from common.settings import Settings
from contracts import (
    CampaignApply,
    CampaignApplyPlan,
    CampaignCommand,
    CampaignCommandResult,
    CampaignStart,
    CampaignStatus,
    CommandRequest,
    CommandResult,
    GitHubEvent,
    Refusal,
    RunRecord,
    RunResult,
    RunSpec,
    RunStart,
    RunSummary,
)
from contracts import search_attributes as sa
from contracts.states import RunState

if TYPE_CHECKING:
    from insight.facts import RunFacts
    from workflows.campaign import CampaignWorkflow
    from workflows.run import IntegrationRunWorkflow

# The doors address workflows by name, so a door does not import (or sandbox-check) the
# workflow code; tests/starter/test_cli_imports.py checks the names against the classes.
RUN_WORKFLOW = "IntegrationRunWorkflow"
CAMPAIGN_WORKFLOW = "CampaignWorkflow"

Request = TypeVar("Request", bound=CommandRequest)
# An update of the run workflow: its name ("pause") or its typed reference
# (IntegrationRunWorkflow.pause).
UpdateMethod = Callable[["IntegrationRunWorkflow", Request], CommandResult]
# Runs listed again by id per visibility query (`WorkflowId IN (...)`), keeping queries short.
RECHECK_BATCH = 100


def campaign_workflow_id(name: str) -> str:
    """The campaign workflow's id (workflows.campaign.campaign_workflow_id, the same rule)."""
    return f"campaign.{name}"


def _refusal(cause: BaseException | None) -> Refused:
    """A workflow's answer to a refused update, keeping its type (contracts.Refusal)."""
    if isinstance(cause, ApplicationError):
        return refused(cause.message, Refusal.of(cause.type))
    return Refused(str(cause))


class RunNotFound(Refused):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id!r} (see `agentpr list-runs`)")


class FinishedRecords:
    """A finished run's record never changes (it is the workflow's result): kept on disk,
    one file per run, so `stats` and `campaign report` read each from Temporal once. A file
    is trusted only for the execution it was written from (same close time); anything
    unreadable is read from Temporal again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, row: RunSummary) -> Path:
        return self.folder / f"{row.run_id}.json"

    @staticmethod
    def _stamp(row: RunSummary) -> str:
        return row.closed_at.isoformat() if row.closed_at else ""

    def get(self, row: RunSummary) -> RunRecord | None:
        if not row.closed_at:
            return None
        try:
            stamp, _, body = self._path(row).read_bytes().partition(b"\n")
            if stamp.decode() != self._stamp(row):
                return None
            return RunRecord.model_validate_json(body)
        except (OSError, ValueError):
            return None

    def put(self, row: RunSummary, record: RunRecord) -> None:
        if not row.closed_at:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self._path(row).with_suffix(".partial")
            partial.write_bytes(
                self._stamp(row).encode() + b"\n" + record.model_dump_json().encode()
            )
            partial.replace(self._path(row))
        except OSError:
            pass  # a cache that cannot be written only costs the next reader a fetch


class RunClient:
    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.answer_timeout = settings.answer_timeout_s

    def _handle(self, run_id: str) -> WorkflowHandle[Any, RunResult]:
        return self.client.get_workflow_handle(run_id, result_type=RunResult)

    async def create_run(self, spec: RunSpec) -> None:
        attributes = [
            SearchAttributePair(sa.STATE, RunState.QUEUED.value),
            SearchAttributePair(sa.REPO, spec.full_name),
        ]
        if spec.campaign:
            attributes.append(SearchAttributePair(sa.CAMPAIGN, spec.campaign))
        try:
            await self.client.start_workflow(
                RUN_WORKFLOW,
                RunStart(spec=spec),
                result_type=RunResult,
                id=spec.run_id,
                task_queue=self.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes(attributes),
            )
        except WorkflowAlreadyStartedError:
            raise Refused(f"run {spec.run_id!r} already exists; pick another --run-id") from None

    async def send(
        self, run_id: str, update: str | UpdateMethod[Request], request: Request
    ) -> CommandResult:
        """Apply one operator command; a refusal comes back as `Refused` with its reason.

        The command must be accepted (validated by a worker) within the answer timeout; after
        that we wait as long as the step takes (a clone can take minutes), bounded by the
        workflow's own activity timeouts.
        """
        handle = self._handle(run_id)
        try:
            accepted = await self._answer(
                run_id,
                handle.start_update(
                    update,
                    request,
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    result_type=CommandResult,
                ),
            )
            result: CommandResult = await accepted.result()
            return result
        except WorkflowUpdateFailedError as err:
            raise _refusal(err.cause) from None
        except RPCError as err:
            raise await self._explain_rpc_error(run_id, err) from None

    async def get_run(self, run_id: str) -> RunRecord:
        handle = self._handle(run_id)
        try:
            description = await handle.describe()
        except RPCError as err:
            raise await self._explain_rpc_error(run_id, err) from None
        if description.status == WorkflowExecutionStatus.RUNNING:
            try:
                return await self._answer(run_id, handle.query("get_run", result_type=RunRecord))
            except RPCError as err:
                raise Refused(
                    f"run {run_id} did not answer its query ({err.message}); its workflow task "
                    "may be failing — see the run in the Web UI and the worker's log"
                ) from None
        # A finished run needs no worker: its record is the workflow's result.
        try:
            result = await handle.result()
        except WorkflowFailureError:
            status = description.status.name if description.status else "CLOSED"
            raise Refused(f"run {run_id} ended abnormally ({status}); see the Web UI") from None
        return result.record

    async def list_runs(
        self,
        *,
        state: RunState | None = None,
        repo: str | None = None,
        campaign: str | None = None,
        started_since: datetime | None = None,
        limit: int | None = 50,
    ) -> list[RunSummary]:
        clauses = _run_clauses(campaign=campaign, started_since=started_since)
        if state is not None:
            clauses.append(f"{sa.STATE.name} = '{state.value}'")
        if repo is not None:
            clauses.append(f"{sa.REPO.name} = '{_quote(repo)}'")
        rows = await self._list_summaries(clauses)
        # SQLite visibility has no ORDER BY: newest first, sorted here.
        rows.sort(key=lambda row: (row.started_at is not None, row.started_at), reverse=True)
        return rows if limit is None else rows[:limit]

    async def _list_summaries(self, clauses: list[str]) -> list[RunSummary]:
        rows: list[RunSummary] = []
        async for execution in self.client.list_workflows(" AND ".join(clauses)):
            # A run that continued as new shows up once per chain link; keep the live one.
            if execution.status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
                continue
            attrs = execution.typed_search_attributes
            state_value = attrs.get(sa.STATE)
            rows.append(
                RunSummary(
                    run_id=execution.id,
                    repo=attrs.get(sa.REPO),
                    state=RunState(state_value) if state_value else None,
                    pr_number=attrs.get(sa.PR),
                    verdict=attrs.get(sa.VERDICT),
                    campaign=attrs.get(sa.CAMPAIGN),
                    cost_usd=attrs.get(sa.COST_USD),
                    landed={sa.LANDED_YES: True, sa.LANDED_NO: False}.get(
                        attrs.get(sa.LANDED) or ""
                    ),
                    status=execution.status.name if execution.status else "UNKNOWN",
                    started_at=execution.start_time,
                    closed_at=execution.close_time,
                )
            )
        return rows

    async def read_records(
        self, rows: list[RunSummary], concurrency: int = 16
    ) -> tuple[list[RunRecord], dict[str, str]]:
        """The records of many runs, as cheaply as Temporal gives them: a finished run's is its
        workflow result (one history read, no worker), a running run answers a query. Returns
        the records and, per run that gave none, why (ended abnormally, no worker answered)."""
        gate = asyncio.Semaphore(concurrency)
        unread: dict[str, str] = {}
        finished = FinishedRecords(self.settings.home / "cache" / "finished-runs")

        async def read(row: RunSummary) -> RunRecord | None:
            if row.status == WorkflowExecutionStatus.COMPLETED.name:
                kept = finished.get(row)
                if kept is not None:
                    return kept
            async with gate:
                handle = self._handle(row.run_id)
                try:
                    if row.status == WorkflowExecutionStatus.COMPLETED.name:
                        record = (await handle.result()).record
                        finished.put(row, record)
                        return record
                    if row.status == WorkflowExecutionStatus.RUNNING.name:
                        return await self._answer(
                            row.run_id, handle.query("get_run", result_type=RunRecord)
                        )
                    unread[row.run_id] = f"ended {row.status}"
                except (Refused, RPCError, WorkflowFailureError) as err:
                    unread[row.run_id] = str(getattr(err, "message", err)).splitlines()[0]
                return None

        records = await asyncio.gather(*(read(row) for row in rows))
        return [record for record in records if record is not None], unread

    async def read_facts(
        self, *, campaign: str | None, started_since: datetime | None, now: datetime
    ) -> tuple[list[RunFacts], dict[str, str]]:
        """What insight counts of every run (of the campaign, created since), newest first,
        and per run Temporal gives no record for, why.

        Finished runs' facts are kept on disk per scope (insight.finished_runs): a call with
        them lists from visibility only the runs running or closed since the last call, plus
        the runs it was told to look at again, and reads records only for runs it has not
        kept. Without them (first call, damaged file, a wider `--since`) it lists every run."""
        from insight.facts import add_open_stay, run_facts, settled_facts
        from insight.finished_runs import (
            FinishedRun,
            FinishedRuns,
            finished_runs_path,
            latest_executions,
            load_finished_runs,
            save_finished_runs,
        )

        path = finished_runs_path(self.settings.home / "cache" / "insight", campaign)
        kept = load_finished_runs(path, campaign)
        fresh = kept is None or not kept.covers(started_since)
        if kept is not None and not fresh:
            scope = _run_clauses(campaign=campaign, started_since=kept.started_since)
            floor = kept.listing_floor()
            changed = "ExecutionStatus = 'Running'"
            if floor is not None:
                changed += f" OR CloseTime >= '{_visibility_time(floor)}'"
            rows = await self._list_summaries([*scope, f"({changed})"])
            listed = {row.run_id for row in rows}
            again = [run_id for run_id in kept.recheck if run_id not in listed]
            for start in range(0, len(again), RECHECK_BATCH):
                ids = ", ".join(f"'{_quote(i)}'" for i in again[start : start + RECHECK_BATCH])
                rows += await self._list_summaries([*scope, f"WorkflowId IN ({ids})"])
        else:
            kept = FinishedRuns(campaign=campaign, started_since=started_since)
            rows = await self._list_summaries(
                _run_clauses(campaign=campaign, started_since=started_since)
            )
        rows = latest_executions(rows)
        before = (kept.latest_close, kept.recheck, len(kept.runs))

        recheck: list[str] = []
        added = 0
        to_read: list[RunSummary] = []
        for row in rows:
            if row.status == WorkflowExecutionStatus.RUNNING.name:
                kept.runs.pop(row.run_id, None)  # a new execution of a kept run's id
                recheck.append(row.run_id)
                to_read.append(row)
            elif row.closed_at is None or kept.kept(row) is not None:
                continue
            elif row.status == WorkflowExecutionStatus.COMPLETED.name:
                to_read.append(row)
            else:
                added += 1
                kept.keep(
                    FinishedRun(
                        run_id=row.run_id,
                        started_at=row.started_at,
                        closed_at=row.closed_at,
                        unread=f"ended {row.status}",
                    )
                )
        records, unread = await self.read_records(to_read)
        by_id = {record.run_id: record for record in records}
        running: list[tuple[RunSummary, RunRecord]] = []
        for row in to_read:
            record = by_id.get(row.run_id)
            if row.status == WorkflowExecutionStatus.RUNNING.name:
                if record is not None:
                    running.append((row, record))
            elif record is None or row.closed_at is None:
                recheck.append(row.run_id)  # read again next time, whatever its close time
            else:
                added += 1
                kept.keep(
                    FinishedRun(
                        run_id=row.run_id,
                        started_at=row.started_at,
                        closed_at=row.closed_at,
                        created_at=record.created_at,
                        facts=settled_facts(record),
                    )
                )
        kept.note_listed(rows)
        recheck.sort()
        kept.recheck = recheck
        retention = await self._retention()
        forgot = retention is not None and kept.forget_closed_before(now - retention)
        # A scope with no runs at all (a mistyped campaign) leaves no file behind.
        if (
            (fresh and rows)
            or added
            or forgot
            or before != (kept.latest_close, recheck, len(kept.runs))
        ):
            save_finished_runs(path, kept)

        def counted(started_at: datetime | None, created_at: datetime | None) -> bool:
            if started_since is None:
                return True
            return (started_at is None or started_at >= started_since) and (
                created_at is None or created_at >= started_since
            )

        def started(at: datetime | None) -> float:
            return at.timestamp() if at is not None else float("-inf")

        # In one order whatever was kept (newest first, as `list-runs`): ties in the counts
        # come out the same on every call.
        newest_first: list[tuple[float, str, RunFacts]] = [
            (started(row.started_at), row.run_id, run_facts(record, now))
            for row, record in running
            if counted(row.started_at, record.created_at)
        ]
        for run in kept.runs.values():
            if not counted(run.started_at, run.created_at):
                continue
            if run.facts is not None:
                add_open_stay(run.facts, now)  # read from the file for this call: ours
                newest_first.append((started(run.started_at), run.run_id, run.facts))
            elif run.unread is not None:
                unread[run.run_id] = run.unread
        newest_first.sort(key=lambda entry: entry[:2], reverse=True)
        return [facts for _, _, facts in newest_first], unread

    async def _retention(self) -> timedelta | None:
        """How long Temporal keeps a closed run (the namespace's retention), None if it will
        not say: kept runs older than that are gone from Temporal, so no longer counted."""
        try:
            answer = await self.client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=self.client.namespace)
            )
        except RPCError:
            return None
        ttl = answer.config.workflow_execution_retention_ttl
        return ttl.ToTimedelta() if ttl.seconds or ttl.nanos else None

    async def find_run_for_github(self, event: GitHubEvent) -> str | None:
        """The running run a GitHub fact is about: by repo + PR number, else by the pushed
        head commit (check events for PRs from forks carry no PR number). A fact that matches
        neither is about no run of ours and is dropped by the caller."""
        base = (
            f"WorkflowType = '{RUN_WORKFLOW}' AND "
            f"ExecutionStatus = 'Running' AND {sa.REPO.name} = '{_quote(event.repo)}'"
        )
        queries = []
        if event.pr_number is not None:
            queries.append(f"{base} AND {sa.PR.name} = {int(event.pr_number)}")
        if event.head_sha:
            queries.append(f"{base} AND {sa.HEAD_SHA.name} = '{_quote(event.head_sha)}'")
        for query in queries:
            async for execution in self.client.list_workflows(query, limit=1):
                return execution.id
        return None

    async def signal_github_event(self, run_id: str, event: GitHubEvent) -> None:
        await self._handle(run_id).signal("github_event", event)

    async def _answer(self, run_id: str, call: Awaitable[Any]) -> Any:
        try:
            return await asyncio.wait_for(call, timeout=self.answer_timeout)
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise Refused(
                f"run {run_id} did not answer in {self.answer_timeout:g}s — is a worker running on "
                f"task queue {self.settings.task_queue!r}? start one with `agentpr worker` or "
                "`make up` (a command sent now may still apply when it starts)"
            ) from None

    async def _explain_rpc_error(self, run_id: str, err: RPCError) -> Refused:
        if err.status == RPCStatusCode.NOT_FOUND:
            if "already completed" in err.message:
                try:
                    record = await self.get_run(run_id)
                except Refused as refusal:
                    return refusal
                return refused(
                    f"run {run_id} is finished ({record.state}); no command applies",
                    Refusal.RUN_FINISHED,
                )
            return RunNotFound(run_id)
        return Refused(f"Temporal refused the request for run {run_id}: {err.message}")


# A typed campaign command such as CampaignWorkflow.pause_campaign.
CampaignUpdate = Callable[["CampaignWorkflow", CampaignCommand], CampaignCommandResult]


class CampaignClient:
    """Typed calls to the campaign workflow (workflow id `campaign.<name>`)."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.answer_timeout = settings.answer_timeout_s

    def _handle(self, name: str) -> WorkflowHandle[Any, CampaignStatus]:
        return self.client.get_workflow_handle(
            campaign_workflow_id(name), result_type=CampaignStatus
        )

    async def start(self, start: CampaignStart) -> None:
        try:
            await self.client.start_workflow(
                CAMPAIGN_WORKFLOW,
                start,
                id=campaign_workflow_id(start.spec.name),
                result_type=CampaignStatus,
                task_queue=self.settings.task_queue,
                # A name is used once: its runs are named after it.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(sa.CAMPAIGN, start.spec.name)]
                ),
            )
        except WorkflowAlreadyStartedError:
            raise Refused(
                f"campaign {start.spec.name!r} already exists; pick another --name "
                "(see `agentpr campaign list`)"
            ) from None

    async def status(self, name: str) -> CampaignStatus:
        handle = self._handle(name)
        try:
            description = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise Refused(f"no campaign named {name!r} (see `agentpr campaign list`)") from None
            raise Refused(
                f"Temporal refused the request for campaign {name}: {err.message}"
            ) from None
        if description.status == WorkflowExecutionStatus.RUNNING:
            try:
                status = await asyncio.wait_for(
                    handle.query("get_campaign", result_type=CampaignStatus),
                    timeout=self.answer_timeout,
                )
                return status.with_runs_unpacked()
            except (TimeoutError, RPCTimeoutOrCancelledError):
                raise Refused(
                    f"campaign {name} did not answer in {self.answer_timeout:g}s — is "
                    f"a worker running on task queue {self.settings.task_queue!r}?"
                ) from None
        try:
            return (await handle.result()).with_runs_unpacked()
        except WorkflowFailureError:
            status = description.status.name if description.status else "CLOSED"
            raise Refused(f"campaign {name} ended abnormally ({status}); see the Web UI") from None

    async def send(
        self, name: str, update: str | CampaignUpdate, command: CampaignCommand
    ) -> CampaignCommandResult:
        await self.status(name)  # a clear refusal for an unknown or finished campaign
        try:
            return await asyncio.wait_for(
                self._handle(name).execute_update(
                    update, command, result_type=CampaignCommandResult
                ),
                timeout=self.answer_timeout,
            )
        except WorkflowUpdateFailedError as err:
            raise _refusal(err.cause) from None
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise Refused(f"campaign {name} did not answer in {self.answer_timeout:g}s") from None
        except RPCError as err:
            if "already completed" in err.message:
                raise refused(
                    f"campaign {name} is finished; nothing to do", Refusal.CAMPAIGN_FINISHED
                ) from None
            raise Refused(
                f"Temporal refused the request for campaign {name}: {err.message}"
            ) from None

    async def is_running(self, name: str) -> bool:
        """True: running; False: no such campaign. A finished one is refused (a name is used
        once: its runs are named after it)."""
        try:
            description = await self._handle(name).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise Refused(
                f"Temporal refused the request for campaign {name}: {err.message}"
            ) from None
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise refused(
                f"campaign {name} is finished; a spec for it cannot apply (pick another name)",
                Refusal.CAMPAIGN_FINISHED,
            )
        return True

    async def preview_apply(self, apply: CampaignApply) -> CampaignApplyPlan:
        """What `apply` would change (a query: nothing enters the campaign's history)."""
        name = apply.spec.name
        try:
            return await asyncio.wait_for(
                self._handle(name).query("preview_apply", apply, result_type=CampaignApplyPlan),
                timeout=self.answer_timeout,
            )
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise Refused(f"campaign {name} did not answer in {self.answer_timeout:g}s") from None

    async def apply(self, apply: CampaignApply) -> CampaignApplyPlan:
        name = apply.spec.name
        try:
            # PR updates are paced GitHub writes: give them more than a command's time.
            return await asyncio.wait_for(
                self._handle(name).execute_update(
                    "apply_spec", apply, result_type=CampaignApplyPlan
                ),
                timeout=max(self.answer_timeout, 600),
            )
        except WorkflowUpdateFailedError as err:
            raise _refusal(err.cause) from None
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise Refused(f"campaign {name} did not answer in time; see `campaign show`") from None

    async def names(self) -> list[str]:
        names: list[str] = []
        query = f"WorkflowType = '{CAMPAIGN_WORKFLOW}'"
        async for execution in self.client.list_workflows(query):
            if execution.status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
                continue
            name = execution.typed_search_attributes.get(sa.CAMPAIGN)
            if name and name not in names:
                names.append(name)
        return sorted(names)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _run_clauses(*, campaign: str | None, started_since: datetime | None) -> list[str]:
    """The visibility query's clauses for the runs (of a campaign, started since)."""
    clauses = [f"WorkflowType = '{RUN_WORKFLOW}'"]
    if started_since is not None:
        # A continued-as-new link starts after its run was created: this keeps every run
        # created since then (and some older ones the caller drops by their record).
        clauses.append(f"StartTime >= '{_visibility_time(started_since)}'")
    if campaign is not None:
        clauses.append(f"{sa.CAMPAIGN.name} = '{_quote(campaign)}'")
    return clauses


def _visibility_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


async def with_campaign_client(
    settings: Settings, action: Callable[[CampaignClient], Awaitable[Any]]
) -> Any:
    client = await connect(settings)
    return await action(CampaignClient(client, settings))


async def with_run_client(settings: Settings, action: Callable[[RunClient], Awaitable[Any]]) -> Any:
    client = await connect(settings)
    return await action(RunClient(client, settings))
