"""Run records as a campaign leaves them, without running one: a seeded mix of merged, failed,
skipped, closed and still-waiting runs with plausible histories, grades, agent stages and token
usage — for insight's tests (`stats`, `inspect-run`, `campaign report`) and its benchmarks
(1,000 and 5,000 runs)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from contracts.github import LandedCheck
from contracts.policy import ModelPrice
from contracts.run import RunRecord, Transition
from contracts.skills import StageOutcome
from contracts.states import RunState
from contracts.steps import AgentGrade, AgentStepResult, FinishResult, TokenUsage
from contracts.vocabulary import Actor, Engine, RunMode, Verdict

S = RunState

# (the command, the state it moves to, who): the happy path of a campaign run.
_HAPPY = [
    ("start-discovery", S.DISCOVERY, Actor.WORKFLOW),
    ("mark-plan-ready", S.PLAN_READY, Actor.WORKFLOW),
    ("start-implementation", S.IMPLEMENTING, Actor.WORKFLOW),
    ("mark-local-validated", S.LOCAL_VALIDATING, Actor.WORKFLOW),
    ("run-finish", S.PUSHED, Actor.WORKFLOW),
    ("approve-open-pr", S.CI_WAIT, Actor.CLI),
    ("github:check_suite", S.REVIEW_WAIT, Actor.WEBHOOK),
    ("github:pr_closed", S.DONE, Actor.WEBHOOK),
]
# Typical stays before each of the moves above (seconds, a mean for an exponential draw).
_MEAN_STAY = [60, 240, 30, 900, 120, 3_600, 1_800, 86_400]


def run_record(
    run_id: str,
    repo: str,
    moves: list[tuple[str, RunState, Actor, datetime, str | None]],
    *,
    campaign: str | None = None,
    grade: tuple[Verdict, str] | None = None,
    stages: list[tuple[str, str, float]] | None = None,
    tokens: tuple[int, int] = (0, 0),
    pr_number: int | None = None,
    graded_at: datetime | None = None,
    price: ModelPrice | None = None,
    landed: LandedCheck | None = None,
) -> RunRecord:
    """One record: `moves` are (command, state entered, by, when, reason) after create-run at
    the first move's time."""
    owner, name = repo.split("/")
    history: list[Transition] = []
    state: RunState | None = None
    for command, target, by, at, reason in moves:
        history.append(
            Transition(
                from_state=state, to_state=target, by=by, at=at, command=command, reason=reason
            )
        )
        state = target
    assert state is not None
    graded = None
    step = None
    if grade is not None:
        verdict, code = grade
        graded = AgentGrade(
            verdict=verdict,
            reason_code=code,
            next_action=f"read the agent report ({code})",
            at=graded_at or moves[-1][3],
        )
        step = AgentStepResult(
            engine=Engine.CODEX,
            exit_code=0,
            duration_s=sum(s for _, _, s in stages or []) or 60.0,
            transcript="t.jsonl",
            transcript_sha256="0" * 64,
            transcript_bytes=1,
            event_count=1,
            report="r.md",
            grade=graded,
            usage=TokenUsage(input_tokens=tokens[0], output_tokens=tokens[1]),
        )
    pushed = any(target == S.PUSHED for _, target, *_ in moves)
    usage = TokenUsage(input_tokens=tokens[0], output_tokens=tokens[1])
    return RunRecord(
        cost_usd=usage.cost_usd(price) if price and step else 0.0,
        unpriced_agent_steps=1 if step and price is None else 0,
        landed=landed,
        run_id=run_id,
        owner=owner,
        repo=name,
        prompt_version="v1",
        mode=RunMode.AUTO,
        campaign=campaign,
        state=state,
        history=history,
        created_at=moves[0][3],
        updated_at=moves[-1][3],
        grade=graded,
        last_agent_step=step,
        agent_attempts=len(stages or []),
        stage_outcomes=[
            StageOutcome(
                pack="forge@v1",
                stage=stage,  # type: ignore[arg-type]
                verdict=verdict,
                reason_code=code,
                duration_s=seconds,
            )
            for stage, (verdict, code), seconds in (
                (s, (grade or (Verdict.PASS, "tests_passed")), sec) for s, _, sec in stages or []
            )
        ],
        commit=FinishResult(commit_sha="c0ffee", committed=True, pushed=True, report="f.md")
        if pushed
        else None,
        pr_number=pr_number,
        pr_url=f"https://github.com/{repo}/pull/{pr_number}" if pr_number else None,
    )


