"""`agentpr skills stats`: how each pack, version and stage does across runs — runs, pass rate,
the most frequent reason codes and the median duration — so an operator sees which stage fails
and can compare pack versions (the previous tool's `skills-metrics`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median

from contracts.skills import StageOutcome


@dataclass
class StageStats:
    pack: str
    stage: str
    runs: set[str] = field(default_factory=set)
    steps: int = 0
    passed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.steps if self.steps else 0.0

    def as_dict(self, top: int = 3) -> dict[str, object]:
        return {
            "pack": self.pack,
            "stage": self.stage,
            "runs": len(self.runs),
            "steps": self.steps,
            "pass_rate": round(self.pass_rate, 3),
            "top_reasons": [
                {"reason_code": r, "count": n} for r, n in self.reasons.most_common(top)
            ],
            "median_duration_s": round(median(self.durations), 1) if self.durations else None,
        }


STAGE_ORDER = {"discover": 0, "implement": 1, "fix": 2}


def stage_stats(runs: dict[str, list[StageOutcome]]) -> list[StageStats]:
    """Per pack@version and stage, over every stage outcome of every run given (run id →
    its outcomes)."""
    table: dict[tuple[str, str], StageStats] = {}
    for run_id, outcomes in runs.items():
        for outcome in outcomes:
            row = table.setdefault(
                (outcome.pack, outcome.stage), StageStats(outcome.pack, outcome.stage)
            )
            row.runs.add(run_id)
            row.steps += 1
            row.passed += outcome.verdict == "PASS"
            row.reasons[outcome.reason_code] += 1
            row.durations.append(outcome.duration_s)
    return sorted(table.values(), key=lambda r: (r.pack, STAGE_ORDER.get(r.stage, 9)))
