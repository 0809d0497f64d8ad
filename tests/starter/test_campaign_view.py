"""`campaign watch` on a large campaign: the runs still going first, at most WATCH_ROWS rows,
and where to see the rest."""

from __future__ import annotations

from rich.console import Console

from contracts import CampaignStatus, RunProgress
from contracts.states import RunState
from starter.cli.campaigns import WATCH_ROWS, _view


def test_watch_shows_the_runs_still_going_first_and_says_how_many_are_hidden() -> None:
    runs = [
        RunProgress(
            run_id=f"big.o.r{i:03}",
            repo=f"o/r{i:03}",
            state=RunState.IMPLEMENTING if i % 25 == 0 else RunState.SKIPPED,
        )
        for i in range(100)
    ]
    status = CampaignStatus(
        name="big",
        total=100,
        started=100,
        max_parallel=4,
        paused=False,
        cancelled=False,
        finished=False,
        runs=runs,
    )
    console = Console(width=200, record=True)
    console.print(_view(status, WATCH_ROWS))
    text = console.export_text()
    assert f"… {100 - WATCH_ROWS} more run(s): agentpr campaign show --name big" in text
    assert all(f"o/r{i:03}" in text for i in (0, 25, 50, 75))  # the working ones, first
    assert text.count("o/r") == WATCH_ROWS
    console = Console(width=200, record=True)
    console.print(_view(status))  # `campaign show`: every run
    assert console.export_text().count("o/r") == 100
