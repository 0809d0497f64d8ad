"""Pacing a campaign's PRs per owner: at most `max_prs_per_owner` runs of one owner (user or
organisation) have a PR requested or open at a time, so its maintainers are not flooded. A run
holds its slot from the moment the campaign grants it until the run finishes."""

from __future__ import annotations

from collections.abc import Iterable

from contracts import RunProgress


def owner_of(repo: str) -> str:
    return repo.partition("/")[0].lower()


def slot_holder(run: RunProgress) -> bool:
    """Whether the run holds its owner's PR slot: a PR requested or open, the run not finished."""
    return (
        (run.pr_requested or run.pr_number is not None)
        and run.state is not None
        and not run.state.is_terminal
    )


def pr_slot_holders(runs: Iterable[RunProgress], repo: str) -> int:
    """Runs of `repo`'s owner holding a PR slot."""
    owner = owner_of(repo)
    return sum(1 for run in runs if owner_of(run.repo) == owner and slot_holder(run))
