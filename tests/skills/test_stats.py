"""Stage statistics: per pack@version and stage, over runs."""

from __future__ import annotations

from contracts.skills import StageOutcome
from skills.stats import stage_stats


def outcome(pack: str, stage: str, verdict: str, code: str, seconds: float) -> StageOutcome:
    return StageOutcome(
        pack=pack, stage=stage, verdict=verdict, reason_code=code, duration_s=seconds
    )  # type: ignore[arg-type]


def test_versions_and_stages_are_compared() -> None:
    rows = stage_stats(
        {
            "r1": [outcome("forge@v1", "discover", "PASS", "contract_ready", 10),
                   outcome("forge@v1", "implement", "HUMAN_REVIEW", "tests_failing", 100),
                   outcome("forge@v1", "implement", "PASS", "tests_passed", 80)],
            "r2": [outcome("forge@v1", "discover", "PASS", "contract_skip", 20)],
            "r3": [outcome("forge@v2", "discover", "RETRYABLE", "contract_invalid", 30)],
        }
    )  # fmt: skip
    shown = [r.as_dict() for r in rows]
    assert [(r["pack"], r["stage"]) for r in shown] == [
        ("forge@v1", "discover"), ("forge@v1", "implement"), ("forge@v2", "discover"),
    ]  # fmt: skip
    assert (
        shown[0]["runs"] == 2
        and shown[0]["pass_rate"] == 1.0
        and shown[0]["median_duration_s"] == 15.0
    )
    assert shown[1]["runs"] == 1 and shown[1]["steps"] == 2 and shown[1]["pass_rate"] == 0.5
    assert shown[2]["top_reasons"] == [{"reason_code": "contract_invalid", "count": 1}]
