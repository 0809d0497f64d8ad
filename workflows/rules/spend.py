"""A run's money: what its agent steps cost, its cap, and what is left of it."""

from __future__ import annotations

from contracts import AgentStepResult, Engine, RunRecord


def cost_cap(record: RunRecord) -> float | None:
    """The run's cap in US dollars: its own (`--max-cost-usd`), else its policy's."""
    if record.max_cost_usd is not None:
        return record.max_cost_usd
    return record.policy.max_cost_usd if record.policy else None


def cost_left(record: RunRecord) -> float | None:
    """What the next agent step may spend (None: no cap)."""
    cap = cost_cap(record)
    return None if cap is None else max(round(cap - record.cost_usd, 6), 0.0)


def add_step_cost(record: RunRecord, outcome: AgentStepResult) -> None:
    if outcome.engine == Engine.COMMAND or not outcome.transcript:
        return  # a codemod or a step that never ran costs no tokens
    if outcome.cost_usd is None:
        record.unpriced_agent_steps += 1
    else:
        record.cost_usd = round(record.cost_usd + outcome.cost_usd, 6)
