"""Finished runs' facts kept between `stats` calls: the numbers an operator reads are the same
whether a call lists every run or only what changed since the last one, a run that finishes or
starts again after a call is counted as it is now, and a damaged or foreign file is rebuilt.

The runs are stand-ins registered under the run workflow's name (records in, the same record
out), on the session's real dev server; `agentpr stats` is the real CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from common.connection import connect
from common.settings import Settings
from contracts import RunResult
from contracts import search_attributes as sa
from contracts.run import RunRecord, RunSummary
from contracts.states import RunState
from contracts.vocabulary import Actor, Verdict
from insight.facts import run_facts
from insight.finished_runs import (
    FORMAT_VERSION,
    FinishedRun,
    FinishedRuns,
    finished_runs_path,
    latest_executions,
    load_finished_runs,
    save_finished_runs,
)
from standins.run_records import run_record, synthetic_campaign
from starter.client import RUN_WORKFLOW
from tests.run_env import Env, ServerInfo

S = RunState
W = Actor.WORKFLOW


class Recorded(BaseModel):
    """What the stand-in run is given: its record, and whether to wait for `finish`."""

    record: RunRecord
    wait: bool = False


@workflow.defn(name=RUN_WORKFLOW, sandboxed=False)
class RecordedRun:
    """A run that returns the record it was given, at once or once signalled `finish` with its
    final record (answering `get_run` meanwhile, as a running run does)."""

    def __init__(self) -> None:
        self.record: RunRecord | None = None
        self.final: RunRecord | None = None

    @workflow.run
    async def run(self, given: Recorded) -> RunResult:
        self.record = given.record
        if given.wait:
            await workflow.wait_condition(lambda: self.final is not None)
            self.record = self.final
        assert self.record is not None
        return RunResult(record=self.record)

    @workflow.query
    def get_run(self) -> RunRecord:
        assert self.record is not None
        return self.record

    @workflow.signal
    def finish(self, record: RunRecord) -> None:
        self.final = record


class Campaign:
    """One campaign's stand-in runs on the session server, and the CLI pointed at them."""

    def __init__(self, client: Client, env: Env, name: str) -> None:
        self.client = client
        self.env = env
        self.name = name

    async def start(self, record: RunRecord, *, wait: bool = False) -> WorkflowHandle[Any, Any]:
        handle = await self.client.start_workflow(
            RUN_WORKFLOW,
            Recorded(record=record, wait=wait),
            id=record.run_id,
            task_queue=self.env.settings.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.CAMPAIGN, self.name),
                    SearchAttributePair(sa.STATE, record.state.value),
                    SearchAttributePair(sa.REPO, record.full_name),
                ]
            ),
        )
        if not wait:
            await handle.result()
        return handle

    async def listed(self, query: str, count: int) -> None:
        """Visibility is written after the fact: wait until `count` runs match."""
        full = f"WorkflowType = '{RUN_WORKFLOW}' AND {sa.CAMPAIGN.name} = '{self.name}'"
        for _ in range(300):
            if (await self.client.count_workflows(f"{full} AND {query}")).count == count:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"visibility never showed {count} runs for {query!r}")

    async def stats(self, *args: str) -> dict[str, Any]:
        """`agentpr stats --campaign NAME ARGS --json`, the user's view (the worker keeps
        answering queries meanwhile)."""
        done = await asyncio.to_thread(
            self.env.cli, "stats", "--campaign", self.name, *args, "--json"
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        shown: dict[str, Any] = json.loads(done.stdout)
        return shown

    async def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(self.env.cli, *args)

    @property
    def kept_file(self) -> Path:
        return finished_runs_path(self.env.settings.home / "cache" / "insight", self.name)


@pytest.fixture
async def campaign(temporal_server: ServerInfo, tmp_path: Path) -> AsyncIterator[Campaign]:
    settings = Settings(
        home=tmp_path / "home",
        temporal_address=temporal_server.address,
        task_queue=f"test-{uuid.uuid4().hex[:12]}",
    )
    settings.home.mkdir()
    client = await connect(settings)
    async with Worker(client, task_queue=settings.task_queue, workflows=[RecordedRun]):
        yield Campaign(client, Env(settings=settings), f"kept-{uuid.uuid4().hex[:6]}")


def settled(shown: dict[str, Any]) -> dict[str, Any]:
    """What must not move between two calls: everything but the stays still open (they grow
    with the clock)."""
    steady = {k: v for k, v in shown.items() if k != "steps"}
    steady["closed_steps"] = [row for row in shown["steps"] if not row["open"]]
    return steady


def done_run(run_id: str, campaign: str, created: datetime) -> RunRecord:
    return run_record(
        run_id,
        f"acme/{run_id.replace('.', '-')}",
        [
            ("create-run", S.QUEUED, W, created, None),
            ("start-implementation", S.IMPLEMENTING, W, created + timedelta(minutes=1), None),
            ("run-finish", S.PUSHED, W, created + timedelta(minutes=9), None),
            ("approve-open-pr", S.CI_WAIT, Actor.CLI, created + timedelta(minutes=10), None),
            ("github:pr_closed", S.DONE, Actor.WEBHOOK, created + timedelta(minutes=40), None),
        ],
        campaign=campaign,
        grade=(Verdict.PASS, "tests_passed"),
        pr_number=7,
    )


def pushed_run(run_id: str, campaign: str, created: datetime) -> RunRecord:
    """A run waiting for its PR to be approved: the first three moves of `done_run`."""
    done = done_run(run_id, campaign, created)
    return done.model_copy(
        update={"history": done.history[:3], "state": S.PUSHED, "pr_number": None}
    )


def retried_run(run_id: str, campaign: str, created: datetime) -> RunRecord:
    return run_record(
        run_id,
        f"acme/{run_id.replace('.', '-')}",
        [
            ("create-run", S.QUEUED, W, created, None),
            ("run-agent-step", S.FAILED_RETRYABLE, W, created + timedelta(minutes=5), "quota"),
        ],
        campaign=campaign,
        grade=(Verdict.RETRYABLE, "quota_exhausted"),
    )


async def test_a_second_call_counts_what_changed_and_the_same_as_a_first(
    campaign: Campaign,
) -> None:
    name = campaign.name
    created = datetime.now(UTC) - timedelta(days=1)
    finished = [done_run(f"{name}.{n}", name, created) for n in range(20)]
    for record in finished:
        await campaign.start(record)
    waiting = pushed_run(f"{name}.waiting", name, created)
    handle = await campaign.start(waiting, wait=True)
    stopped = await campaign.start(pushed_run(f"{name}.stopped", name, created), wait=True)
    await stopped.terminate("a stand-in for a run someone terminated")
    await campaign.listed("ExecutionStatus != 'Running'", 21)
    await campaign.listed("ExecutionStatus = 'Running'", 1)

    first = await campaign.cli("stats", "--campaign", name, "--json")
    assert first.returncode == 0, first.stderr
    # A run Temporal gives no record for is said, not silently dropped; on later calls too.
    assert f"1 run(s) not counted (no record): {name}.stopped: ended TERMINATED" in first.stderr
    cold = json.loads(first.stdout)
    assert cold["runs"] == 21 and cold["states"] == {"DONE": 20, "PUSHED": 1}
    assert campaign.kept_file.is_file()

    second = await campaign.cli("stats", "--campaign", name, "--json")
    assert f"1 run(s) not counted (no record): {name}.stopped" in second.stderr
    assert settled(json.loads(second.stdout)) == settled(cold)

    # The kept facts are what the second call counted: a kept run's verdict changed in the
    # file shows up (nothing else tells that a call listed only what changed).
    kept = load_finished_runs(campaign.kept_file, name)
    assert kept is not None and len(kept.runs) == 21 and kept.recheck == [waiting.run_id]
    doctored = kept.runs[finished[0].run_id].facts
    assert doctored is not None
    doctored.verdict = "DOCTORED"
    save_finished_runs(campaign.kept_file, kept)
    assert (await campaign.stats())["verdicts"] == {"PASS": 20, "DOCTORED": 1}
    doctored.verdict = "PASS"
    save_finished_runs(campaign.kept_file, kept)

    # After those calls: the waiting run is merged, a new run finishes, and a finished run's
    # id is started again (its new execution replaces the old one).
    await handle.signal(RecordedRun.finish, done_run(waiting.run_id, name, created))
    await handle.result()
    await campaign.start(done_run(f"{name}.late", name, created))
    await campaign.start(retried_run(finished[1].run_id, name, created))
    await campaign.listed("ExecutionStatus = 'Completed'", 23)  # the replaced run, still listed
    await campaign.listed("ExecutionStatus = 'Running'", 0)

    warm = await campaign.stats()
    assert warm["runs"] == 22
    assert warm["states"] == {"DONE": 21, "FAILED_RETRYABLE": 1}
    assert warm["verdicts"] == {"PASS": 21, "RETRYABLE": 1}
    assert warm["funnel"]["merged"] == 21

    # A first call (nothing kept) counts what the warm one did.
    campaign.kept_file.unlink()
    assert settled(await campaign.stats()) == settled(warm)


async def test_a_run_seen_running_is_found_closed_though_visibility_lagged(
    campaign: Campaign,
) -> None:
    created = datetime.now(UTC) - timedelta(hours=3)
    waiting = pushed_run(f"{campaign.name}.waiting", campaign.name, created)
    handle = await campaign.start(waiting, wait=True)
    await campaign.listed("ExecutionStatus = 'Running'", 1)
    assert (await campaign.stats())["states"] == {"PUSHED": 1}

    await handle.signal(RecordedRun.finish, done_run(waiting.run_id, campaign.name, created))
    await handle.result()
    await campaign.listed("ExecutionStatus = 'Completed'", 1)
    # As if visibility had shown the close only after later ones: its close time is before
    # the latest one kept, so only the recheck by id finds it.
    kept = load_finished_runs(campaign.kept_file, campaign.name)
    assert kept is not None and kept.recheck == [waiting.run_id]
    kept.latest_close = datetime.now(UTC) + timedelta(days=1)
    save_finished_runs(campaign.kept_file, kept)
    assert (await campaign.stats())["states"] == {"DONE": 1}
    kept = load_finished_runs(campaign.kept_file, campaign.name)
    assert kept is not None and kept.recheck == [] and list(kept.runs) == [waiting.run_id]


async def test_a_damaged_or_foreign_file_is_rebuilt(campaign: Campaign) -> None:
    now = datetime.now(UTC)
    for record in synthetic_campaign(campaign.name, 6, now - timedelta(days=1)):
        await campaign.start(record)
    await campaign.listed("ExecutionStatus = 'Completed'", 6)
    first = settled(await campaign.stats())
    assert first["runs"] == 6
    valid = campaign.kept_file.read_text()

    foreign = json.loads(valid)
    foreign["version"] = FORMAT_VERSION + 1
    other_scope = json.loads(valid)
    other_scope["campaign"] = "another campaign"
    for damage in ("{not json", "", json.dumps(foreign), json.dumps(other_scope), "[]"):
        campaign.kept_file.write_text(damage)
        assert settled(await campaign.stats()) == first
        rebuilt = load_finished_runs(campaign.kept_file, campaign.name)
        assert rebuilt is not None and len(rebuilt.runs) == 6

    # A file that cannot be read at all (a folder in its place) costs a full listing only.
    campaign.kept_file.unlink()
    campaign.kept_file.mkdir()
    assert settled(await campaign.stats()) == first


async def test_since_is_answered_from_kept_runs_only_when_they_cover_it(
    campaign: Campaign,
) -> None:
    now = datetime.now(UTC)
    old = synthetic_campaign(campaign.name, 5, now - timedelta(days=5))
    recent = [
        r.model_copy(update={"run_id": f"{r.run_id}.recent"})
        for r in synthetic_campaign(campaign.name, 3, now - timedelta(hours=2))
    ]
    for record in [*old, *recent]:
        await campaign.start(record)
    await campaign.listed("ExecutionStatus = 'Completed'", 8)

    assert (await campaign.stats("--since", "1d"))["runs"] == 3
    assert (await campaign.stats())["runs"] == 8  # wider than what the first call kept
    assert (await campaign.stats("--since", "1d"))["runs"] == 3
    assert (await campaign.stats("--since", "1w"))["runs"] == 8


def row(run_id: str, started: datetime, closed: datetime | None, status: str) -> RunSummary:
    return RunSummary(run_id=run_id, status=status, started_at=started, closed_at=closed)


T0 = datetime(2026, 5, 1, tzinfo=UTC)


def test_a_workflow_id_started_again_replaces_its_earlier_run() -> None:
    rows = latest_executions(
        [
            row("a", T0, T0 + timedelta(minutes=1), "COMPLETED"),
            row("a", T0 + timedelta(minutes=2), None, "RUNNING"),
            row("b", T0, T0 + timedelta(minutes=3), "COMPLETED"),
        ]
    )
    assert sorted((r.run_id, r.status) for r in rows) == [("a", "RUNNING"), ("b", "COMPLETED")]

    kept = FinishedRuns(campaign="c")
    facts = run_facts(synthetic_campaign("c", 1, T0)[0], T0)
    newer = FinishedRun(run_id="a", started_at=T0 + timedelta(hours=1), closed_at=T0, facts=facts)
    older = FinishedRun(run_id="a", started_at=T0, closed_at=T0, unread="ended FAILED")
    kept.keep(newer)
    kept.keep(older)  # listed late: the newer execution stays
    assert kept.runs["a"] is newer


def test_kept_runs_cover_a_window_inside_theirs() -> None:
    everything = FinishedRuns(campaign=None)
    since_monday = FinishedRuns(campaign=None, started_since=T0)
    assert everything.covers(None) and everything.covers(T0)
    assert since_monday.covers(T0 + timedelta(days=1)) and since_monday.covers(T0)
    assert not since_monday.covers(None) and not since_monday.covers(T0 - timedelta(days=1))


def test_the_listing_starts_a_little_before_the_latest_close() -> None:
    kept = FinishedRuns(campaign=None)
    assert kept.listing_floor() is None  # nothing kept: list every run
    kept.note_listed([row("a", T0, T0 + timedelta(minutes=5), "COMPLETED")])
    kept.note_listed([row("b", T0, T0 + timedelta(minutes=1), "COMPLETED")])
    floor = kept.listing_floor()
    assert floor is not None and floor < T0 + timedelta(minutes=5)


def test_a_scope_file_is_named_by_hash_and_written_whole(tmp_path: Path) -> None:
    names = ["all", "../escape", "x" * 300, "c/d"]
    paths = {finished_runs_path(tmp_path, name) for name in names} | {
        finished_runs_path(tmp_path, None)
    }
    assert len(paths) == 5 and all(path.parent == tmp_path for path in paths)
    path = finished_runs_path(tmp_path / "new", "c/d")
    save_finished_runs(path, FinishedRuns(campaign="c/d"))
    assert load_finished_runs(path, "c/d") == FinishedRuns(campaign="c/d")
    assert load_finished_runs(path, "c") is None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left
