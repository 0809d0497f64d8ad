"""The bot's plain language with the optional model (issue 15), against the scripted
chat-completions stand-in: rules first, the model only where they do not match, its answer
checked like a typed command, and every failure ending in the rules' answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from activities.chat_model import ChatModel
from contracts import Actor, AgentGrade, RunRecord, Transition, Verdict
from contracts.states import RunState
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
from starter.telegram.intents import parse_message
from starter.telegram.plain_language import PlainLanguage, adds_facts, why_line

CHAT = 42
RUN = "run_90ab3ea76842"
FIXTURES = "/work/shared/fixtures/telegram-audit.jsonl"


def intent_answer(action: str, run_id: str | None = None, state: str | None = None) -> Step:
    return answer({"action": action, "run_id": run_id, "target_state": state, "limit": None})


async def read(
    script: list[Step], *texts: str, timeout_s: float = 5
) -> tuple[list, ScriptedChatServer]:
    with ScriptedChatServer(script) as server:
        reader = PlainLanguage(ChatModel(server.base_url, MODEL, API_KEY, timeout_s))
        intents = [await reader.intent(text, CHAT) for text in texts]
        assert reader.model is not None
        await reader.model.close()
    return intents, server


async def test_the_operators_real_messages_the_rules_match_never_reach_the_model() -> None:
    texts = {json.loads(line)["request_text"] for line in open(FIXTURES)}
    matched = [t for t in texts if parse_message(t).rule != "no rule matched"]
    assert matched  # 目前情况, 状态, 暂停, …
    intents, server = await read([], *matched)
    assert server.requests == []
    assert [i.rule for i in intents] == [parse_message(t).rule for t in matched]


async def test_the_model_reads_what_the_rules_do_not_with_the_chat_s_last_run() -> None:
    intents, server = await read(
        [intent_answer("show", RUN)], f"status of {RUN}", "what went wrong with that one"
    )
    assert intents[0].rule == "en: status of <run>"  # the rules, no call
    assert (intents[1].action, intents[1].run_id, intents[1].rule) == ("show", RUN, "model")
    assert len(server.requests) == 1
    system = server.requests[0]["messages"][0]["content"]
    assert RUN in system and "approve" in system  # the last run id and what it may not do
    assert server.requests[0]["response_format"]["json_schema"]["name"] == "intent"


@pytest.mark.parametrize(
    ("step", "rule"),
    [
        (
            intent_answer("approve_pr", RUN),
            "model (refused: 'approve_pr' is not allowed from a sentence)",
        ),
        (
            intent_answer("approve_plan", RUN),
            "model (refused: 'approve_plan' is not allowed from a sentence)",
        ),
        # A control on a run the message does not name, even the chat's last one.
        (intent_answer("pause", RUN), "model (refused: a control names its run in the message)"),
        (
            intent_answer("retry", "run_other_1234", "IMPLEMENTING"),
            "model (refused: a run the message does not name)",
        ),
    ],
    ids=["approve-pr", "approve-plan", "pause-last-run", "retry-unnamed-run"],
)
async def test_a_forbidden_pick_is_refused(step: Step, rule: str) -> None:
    intents, _ = await read([step], f"show {RUN}", "推进一次")
    refused = intents[1]
    assert refused.rule == rule and refused.error and refused.action == "unknown"


@pytest.mark.parametrize(
    "step",
    [http_error(500), content("{oops"), content('{"action": "show"}'), hang(2)],
    ids=["500", "malformed", "off-schema", "timeout"],
)
async def test_a_failing_model_leaves_the_rules_answer(step: Step) -> None:
    intents, server = await read([step], "推进一次", timeout_s=0.5)
    assert intents[0] == parse_message("推进一次")
    assert len(server.requests) == 1


def record() -> RunRecord:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    return RunRecord(
        run_id=RUN,
        owner="demo",
        repo="calc",
        prompt_version="v1",
        state=RunState.NEEDS_HUMAN_REVIEW,
        history=[
            Transition(
                from_state=RunState.IMPLEMENTING,
                to_state=RunState.NEEDS_HUMAN_REVIEW,
                by=Actor.WORKFLOW,
                at=now,
                command="run-agent-step",
                reason="the model held the pass back",
            )
        ],
        grade=AgentGrade(
            verdict=Verdict.HUMAN_REVIEW,
            reason_code="semantic_review_held",
            next_action="read it",
            at=now,
        ),
    )


async def test_the_why_line_model_may_phrase_but_never_add_facts() -> None:
    rec = record()
    ruled = why_line(rec)
    assert RUN in ruled and "NEEDS_HUMAN_REVIEW" in ruled and "semantic_review_held" in ruled
    phrased = answer({"line": f"{RUN} waits for a person: the semantic review held it back."})
    invented = answer({"line": f"{RUN} failed 3 times in CI_WAIT on PR #12."})
    with ScriptedChatServer([phrased, invented, http_error(500)]) as server:
        reader = PlainLanguage(ChatModel(server.base_url, MODEL, API_KEY))
        assert (await reader.why(rec)).startswith("why (model): run_90ab3ea76842 waits")
        assert await reader.why(rec) == f"why (rules): {ruled}"  # it added facts
        assert await reader.why(rec) == f"why (rules): {ruled}"  # it failed
        assert reader.model is not None
        await reader.model.close()
    assert await PlainLanguage(None).why(rec) == f"why (rules): {ruled}"
    assert adds_facts("PR #12 failed", ruled) and not adds_facts("it waits for a person", ruled)
