"""Maintainers' replies read before iterating (issue 15), end to end through the GitHub
stand-in: a decline stops the run for a person, a question waits for the operator, and only a
fix reaches the agent. Rules first; the scripted model where they do not decide; a model that
fails leaves requested changes a fix, as before."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from standins.chat_completions import API_KEY, MODEL, ScriptedChatServer, Step, answer, http_error
from standins.github_api import FakeGitHub
from tests.operator_steps import CODEMOD, approve, ok, pushed_run, request, wait_for_state
from tests.run_env import Env

UNDECIDED = "Hmm, this belongs in a plugin rather than in core."


def review(env: Env, github: FakeGitHub, run_id: str, body: str) -> dict:
    number = github.pulls("demo", "calc")[0]["number"]
    github.add_review("demo", "calc", number, user="demo", state="CHANGES_REQUESTED", body=body)
    ok(env.cli("sync-github", "--run-id", run_id))
    return wait_for_state(env, run_id, {"ITERATING", "NEEDS_HUMAN_REVIEW", "CI_WAIT"})


@pytest.mark.parametrize(
    ("body", "state", "kind"),
    [
        ("Thanks, but we don't want this in the project.", "NEEDS_HUMAN_REVIEW", "decline"),
        ("Why is a new module needed?", "CI_WAIT", "question"),
    ],
    ids=["decline", "question"],
)
def test_rules_read_replies_without_a_model(
    env: Env, github: FakeGitHub, body: str, state: str, kind: str
) -> None:
    run_id = pushed_run(env, github, codemod=CODEMOD)
    ok(approve(env, run_id, request(env, run_id), "--confirm"))
    record = review(env, github, run_id, body)
    assert record["state"] == state
    assert record["reply_classification"]["kind"] == kind
    assert record["reply_classification"]["decided_by"].startswith("rules")
    assert record["github_facts"][-1]["outcome"].startswith(f"maintainer {kind}")
    if kind == "decline":
        assert "declined the change" in record["history"][-1]["reason"]


@pytest.mark.parametrize(
    ("script", "state", "kind", "decided_by"),
    [
        (
            [answer({"kind": "decline", "reasons": ["wants a plugin"], "draft_reply": ""})],
            "NEEDS_HUMAN_REVIEW",
            "decline",
            "model",
        ),
        (
            [
                answer(
                    {
                        "kind": "question",
                        "reasons": ["asks where it belongs"],
                        "draft_reply": "Happy to move it into a plugin if you prefer.",
                    }
                )
            ],
            "NEEDS_HUMAN_REVIEW",
            "question",
            "model",
        ),
        # The model fails three times: requested changes are a fix, the agent iterates.
        ([http_error(500, times=3)], "CI_WAIT", "fix", "rules"),
        (
            [answer({"kind": "fix", "reasons": ["move it"], "draft_reply": ""})],
            "CI_WAIT",
            "fix",
            "model",
        ),
    ],
    ids=["model-decline", "model-question", "model-500", "model-fix"],
)
def test_the_model_reads_what_the_rules_cannot(
    env: Env, github: FakeGitHub, script: list[Step], state: str, kind: str, decided_by: str
) -> None:
    # The semantic review of each step agrees; the reply answer is scripted per case.
    review_ok = answer({"verdict": "agree", "reasons": []})
    with ScriptedChatServer(default=review_ok) as server:
        run_id = pushed_run(
            env,
            github,
            codemod=CODEMOD,
            llm_base_url=server.base_url,
            llm_model=MODEL,
            llm_api_key=SecretStr(API_KEY),
        )
        ok(approve(env, run_id, request(env, run_id), "--confirm"))
        assert review(env, github, run_id, UNDECIDED)["state"] == "ITERATING"
        attempts = wait_for_state(env, run_id, {"ITERATING"})["agent_attempts"]
        server._script.extend(script)
        ok(env.cli("retry", "--run-id", run_id, "--target-state", "ITERATING"))
        record = wait_for_state(env, run_id, {"CI_WAIT", "NEEDS_HUMAN_REVIEW"}, timeout=90)
    assert record["state"] == state, record["history"][-2:]
    reply = record["reply_classification"]
    assert reply["kind"] == kind and reply["decided_by"].startswith(decided_by)
    assert "reply" in server.schema_names()
    assert (
        UNDECIDED in server.requests[server.schema_names().index("reply")]["messages"][1]["content"]
    )
    if kind == "fix":
        assert record["agent_attempts"] == attempts + 1  # the agent iterated
    else:
        assert record["agent_attempts"] == attempts  # never iterate against it
        assert record["iterations"] == 0
    if kind == "question":
        assert reply["draft_reply"].startswith("Happy to move it")
