"""Iteration on a failing PR: retry --target-state ITERATING runs the agent again in the same
workspace with the failures in its prompt, pushes to the same branch and waits for CI again —
up to the policy's retry cap, then a human decides."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.activities.test_pr_gate import (  # noqa: F401 - github is a fixture
    approve,
    github,
    ok,
    pushed_run,
    request,
    show,
)
from tests.conftest import Env
from tests.fakes.git_repos import git
from tests.fakes.github_api import FakeGitHub

# Each run of the codemod changes the tree, as an agent's fix would.
CODEMOD = ("python3 -c \"import time; open('iteration.txt','a').write(str(time.time_ns())+'\\\\n')\""
           " && python3 -m pytest -q")


def wait_for_state(env: Env, run_id: str, states: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = show(env, run_id)
        if record["state"] in states:
            return record
        time.sleep(0.3)
    raise AssertionError(f"run never reached {states}: {show(env, run_id)['state']}")


def test_iterations_push_to_the_same_pr_until_the_retry_cap(
    env: Env, github: FakeGitHub, tmp_path: Path  # noqa: F811
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"defaults": {"retry_cap": 1}}))
    run_id = pushed_run(env, github, codemod=CODEMOD, policy_file_override=policy)
    ok(approve(env, run_id, request(env, run_id), "--confirm"))
    pull = github.pulls("demo", "calc")[0]
    first_head = pull["head"]["sha"]

    # CI fails; the operator asks for an iteration.
    ok(env.cli("record-check", "--run-id", run_id, "--conclusion", "failure"))
    ok(env.cli("retry", "--run-id", run_id, "--target-state", "ITERATING"))
    record = wait_for_state(env, run_id, {"CI_WAIT", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"})
    assert record["state"] == "CI_WAIT", record["history"][-3:]
    assert record["iterations"] == 1
    assert [h["to"] for h in record["history"][-3:]] == ["LOCAL_VALIDATING", "PUSHED", "CI_WAIT"]
    new_head = record["head_sha"]
    assert new_head != first_head
    fork = github.fork_path("agentpr-bot", "calc")
    log = git("--git-dir", str(fork), "log", "--format=%s", f"agentpr/{run_id}", "-2")
    assert log.splitlines()[0] == "fix: address CI and review feedback"
    assert git("--git-dir", str(fork), "rev-parse", f"agentpr/{run_id}") == new_head
    assert len(github.pulls("demo", "calc")) == 1
    prompt = Path(record["reports"]["agent_runtime"]).read_text()
    prompt_file = json.loads(prompt)["prompt_file"]
    assert prompt_file and "Iteration 1 on pull request" in Path(prompt_file).read_text()

    # CI fails again: past the retry cap (1) the run goes to a human instead.
    ok(env.cli("record-check", "--run-id", run_id, "--conclusion", "failure"))
    ok(env.cli("retry", "--run-id", run_id, "--target-state", "ITERATING"))
    record = wait_for_state(env, run_id, {"NEEDS_HUMAN_REVIEW"})
    assert record["history"][-1]["reason"].startswith("retry cap reached")
    assert record["history"][-1]["by"] == "workflow"
