"""The one chat-completions client against the scripted stand-in: structured output into
pydantic models, typed errors (retryable or not), tokens counted, and the API key in nothing
but the Authorization header."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from activities.agent_env import agent_base_env
from activities.chat_model import (
    MODEL_ANSWER_MALFORMED,
    MODEL_REQUEST_REJECTED,
    MODEL_UNAVAILABLE,
    ChatModel,
    ModelError,
)
from activities.model import ReviewAnswer
from common.settings import Settings
from standins.chat_completions import (
    API_KEY,
    MODEL,
    ScriptedChatServer,
    answer,
    content,
    hang,
    http_error,
)


def client(server: ScriptedChatServer, key: str = API_KEY, timeout_s: float = 5) -> ChatModel:
    return ChatModel(server.base_url, MODEL, key, timeout_s)


async def test_structured_answer_and_usage() -> None:
    reply = answer(
        {"verdict": "agree", "reasons": ["fine"]},
        usage={"prompt_tokens": 7, "completion_tokens": 3},
    )
    with ScriptedChatServer([reply]) as server:
        model = client(server)
        got, usage = await model.ask("system", "user", ReviewAnswer, "review")
        await model.close()
    assert got == ReviewAnswer(verdict="agree", reasons=["fine"])
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 7, 3)
    sent = server.requests[0]
    schema = sent["response_format"]["json_schema"]
    assert schema["name"] == "review" and schema["strict"] is True
    assert schema["schema"]["additionalProperties"] is False
    assert set(schema["schema"]["required"]) == {"verdict", "reasons"}
    assert server.authorizations == [f"Bearer {API_KEY}"]


@pytest.mark.parametrize(
    ("step", "kind", "retryable"),
    [
        (http_error(500), MODEL_UNAVAILABLE, True),
        (http_error(429), MODEL_UNAVAILABLE, True),
        (http_error(400), MODEL_REQUEST_REJECTED, False),
        (content("{not json"), MODEL_ANSWER_MALFORMED, False),
        (content('{"verdict": "approve_pr", "reasons": []}'), MODEL_ANSWER_MALFORMED, False),
        (hang(2), MODEL_UNAVAILABLE, True),
    ],
    ids=["500", "429", "400", "malformed", "off-schema", "timeout"],
)
async def test_errors_are_typed(step: object, kind: str, retryable: bool) -> None:
    with ScriptedChatServer([step]) as server:  # type: ignore[list-item]
        model = client(server, timeout_s=0.5)
        with pytest.raises(ModelError) as caught:
            await model.ask("s", "u", ReviewAnswer, "review")
        await model.close()
    assert caught.value.kind == kind and caught.value.retryable is retryable
    assert API_KEY not in caught.value.message


async def test_a_wrong_key_is_rejected_and_never_quoted() -> None:
    with ScriptedChatServer([]) as server:
        model = client(server, key="sk-wrong-key-abcdefghijklmnop0123")
        with pytest.raises(ModelError) as caught:
            await model.ask("s", "u", ReviewAnswer, "review")
        await model.close()
    assert caught.value.kind == MODEL_REQUEST_REJECTED and "401" in caught.value.message
    assert "sk-wrong-key" not in caught.value.message and "sk-wrong-key" not in repr(model)


def test_the_key_stays_out_of_settings_output_and_agents() -> None:
    settings = Settings.from_env(
        {
            "AGENTPR_HOME": "/tmp/agentpr-x",
            "AGENTPR_LLM_BASE_URL": "http://127.0.0.1:1/v1",
            "AGENTPR_LLM_MODEL": MODEL,
            "AGENTPR_LLM_API_KEY": API_KEY,
        }
    )
    assert settings.model_configured
    assert API_KEY not in repr(settings) and API_KEY not in settings.model_dump_json()
    assert isinstance(settings.llm_api_key, SecretStr)
    assert API_KEY not in settings.redactor.redact(f"error: bad key {API_KEY}")
    env = agent_base_env(
        {"PATH": "/bin", "AGENTPR_LLM_API_KEY": API_KEY, "OPENAI_API_KEY": API_KEY},
        engine_inherits=("OPENAI_API_KEY",),
        operator_env={},
        secrets=settings.secrets(),
    )
    assert API_KEY not in env.values()
    assert not Settings.from_env({"AGENTPR_HOME": "/tmp/agentpr-x"}).model_configured
