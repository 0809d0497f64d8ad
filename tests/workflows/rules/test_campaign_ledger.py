"""The campaign's ledger keeps, as progress arrives, the same figures a walk over every run
gives — and packs 10,000 runs' progress well under Temporal's 2 MB payload limit."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from contracts import CampaignCarried, CampaignStatus, PackedRuns, RunProgress, packed, unpacked
from contracts.campaign import CampaignRepo
from contracts.states import RunState
from workflows.rules.campaign_ledger import RunLedger
from workflows.rules.campaign_pacing import pr_slot_holders
from workflows.states import WORKING_BY_ITSELF

OWNERS = ["acme", "Acme", "globex", "initech"]


def progress(rng: random.Random, run: int) -> RunProgress:
    owner = rng.choice(OWNERS)
    return RunProgress(
        run_id=f"c.{run}",
        repo=f"{owner}/r{run}",
        state=rng.choice([None, *RunState]),
        pr_requested=rng.random() < 0.3,
        pr_number=rng.choice([None, 7]),
        cost_usd=round(rng.random(), 3),
    )


def test_the_ledger_agrees_with_a_walk_over_every_run() -> None:
    rng = random.Random(16)
    ledger = RunLedger()
    latest: dict[str, RunProgress] = {}
    for _ in range(3_000):
        news = progress(rng, rng.randrange(200))
        ledger.put(news)
        latest[news.run_id] = news
    runs = list(latest.values())
    assert len(ledger) == len(runs)
    assert ledger.working == sum(1 for p in runs if p.state in WORKING_BY_ITSELF)
    assert ledger.all_ended == all(p.state is None or p.state.is_terminal for p in runs)
    assert ledger.open == sum(1 for p in runs if p.state is not None and not p.state.is_terminal)
    for owner in OWNERS:
        assert ledger.slot_holders(f"{owner}/x") == pr_slot_holders(runs, f"{owner}/x")
    assert abs(ledger.cost_usd - sum(p.cost_usd for p in runs)) < 1e-6
    # A ledger built from its own runs (as after continue-as-new) says the same.
    again = RunLedger(ledger.values())
    assert (again.working, again.open, again.cost_usd) == (
        ledger.working,
        ledger.open,
        ledger.cost_usd,
    )


def test_ten_thousand_runs_pack_far_under_the_payload_limit() -> None:
    now = datetime.now(UTC)
    runs = [
        RunProgress(
            run_id=f"forge-wave-1.owner{i % 3000}.project-{i}",
            repo=f"owner{i % 3000}/project-{i}",
            state=RunState.CI_WAIT,
            verdict="PASS",
            reason_code="tests_passed",
            pr_number=1000 + i,
            pr_url=f"https://github.com/owner{i % 3000}/project-{i}/pull/{1000 + i}",
            pr_requested=True,
            seq=100 + i % 50,
            updated_at=now,
            default_branch="main",
            language="Python",
            cost_usd=0.42,
        )
        for i in range(10_000)
    ]
    carried = CampaignCarried(runs=runs, outcome_seen=[r.run_id for r in runs])
    text = packed(carried)
    assert len(text) < 1_000_000  # with the spec's 10,000 repositories, under 2 MB
    assert unpacked(CampaignCarried, text) == carried
    status = CampaignStatus(
        name="forge-wave-1",
        total=10_000,
        started=10_000,
        max_parallel=4,
        paused=False,
        cancelled=False,
        finished=False,
        packed_runs=packed(PackedRuns(runs=runs)),
    )
    assert status.with_runs_unpacked().runs == runs


def test_a_github_repository_leaves_its_absent_urls_out() -> None:
    assert CampaignRepo(owner="acme", repo="widget").model_dump_json() == (
        '{"owner":"acme","repo":"widget"}'
    )
    local = CampaignRepo(owner="acme", repo="w", upstream_url="file:///u", fork_url="file:///f")
    assert CampaignRepo.model_validate_json(local.model_dump_json()) == local
