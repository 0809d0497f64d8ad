"""A loopback stand-in for the Telegram Bot API, for demos and tests.

Telegram is unreachable from test machines, so this serves the Bot API methods a long-polling
bot uses, in the shapes https://core.telegram.org/bots/api documents, from a
`ThreadingHTTPServer` on a daemon thread (like `github_api.py`). Requests are
`GET|POST {base}/bot<token>/<method>` with parameters in the query string, a JSON body, a
form-encoded body or multipart/form-data; every answer is `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ...}`.

Usage with aiogram (`TelegramAPIServer.from_base` appends `/bot{token}/{method}` itself)::

    with FakeTelegram("123456:test-token") as fake:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(fake.token, session=session)
        update_id = fake.inject_message(42, "/ping")
        replies = fake.wait_for_sent(1, chat_id=42)

Methods: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, setMyCommands,
getMyCommands, deleteMyCommands, sendMessage, getChat, close, logOut. Method names are matched
case-insensitively, as Telegram does; any other method answers 404 "Not Found: method not found",
exactly like a method Telegram does not have. Add one with `@bot_method("name")`.

Updates follow Telegram's queue rules (taken from tdlib/telegram-bot-api `do_get_updates`):
- getUpdates returns pending updates with `update_id >= offset`, oldest first, at most `limit`
  (1-100, default 100); calling it with an offset confirms every update below the offset, and a
  confirmed update is gone for good. No offset (or 0) means "from the oldest pending update";
  a negative offset keeps only the last `-offset` pending updates; an offset more than 10 past
  the newest update is treated like no offset.
- `timeout` (0-50 s) long-polls: the request waits until an update arrives (answering at once),
  the timeout passes (answering []), or `stop()` is called (answering []). A client that gives
  up on a waiting request (aiogram's `stop_polling` cancels it) is noticed within 50 ms, and its
  request never takes updates with it.
- A second long poll while one is waiting ends the first with 409 "Conflict: terminated by other
  getUpdates request; make sure that only one bot instance is running" (Telegram delays that
  answer up to 3 s when conflicts repeat; the fake does not). After setWebhook, getUpdates
  answers 409 until deleteWebhook.
- `allowed_updates` sticks across calls like Telegram's; pending updates of other types are
  dropped when delivered, as Telegram never creates them.
- Not imitated: Telegram raises a short-poll timeout to 3 s when the same offset is polled
  again within 3 s, and limits such repeats to one update.

Replays (a fake-only door): `inject_message(..., update_id=N)` or `replay_update(N)` with an id
at or below the newest one issued queues an update with that old id again, to test the bot's
own deduplication. Telegram never does this by itself; it models a redelivery after a crash or
a duplicate from a proxy. A replayed update is delivered by the next getUpdates whatever its
offset, and is dropped once a later getUpdates passes its id after it was delivered. (aiogram
then sets its offset to that old id + 1; later updates are still delivered, since their ids are
higher.) Without an explicit id, updates get the next sequential id, starting at
`first_update_id`.

Messages: a private chat's message ids are one sequence shared by the operator's messages and the
bot's, as in a real private chat. sendMessage checks what Telegram checks, with its wording:
chat_id and text present, `parse_mode` HTML / MarkdownV2 / Markdown parsed by ports of tdlib's
`parse_html` / `parse_markdown_v2` / `parse_markdown` (so an unescaped "<" or "." fails with
"Bad Request: can't parse entities: ..."), leading/trailing whitespace trimmed, at most 4096
UTF-16 code units, the replied-to message must exist unless `allow_sending_without_reply`.
The answer's `text` is the plain text after parsing, with the formatting in `entities`;
`calls` keeps the raw parameters. Simplifications: link URLs are kept as written (Telegram
normalises them), and sent messages carry no auto-detected url/mention/bot_command entities.
Injected messages starting with (or containing) a command carry `bot_command` entities, found by
tdlib's rule.

Test controls are plain thread-safe methods: `inject_message` / `inject_update` /
`replay_update` queue updates; `sent()` / `wait_for_sent()` read what the bot sent;
`wait_for_long_poll()` blocks until the bot is idle and listening (instead of sleeping);
`calls` / `calls_to()` list every request's parameters. Any chat id is accepted: a chat the
fake never saw becomes a private chat with "Op" (@op), where Telegram would insist that the user
had written to the bot first.

aiogram 3.31 sends form-encoded bodies (multipart/form-data only when a file is attached, with
"attach://<part>" references, which the fake resolves to an `UploadedFile`), ints and bools
JSON-encoded ("42", "true") and objects as JSON text; parameters are typed back the same way.

Failures: `fail_next("sendMessage", 429, retry_after=3)` answers the next call(s) of a method
with an error (429 gets Telegram's "Too Many Requests: retry after N" and
`parameters.retry_after`); `block_chat(chat_id)` makes sendMessage answer 403 "Forbidden: bot
was blocked by the user". A wrong token answers 401 "Unauthorized" for every method.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

from standins.loopback import LoopbackHTTPServer

MAX_MESSAGE_LENGTH = 4096  # UTF-16 code units, after entity parsing
LONG_POLL_MAX_TIMEOUT = 50  # telegram-bot-api clamps `timeout` to this
FUTURE_OFFSET_SLACK = 10  # tdlib's TQueue: an offset further ahead is "in the future"
WAIT_SLICE = 0.05  # how often a waiting long poll checks that its client is still there

# Every update type Telegram sends when allowed_updates is empty or was never set.
DEFAULT_ALLOWED_UPDATES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost",
})  # fmt: skip

CONFLICT_OTHER_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"

# How form and query-string values (always strings on the wire) are typed. aiogram sends ints
# and bools JSON-encoded ("42", "true") and objects as JSON text.
_INT_PARAMS = frozenset({
    "offset", "limit", "timeout", "message_id", "reply_to_message_id", "message_thread_id",
    "user_id", "from_chat_id", "max_connections",
})  # fmt: skip
_BOOL_PARAMS = frozenset({
    "disable_notification", "protect_content", "allow_sending_without_reply",
    "drop_pending_updates", "disable_web_page_preview", "allow_paid_broadcast",
})  # fmt: skip
_JSON_PARAMS = frozenset({
    "reply_markup", "reply_parameters", "link_preview_options", "entities", "commands", "scope",
    "allowed_updates",
})  # fmt: skip
_JSON_PARAM_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "reply_parameters": "can't parse reply parameters JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
    "entities": "can't parse entities JSON object",
    "commands": "can't parse commands JSON object",
    "scope": "can't parse BotCommandScope JSON object",
    "allowed_updates": "can't parse allowed_updates JSON object",
}


class ApiError(Exception):
    """An error answer, as Telegram words it; raised by method implementations."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


