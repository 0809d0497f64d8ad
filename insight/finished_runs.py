"""The facts of finished runs, kept on disk, so `stats` and `campaign report` list from Temporal
only the runs that are running or closed since their last call.

Listing is what costs: the dev server's SQLite visibility gives about 1,000 rows a second, so
listing 5,000 runs took 5 of `stats`'s 7 seconds. A finished run's facts never change (its record
is its workflow result), so one file per scope (a campaign, or every run) keeps them with the
latest close time listed; the next call asks visibility only for `ExecutionStatus = 'Running'
OR CloseTime >= <that time, minus a margin>` and takes the rest from here.

The file is JSON (no pickle: a file someone else wrote is data, never code), written whole to a
temporary file and renamed over the old one, so a reader sees the old file or the new one. A
file that does not parse, or was written by another version or for another scope, is ignored
and rebuilt by the caller.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from contracts.run import RunSummary
from insight.facts import RunFacts

# Bump when the file's shape or the meaning of a kept fact changes: older files are rebuilt.
FORMAT_VERSION = 1
# Visibility is written after the fact (a queue on the dev server, an index refresh on a
# cluster), so a run that closed just before the latest close time listed may show up closed
# only later. Listing from a little before that time picks such runs up; the rows listed again
# are recognised by their close time and cost no record read.
CLOSE_TIME_MARGIN = timedelta(seconds=5)


class FinishedRun(BaseModel):
    """One finished run as kept: which execution of the workflow id it is (start and close
    time), and its facts without the clock (insight.facts.settled_facts), or why it has none."""

    run_id: str
    started_at: datetime | None = None
    closed_at: datetime
    # The record's creation time, which `--since` filters on (facts.created_at falls back to
    # the first transition).
    created_at: datetime | None = None
    facts: RunFacts | None = None
    # Why Temporal gives no record for it (it ended FAILED, TERMINATED, …).
    unread: str | None = None


class FinishedRuns(BaseModel):
    version: int = FORMAT_VERSION
    campaign: str | None = None
    # Only runs started since then were listed (None: every run).
    started_since: datetime | None = None
    # The latest close time listed: later calls list only runs closed since (minus the margin).
    latest_close: datetime | None = None
    # Runs to list again by id, whatever their close time: those running at the last call (one
    # that closes shows up as closed late, with an earlier close time, if visibility lags) and
    # those whose record could not be read then.
    recheck: list[str] = Field(default_factory=list)
    runs: dict[str, FinishedRun] = Field(default_factory=dict)

    def covers(self, started_since: datetime | None) -> bool:
        """Whether the kept runs include every run a call for `started_since` counts."""
        return self.started_since is None or (
            started_since is not None and started_since >= self.started_since
        )

    def listing_floor(self) -> datetime | None:
        """List runs closed at or after this time (None: list every run)."""
        return None if self.latest_close is None else self.latest_close - CLOSE_TIME_MARGIN

    def kept(self, row: RunSummary) -> FinishedRun | None:
        """The kept run if it is the execution `row` lists (same close time), else None."""
        run = self.runs.get(row.run_id)
        if run is None or run.closed_at != row.closed_at:
            return None
        return run

    def keep(self, run: FinishedRun) -> None:
        """Keep `run`, replacing an older execution of the same workflow id."""
        held = self.runs.get(run.run_id)
        if held is not None and _started(held.started_at) > _started(run.started_at):
            return
        self.runs[run.run_id] = run

    def note_listed(self, rows: Iterable[RunSummary]) -> None:
        """Move the latest close time up to the rows just listed."""
        for row in rows:
            if row.closed_at is not None and (
                self.latest_close is None or row.closed_at > self.latest_close
            ):
                self.latest_close = row.closed_at

    def forget_closed_before(self, cutoff: datetime) -> bool:
        """Drop runs closed before `cutoff` (Temporal has deleted them: its retention);
        whether any was dropped."""
        gone = [run_id for run_id, run in self.runs.items() if run.closed_at < cutoff]
        for run_id in gone:
            del self.runs[run_id]
        return bool(gone)


def _started(at: datetime | None) -> float:
    return at.timestamp() if at is not None else float("-inf")


def latest_executions(rows: Iterable[RunSummary]) -> list[RunSummary]:
    """One row per workflow id: its latest execution (a workflow id started again replaces
    its earlier run)."""
    latest: dict[str, RunSummary] = {}
    for row in rows:
        held = latest.get(row.run_id)
        if held is None or _started(row.started_at) >= _started(held.started_at):
            latest[row.run_id] = row
    return list(latest.values())


def finished_runs_path(folder: Path, campaign: str | None) -> Path:
    """One file per scope; a campaign's name can hold anything, so its file is named by hash
    (and the name inside is checked when read)."""
    if campaign is None:
        return folder / "all-runs.json"
    digest = hashlib.sha256(campaign.encode()).hexdigest()[:24]
    return folder / f"campaign-{digest}.json"


def load_finished_runs(path: Path, campaign: str | None) -> FinishedRuns | None:
    """The kept runs of this scope, or None: no file, or one to rebuild (damaged, another
    version's, another scope's)."""
    try:
        kept = FinishedRuns.model_validate_json(path.read_bytes())
    except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
        return None
    if kept.version != FORMAT_VERSION or kept.campaign != campaign:
        return None
    return kept


def save_finished_runs(path: Path, kept: FinishedRuns) -> None:
    """Write the file whole, then rename it over the old one. A cache that cannot be written
    only costs the next call a full listing."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(kept.model_dump_json().encode())
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
