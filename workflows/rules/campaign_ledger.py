"""A campaign's ledger of its runs: every run's latest progress, with the figures the campaign
decides by on every signal — runs working by themselves (the --max-parallel gate), runs not yet
ended, PR slots held per owner, money spent — kept up to date as progress arrives.

A 10,000-run campaign receives ~100,000 progress signals; walking every run for each of them
would be ~10^9 steps of workflow code. Pure: no Temporal, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from contracts import RunProgress
from workflows.rules.campaign_pacing import owner_of, slot_holder
from workflows.states import WORKING_BY_ITSELF


class RunLedger:
    def __init__(self, runs: Iterable[RunProgress] = ()) -> None:
        self._runs: dict[str, RunProgress] = {}
        self.working = 0  # runs in WORKING_BY_ITSELF
        self.open = 0  # runs started and not ended
        self._slots: dict[str, int] = {}  # owner → runs holding a PR slot
        self._cost = 0.0
        for progress in runs:
            self.put(progress)

    def put(self, progress: RunProgress) -> None:
        """Record a run's latest progress (replacing what it said before)."""
        old = self._runs.get(progress.run_id)
        if old is not None:
            self._count(old, -1)
        self._runs[progress.run_id] = progress
        self._count(progress, +1)

    def _count(self, progress: RunProgress, sign: int) -> None:
        state = progress.state
        if state in WORKING_BY_ITSELF:
            self.working += sign
        if state is not None and not state.is_terminal:
            self.open += sign
        if slot_holder(progress):
            owner = owner_of(progress.repo)
            self._slots[owner] = self._slots.get(owner, 0) + sign
        self._cost += sign * progress.cost_usd

    def get(self, run_id: str) -> RunProgress | None:
        return self._runs.get(run_id)

    def __getitem__(self, run_id: str) -> RunProgress:
        return self._runs[run_id]

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[RunProgress]:
        return iter(self._runs.values())

    def values(self) -> list[RunProgress]:
        return list(self._runs.values())

    def as_dict(self) -> dict[str, RunProgress]:
        return self._runs

    def slot_holders(self, repo: str) -> int:
        """Runs of `repo`'s owner holding a PR slot."""
        return self._slots.get(owner_of(repo), 0)

    @property
    def cost_usd(self) -> float:
        # Added and taken away as runs report: rounded, so the float's dust never shows.
        return round(self._cost, 6)

    @property
    def all_ended(self) -> bool:
        return self.open == 0