@dataclass(frozen=True)
class UploadedFile:
    """A multipart part that carried a filename (aiogram's InputFile)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ApiRequest:
    """One call as a method implementation sees it: typed parameters and a way to notice that
    the client hung up (for long polls)."""

    method: str
    params: dict[str, Any]
    client_gone: Callable[[], bool] = lambda: False


@dataclass
class _Pending:
    update: dict[str, Any]
    replay: bool
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def kind(self) -> str:
        return next(key for key in self.update if key != "update_id")


@dataclass
class _Failure:
    method: str
    error: ApiError
    remaining: int


@dataclass
class _Chat:
    id: int
    first_name: str = "Op"
    username: str | None = "op"
    last_message_id: int = 0
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        if self.id > 0:
            chat: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
            if self.username:
                chat["username"] = self.username
            chat["type"] = "private"
            return chat
        kind = "supergroup" if str(self.id).startswith("-100") else "group"
        return {"id": self.id, "title": f"Group {self.id}", "type": kind}


MethodImpl = Callable[["FakeTelegram", ApiRequest], Any]
_METHODS: dict[str, tuple[str, MethodImpl]] = {}


def bot_method(name: str) -> Callable[[MethodImpl], MethodImpl]:
    """Register a FakeTelegram method as the Bot API method `name` (matched case-insensitively).
    It takes an ApiRequest and returns the `result`, or raises ApiError."""

    def register(impl: MethodImpl) -> MethodImpl:
        _METHODS[name.lower()] = (name, impl)
        return impl

    return register


class FakeTelegram(LoopbackHTTPServer):
    """`calls` holds (method, params) for every request that carried the right token, in
    order, with the method named as the Bot API docs spell it and params typed (ints, bools,
    decoded JSON objects)."""

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "agentpr_test_bot",
        bot_first_name: str = "agentpr",
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        left, _, _ = token.partition(":")
        # aiogram derives Bot.id from the token the same way; getMe must agree with it.
        self.bot_id = int(left) if left.isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.base_url = ""
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._changed = threading.Condition()  # guards all state below; notified on any change
        self._stopping = False
        self._pending: list[_Pending] = []
        self._history: dict[int, dict[str, Any]] = {}  # every update ever queued, by id
        self._next_update_id = first_update_id
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0
        self._poll_end_reason = CONFLICT_OTHER_GET_UPDATES  # why a waiting long poll was ended
        self._waiting_polls = 0
        self._webhook_url = ""
        self._chats: dict[int, _Chat] = {}
        self._sent: list[dict[str, Any]] = []
        self._blocked: set[int] = set()
        self._failures: list[_Failure] = []
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._user_ids = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free loopback port; returns the base URL for
        `TelegramAPIServer.from_base(...)` (no trailing slash, no /bot part)."""
        port = self._serve(_RequestHandler, telegram=self)
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()  # waiting long polls answer [] now
        self._shutdown()

    # -- test controls -----------------------------------------------------------------------

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as getMe describes it."""
        return {
            **self._bot_sender(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "supports_guest_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
            "has_topics_enabled": False,
            "allows_users_to_create_topics": False,
            "can_manage_bots": False,
        }

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Op",
        username: str | None = "op",
        update_id: int | None = None,
    ) -> int:
        """Queue an Update carrying a text message from a user; returns its update_id.

        In a private chat (positive chat_id) the user is the chat's owner, so `user_id` defaults
        to chat_id. `update_id=None` takes the next id; an id at or below the newest issued one
        queues a replay (see the module docstring)."""
        with self._changed:
            chat = self._chat(chat_id)
            if chat_id > 0:
                chat.first_name, chat.username = first_name, username
            if user_id is None:
                user_id = chat_id if chat_id > 0 else 10_000 + next(self._user_ids)
            sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
            if username:
                sender["username"] = username
            sender["language_code"] = "en"
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat),
                "from": sender,
                "chat": chat.json(),
                "date": int(time.time()),
                "text": text,
            }
            entities = bot_command_entities(text)
            if entities:
                message["entities"] = entities
            chat.messages[message["message_id"]] = message
            return self._queue({"message": message}, update_id)

    def inject_update(self, payload: dict[str, Any], *, update_id: int | None = None) -> int:
        """Queue any other update, e.g. `{"callback_query": {...}}`, as given; returns its id."""
        if len(payload) != 1 or "update_id" in payload:
            raise ValueError("payload is one update field, e.g. {'callback_query': {...}}")
        with self._changed:
            return self._queue(copy.deepcopy(payload), update_id)

    def replay_update(self, update_id: int) -> int:
        """Queue the exact update that `update_id` carried again (a redelivery)."""
        with self._changed:
            if update_id not in self._history:
                raise KeyError(f"no update {update_id} was ever queued")
            update = copy.deepcopy(self._history[update_id])
            self._pending.append(_Pending(update, replay=True))
            self._changed.notify_all()
            return update_id

    @property
    def waiting_polls(self) -> int:
        """How many getUpdates requests are waiting for updates right now."""
        with self._changed:
            return self._waiting_polls

    def wait_for_long_poll(self, timeout: float = 10.0) -> None:
        """Block until a getUpdates request is waiting (the bot is idle and listening)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._waiting_polls == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no getUpdates request was waiting within {timeout}s")
                self._changed.wait(remaining)

    def pending_update_ids(self) -> list[int]:
        """Ids of queued updates not yet confirmed (getWebhookInfo's pending_update_count)."""
        with self._changed:
            return sorted(p.update_id for p in self._pending)

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (sendMessage results, as returned), oldest first."""
        with self._changed:
            return copy.deepcopy(
                [m for m in self._sent if chat_id is None or m["chat"]["id"] == chat_id]
            )

    def wait_for_sent(
        self, count: int, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Block until at least `count` messages were sent (to `chat_id`); returns them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                sent = [m for m in self._sent if chat_id is None or m["chat"]["id"] == chat_id]
                if len(sent) >= count:
                    return copy.deepcopy(sent)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [m.get("text") for m in sent]
                    where = "" if chat_id is None else f" to chat {chat_id}"
                    raise TimeoutError(
                        f"waited {timeout}s for {count} sent messages{where}, got {len(sent)}: "
                        f"{texts!r}"
                    )
                self._changed.wait(remaining)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call of one method, in order."""
        with self._changed:
            return [params for name, params in self.calls if name.lower() == method.lower()]

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        """The command list setMyCommands stored for a scope (default scope if None)."""
        with self._changed:
            return copy.deepcopy(self._commands.get(_commands_key(scope, language_code), []))

    def block_chat(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocked the bot: sendMessage to that chat answers 403."""
        with self._changed:
            (self._blocked.add if blocked else self._blocked.discard)(chat_id)

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with an error, before they take effect.
        429 defaults to Telegram's flood-wait answer with `parameters.retry_after`."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if error_code == 429:
            error = too_many_requests(retry_after if retry_after is not None else 1)
            if description is not None:
                error.description = description
        else:
            default = {
                400: "Bad Request: injected failure",
                401: "Unauthorized",
                403: "Forbidden: injected failure",
                404: "Not Found",
                409: CONFLICT_OTHER_GET_UPDATES,
                500: "Internal Server Error: restart",
                502: "Bad Gateway",
            }.get(error_code, f"Error {error_code}")
            params = {"retry_after": retry_after} if retry_after is not None else None
            error = ApiError(error_code, description or default, params)
        with self._changed:
            self._failures.append(_Failure(method.lower(), error, times))

    # -- dispatch (server threads) -----------------------------------------------------------

    def _dispatch(
        self,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        client_gone: Callable[[], bool],
    ) -> tuple[int, dict[str, Any]] | None:
        """The answer to one HTTP request, or None when the client left a long poll."""
        match = re.fullmatch(r"/bot([^/]*)/([^/]+)", path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, sent_name = (urllib.parse.unquote(part) for part in match.groups())
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").body()
        known = _METHODS.get(sent_name.lower())
        name = known[0] if known else sent_name
        try:
            params = _decode_params(query, content_type, body)
        except ApiError as err:
            with self._changed:
                self.calls.append((name, {}))
            return err.status, err.body()
        with self._changed:
            self.calls.append((name, params))
            failure = self._take_failure(name) if known else None
        if known is None:
            return 404, ApiError(404, "Not Found: method not found").body()
        if failure is not None:
            return failure.status, failure.body()
        try:
            result = known[1](self, ApiRequest(name, params, client_gone))
        except ApiError as err:
            return err.status, err.body()
        except _ClientGone:
            return None
        return 200, {"ok": True, "result": result}

    def _take_failure(self, method: str) -> ApiError | None:
        for failure in self._failures:
            if failure.method == method.lower():
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                return failure.error
        return None

    # -- Bot API methods ---------------------------------------------------------------------

    @bot_method("getMe")
    def _get_me(self, request: ApiRequest) -> dict[str, Any]:
        return self.bot_user

    @bot_method("getUpdates")
    def _get_updates(self, request: ApiRequest) -> list[dict[str, Any]]:
        params = request.params
        offset = _int(params.get("offset"), 0)
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = min(max(_int(params.get("timeout"), 0), 0), LONG_POLL_MAX_TIMEOUT)
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._webhook_url:
                raise ApiError(409, CONFLICT_WEBHOOK_ACTIVE)
            allowed = params.get("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
            offset = self._confirm(offset)
            generation: int | None = None
            try:
                while True:
                    if self._stopping:
                        return []
                    ready = self._deliverable(offset, limit)
                    if ready or timeout == 0:
                        return ready
                    if generation is None:
                        # Telegram ends the long poll already waiting when another one starts.
                        self._end_long_poll(CONFLICT_OTHER_GET_UPDATES)
                        generation = self._poll_generation
                        self._waiting_polls += 1
                        self._changed.notify_all()
                    elif generation != self._poll_generation:
                        raise ApiError(409, self._poll_end_reason)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    self._changed.wait(min(remaining, WAIT_SLICE))
                    if request.client_gone():
                        raise _ClientGone
            finally:
                if generation is not None:
                    self._waiting_polls -= 1
                    self._changed.notify_all()

    def _confirm(self, offset: int) -> int:
        """Drop what `offset` confirms; returns the offset to read from (0 = oldest)."""
        if offset < 0:
            self._pending = sorted(self._pending, key=lambda p: p.update_id)[offset:]
            return 0
        if offset == 0 or offset > self._next_update_id - 1 + FUTURE_OFFSET_SLACK:
            return 0
        self._pending = [
            p for p in self._pending if p.update_id >= offset or (p.replay and not p.delivered)
        ]
        return offset

    def _deliverable(self, offset: int, limit: int) -> list[dict[str, Any]]:
        # Updates of types the bot did not allow would never have been created.
        self._pending = [p for p in self._pending if p.kind in self._allowed_updates]
        ready = sorted(
            (p for p in self._pending if p.update_id >= offset or p.replay),
            key=lambda p: p.update_id,
        )[:limit]
        for pending in ready:
            pending.delivered = True
        return copy.deepcopy([p.update for p in ready])

    @bot_method("setWebhook")
    def _set_webhook(self, request: ApiRequest) -> bool:
        url = str(request.params.get("url") or "")
        with self._changed:
            self._set_webhook_url(url, bool(request.params.get("drop_pending_updates")))
        return True

    @bot_method("deleteWebhook")
    def _delete_webhook(self, request: ApiRequest) -> bool:
        with self._changed:
            self._set_webhook_url("", bool(request.params.get("drop_pending_updates")))
        return True

    def _set_webhook_url(self, url: str, drop_pending_updates: bool) -> None:
        self._webhook_url = url
        if drop_pending_updates:
            self._pending.clear()
        if url:
            self._end_long_poll(CONFLICT_SET_WEBHOOK)

    def _end_long_poll(self, reason: str) -> None:
        """End the long poll now waiting, if any, with 409 and `reason`."""
        self._poll_generation += 1
        self._poll_end_reason = reason
        self._changed.notify_all()

    @bot_method("getWebhookInfo")
    def _get_webhook_info(self, request: ApiRequest) -> dict[str, Any]:
        with self._changed:
            info: dict[str, Any] = {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if self._allowed_updates != DEFAULT_ALLOWED_UPDATES:
                info["allowed_updates"] = sorted(self._allowed_updates)
            return info

    @bot_method("setMyCommands")
    def _set_my_commands(self, request: ApiRequest) -> bool:
        commands = request.params.get("commands") or []
        if not isinstance(commands, list):
            raise bad_request("Expected an Array of BotCommand")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand: expected an Object")
            for key in ("command", "description"):
                if not isinstance(command.get(key), str):
                    raise bad_request(
                        f'can\'t parse BotCommand: Field "{key}" must be of type String'
                    )
            # tdlib's set_commands checks, then the server's character rule.
            name = command["command"].strip().removeprefix("/")
            description = command["description"].strip()
            if not name:
                raise bad_request("command must be non-empty")
            if len(name) > 32:
                raise bad_request("command length must not exceed 32")
            if not description:
                raise bad_request("command description must be non-empty")
            if len(description) > 256:
                raise bad_request("command description length must not exceed 256")
            if not re.fullmatch(r"[a-z0-9_]+", name):
                raise bad_request("BOT_COMMAND_INVALID")
            cleaned.append({"command": name, "description": description})
        key = _commands_key(request.params.get("scope"), request.params.get("language_code"))
        with self._changed:
            self._commands[key] = cleaned
        return True

    @bot_method("getMyCommands")
    def _get_my_commands(self, request: ApiRequest) -> list[dict[str, str]]:
        key = _commands_key(request.params.get("scope"), request.params.get("language_code"))
        with self._changed:
            return copy.deepcopy(self._commands.get(key, []))

    @bot_method("deleteMyCommands")
    def _delete_my_commands(self, request: ApiRequest) -> bool:
        key = _commands_key(request.params.get("scope"), request.params.get("language_code"))
        with self._changed:
            self._commands.pop(key, None)
        return True

    @bot_method("sendMessage")
    def _send_message(self, request: ApiRequest) -> dict[str, Any]:
        params = request.params
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")  # "@username" of a channel we do not have
        raw_text = params.get("text")
        if not isinstance(raw_text, str) or not raw_text:
            raise bad_request("message text is empty")
        text, entities = format_text(raw_text, params.get("parse_mode"), params.get("entities"))
        if utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        with self._changed:
            if chat_id in self._blocked:
                raise ApiError(403, BLOCKED_BY_USER)
            chat = self._chat(chat_id)
            reply_to = self._replied_message(chat, params)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat),
                "from": self._bot_sender(),
                "chat": chat.json(),
                "date": int(time.time()),
            }
            if reply_to is not None:
                message["reply_to_message"] = reply_to
            message["text"] = text
            if entities:
                message["entities"] = entities
            preview = params.get("link_preview_options")
            if isinstance(preview, dict) and preview:
                message["link_preview_options"] = preview
            markup = params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup  # Message.reply_markup is inline keyboards only
            chat.messages[message["message_id"]] = message
            self._sent.append(message)
            self._changed.notify_all()
            return copy.deepcopy(message)

    def _replied_message(self, chat: _Chat, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = _int(reply.get("message_id"), 0)
            lenient = bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") not in (None, chat.id):
                raise bad_request("message to be replied not found")
        else:
            message_id = _int(params.get("reply_to_message_id"), 0)
            lenient = bool(params.get("allow_sending_without_reply"))
        if not message_id:
            return None
        target = chat.messages.get(message_id)
        if target is None:
            if lenient:
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in copy.deepcopy(target).items() if k != "reply_to_message"}

    @bot_method("getChat")
    def _get_chat(self, request: ApiRequest) -> dict[str, Any]:
        chat_id = request.params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        with self._changed:
            if not isinstance(chat_id, int) or chat_id not in self._chats:
                raise bad_request("chat not found")
            info = self._chats[chat_id].json()
        # ChatFullInfo's required fields beyond Chat's.
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return info

    @bot_method("close")
    def _close(self, request: ApiRequest) -> bool:
        return True

    @bot_method("logOut")
    def _log_out(self, request: ApiRequest) -> bool:
        return True

    # -- state helpers (call with the lock held) ---------------------------------------------

    def _queue(self, payload: dict[str, Any], update_id: int | None) -> int:
        if update_id is None:
            update_id = self._next_update_id
        replay = update_id < self._next_update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)
        update = {"update_id": update_id, **payload}
        self._history.setdefault(update_id, update)
        self._pending.append(_Pending(update, replay=replay))
        self._changed.notify_all()
        return update_id

    def _chat(self, chat_id: int) -> _Chat:
        if chat_id not in self._chats:
            self._chats[chat_id] = _Chat(chat_id)
        return self._chats[chat_id]

    def _next_message_id(self, chat: _Chat) -> int:
        chat.last_message_id += 1
        return chat.last_message_id

    def _bot_sender(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }


class _ClientGone(Exception):
    """The client closed the connection of a waiting long poll; nothing is answered."""


def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
    scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(language_code or "")


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0  # telegram-bot-api's to_integer reads garbage as 0


# -- request decoding ---------------------------------------------------------------------------


def _decode_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Parameters from the query string and the body, typed like Telegram reads them."""
    raw: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";", 1)[0].strip().lower()
    if body and media_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as err:
            raise bad_request("can't parse JSON object") from err
        if not isinstance(decoded, dict):
            raise bad_request("can't parse JSON object")
        raw.update(decoded)
    elif body and media_type == "multipart/form-data":
        raw.update(_multipart_fields(content_type, body))
    elif body:
        raw.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    params = {name: _typed(name, value) for name, value in raw.items()}
    # "attach://<part>" names a multipart file part; Telegram reads the file in its place.
    for name, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if isinstance(params.get(part), UploadedFile):
                params[name] = params.pop(part)
    return params


