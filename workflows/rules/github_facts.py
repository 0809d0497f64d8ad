"""Where a fact from GitHub (a check, a review, a merge or close) moves a run."""

from __future__ import annotations

from contracts import GitHubEvent, LandedCheck, ReviewState, RunMode, RunRecord
from contracts.states import RunState, path_to
from workflows.rules.iteration import can_iterate
from workflows.states import WAITING_ON_GITHUB

FAILING_CONCLUSIONS = frozenset({"failure", "timed_out", "cancelled", "action_required"})


def fact_summary(event: GitHubEvent) -> str:
    if event.kind == "check_run":
        return f"check {event.name} {event.conclusion or 'pending'}"
    if event.kind == "check_suite":
        return f"checks {event.conclusion}"
    by = f" by {event.author}" if event.author else ""
    if event.kind == "review":
        return f"review {event.review_state}{by}"
    if event.kind == "comment":
        return f"comment{by}"
    if event.kind == "pushed":
        return f"head {event.head_sha[:12] if event.head_sha else 'unknown'}{by.replace(' by', ' pushed by')}"
    return "PR merged" if event.merged else "PR closed unmerged"


def stale_commit(record: RunRecord, event: GitHubEvent) -> str | None:
    """Why a CI fact says nothing about the run now, or None when it does.

    Only facts about the PR's current head move the run: a failure on an older commit was
    already fixed or superseded, and a green suite on it says nothing about the new code (after
    a push, nothing is green until the new head's checks report). Fail closed: a fact without a
    commit is stale once the head is known. A run that never learnt its head (a PR linked by
    hand before link-pr read it) has nothing to compare with and takes the fact."""
    if event.kind not in ("check_run", "check_suite") or record.head_sha is None:
        return None
    if event.head_sha == record.head_sha:
        return None
    about = event.head_sha[:12] if event.head_sha else "no commit"
    return f"stale: about {about}, the PR's head is {record.head_sha[:12]}"


DEFAULT_TRUSTED = ("OWNER", "MEMBER", "COLLABORATOR")


def untrusted_author(record: RunRecord, event: GitHubEvent) -> str | None:
    """Why a review or comment may not steer the run, or None when its author has standing.

    Only people the repository trusts (its policy's author associations) move a run or reach an
    agent's prompt; a stranger's review is recorded for the operator and goes no further. Fail
    closed: a review without an association has none."""
    if event.kind not in ("review", "comment"):
        return None
    trusted = record.policy.trusted_associations if record.policy else DEFAULT_TRUSTED
    if event.author_association in trusted:
        return None
    who = event.author or "someone"
    standing = event.author_association or "no association"
    return f"untrusted: {event.kind} by {who} ({standing}), recorded for the operator only"


REMEMBERED_PUSHES = 100


def remember_push(record: RunRecord, sha: str) -> None:
    """agentpr pushed `sha` to the PR branch: its own commit, never a takeover."""
    if sha not in record.pushed_shas:
        record.pushed_shas.append(sha)
        del record.pushed_shas[:-REMEMBERED_PUSHES]


def push_undecided(record: RunRecord, event: GitHubEvent) -> bool:
    """A new head seen while agentpr itself may be pushing (anything but waiting on GitHub)
    is judged later, once the run waits again: its own push may not be recorded yet."""
    return event.kind == "pushed" and record.state not in WAITING_ON_GITHUB


def human_takeover(record: RunRecord, event: GitHubEvent) -> str | None:
    """Why a person now owns the PR, or None: its head moved to a commit agentpr never pushed.

    agentpr then stops automating the PR — no iteration, never a push over the person's work
    (and it never force-pushes) — and a human decides. A run that never pushed has nothing to
    compare with."""
    if event.kind != "pushed" or not event.head_sha or record.head_sha is None:
        return None
    if event.head_sha == record.head_sha or event.head_sha in record.pushed_shas:
        return None
    who = event.author or "someone"
    return (
        f"human takeover: {who} pushed {event.head_sha[:12]} to the PR branch, a commit agentpr "
        "did not push; agentpr stops automating this PR"
    )


PENDING = "pending"
SUITE = "suite"  # a check suite's verdict, when GitHub sends suites
PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
MAX_HEAD_CHECKS = 200


