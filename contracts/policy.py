"""What one run of one repository may do (RunPolicy). The operator's policy file and its
per-repository overrides are read by `common.policy`, which builds these."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from contracts.base import Contract

CodexSandbox = Literal["read-only", "workspace-write", "danger-full-access"]


class DiffBudget(Contract):
    """Beyond this size a change goes to human review instead of passing automatically."""

    model_config = ConfigDict(extra="forbid")

    max_files: PositiveInt = 30
    max_added_lines: PositiveInt = 800


class ModelPrice(Contract):
    """What a model costs, in US dollars per million tokens (the provider's price list)."""

    model_config = ConfigDict(extra="forbid")

    input_per_mtok: NonNegativeFloat
    # Cached input (prompt caching); None: the same as uncached input.
    cached_input_per_mtok: NonNegativeFloat | None = None
    output_per_mtok: NonNegativeFloat


# The price-table key for every model the table does not name.
ANY_MODEL = "*"


class RunPolicy(Contract):
    """What one run of one repository may do; `ManagerPolicy.for_repo` builds it."""

    model_config = ConfigDict(extra="forbid")

    codex_sandbox: CodexSandbox = "danger-full-access"
    agent_timeout_minutes: PositiveInt = 30
    diff_budget: DiffBudget = Field(default_factory=DiffBudget)
    retry_cap: NonNegativeInt = 2
    require_test_evidence: bool = True
    # An AI-assistance note in PR bodies. Off only where the repository does not ask for
    # disclosure (its policy documents may require it: then the note is always there).
    ai_disclosure: bool = True
    # Whose reviews may move a run or reach an agent's prompt (GitHub's author_association).
    trusted_associations: list[str] = Field(
        default_factory=lambda: ["OWNER", "MEMBER", "COLLABORATOR"]
    )
    # Token prices per model ("*": any other model), to turn agent steps' usage into money.
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    # What one run may spend on agent steps, in US dollars (None: no cap). A step that would
    # start past it does not start; a step that crosses it is stopped.
    max_cost_usd: PositiveFloat | None = None

    def price_for(self, model: str | None) -> ModelPrice | None:
        return self.prices.get(model or ANY_MODEL) or self.prices.get(ANY_MODEL)