def _multipart_fields(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise bad_request("can't parse multipart/form-data")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields[str(name)] = UploadedFile(filename, part.get_content_type(), data)
        else:
            charset = part.get_content_charset() or "utf-8"
            fields[str(name)] = data.decode(charset)
    return fields


def _typed(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value  # JSON bodies arrive typed
    if name == "chat_id":
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    if name in _INT_PARAMS:
        return _int(value.strip(), 0) if value.strip() else None
    if name in _BOOL_PARAMS:
        return value.strip().lower() in ("true", "1")
    if name in _JSON_PARAMS:
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError as err:
            raise bad_request(_JSON_PARAM_ERRORS[name]) from err
    return value


# -- text formatting (ports of tdlib's td/telegram/MessageEntity.cpp) ---------------------------


class EntityParseError(ValueError):
    """tdlib's parse error; Telegram answers "Bad Request: can't parse entities: <message>"."""


def utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def format_text(
    text: str, parse_mode: Any, entities: Any = None
) -> tuple[str, list[dict[str, Any]]]:
    """What sendMessage makes of text + parse_mode (or explicit entities): the plain text and
    its entities, trimmed like tdlib's fix_formatted_text. Raises ApiError like Telegram."""
    mode = str(parse_mode or "").lower()
    if mode and mode != "none":
        parsers = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}
        if mode not in parsers:
            raise bad_request("unsupported parse_mode")
        try:
            text, found = parsers[mode](text)
        except EntityParseError as err:
            raise bad_request(f"can't parse entities: {err}") from err
    else:
        found = [dict(e) for e in entities] if isinstance(entities, list) else []
    return _trim(text, found)


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    stripped = text.rstrip()
    if not stripped:
        raise bad_request("text must be non-empty")
    end = utf16_len(stripped)
    kept = []
    for entity in entities:
        if entity["offset"] >= end:
            continue
        entity["length"] = min(entity["length"], end - entity["offset"])
        kept.append(entity)
    first_entity = min((e["offset"] for e in kept), default=end)
    lead = 0  # tdlib strips only spaces and newlines before the first entity
    while lead < len(stripped) and lead < first_entity and stripped[lead] in " \n":
        lead += 1
    for entity in kept:
        entity["offset"] -= lead
    return stripped[lead:], _sorted_entities(kept)


# tdlib's MessageEntity::get_type_priority, for its sort order.
_ENTITY_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "date_time": 30,
    "text_link": 49, "text_mention": 49, "bot_command": 50, "url": 50, "mention": 50,
    "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93, "spoiler": 94,
    "custom_emoji": 99,
}  # fmt: skip


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def order(entity: dict[str, Any]) -> tuple[int, int, int]:
        priority = _ENTITY_PRIORITY.get(entity["type"], 50)
        if entity["type"] == "pre" and "language" in entity:
            priority = 10
        return entity["offset"], -entity["length"], priority

    return sorted(entities, key=order)