# What the synthetic agent steps cost (illustrative: a price list like the ones providers publish).
PRICE = ModelPrice(input_per_mtok=1.25, cached_input_per_mtok=0.125, output_per_mtok=10.0)


def _landing(rng: random.Random) -> LandedCheck:
    """A merged run's landing: one in ten reverted since."""
    if rng.random() < 0.1:
        return LandedCheck(landed=False, how="reverted", detail="reverted by 0badc0ffee00")
    return LandedCheck(landed=True, how="merged", detail="the PR's commits and its change")


def synthetic_campaign(name: str, runs: int, start: datetime, seed: int = 16) -> list[RunRecord]:
    """`runs` records of campaign `name` started from `start` on, a few a minute: ~10% skipped,
    ~20% stopped by their grade, ~10% with PRs closed unmerged, the rest merged or waiting."""
    rng = random.Random(seed)
    records = []
    for n in range(runs):
        repo = f"org{n % 97}/repo{n}"
        at = start + timedelta(seconds=20 * n + rng.uniform(0, 20))
        moves: list[tuple[str, RunState, Actor, datetime, str | None]] = [
            ("create-run", S.QUEUED, Actor.WORKFLOW, at, None)
        ]
        fate = rng.random()
        if fate < 0.1:
            at += timedelta(seconds=rng.expovariate(1 / 30))
            moves.append(("maintainer-policy", S.SKIPPED, Actor.WORKFLOW, at, "ai_banned"))
            records.append(run_record(f"{name}.{n}", repo, moves, campaign=name))
            continue
        # How far along the happy path this run got before its fate took it.
        if fate < 0.2:
            stop, ending = 3, ("run-agent-step", S.NEEDS_HUMAN_REVIEW, "tests_failing")
        elif fate < 0.3:
            stop, ending = 3, ("run-agent-step", S.FAILED_RETRYABLE, "quota_exhausted")
        elif fate < 0.4:
            stop, ending = 7, ("github:pr_closed", S.NEEDS_HUMAN_REVIEW, "closed")
        elif fate < 0.55:
            stop, ending = rng.choice([5, 6, 7]), None  # still waiting on CI or review
        else:
            stop, ending = len(_HAPPY), None
        for (command, target, by), mean in zip(_HAPPY[:stop], _MEAN_STAY[:stop], strict=True):
            at += timedelta(seconds=rng.expovariate(1 / mean))
            moves.append((command, target, by, at, None))
        grade = (Verdict.PASS, "tests_passed")
        # The agent's implement step is graded when it ends: mark-local-validated's time.
        graded_at = moves[min(4, len(moves) - 1)][3]
        if ending is not None:
            command, target, code = ending
            at += timedelta(seconds=rng.expovariate(1 / 600))
            moves.append((command, target, Actor.WORKFLOW, at, code))
            if command == "run-agent-step":
                verdict = (
                    Verdict.HUMAN_REVIEW if target == S.NEEDS_HUMAN_REVIEW else Verdict.RETRYABLE
                )
                grade = (verdict, code)
                graded_at = at
        stages = [("discover", "", rng.uniform(30, 200)), ("implement", "", rng.uniform(120, 1500))]
        records.append(
            run_record(
                f"{name}.{n}",
                repo,
                moves,
                campaign=name,
                grade=grade,
                stages=stages,
                tokens=(rng.randint(20_000, 400_000), rng.randint(2_000, 40_000)),
                pr_number=(n + 1) if stop >= 6 else None,
                graded_at=graded_at,
                price=PRICE,
                landed=_landing(rng) if moves[-1][1] == S.DONE else None,
            )
        )
    return records
