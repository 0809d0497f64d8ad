"""What an agent step has spent so far, read from its event stream as it is written, so the
step can be stopped when it crosses the run's money cap (agents' own turn and budget caps are
known to fail open; this one is agentpr's).

Claude Code reports each API message's usage as it goes (one `assistant` event per content
block, all carrying the message's usage: counted once per message id). Codex reports usage
only when its turn completes (`turn.completed`), so a Codex step is judged against the cap when
it ends; its wall clock bounds it meanwhile."""

from __future__ import annotations

import json
from typing import Any

from contracts.policy import ModelPrice
from contracts.steps import TokenUsage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


class StepSpend:
    def __init__(self, price: ModelPrice | None) -> None:
        self.price = price
        self._claude_messages: dict[str, TokenUsage] = {}
        self._codex_turns = TokenUsage()
        # Claude Code's own total, from its final `result` event.
        self.reported_usd: float | None = None

    def feed(self, line: bytes) -> None:
        """One line of the transcript (cheap for lines that carry no usage)."""
        if b'"usage"' not in line and b"total_cost_usd" not in line:
            return
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "turn.completed" and isinstance(event.get("usage"), dict):
            usage = event["usage"]
            self._codex_turns = TokenUsage(
                input_tokens=self._codex_turns.input_tokens + _int(usage.get("input_tokens")),
                cached_input_tokens=self._codex_turns.cached_input_tokens
                + _int(usage.get("cached_input_tokens")),
                output_tokens=self._codex_turns.output_tokens + _int(usage.get("output_tokens")),
            )
        elif kind == "assistant" and isinstance(event.get("message"), dict):
            message = event["message"]
            usage = message.get("usage")
            if isinstance(usage, dict):
                cached = _int(usage.get("cache_read_input_tokens"))
                self._claude_messages[str(message.get("id"))] = TokenUsage(
                    input_tokens=_int(usage.get("input_tokens"))
                    + cached
                    + _int(usage.get("cache_creation_input_tokens")),
                    cached_input_tokens=cached,
                    output_tokens=_int(usage.get("output_tokens")),
                )
        elif kind == "result":
            total = event.get("total_cost_usd")
            if isinstance(total, (int, float)) and total >= 0:
                self.reported_usd = float(total)

    @property
    def usage(self) -> TokenUsage:
        claude = self._claude_messages.values()
        return TokenUsage(
            input_tokens=self._codex_turns.input_tokens + sum(u.input_tokens for u in claude),
            cached_input_tokens=self._codex_turns.cached_input_tokens
            + sum(u.cached_input_tokens for u in claude),
            output_tokens=self._codex_turns.output_tokens + sum(u.output_tokens for u in claude),
        )

    def spent_usd(self) -> float | None:
        """So far: priced from the table, else what the engine reported; None: unpriced."""
        if self.price is not None:
            return self.usage.cost_usd(self.price)
        return self.reported_usd


def step_cost_usd(
    usage: TokenUsage, price: ModelPrice | None, reported_usd: float | None
) -> float | None:
    """A finished step's cost: its final usage priced from the table, else the engine's own
    figure, else None."""
    if price is not None:
        return usage.cost_usd(price)
    return reported_usd