def _entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    return {"offset": offset, "length": length, "type": kind, **extra}


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_TD_SPACES = " \t\r\n\0\v"  # td::is_space; "\0" also stands for the end of the text below


def _is_ascii_alpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_ascii_alnum(c: str) -> bool:
    return _is_ascii_alpha(c) or "0" <= c <= "9"


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """tdlib's decode_html_entity: the character and the index after the entity, or None when
    the "&" is literal."""

    def at(k: int) -> str:
        return text[k] if k < len(text) else "\0"

    end = pos + 1
    code = 0
    if at(pos + 1) == "#":
        end += 1
        if at(pos + 2) == "x":
            end += 1
            while at(end) in "0123456789abcdefABCDEF" and at(end) != "\0":
                code = code * 16 + int(at(end), 16)
                end += 1
        else:
            while "0" <= at(end) <= "9":
                code = code * 10 + int(at(end))
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while _is_ascii_alpha(at(end)):
            end += 1
        name = text[pos + 1 : end]
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
        if name not in named:
            return None
        code = ord(named[name])
    if 0xD800 <= code <= 0xDFFF:
        return None  # a lone surrogate; tdlib rejects the text later
    return chr(code), end + 1 if at(end) == ";" else end


_HTML_TAGS = frozenset({
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
    "tg-time", "span", "pre", "code", "blockquote",
})  # fmt: skip
_HTML_SIMPLE = {
    "i": "italic", "em": "italic", "b": "bold", "strong": "bold", "s": "strikethrough",
    "strike": "strikethrough", "del": "strikethrough", "u": "underline", "ins": "underline",
    "tg-spoiler": "spoiler",
}  # fmt: skip


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Port of tdlib's parse_html: the plain text and Bot API entities, or EntityParseError
    with tdlib's message."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    # (tag name, argument, date, utf16 offset, index into out)
    nested: list[tuple[str, str, int, int, int]] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                char, i = decoded
                out.append(char)
                utf16 += utf16_len(char)
                continue
        if c != "<":
            out.append(c)
            utf16 += utf16_len(c)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in _TD_SPACES and at(i) != ">":
                i += 1
            if at(i) == "\0":
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            date = 0
            while at(i) != ">":
                while at(i) != "\0" and at(i) in _TD_SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attribute_begin = i
                while at(i) not in _TD_SPACES and at(i) not in "=>/\"'":
                    i += 1
                attribute = text[attribute_begin:i]
                if not attribute:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while at(i) != "\0" and at(i) in _TD_SPACES:
                    i += 1
                if at(i) != "=":
                    if at(i) == "\0":
                        raise EntityParseError(
                            f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                        )
                    if tag == "blockquote" and attribute == "expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != "\0" and at(i) in _TD_SPACES:
                    i += 1
                if at(i) == "\0":
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while _is_ascii_alnum(at(i)) or at(i) in ".-":
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _TD_SPACES and at(i) != ">":
                        raise EntityParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    chars: list[str] = []
                    while at(i) != quote and at(i) != "\0":
                        if at(i) == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        chars.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if at(i) == "\0":
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == "expandable":
                    argument = "1"
                elif tag == "tg-time" and attribute == "unix":
                    date = int(value) if value.isdigit() else 0
                elif tag == "tg-time" and attribute == "format":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            nested.append((tag, argument, date, utf16, len(out)))
            i += 1  # past ">"
            continue

        # an end tag
        if not nested:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while at(i) not in _TD_SPACES and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while at(i) in _TD_SPACES and at(i) != "\0":
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        tag, argument, date, offset, out_begin = nested.pop()
        if end_tag and end_tag != tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag}>", found "</{end_tag}>"'
            )
        if utf16 <= offset:
            continue
        length = utf16 - offset
        last = entities[-1] if entities else None
        same_span = last is not None and last["offset"] == offset and last["length"] == length
        if tag in _HTML_SIMPLE or tag == "span":
            entities.append(_entity(_HTML_SIMPLE.get(tag, "spoiler"), offset, length))
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entities.append(_entity("custom_emoji", offset, length, custom_emoji_id=argument))
        elif tag == "tg-time":
            if date > 0:
                entities.append(_entity("date_time", offset, length, unix_time=date))
        elif tag == "a":
            url = argument or "".join(out[out_begin:])
            entities.append(_entity("text_link", offset, length, url=url))
        elif tag == "pre":
            if same_span and last is not None and last["type"] == "code" and last.get("_lang"):
                last.update(type="pre", language=last.pop("_lang"))
            else:
                entities.append(_entity("pre", offset, length))
        elif tag == "code":
            if same_span and last is not None and last["type"] == "pre" and argument:
                last["language"] = argument
            else:
                entities.append(_entity("code", offset, length, _lang=argument))
        elif tag == "blockquote":
            kind = "expandable_blockquote" if argument else "blockquote"
            entities.append(_entity(kind, offset, length))
    if nested:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    for entity in entities:
        entity.pop("_lang", None)
    return "".join(out), _sorted_entities(entities)


