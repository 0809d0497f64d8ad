"""The verdict for one agent step: evidence plus the step's context (exit code, timeout, diff,
state, policy, attempt) -> PASS / RETRYABLE / HUMAN_REVIEW with a reason code. The rules are
listed in priority order in `grade()`; the first that applies decides, every finding goes to
`reasons`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from contracts import Engine, ReasonCode, Verdict
from contracts.policy import CodexSandbox, RunPolicy
from contracts.states import RunState
from grading.agent_messages import HARD_KINDS, classify_agent_error
from grading.bounds import clip
from grading.evidence import Evidence, TestRun
from grading.next_actions import next_action
from grading.shell_lexing import unwrap_shell


class GradeInput(BaseModel):
    evidence: Evidence
    exit_code: int | None  # None: killed / never exited
    timed_out: bool = False  # the wall clock ended it
    cancelled: bool = False
    changed_files: int = 0
    added_lines: int = 0
    removed_lines: int = 0
    state: RunState  # the run's state during the step
    # The step should change code and run tests (the workflow decides from its state groupings:
    # workflows/states.py STEP_CHANGES_CODE); False for exploring (DISCOVERY).
    expects_changes: bool = True
    policy: RunPolicy = Field(default_factory=RunPolicy)
    attempt: int = 1  # this agent attempt's number within the run (1-based)
    # The sandbox codex actually ran with (a request may override the policy's); None: the
    # policy's. Decides whether network failures are an outage (retry) or the sandbox (human).
    codex_sandbox: CodexSandbox | None = None


class GradeOutcome(BaseModel):
    verdict: Verdict
    reason_code: str
    next_action: str
    reasons: list[str] = Field(default_factory=list)


TRANSIENT_KINDS: tuple[ReasonCode, ...] = (
    ReasonCode.RATE_LIMITED,
    ReasonCode.MODEL_UNAVAILABLE,
    ReasonCode.NETWORK_ERROR,
    ReasonCode.TIMED_OUT,
)


def grade(inp: GradeInput) -> GradeOutcome:
    """The verdict for one agent step. Rules in priority order; the first that applies decides:

     1. credentials printed or copied (keys, .env, cloud/git
        credential stores, environment dumps showing tokens)    HUMAN_REVIEW reads_credentials
        safety violation (sudo, global install, curl|sh, push or history
        rewrite, GitHub writes, writes outside the workspace)   HUMAN_REVIEW safety_violation
     2. cancelled by the operator                               HUMAN_REVIEW cancelled
     3. unresolved hard failure (auth, quota, permission, missing
        tool, model config, context/turn/budget limits)         HUMAN_REVIEW <its kind>
     4. the step did not finish cleanly:
        wall clock                                              RETRYABLE timed_out
        turn not completed, transient cause                     RETRYABLE rate_limited /
                                                                model_unavailable / network_error
        turn failed otherwise                                   HUMAN_REVIEW agent_turn_failed
        killed (no exit code)                                   RETRYABLE interrupted
        exited non-zero / exited 0 mid-turn                     HUMAN_REVIEW nonzero_exit /
                                                                turn_incomplete
     5. implementation state, last test run failed (runs that collected no tests do not count):
        the final message says the tests pass                   HUMAN_REVIEW
                                                                claim_contradicts_evidence
        on a network outage                                     RETRYABLE dependency_network_error
        network blocked by a codex sandbox                      HUMAN_REVIEW network_blocked
        otherwise                                               HUMAN_REVIEW tests_failing
       last test run passed, but between a failing run and it
        tests were weakened (assertions removed or made
        trivial, skips, deleted tests, narrower selection)      HUMAN_REVIEW tests_weakened
        code edited after it                                    HUMAN_REVIEW tests_stale_after_edit
     6. an environment outage (DNS, registry, refused
        connections) that no passing test run followed          RETRYABLE environment_outage
        (network blocked by a codex sandbox)                    HUMAN_REVIEW network_blocked
     7. non-zero exit that nothing above explains               HUMAN_REVIEW nonzero_exit
     8. the agent's own final status FAIL                       HUMAN_REVIEW agent_reported_failure
        NEEDS REVIEW / SKIP                                     HUMAN_REVIEW agent_needs_review /
                                                                agent_reported_skip
     9. implementation state, last lint/type check failed       HUMAN_REVIEW checks_failing
    10. diff over the policy's budget                           HUMAN_REVIEW diff_budget_exceeded
    11. implementation state, nothing changed                   HUMAN_REVIEW no_changes
    12. implementation state, tests required, none ran          HUMAN_REVIEW missing_test_evidence
        (the final message says the tests pass                  HUMAN_REVIEW
                                                                claim_contradicts_evidence)
    13. otherwise                                               PASS tests_passed /
                                                                no_tests_required
    Then a RETRYABLE verdict at attempt > policy.retry_cap      HUMAN_REVIEW retry_cap_reached
    (the underlying reason stays in `reasons`).
    """
    findings = _findings(inp)
    verdict, code, headline = _decide(inp)
    reasons = [headline] + [line for line in findings if line != headline]
    if verdict == Verdict.RETRYABLE and inp.attempt > inp.policy.retry_cap:
        reasons.insert(
            0,
            f"attempt {inp.attempt} is past the retry cap ({inp.policy.retry_cap}); "
            f"underlying reason: {code}",
        )
        verdict, code = Verdict.HUMAN_REVIEW, ReasonCode.RETRY_CAP_REACHED
    return GradeOutcome(
        verdict=verdict,
        reason_code=code,
        next_action=next_action(verdict, code, inp.state),
        reasons=reasons,
    )


def _decide(inp: GradeInput) -> tuple[Verdict, ReasonCode, str]:
    ev = inp.evidence
    human, retry = Verdict.HUMAN_REVIEW, Verdict.RETRYABLE
    implementing = inp.expects_changes
    agent_engine = ev.engine != Engine.COMMAND

    # 1. Safety first: whatever else happened, a person looks at what the agent did. Leaked
    # credentials first of all: they need rotating, whatever the work is worth.
    if ev.credential_reads:
        return human, ReasonCode.READS_CREDENTIALS, f"read credentials: {ev.credential_reads[0]}"
    if ev.safety_violations:
        return human, ReasonCode.SAFETY_VIOLATION, f"safety violation: {ev.safety_violations[0]}"

    # 2. The operator stopped it: do not retry on their behalf.
    if inp.cancelled:
        return human, ReasonCode.CANCELLED, "the step was cancelled before it finished"

    # 3. Failures a retry cannot fix: credentials, quota, sandbox permissions, missing tools.
    if ev.hard_failures:
        kind, _, detail = ev.hard_failures[0].partition(": ")
        # Evidence carries its kinds as text (it may come back from a serialized report).
        code = ReasonCode(kind) if kind in HARD_KINDS else ReasonCode.HARD_FAILURE
        return human, code, f"{kind}: {detail}"

    # 4. The step did not finish cleanly.
    if inp.timed_out:
        return retry, ReasonCode.TIMED_OUT, "the wall-clock limit ended the step"
    if agent_engine and not ev.turn_completed:
        cause_kind: str | None = classify_agent_error(ev.turn_failed)
        if cause_kind is None and ev.transient_errors:
            cause_kind = ev.transient_errors[-1].partition(": ")[0]
        if cause_kind in TRANSIENT_KINDS:
            cause = ev.turn_failed or ev.transient_errors[-1]
            return retry, ReasonCode(cause_kind), f"the agent's turn did not complete ({cause})"
        if ev.turn_failed:
            return human, ReasonCode.AGENT_TURN_FAILED, f"the agent's turn failed: {ev.turn_failed}"
        if inp.exit_code is None:
            return retry, ReasonCode.INTERRUPTED, "the agent was killed before its turn completed"
        if inp.exit_code != 0:
            return (
                human,
                ReasonCode.NONZERO_EXIT,
                f"the agent exited {inp.exit_code} without completing its turn",
            )
        return human, ReasonCode.TURN_INCOMPLETE, "the agent exited 0 but its turn never completed"
    if inp.exit_code is None:
        return retry, ReasonCode.INTERRUPTED, "the process was killed before it exited"

    # 5. Tests: what happened last is what counts.
    last_test = ev.test_runs[-1] if ev.test_runs else None
    sandbox = inp.codex_sandbox or inp.policy.codex_sandbox
    # workspace-write/read-only codex sandboxes block the network for good: retrying the same
    # step would fail the same way.
    network_sandboxed = ev.engine == Engine.CODEX and sandbox != "danger-full-access"
    if implementing and last_test is not None and not last_test.passed:
        test_line = _describe_run("last test run", last_test)
        if ev.agent_test_claim:
            return (
                human,
                ReasonCode.CLAIM_CONTRADICTS_EVIDENCE,
                f"the agent says {_quote(ev.agent_test_claim)} but the {test_line}",
            )
        if last_test.network_error:
            if network_sandboxed:
                return (
                    human,
                    ReasonCode.NETWORK_BLOCKED,
                    f"{test_line}; the network is blocked by the codex {sandbox} sandbox "
                    f"({last_test.network_error})",
                )
            return (
                retry,
                ReasonCode.DEPENDENCY_NETWORK_ERROR,
                f"{test_line} on a network failure ({last_test.network_error})",
            )
        return human, ReasonCode.TESTS_FAILING, test_line
    if implementing and last_test is not None and ev.tests_weakened:
        shown = "; ".join(ev.tests_weakened[:3])
        more = f" (+{len(ev.tests_weakened) - 3} more)" if len(ev.tests_weakened) > 3 else ""
        return human, ReasonCode.TESTS_WEAKENED, f"tests weakened to pass: {shown}{more}"
    if implementing and last_test is not None and ev.code_edits_after_last_test:
        edits = ev.code_edits_after_last_test
        shown = ", ".join(edits[:5]) + (f" (+{len(edits) - 5} more)" if len(edits) > 5 else "")
        return (
            human,
            ReasonCode.TESTS_STALE_AFTER_EDIT,
            f"code edited after the {_describe_run('last test run', last_test)}: {shown}",
        )

    # 6. The environment was down and the agent never got past it: the work was not done
    # (a passing test run after the outage clears it). A step that needs no tests was kept
    # from its work only if the agent says so.
    blocked = implementing or ev.agent_status in ("FAIL", "NEEDS_REVIEW")
    if ev.environment_outage and blocked and (last_test is None or not last_test.passed):
        if network_sandboxed:
            return (
                human,
                ReasonCode.NETWORK_BLOCKED,
                f"the network is blocked by the codex {sandbox} sandbox ({ev.environment_outage})",
            )
        return (
            retry,
            ReasonCode.ENVIRONMENT_OUTAGE,
            f"environment outage, {ev.environment_outage}",
        )

    # 7. A non-zero exit nothing above explains (for --engine command: the codemod failed).
    if inp.exit_code != 0:
        what = "the command" if ev.engine == Engine.COMMAND else "the agent"
        return human, ReasonCode.NONZERO_EXIT, f"{what} exited {inp.exit_code}"

    # 8. The agent's own verdict. A PASS claim never overrides evidence (rules above).
    if ev.agent_status == "FAIL":
        return (
            human,
            ReasonCode.AGENT_REPORTED_FAILURE,
            f"the agent reported: {ev.agent_status_line}",
        )
    if ev.agent_status == "NEEDS_REVIEW":
        skip = ev.agent_status_line is not None and "skip" in ev.agent_status_line.lower()
        code = ReasonCode.AGENT_REPORTED_SKIP if skip else ReasonCode.AGENT_NEEDS_REVIEW
        return human, code, f"the agent reported: {ev.agent_status_line}"

    # 9. Lint / type checks that still fail at the end will fail CI too.
    last_check = ev.check_runs[-1] if ev.check_runs else None
    if implementing and last_check is not None and not last_check.passed:
        return human, ReasonCode.CHECKS_FAILING, _describe_run("last lint/type check", last_check)

    # 10. Size: beyond the budget a person reviews even a green change.
    budget = inp.policy.diff_budget
    if inp.changed_files > budget.max_files or inp.added_lines > budget.max_added_lines:
        return (
            human,
            ReasonCode.DIFF_BUDGET_EXCEEDED,
            f"diff of {inp.changed_files} files, +{inp.added_lines} lines exceeds the budget "
            f"({budget.max_files} files, {budget.max_added_lines} added lines)",
        )

    # 11./12. Implementation needs a change and, by policy, evidence that tests ran.
    if implementing and inp.changed_files == 0:
        return human, ReasonCode.NO_CHANGES, f"{inp.state} step left no changes in the workspace"
    if implementing and inp.policy.require_test_evidence and last_test is None:
        none_ran = "no test command ran"
        if ev.empty_test_runs:
            none_ran = f"no test ran (`{ev.empty_test_runs[-1]}` collected no tests)"
        if ev.agent_test_claim:
            return (
                human,
                ReasonCode.CLAIM_CONTRADICTS_EVIDENCE,
                f"the agent says {_quote(ev.agent_test_claim)} but {none_ran}",
            )
        return (
            human,
            ReasonCode.MISSING_TEST_EVIDENCE,
            f"{none_ran} (policy requires test evidence)",
        )

    # 13. PASS.
    if implementing and last_test is not None:
        return Verdict.PASS, ReasonCode.TESTS_PASSED, _describe_run("last test run", last_test)
    return Verdict.PASS, ReasonCode.NO_TESTS_REQUIRED, f"{inp.state} step finished cleanly"


def _quote(line: str) -> str:
    return f'"{clip(line.strip(" -*>#`"), 160)}"'


def _describe_run(label: str, run: TestRun) -> str:
    outcome = "passed" if run.passed else f"failed (exit {run.exit_code})"
    command = clip(unwrap_shell(run.command), 160)
    return f"{label} `{command}` (command #{run.index + 1}) {outcome}"


def _findings(inp: GradeInput) -> list[str]:
    """Every observation worth a line, whether or not it decided the verdict."""
    ev = inp.evidence
    lines: list[str] = []
    lines += [f"read credentials: {c}" for c in ev.credential_reads]
    lines += [f"safety violation: {v}" for v in ev.safety_violations]
    lines += ev.hard_failures
    if ev.turn_failed:
        lines.append(f"the agent's turn failed: {ev.turn_failed}")
    if ev.transient_errors:
        lines.append(
            f"{len(ev.transient_errors)} transient error(s), last: {ev.transient_errors[-1]}"
        )
    if ev.test_runs:
        passed = sum(run.passed for run in ev.test_runs)
        lines.append(f"{len(ev.test_runs)} test run(s), {passed} passed")
        lines.append(_describe_run("last test run", ev.test_runs[-1]))
    elif inp.expects_changes:
        lines.append("no test command ran")
    lines += [f"ran no tests: `{command}`" for command in ev.empty_test_runs]
    if ev.tests_weakened:
        lines.append(f"tests weakened to pass: {'; '.join(ev.tests_weakened[:5])}")
    if ev.test_runs and ev.code_edits_after_last_test:
        lines.append(
            f"code edited after the last test run: {', '.join(ev.code_edits_after_last_test[:5])}"
        )
    if ev.environment_outage:
        lines.append(f"environment outage, {ev.environment_outage}")
    if ev.check_runs:
        lines.append(_describe_run("last lint/type check", ev.check_runs[-1]))
    if ev.agent_status_line:
        lines.append(f"the agent reported: {ev.agent_status_line}")
    if ev.agent_test_claim and ev.agent_test_claim != ev.agent_status_line:
        lines.append(f"the agent says: {_quote(ev.agent_test_claim)}")
    lines += [f"git by the agent: {g}" for g in ev.git_signals]
    lines.append(
        f"diff: {inp.changed_files} files, +{inp.added_lines}/-{inp.removed_lines} lines "
        f"(budget {inp.policy.diff_budget.max_files} files, "
        f"{inp.policy.diff_budget.max_added_lines} added lines)"
    )
    if ev.malformed_lines:
        lines.append(f"{ev.malformed_lines} malformed transcript line(s) skipped")
    return lines