def head_checks_after(record: RunRecord, event: GitHubEvent) -> dict[str, str]:
    """What each check has said about the PR's head once this fact about the head counts.

    A new head starts from nothing: after a push nothing is green until its own checks report.
    A check that concluded never goes back to pending (GitHub may deliver `created` late)."""
    checks = dict(record.head_checks) if record.head_checks_sha == record.head_sha else {}
    if event.kind not in ("check_run", "check_suite"):
        return checks
    name = (event.name or "(unnamed check)") if event.kind == "check_run" else SUITE
    if name not in checks and len(checks) >= MAX_HEAD_CHECKS:
        return checks
    if event.conclusion is None:
        checks.setdefault(name, PENDING)
    else:
        checks[name] = event.conclusion.value
    return checks


def ci_waiting_on(record: RunRecord, checks: dict[str, str]) -> list[str]:
    """What keeps the head from green ([] = green): green means every reported check concluded
    successfully (failures already on the base branch aside), none is pending, every check
    branch protection requires has reported, and — when protection names none — a check suite
    completed (GitHub Actions creates a job's check run only when the job is queued, so one
    green check says nothing about the jobs that `need` it)."""
    if not checks:
        return ["no check has reported on the head yet"]
    baseline = record.ci_baseline
    pre_existing = set(baseline.failing_checks) if baseline else set()
    waiting = [
        f"{name} {said}"
        for name, said in sorted(checks.items())
        if said == PENDING or (said not in PASSING_CONCLUSIONS and name not in pre_existing)
    ]
    required = baseline.required_checks if baseline else []
    waiting += [f"{name} (required) has not reported" for name in required if name not in checks]
    if not required and SUITE not in checks:
        waiting.append("no check suite has completed")
    return waiting


def pre_existing_failure(record: RunRecord, event: GitHubEvent) -> str | None:
    """Why a failing check is not this PR's doing, or None: it already failed on the base
    branch when the PR opened. Recorded and reported; it starts no iteration."""
    baseline = record.ci_baseline
    if baseline is None or event.kind != "check_run" or event.conclusion is None:
        return None
    if (
        event.conclusion.value not in FAILING_CONCLUSIONS
        or event.name not in baseline.failing_checks
    ):
        return None
    base = baseline.base_sha[:12] if baseline.base_sha else "the base branch"
    return f"pre-existing: {event.name} already failed on {base} before this change"


def fact_targets(
    record: RunRecord, event: GitHubEvent, fail_closed_ci: bool = True
) -> list[RunState]:
    """The chain of states this fact moves the run through ([] = record only).

    With fail-closed CI (every run since the patch of that name) a passing check moves the run
    on only when the whole head is green (ci_waiting_on); before it, one green suite did."""
    state = record.state
    if event.kind == "pr_closed":
        if state == RunState.PAUSED:
            return []
        if event.merged:
            return path_to(state, RunState.DONE)
        return path_to(state, RunState.NEEDS_HUMAN_REVIEW)
    if state not in WAITING_ON_GITHUB:
        return []
    failing = event.conclusion is not None and event.conclusion.value in FAILING_CONCLUSIONS
    if event.kind in ("check_run", "check_suite") and failing:
        return [RunState.ITERATING]
    if fail_closed_ci:
        if event.kind in ("check_run", "check_suite") and state == RunState.CI_WAIT:
            if not ci_waiting_on(record, head_checks_after(record, event)):
                return [RunState.REVIEW_WAIT]
        return _review_targets(event)
    if event.kind == "check_suite" and event.conclusion == "success" and state == RunState.CI_WAIT:
        return [RunState.REVIEW_WAIT]
    return _review_targets(event)


def _review_targets(event: GitHubEvent) -> list[RunState]:
    if event.kind == "review" and event.review_state == ReviewState.CHANGES_REQUESTED:
        return [RunState.ITERATING]
    return []


def fact_starts_iteration(record: RunRecord, targets: list[RunState]) -> bool:
    """An auto-mode run iterates by itself on a failing check or requested changes."""
    return (
        bool(targets)
        and record.taken_over_by is None
        and targets[-1] == RunState.ITERATING
        and record.mode == RunMode.AUTO
        and can_iterate(record)
    )


def landing_target(record: RunRecord, check: LandedCheck) -> RunState | None:
    """A PR closed unmerged whose change is on the default branch anyway (applied another
    way) has landed: the run is done. A merged PR's run is done already; a reverted or absent
    change is shown as such and moves nothing."""
    if check.landed and record.state == RunState.NEEDS_HUMAN_REVIEW:
        return RunState.DONE
    return None