# tdlib's type names, as they appear in MarkdownV2 error messages.
_MD_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline",
    "strikethrough": "Strikethrough", "spoiler": "Spoiler", "code": "Code", "pre": "Pre",
    "pre_code": "PreCode", "text_link": "TextUrl", "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}  # fmt: skip


def _reserved(char: str) -> str:
    return f"Character '{char}' is reserved and must be escaped with the preceding '\\'"


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Port of tdlib's parse_markdown_v2 (custom emoji and tg://time links are not checked)."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    # [kind, argument, utf16 offset, byte offset in text, index into out]
    nested: list[list[Any]] = []
    have_blockquote = False
    can_start_blockquote = True
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and "\0" < at(i + 1) <= "~":
            i += 1
            utf16 += 1
            out.append(text[i])
            if text[i] != "\r":
                can_start_blockquote = text[i] == "\n"
            i += 1
            continue

        reserved = "_*[]()~`>#+-=|{}.!\n"
        if nested and nested[-1][0] in ("code", "pre", "pre_code"):
            reserved = "`"
        if c not in reserved:
            utf16 += utf16_len(c)
            if c != "\r":
                can_start_blockquote = False
            out.append(c)
            i += 1
            continue

        is_end = False
        if nested:
            kind = nested[-1][0]
            if have_blockquote and c == "\n" and (i + 1 == n or at(i + 1) != ">"):
                is_end = True
            else:
                is_end = {
                    "bold": c == "*",
                    "italic": c == "_" and at(i + 1) != "_",
                    "code": c == "`",
                    "pre": c == "`" and at(i + 1) == "`" and at(i + 2) == "`",
                    "pre_code": c == "`" and at(i + 1) == "`" and at(i + 2) == "`",
                    "text_link": c == "]",
                    "underline": c == "_" and at(i + 1) == "_",
                    "strikethrough": c == "~",
                    "spoiler": c == "|" and at(i + 1) == "|",
                    "custom_emoji": c == "]",
                    "blockquote": False,
                }[kind]

        if not is_end:
            byte_offset = _byte_offset(text, i)
            argument = ""
            kind = ""
            if c == "_":
                if at(i + 1) == "_":
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == "*":
                kind = "bold"
            elif c == "~":
                kind = "strikethrough"
            elif c == "|":
                if at(i + 1) != "|":
                    raise EntityParseError(_reserved(c))
                i += 1
                kind = "spoiler"
            elif c == "[":
                kind = "text_link"
            elif c == "`":
                if at(i + 1) == "`" and at(i + 2) == "`":
                    i += 3
                    kind = "pre"
                    language_end = i
                    while at(language_end) not in _TD_SPACES and at(language_end) != "`":
                        language_end += 1
                    if i != language_end and language_end < n and at(language_end) != "`":
                        kind = "pre_code"
                        argument = text[i:language_end]
                        i = language_end
                    if at(i) in "\n\r" and at(i) != "\0":
                        if at(i + 1) in "\n\r" and at(i + 1) != "\0" and at(i) != at(i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == "!":
                if at(i + 1) != "[":
                    raise EntityParseError(_reserved(c))
                i += 1
                kind = "custom_emoji"
            elif c == "\n":
                utf16 += 1
                out.append("\n")
                can_start_blockquote = True
            elif c == ">":
                if not can_start_blockquote:
                    raise EntityParseError(_reserved(c))
                if not have_blockquote:
                    kind = "blockquote"
                    have_blockquote = True
            else:
                raise EntityParseError(_reserved(c))
            if kind:
                nested.append([kind, argument, utf16, byte_offset, len(out)])
            i += 1
            continue

        # the end of an entity
        kind = nested[-1][0]
        if c == "\n" and kind != "blockquote":
            spoiler_at_end = kind == "spoiler" and (
                nested[-1][3] == _byte_offset(text, i) - 2
                or (nested[-1][3] == _byte_offset(text, i) - 3 and out and out[-1] == "\r")
            )
            if not spoiler_at_end:
                raise EntityParseError(
                    f"Can't find end of {_MD_NAMES[kind]} entity at byte offset {nested[-1][3]}"
                )
            nested.pop()
            kind = nested[-1][0]
            if kind != "blockquote":
                raise EntityParseError(
                    f"Can't find end of {_MD_NAMES[kind]} entity at byte offset {nested[-1][3]}"
                )
            kind = "expandable_blockquote"
        _, argument, offset, _, out_begin = nested[-1]
        skip = utf16 == offset
        extra: dict[str, Any] = {}
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind in ("pre", "pre_code"):
            i += 2
        elif kind == "text_link":
            if at(i + 1) != "(":
                url = "".join(out[out_begin:])
            else:
                i += 2
                url_begin = i
                chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and "\0" < at(i + 1) <= "~":
                        chars.append(text[i + 1])
                        i += 2
                        continue
                    chars.append(text[i])
                    i += 1
                if at(i) != ")":
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
                url = "".join(chars)
            if url:
                extra["url"] = url
            else:
                skip = True
        elif kind == "custom_emoji":
            if at(i + 1) != "(":
                raise EntityParseError("The entity must contain a tg://emoji or tg://time URL")
            i += 2
            url_begin = i
            while i < n and text[i] != ")":
                i += 2 if text[i] == "\\" and "\0" < at(i + 1) <= "~" else 1
            if at(i) != ")":
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                )
            emoji = re.search(r"[?&]id=(\d+)", text[url_begin:i])
            if not emoji:
                raise EntityParseError("Invalid tg://emoji or tg://time URL specified")
            extra["custom_emoji_id"] = emoji.group(1)
        elif kind in ("blockquote", "expandable_blockquote"):
            have_blockquote = False
            out.append(c)
            can_start_blockquote = True
            utf16 += 1
            skip = False
        if not skip:
            length = utf16 - offset
            if kind == "pre_code":
                entities.append(_entity("pre", offset, length, language=argument))
            else:
                entities.append(_entity(kind, offset, length, **extra))
        nested.pop()
        i += 1

    if have_blockquote:
        kind = "blockquote"
        if nested[-1][0] == "spoiler" and nested[-1][3] == len(text.encode("utf-8")) - 2:
            nested.pop()
            kind = "expandable_blockquote"
        if nested[-1][0] == "blockquote":
            offset = nested[-1][2]
            if utf16 != offset:
                entities.append(_entity(kind, offset, utf16 - offset))
            nested.pop()
    if nested:
        raise EntityParseError(
            f"Can't find end of {_MD_NAMES[nested[-1][0]]} entity at byte offset {nested[-1][3]}"
        )
    return "".join(out), _sorted_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Port of tdlib's parse_markdown (legacy "Markdown")."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and at(i + 1) in ("_", "*", "`", "["):
            i += 1
            out.append(text[i])
            utf16 += 1
            i += 1
            continue
        if c not in "_*`[":
            utf16 += utf16_len(c)
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = False
        i += 1
        language = ""
        if c == "`" and at(i) == "`" and at(i + 1) == "`":
            i += 2
            is_pre = True
            language_end = i
            while at(language_end) not in _TD_SPACES and at(language_end) != "`":
                language_end += 1
            if i != language_end and language_end < n and at(language_end) != "`":
                language = text[i:language_end]
                i = language_end
            if at(i) in "\n\r" and at(i) != "\0":
                if at(i + 1) in "\n\r" and at(i + 1) != "\0" and at(i) != at(i + 1):
                    i += 2
                else:
                    i += 1
        offset = utf16
        while i < n and (
            text[i] != end_char or (is_pre and not (at(i + 1) == "`" and at(i + 2) == "`"))
        ):
            utf16 += utf16_len(text[i])
            out.append(text[i])
            i += 1
        if i == n:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if offset != utf16:
            length = utf16 - offset
            if c == "_":
                entities.append(_entity("italic", offset, length))
            elif c == "*":
                entities.append(_entity("bold", offset, length))
            elif c == "[":
                if at(i + 1) != "(":
                    url = text[begin + 1 : i]
                else:
                    i += 2
                    url_chars = []
                    while i < n and text[i] != ")":
                        url_chars.append(text[i])
                        i += 1
                    url = "".join(url_chars)
                if url:
                    entities.append(_entity("text_link", offset, length, url=url))
            elif is_pre:
                extra = {"language": language} if language else {}
                entities.append(_entity("pre", offset, length, **extra))
            else:
                entities.append(_entity("code", offset, length))
        if is_pre:
            i += 2
        i += 1
    return "".join(out), _sorted_entities(entities)


