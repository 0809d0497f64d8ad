"""Every (from, to) pair of the state machine against the previous tool's table."""

from __future__ import annotations

import itertools
import re

import pytest

from contracts.states import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATES,
    RunState,
    allowed_from,
    can_transition,
    describe_allowed,
)
from tests.run_env import shared_path

ALL_PAIRS = list(itertools.product(RunState, RunState))


# The previous tool's table, as written in ../shared/seed/run-states.md, kept here so every pair
# is checked even where the shared material is absent (a test below compares the two).
SEED_TABLE = """
| QUEUED | EXECUTING, DISCOVERY, PAUSED, SKIPPED, FAILED, FAILED_TERMINAL |
| EXECUTING | PUSHED, PAUSED, FAILED, NEEDS_HUMAN_REVIEW |
| DISCOVERY | PLAN_READY, PAUSED, SKIPPED, FAILED, FAILED_RETRYABLE, FAILED_TERMINAL, NEEDS_HUMAN_REVIEW |
| PLAN_READY | IMPLEMENTING, PAUSED, SKIPPED, FAILED, NEEDS_HUMAN_REVIEW |
| IMPLEMENTING | LOCAL_VALIDATING, PAUSED, FAILED, FAILED_RETRYABLE, FAILED_TERMINAL, NEEDS_HUMAN_REVIEW |
| LOCAL_VALIDATING | PUSHED, PAUSED, FAILED, FAILED_RETRYABLE, FAILED_TERMINAL, NEEDS_HUMAN_REVIEW |
| PUSHED | CI_WAIT, PAUSED, FAILED, NEEDS_HUMAN_REVIEW, DONE |
| CI_WAIT | REVIEW_WAIT, ITERATING, PAUSED, FAILED, FAILED_RETRYABLE, FAILED_TERMINAL, NEEDS_HUMAN_REVIEW |
| REVIEW_WAIT | ITERATING, PAUSED, DONE, FAILED, FAILED_RETRYABLE, NEEDS_HUMAN_REVIEW |
| ITERATING | IMPLEMENTING, LOCAL_VALIDATING, PAUSED, FAILED, FAILED_RETRYABLE, FAILED_TERMINAL, NEEDS_HUMAN_REVIEW |
| PAUSED | DISCOVERY, PLAN_READY, IMPLEMENTING, LOCAL_VALIDATING, PUSHED, CI_WAIT, REVIEW_WAIT, ITERATING, EXECUTING, NEEDS_HUMAN_REVIEW, FAILED, SKIPPED, FAILED_TERMINAL |
| NEEDS_HUMAN_REVIEW | EXECUTING, IMPLEMENTING, ITERATING, PAUSED, FAILED, SKIPPED, DONE, FAILED_TERMINAL |
| FAILED | EXECUTING, PAUSED, NEEDS_HUMAN_REVIEW, FAILED_TERMINAL |
| FAILED_RETRYABLE | EXECUTING, DISCOVERY, IMPLEMENTING, LOCAL_VALIDATING, ITERATING, FAILED, NEEDS_HUMAN_REVIEW, SKIPPED, FAILED_TERMINAL |
| DONE, SKIPPED, FAILED_TERMINAL | none |
"""


def parse_table(text: str) -> dict[RunState, set[RunState]]:
    """Parse `| FROM[, FROM] | T1, T2 |` rows of the seed's markdown table."""
    table: dict[RunState, set[RunState]] = {}
    for line in text.splitlines():
        match = re.match(r"^\|\s*([A-Z_, ]+?)\s*\|\s*([A-Za-z_, ]+?)\s*\|$", line)
        if not match or match.group(1) == "from":
            continue
        targets = (
            set()
            if match.group(2).strip() == "none"
            else {RunState(t.strip()) for t in match.group(2).split(",")}
        )
        for source in match.group(1).split(","):
            table[RunState(source.strip())] = targets
    return table


def seed_table() -> dict[RunState, set[RunState]]:
    return parse_table(SEED_TABLE)


def test_our_copy_of_the_seed_table_is_the_shared_seed() -> None:
    shared = parse_table(shared_path("seed/run-states.md").read_text())
    assert shared == seed_table()


def test_seed_table_names_exactly_our_states() -> None:
    # The seed says "15 states" but its table names 17 (14 working + 3 terminal); we keep
    # every name the table uses.
    table = seed_table()
    assert set(table) == set(RunState)
    assert len(RunState) == 17


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=lambda s: str(s))
def test_every_pair_matches_the_previous_tool(source: RunState, target: RunState) -> None:
    table = seed_table()
    expected = (not source.is_terminal) and (source == target or target in table[source])
    assert can_transition(source, target) is expected


def test_table_is_exactly_the_seed() -> None:
    table = seed_table()
    assert {s: set(t) for s, t in ALLOWED_TRANSITIONS.items()} == table


def test_terminal_states_allow_nothing_not_even_same_state() -> None:
    assert TERMINAL_STATES == {RunState.DONE, RunState.SKIPPED, RunState.FAILED_TERMINAL}
    for terminal in TERMINAL_STATES:
        assert terminal.is_terminal
        assert allowed_from(terminal) == []
        for target in RunState:
            assert not can_transition(terminal, target)
        assert "terminal" in describe_allowed(terminal)


def test_same_state_is_a_legal_noop_for_working_states() -> None:
    for state in RunState:
        assert can_transition(state, state) is (not state.is_terminal)


def test_describe_allowed_lists_targets_for_the_operator() -> None:
    assert describe_allowed(RunState.QUEUED) == (
        "allowed from QUEUED: EXECUTING, DISCOVERY, PAUSED, FAILED, SKIPPED, FAILED_TERMINAL"
    )
