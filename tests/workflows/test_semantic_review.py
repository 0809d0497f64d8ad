"""The optional model's semantic review of a PASS (issue 15), end to end: the CLI creates a
run with AGENTPR_LLM_* set, the agent step passes by the rules, the worker asks the scripted
chat-completions stand-in, and the hybrid rule decides. Every failure of the model ends in the
rules' answer; the API key reaches nothing but the Authorization header."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from standins.chat_completions import (
    API_KEY,
    MODEL,
    ScriptedChatServer,
    Step,
    answer,
    content,
    hang,
    http_error,
)
from standins.git_repos import make_remotes
from standins.github_api import FakeGitHub
from tests.agent_steps import implementing_run
from tests.operator_steps import (
    BODY,
    FORGE_CODEMOD,
    TOKEN,
    create_auto_run,
    show,
    wait_for_state,
)
from tests.run_env import Env

AGREE = answer({"verdict": "agree", "reasons": ["adds only the provider file"]})
HOLD = answer({"verdict": "needs_review", "reasons": ["the change does not register the provider"]})
LINT_ONLY = "printf 'PROVIDER = \"forge\"\\n' > forge.py && ruff check --no-cache forge.py"


def with_model(env: Env, server: ScriptedChatServer, timeout_s: float = 30.0) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(
        llm_base_url=server.base_url,
        llm_model=MODEL,
        llm_api_key=SecretStr(API_KEY),
        llm_timeout_s=timeout_s,
        agent_env={"PATH": path},
    )


def agent_step(env: Env, run_id: str, command: str = FORGE_CODEMOD) -> dict:
    """The step as an operator runs it (exit 1 when the grade is not PASS)."""
    result = env.cli(
        "run-agent-step", "--run-id", run_id, "--engine", "command", "--command", command,
        "--skip-network-check", "--success-state", "LOCAL_VALIDATING", timeout=180,
    )  # fmt: skip
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    return show(env, run_id)


@pytest.mark.parametrize(
    ("script", "state", "reason_code", "decided_by", "requests"),
    [
        ([AGREE], "LOCAL_VALIDATING", "tests_passed", "model", 1),
        ([HOLD], "NEEDS_HUMAN_REVIEW", "semantic_review_held", "model", 1),
        # A 500 is retried: the second attempt answers.
        ([http_error(500), AGREE], "LOCAL_VALIDATING", "tests_passed", "model", 2),
        # Malformed JSON is not asked again: the rules' PASS stands.
        ([content("{not json")], "LOCAL_VALIDATING", "tests_passed", "rules", 1),
        # An answer outside the schema (a verdict it may not give) is malformed too.
        (
            [answer({"verdict": "pass", "reasons": []})],
            "LOCAL_VALIDATING",
            "tests_passed",
            "rules",
            1,
        ),
        # A model that never answers in time, three attempts: the rules' PASS stands.
        ([hang(3), hang(3), hang(3)], "LOCAL_VALIDATING", "tests_passed", "rules", 3),
    ],
    ids=["agree", "needs-review", "500-then-agree", "malformed", "off-schema", "timeout"],
)
def test_semantic_review_of_a_pass(
    env: Env,
    tmp_path: Path,
    script: list[Step],
    state: str,
    reason_code: str,
    decided_by: str,
    requests: int,
) -> None:
    remotes = make_remotes(tmp_path / "git")
    with ScriptedChatServer(script) as server:
        with_model(env, server, timeout_s=1.0)
        run_id = implementing_run(env, remotes)
        record = agent_step(env, run_id)

    assert record["model_review"] is True
    assert record["state"] == state, record["grade"]
    assert record["grade"]["reason_code"] == reason_code
    review = record["semantic_review"]
    assert review["decided_by"].startswith(decided_by)
    assert len(server.requests) == requests
    sent = server.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    prompt = sent["messages"][1]["content"]
    assert "forge.py" in prompt and "PROVIDER" in prompt  # the diff went to the model
    assert "last test run" in prompt  # and the test evidence
    assert set(server.authorizations) == {f"Bearer {API_KEY}"}
    if decided_by == "model":
        assert record["model_usage"] == {"calls": 1, "prompt_tokens": 120, "completion_tokens": 30}
    else:
        assert record["model_usage"]["calls"] == 0
        assert "the rules' grade stands" in record["grade"]["reasons"][-1]
    # The key is nowhere in what the run keeps or shows.
    assert API_KEY not in json.dumps(record)
    assert API_KEY not in history_dump(env, run_id)


def history_dump(env: Env, run_id: str) -> str:
    """The run's whole Temporal history, as JSON."""
    import asyncio

    from common.connection import connect

    async def fetch() -> str:
        client = await connect(env.settings)
        history = await client.get_workflow_handle(run_id).fetch_history()
        return history.to_json()

    return asyncio.run(fetch())