def bot_command_entities(text: str) -> list[dict[str, Any]]:
    """tdlib's match_bot_commands: "/cmd" or "/cmd@botname" not glued to a word, "/", "<" or
    ">"; Telegram marks them in incoming messages."""
    entities = []
    for match in re.finditer(r"/([A-Za-z0-9_]+)(@[A-Za-z0-9_]*)?", text):
        start, end = match.span()
        before = text[start - 1] if start else ""
        if before and (_is_word_char(before) or before in "/<>"):
            continue
        if not 1 <= len(match.group(1)) <= 64:
            continue
        mention = match.group(2)
        if mention is not None and not 3 <= len(mention) - 1 <= 32:
            continue
        after = text[end] if end < len(text) else ""
        if after and (_is_word_char(after) or after in "/<>"):
            continue
        entities.append(_entity("bot_command", utf16_len(text[:start]), utf16_len(text[start:end])))
    return entities


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


# -- HTTP ---------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps aiohttp's pooled connections alive; every response sets Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelegramBotAPI/1"

    def _serve(self) -> None:
        body = self._read_body()
        split = urllib.parse.urlsplit(self.path)
        fake: FakeTelegram = self.server.telegram  # type: ignore[attr-defined]
        answer = fake._dispatch(
            split.path,
            split.query,
            self.headers.get("Content-Type", ""),
            body,
            self._client_gone,
        )
        if answer is None:
            self.close_connection = True
            return
        status, payload = answer
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client went away meanwhile

    do_GET = do_POST = do_HEAD = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _client_gone(self) -> bool:
        """Whether the client closed the connection (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # tests read FakeTelegram.calls; stderr stays quiet
