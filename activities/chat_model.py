"""The one client for the optional model (issue 15): any OpenAI-compatible chat-completions
endpoint (`AGENTPR_LLM_BASE_URL`, `AGENTPR_LLM_API_KEY`, `AGENTPR_LLM_MODEL`).

Every answer is structured output: the request carries `response_format` with the JSON schema
of a pydantic model, and the reply is validated into that model or refused. aiohttp (already
pinned for the webhook and the bot) rather than the `openai` package: one POST and a schema do
not justify httpx, anyio, jiter, distro and tqdm in every install, and a kept aiohttp session
gives the same connection reuse.

Errors are typed for Temporal: a timeout, 429 or 5xx is `ModelUnavailable` (retryable, a
bounded number of times); a 4xx or an answer that is not the schema is non-retryable (asking
again sends the same request). No message carries the API key: it is only ever in the
Authorization header, and every quoted body passes through the redactor.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from common.redaction import Redactor
from common.settings import Settings
from contracts import ModelUsage

T = TypeVar("T", bound=BaseModel)

# Error types (ApplicationError.type) the workflow and tests read.
MODEL_UNAVAILABLE = "ModelUnavailable"
MODEL_REQUEST_REJECTED = "ModelRequestRejected"
MODEL_ANSWER_MALFORMED = "ModelAnswerMalformed"
NON_RETRYABLE = (MODEL_REQUEST_REJECTED, MODEL_ANSWER_MALFORMED)
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_QUOTED_BODY = 300


class ModelError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.kind not in NON_RETRYABLE


def answer_schema(answer: type[BaseModel]) -> dict[str, Any]:
    """The strict JSON schema of an answer model: every property required, no others (what
    OpenAI's strict structured output accepts)."""
    schema = answer.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(schema.get("properties", {}))
    return schema


_CLIENTS: weakref.WeakSet[ChatModel] = weakref.WeakSet()


async def close_chat_models() -> None:
    """Close the kept sessions opened on this event loop (a worker or bot shutting down)."""
    loop = asyncio.get_running_loop()
    for client in list(_CLIENTS):
        if client._loop is loop:
            await client.close()


class ChatModel:
    """A kept client: one aiohttp session per event loop, reused across calls."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        redactor: Redactor | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.redactor = redactor or Redactor([api_key] if api_key else [])
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        _CLIENTS.add(self)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatModel | None:
        if not settings.model_configured:
            return None
        assert settings.llm_base_url and settings.llm_model
        key = settings.llm_api_key
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            key.get_secret_value() if key else None,
            settings.llm_timeout_s,
            settings.redactor,
        )

    def __repr__(self) -> str:  # never the key
        return f"ChatModel(url={self.url!r}, model={self.model!r})"

    def _session_here(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            headers = {"Content-Type": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._session = aiohttp.ClientSession(headers=headers)
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def ask(self, system: str, user: str, answer: type[T], name: str) -> tuple[T, ModelUsage]:
        """One chat completion whose content must be a JSON `answer`; its token usage."""
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "strict": True, "schema": answer_schema(answer)},
            },
        }
        try:
            async with self._session_here().post(
                self.url, json=body, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
            ) as response:
                text = await response.text()
                status = response.status
        except TimeoutError:
            raise ModelError(
                MODEL_UNAVAILABLE, f"the model did not answer within {self.timeout_s:g}s"
            ) from None
        except aiohttp.ClientError as err:
            raise ModelError(
                MODEL_UNAVAILABLE, self.redactor.redact(f"cannot reach the model: {err}")
            ) from None
        if status != 200:
            kind = MODEL_UNAVAILABLE if status in RETRYABLE_STATUSES else MODEL_REQUEST_REJECTED
            quoted = self.redactor.redact(text[:MAX_QUOTED_BODY])
            raise ModelError(kind, f"the model endpoint answered HTTP {status}: {quoted}")
        return self._parse(text, answer)

    def _parse(self, text: str, answer: type[T]) -> tuple[T, ModelUsage]:
        try:
            reply = json.loads(text)
            usage_doc = reply.get("usage") or {}
            usage = ModelUsage(
                calls=1,
                prompt_tokens=int(usage_doc.get("prompt_tokens") or 0),
                completion_tokens=int(usage_doc.get("completion_tokens") or 0),
            )
            message = reply["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise ModelError(
                MODEL_ANSWER_MALFORMED, "the model's reply is not a chat completion"
            ) from None
        if message.get("refusal"):
            raise ModelError(
                MODEL_ANSWER_MALFORMED,
                self.redactor.redact(f"the model refused: {str(message['refusal'])[:200]}"),
            )
        content = message.get("content") or ""
        try:
            return answer.model_validate_json(content), usage
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(the answer)"
            raise ModelError(
                MODEL_ANSWER_MALFORMED,
                f"the model's answer does not follow the {answer.__name__} schema "
                f"({where}: {first['msg']})",
            ) from None