def test_no_test_infrastructure_is_passed_by_the_model_and_marked(env: Env, tmp_path: Path) -> None:
    """The one failure the model may pass: no tests in the repository, lint passed, a small
    diff. The grade says so in its own reason code."""
    remotes = make_remotes(
        tmp_path / "git", files={"calc.py": "def add(a, b):\n    return a + b\n"}
    )
    with ScriptedChatServer([AGREE]) as server:
        with_model(env, server)
        run_id = implementing_run(env, remotes)
        record = agent_step(env, run_id, LINT_ONLY)
    assert record["state"] == "LOCAL_VALIDATING", record["grade"]
    assert record["grade"]["verdict"] == "PASS"
    assert record["grade"]["reason_code"] == "no_test_infra_model_reviewed"
    assert "no test infrastructure" in record["grade"]["reasons"][0]
    assert "no test infrastructure" in server.requests[0]["messages"][1]["content"]


def test_without_a_model_no_review_and_no_call(env: Env, tmp_path: Path) -> None:
    remotes = make_remotes(
        tmp_path / "git", files={"calc.py": "def add(a, b):\n    return a + b\n"}
    )
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(agent_env={"PATH": path})
    run_id = implementing_run(env, remotes)
    record = agent_step(env, run_id, LINT_ONLY)
    # The rules alone: no tests ran, a person reviews.
    assert record["state"] == "NEEDS_HUMAN_REVIEW"
    assert record["grade"]["reason_code"] == "missing_test_evidence"
    assert record["model_review"] is False and record["semantic_review"] is None


@pytest.mark.parametrize(
    ("step", "state"), [(AGREE, "PUSHED"), (HOLD, "NEEDS_HUMAN_REVIEW")], ids=["agree", "hold"]
)
def test_auto_mode_reviews_after_validation(
    env: Env, github: FakeGitHub, tmp_path: Path, step: Step, state: str
) -> None:
    """Auto mode: the model reads the change once the repository's tests validated it, and a
    hold stops the run before anything is pushed."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with ScriptedChatServer(default=step) as server:
        env.reconfigure(
            github_token=SecretStr(TOKEN),
            github_api_url=github.base_url,
            git_author_name="Ops",
            git_author_email="ops@example.com",
            agent_env={"PATH": path},
            llm_base_url=server.base_url,
            llm_model=MODEL,
            llm_api_key=SecretStr(API_KEY),
        )
        body = tmp_path / "body.md"
        body.write_text(BODY)
        run_id = create_auto_run(env, body, "printf 'PROVIDER = \"forge\"\\n' > forge.py")
        record = wait_for_state(
            env, run_id, {"PUSHED", "NEEDS_HUMAN_REVIEW", "FAILED_RETRYABLE"}, timeout=120
        )
    assert record["state"] == state, record["history"][-2:]
    assert server.schema_names() == ["review"]  # once: after the validation, not the codemod
    assert "last test run" in server.requests[0]["messages"][1]["content"]
    if state == "NEEDS_HUMAN_REVIEW":
        assert record["grade"]["reason_code"] == "semantic_review_held"
        assert record["commit"] is None  # nothing pushed
