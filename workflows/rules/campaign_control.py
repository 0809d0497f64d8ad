"""What a campaign's pause, resume, cancel or retry does to one of its runs. A run a human
holds, or a finished one, stays as it is."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts import CampaignControl, RunRecord
from contracts.states import RunState, can_transition, path_to
from workflows.rules.iteration import can_iterate
from workflows.states import HELD_BY_CAMPAIGN_PAUSE, RETRIED_BY_CAMPAIGN


@dataclass(frozen=True)
class ControlPlan:
    command: str
    targets: list[RunState] = field(default_factory=list)
    paused_by_campaign: bool | None = None  # set the flag after the moves; None: leave it
    iterate: bool = False


def control_plan(record: RunRecord, control: CampaignControl) -> ControlPlan:
    state = record.state
    if state.is_terminal:
        return ControlPlan(control.action)
    if control.action == "pause":
        if state in HELD_BY_CAMPAIGN_PAUSE and can_transition(state, RunState.PAUSED):
            return ControlPlan("pause", [RunState.PAUSED], paused_by_campaign=True)
    elif control.action == "resume":
        if state == RunState.PAUSED and record.paused_by_campaign:
            back = record.paused_from or RunState.DISCOVERY
            target = back if can_transition(state, back) else RunState.DISCOVERY
            return ControlPlan("resume", [target], paused_by_campaign=False)
    elif control.action == "cancel":
        # SKIPPED where the table allows it, else the terminal failure; never via a detour.
        chain = next(
            (
                [end]
                for end in (RunState.SKIPPED, RunState.FAILED_TERMINAL)
                if can_transition(state, end)
            ),
            path_to(state, RunState.SKIPPED),
        )
        return ControlPlan("cancel", chain)
    elif control.action == "retry" and state in RETRIED_BY_CAMPAIGN:
        failed_from = next(
            (
                t.from_state
                for t in reversed(record.history)
                if t.to_state == state and t.from_state != state
            ),
            None,
        )
        target = (
            failed_from
            if failed_from and can_transition(state, failed_from)
            else RunState.EXECUTING
        )
        if failed_from == RunState.QUEUED:
            target = RunState.DISCOVERY
        if can_transition(state, target):
            return ControlPlan(
                "retry", [target], iterate=target == RunState.ITERATING and can_iterate(record)
            )
    return ControlPlan(control.action)
