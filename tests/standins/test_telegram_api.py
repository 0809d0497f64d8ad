"""The loopback Telegram Bot API, driven by real aiogram 3 the way agentpr's bot uses it, and
by plain HTTP for the wire details aiogram hides (status codes, bodies, long-poll timing).

aiogram setup that works against it (`from_base` appends `/bot{token}/{method}`)::

    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    bot = Bot(fake.token, session=session)

aiogram validates the token's shape locally ("<digits>:<secret>"), so a "wrong token" test needs
a well-formed one. It sends form-encoded bodies (multipart/form-data only when a file is
attached), ints and bools JSON-encoded ("42", "true") and objects as JSON text.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)

from standins.telegram_api import (
    CONFLICT_OTHER_GET_UPDATES,
    CONFLICT_WEBHOOK_ACTIVE,
    EntityParseError,
    FakeTelegram,
    UploadedFile,
    bot_command_entities,
    format_text,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
)

TOKEN = "123456:fake-telegram-token"
CHAT = 42


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as server:
        yield server


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))


def call(
    fake: FakeTelegram,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    token: str = TOKEN,
    path: str | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, Any]]:
    """POST form-encoded parameters (objects as JSON text, like aiogram); returns status and
    the decoded answer."""
    fields = {
        k: json.dumps(v) if isinstance(v, (dict, list, bool)) else str(v)
        for k, v in (params or {}).items()
    }
    url = fake.base_url + (path or f"/bot{token}/{method}")
    data = urllib.parse.urlencode(fields).encode()
    return send(urllib.request.Request(url, data=data), timeout)


def send(request: urllib.request.Request, timeout: float = 30) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def update_ids(answer: tuple[int, dict[str, Any]]) -> list[int]:
    status, body = answer
    assert status == 200, body
    return [update["update_id"] for update in body["result"]]


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def polled_with_offset(fake: FakeTelegram, offset: int) -> bool:
    """Whether the bot polled past an update (which confirms it)."""
    return any(params.get("offset") == offset for params in fake.calls_to("getUpdates"))


# -- aiogram as the client -------------------------------------------------------------------


async def test_get_me_and_wrong_token(fake: FakeTelegram) -> None:
    bot = make_bot(fake)
    stranger = make_bot(fake, "123456:not-the-token")
    try:
        me = await bot.get_me()
        assert (me.id, me.is_bot, me.username) == (123456, True, "agentpr_test_bot")
        assert me.id == bot.id  # aiogram reads the id from the token; getMe agrees
        assert me.can_join_groups is True and me.supports_inline_queries is False
        with pytest.raises(TelegramUnauthorizedError) as raised:
            await stranger.get_me()
        assert raised.value.message == "Unauthorized"
    finally:
        await bot.session.close()
        await stranger.session.close()
    assert fake.calls == [("getMe", {})]  # the stranger's call is not ours


async def test_polling_bot_answers_a_command_and_text_then_stops_promptly(
    fake: FakeTelegram,
) -> None:
    router = Router()

    @router.message(Command("ping"))
    async def ping(message: Message) -> None:
        await message.answer("pong")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.reply(f"echo: {message.text}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = make_bot(fake)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False)
    )
    first = fake.inject_message(CHAT, "/ping")
    second = fake.inject_message(CHAT, "hello there")
    sent = await asyncio.to_thread(fake.wait_for_sent, 2, CHAT)

    texts = {m["text"] for m in sent}
    assert texts == {"pong", "echo: hello there"}
    echo_reply = next(m for m in sent if m["text"].startswith("echo"))
    assert echo_reply["reply_to_message"]["text"] == "hello there"
    assert echo_reply["from"]["id"] == bot.id and echo_reply["chat"]["type"] == "private"
    # One message id sequence per private chat: the operator's two messages were 1 and 2.
    assert sorted(m["message_id"] for m in sent) == [3, 4]
    # aiogram polls with the offset past what it processed, which confirms both updates.
    await asyncio.to_thread(wait_until, lambda: polled_with_offset(fake, second + 1))
    assert fake.calls_to("getUpdates")[0]["timeout"] == 1
    assert fake.calls_to("getUpdates")[0]["allowed_updates"] == ["message"]

    started = time.monotonic()
    await dispatcher.stop_polling()
    await asyncio.wait_for(polling, 5)
    assert time.monotonic() - started < 1.0

    # Telegram semantics: a confirmed update is gone; nothing is redelivered to anyone.
    assert update_ids(await asyncio.to_thread(call, fake, "getUpdates", {"offset": 0})) == []
    assert first < second


async def test_stop_polling_abandons_a_long_poll_without_waiting_for_it(
    fake: FakeTelegram,
) -> None:
    dispatcher = Dispatcher()
    bot = make_bot(fake)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=30, handle_signals=False)
    )
    await asyncio.to_thread(fake.wait_for_long_poll)
    started = time.monotonic()
    await dispatcher.stop_polling()
    await asyncio.wait_for(polling, 5)
    assert time.monotonic() - started < 2.0
    # The server noticed that aiogram hung up, and stopped waiting on its behalf.
    await asyncio.to_thread(wait_until, lambda: fake.waiting_polls == 0, 1.0)
    update_id = fake.inject_message(CHAT, "after the bot stopped")
    assert update_ids(await asyncio.to_thread(call, fake, "getUpdates")) == [update_id]


class RecordUpdateIds(BaseMiddleware):
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def __call__(self, handler: Any, event: Any, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        self.seen.append(event.update_id)
        return await handler(event, data)


async def test_replayed_update_reaches_the_running_bot_and_later_updates_still_flow(
    fake: FakeTelegram,
) -> None:
    recorder = RecordUpdateIds()
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(recorder)
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"got {message.text}")

    dispatcher.include_router(router)
    bot = make_bot(fake)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False)
    )
    try:
        original = fake.inject_message(CHAT, "/approve_pr run-1 token")
        await asyncio.to_thread(fake.wait_for_sent, 1, CHAT)
        await asyncio.to_thread(wait_until, lambda: polled_with_offset(fake, original + 1))
        # Confirmed: Telegram itself would never send it again; the fake does when told to.
        assert fake.replay_update(original) == original
        await asyncio.to_thread(fake.wait_for_sent, 2, CHAT)
        later = fake.inject_message(CHAT, "/status run-1")
        await asyncio.to_thread(fake.wait_for_sent, 3, CHAT)
        await asyncio.to_thread(wait_until, lambda: polled_with_offset(fake, later + 1))
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 5)
    assert recorder.seen == [original, original, later]
    texts = [m["text"] for m in fake.sent(CHAT)]
    assert texts == ["got /approve_pr run-1 token"] * 2 + ["got /status run-1"]
    assert fake.pending_update_ids() == []


async def test_commands_and_webhook_methods(fake: FakeTelegram) -> None:
    bot = make_bot(fake)
    try:
        assert await bot.delete_webhook(drop_pending_updates=True) is True
        commands = [
            BotCommand(command="runs", description="List runs"),
            BotCommand(command="approve_pr", description="Approve a PR"),
        ]
        assert await bot.set_my_commands(commands) is True
        chat_scope = BotCommandScopeChat(chat_id=CHAT)
        assert await bot.set_my_commands(commands[:1], scope=chat_scope) is True
        assert [c.command for c in await bot.get_my_commands()] == ["runs", "approve_pr"]
        assert [c.command for c in await bot.get_my_commands(scope=chat_scope)] == ["runs"]
        assert fake.commands({"type": "chat", "chat_id": CHAT}) == [
            {"command": "runs", "description": "List runs"}
        ]
        assert await bot.delete_my_commands() is True
        assert await bot.get_my_commands() == []
        with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand(command="Not Valid", description="x")])
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == ("", 0)
        with pytest.raises(TelegramNotFound, match="Not Found: method not found"):
            await bot.send_document(CHAT, BufferedInputFile(b"data", "a.txt"))
        # Sent as multipart; the attach:// reference resolves to the uploaded part.
        document = fake.calls_to("sendDocument")[0]["document"]
        assert document == UploadedFile("a.txt", "application/octet-stream", b"data")
    finally:
        await bot.session.close()


async def test_send_message_shapes_and_telegram_errors(fake: FakeTelegram) -> None:
    bot = make_bot(fake)
    try:
        fake.inject_message(CHAT, "hi")  # message 1 in chat 42
        sent = await bot.send_message(
            CHAT,
            '<b>PR #7</b> opened: <a href="https://github.com/o/r/pull/7">link</a> 1 &lt; 2',
            parse_mode="HTML",
            reply_parameters=ReplyParameters(message_id=1),
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            disable_notification=True,
        )
        assert sent.message_id == 2 and sent.text == "PR #7 opened: link 1 < 2"
        assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
            ("bold", 0, 5),
            ("text_link", 14, 4),
        ]
        assert sent.reply_to_message is not None and sent.reply_to_message.text == "hi"
        other = await bot.send_message(CHAT + 1, "another chat")
        assert other.message_id == 1 and other.chat.id == CHAT + 1
        params = fake.calls_to("sendMessage")[0]
        assert params["chat_id"] == CHAT and params["disable_notification"] is True
        assert params["reply_parameters"] == {"message_id": 1}
        assert params["link_preview_options"] == {"is_disabled": True}

        with pytest.raises(TelegramBadRequest) as raised:
            await bot.send_message(CHAT, "run <run-1> failed", parse_mode="HTML")
        assert raised.value.message == (
            'Bad Request: can\'t parse entities: Unsupported start tag "run-1" at byte offset 4'
        )
        with pytest.raises(TelegramBadRequest) as raised:
            await bot.send_message(CHAT, "version 1.2", parse_mode="MarkdownV2")
        assert raised.value.message == (
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
            "with the preceding '\\'"
        )
        with pytest.raises(TelegramBadRequest, match="message is too long"):
            await bot.send_message(CHAT, "x" * 4097)
        with pytest.raises(TelegramBadRequest, match="text must be non-empty"):
            await bot.send_message(CHAT, "   ")
        with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
            await bot.send_message(CHAT, "re", reply_parameters=ReplyParameters(message_id=99))
        with pytest.raises(TelegramBadRequest, match="unsupported parse_mode"):
            await bot.send_message(CHAT, "x", parse_mode="BBCode")

        fake.block_chat(CHAT)
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(CHAT, "anyone there?")
        fake.block_chat(CHAT, blocked=False)

        fake.fail_next("sendMessage", 429, retry_after=3)
        with pytest.raises(TelegramRetryAfter) as flood:
            await bot.send_message(CHAT, "too fast")
        assert flood.value.retry_after == 3
        assert (await bot.send_message(CHAT, "after the wait")).message_id == 3

        chat = await bot.get_chat(CHAT)
        assert (chat.id, chat.type, chat.first_name) == (CHAT, "private", "Op")
    finally:
        await bot.session.close()
    assert [m["text"] for m in fake.sent()] == [
        "PR #7 opened: link 1 < 2",
        "another chat",
        "after the wait",
    ]
    assert [m["text"] for m in fake.sent(CHAT + 1)] == ["another chat"]


# -- the wire, without aiogram ---------------------------------------------------------------


def test_error_answers_have_telegrams_shape(fake: FakeTelegram) -> None:
    assert call(fake, "getMe", token="123456:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert call(fake, "sendSticker") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert call(fake, "", path="/getMe")[0] == 404
    assert call(fake, "sendMessage", {"text": "x"}) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"},
    )
    assert call(fake, "sendMessage", {"chat_id": CHAT})[1]["description"] == (
        "Bad Request: message text is empty"
    )
    status, body = call(fake, "sendMessage", {"chat_id": CHAT, "text": "x", "reply_markup": "{"})
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse reply keyboard markup JSON object",
    )
    fake.fail_next("getMe", 502, times=2)
    assert [call(fake, "getMe")[0] for _ in range(3)] == [502, 502, 200]


def test_methods_by_get_json_and_multipart(fake: FakeTelegram) -> None:
    # GET with a query string, method name in any case (Telegram lowercases it).
    with urllib.request.urlopen(f"{fake.base_url}/bot{TOKEN}/getme") as response:
        assert json.loads(response.read())["result"]["username"] == "agentpr_test_bot"
    # A JSON body keeps its types.
    request = urllib.request.Request(
        f"{fake.base_url}/bot{TOKEN}/sendMessage",
        data=json.dumps({"chat_id": CHAT, "text": "json", "disable_notification": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert send(request)[1]["result"]["text"] == "json"
    # multipart/form-data, as aiogram sends whenever a file is attached.
    boundary = uuid.uuid4().hex
    parts = [("chat_id", str(CHAT)), ("text", "multi ✓"), ("disable_notification", "true")]
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{value}\r\n".encode()
            for name, value in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{fake.base_url}/bot{TOKEN}/sendMessage",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert send(request)[1]["result"]["text"] == "multi ✓"
    assert fake.calls_to("sendMessage") == [
        {"chat_id": CHAT, "text": "json", "disable_notification": True},
        {"chat_id": CHAT, "text": "multi ✓", "disable_notification": True},
    ]


def test_offset_confirms_and_limit_and_negative_offset(fake: FakeTelegram) -> None:
    ids = [fake.inject_message(CHAT, f"m{n}") for n in range(4)]
    assert ids == [1, 2, 3, 4]
    assert update_ids(call(fake, "getUpdates")) == ids  # nothing confirmed yet
    assert update_ids(call(fake, "getUpdates", {"limit": 2})) == [1, 2]
    assert update_ids(call(fake, "getUpdates", {"offset": 3})) == [3, 4]  # confirms 1 and 2
    assert update_ids(call(fake, "getUpdates")) == [3, 4]  # 1 and 2 are gone for good
    assert update_ids(call(fake, "getUpdates", {"offset": -1})) == [4]  # forgets 3
    assert update_ids(call(fake, "getUpdates")) == [4]
    assert update_ids(call(fake, "getUpdates", {"offset": 99})) == [4]  # "in the future"
    assert update_ids(call(fake, "getUpdates", {"offset": 5})) == []
    assert fake.pending_update_ids() == []

    # Replays: an explicit old id is queued again and delivered whatever the offset, once.
    assert fake.inject_message(CHAT, "again", update_id=2) == 2
    assert update_ids(call(fake, "getUpdates", {"offset": 5})) == [2]
    assert update_ids(call(fake, "getUpdates", {"offset": 3})) == []  # confirmed now
    assert fake.replay_update(4) == 4
    status, body = call(fake, "getUpdates", {"offset": 5})
    assert body["result"][0]["message"]["text"] == "m3"  # the very same update again
    assert fake.inject_message(CHAT, "new") == 5  # replays do not move the sequence


def test_update_shapes(fake: FakeTelegram) -> None:
    fake.inject_message(
        CHAT, "/approve_pr@agentpr_test_bot run-1 abc", first_name="Ann", username="ann"
    )
    fake.inject_message(-100123, "hello group", user_id=7)
    fake.inject_update(
        {
            "callback_query": {
                "id": "1",
                "from": {"id": CHAT, "is_bot": False, "first_name": "Ann"},
                "chat_instance": "c",
                "data": "approve",
            }
        }
    )
    updates = call(fake, "getUpdates")[1]["result"]
    private = updates[0]["message"]
    assert private["chat"] == {
        "id": CHAT,
        "first_name": "Ann",
        "username": "ann",
        "type": "private",
    }
    assert private["from"] == {
        "id": CHAT,
        "is_bot": False,
        "first_name": "Ann",
        "username": "ann",
        "language_code": "en",
    }
    assert private["entities"] == [{"offset": 0, "length": 28, "type": "bot_command"}]
    group = updates[1]["message"]
    assert group["chat"]["type"] == "supergroup" and group["from"]["id"] == 7
    assert "entities" not in group
    assert updates[2]["callback_query"]["data"] == "approve"
    # allowed_updates sticks, and updates of other types are never delivered.
    assert update_ids(call(fake, "getUpdates", {"allowed_updates": ["message"]})) == [1, 2]


def test_long_poll_waits_wakes_and_times_out(fake: FakeTelegram) -> None:
    started = time.monotonic()
    assert update_ids(call(fake, "getUpdates", {"timeout": 1})) == []
    assert 0.9 <= time.monotonic() - started < 1.8

    timer = threading.Timer(0.2, fake.inject_message, (CHAT, "wake up"))
    timer.start()
    started = time.monotonic()
    assert update_ids(call(fake, "getUpdates", {"timeout": 20})) == [1]
    assert time.monotonic() - started < 1.0
    timer.join()

    started = time.monotonic()
    assert update_ids(call(fake, "getUpdates", {"timeout": 20})) == [1]  # pending: at once
    assert time.monotonic() - started < 0.5


def test_second_long_poll_ends_the_first_with_409(fake: FakeTelegram) -> None:
    answers: list[tuple[int, dict[str, Any]]] = []
    first = threading.Thread(
        target=lambda: answers.append(call(fake, "getUpdates", {"timeout": 20}))
    )
    first.start()
    fake.wait_for_long_poll()
    timer = threading.Timer(0.3, fake.inject_message, (CHAT, "for the second one"))
    timer.start()
    assert update_ids(call(fake, "getUpdates", {"timeout": 20})) == [1]
    first.join(5)
    timer.join()
    assert answers == [
        (409, {"ok": False, "error_code": 409, "description": CONFLICT_OTHER_GET_UPDATES})
    ]


def test_webhook_blocks_get_updates_until_deleted(fake: FakeTelegram) -> None:
    fake.inject_message(CHAT, "pending")
    assert call(fake, "setWebhook", {"url": "https://example.com/hook"})[1]["result"] is True
    assert call(fake, "getUpdates") == (
        409,
        {"ok": False, "error_code": 409, "description": CONFLICT_WEBHOOK_ACTIVE},
    )
    info = call(fake, "getWebhookInfo")[1]["result"]
    assert info == {
        "url": "https://example.com/hook",
        "has_custom_certificate": False,
        "pending_update_count": 1,
    }
    assert call(fake, "deleteWebhook", {"drop_pending_updates": True})[1]["result"] is True
    assert update_ids(call(fake, "getUpdates")) == []


def test_stop_releases_a_waiting_long_poll() -> None:
    fake = FakeTelegram(TOKEN)
    fake.start()
    answers: list[tuple[int, dict[str, Any]]] = []
    poller = threading.Thread(
        target=lambda: answers.append(call(fake, "getUpdates", {"timeout": 30}))
    )
    poller.start()
    fake.wait_for_long_poll()
    started = time.monotonic()
    fake.stop()
    poller.join(5)
    assert time.monotonic() - started < 1.0
    assert answers == [(200, {"ok": True, "result": []})]


def test_wait_for_sent_times_out_with_what_it_saw(fake: FakeTelegram) -> None:
    call(fake, "sendMessage", {"chat_id": CHAT, "text": "only one"})
    with pytest.raises(TimeoutError, match="got 1: \\['only one'\\]"):
        fake.wait_for_sent(2, CHAT, timeout=0.2)
    assert fake.wait_for_sent(1)[0]["text"] == "only one"


# -- formatting: ports of tdlib's parsers ------------------------------------------------------


def test_html_parsing() -> None:
    text, entities = parse_html(
        "<b>bold</b> <i>it</i> <code>x</code> "
        '<pre><code class="language-python">p</code></pre> 😀<u>u</u> &amp;&#33;'
    )
    assert text == "bold it x p 😀u &!"
    assert entities == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 5, "length": 2, "type": "italic"},
        {"offset": 8, "length": 1, "type": "code"},
        {"offset": 10, "length": 1, "type": "pre", "language": "python"},
        {"offset": 14, "length": 1, "type": "underline"},  # the emoji is 2 UTF-16 units
    ]
    assert parse_html("a &unknown; b & c") == ("a &unknown; b & c", [])
    for bad, message in [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("é <x>", 'Unsupported start tag "x" at byte offset 3'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ]:
        with pytest.raises(EntityParseError) as raised:
            parse_html(bad)
        assert str(raised.value) == message


def test_markdown_v2_parsing() -> None:
    text, entities = parse_markdown_v2(
        "*bold* _it_ __u__ ~s~ ||sp|| [link](https://e.com/a\\)b) `c\\`` 1\\.5"
    )
    assert text == "bold it u s sp link c` 1.5"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 4),
        ("italic", 5, 2),
        ("underline", 8, 1),
        ("strikethrough", 10, 1),
        ("spoiler", 12, 2),
        ("text_link", 15, 4),
        ("code", 20, 2),
    ]
    assert entities[5]["url"] == "https://e.com/a)b"
    assert parse_markdown_v2("```python\nprint(1)\n```") == (
        "print(1)\n",
        [{"offset": 0, "length": 9, "type": "pre", "language": "python"}],
    )
    for bad, message in [
        ("run-1", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("ok _it", "Can't find end of Italic entity at byte offset 3"),
        ("[x](http://a", "Can't find end of a URL at byte offset 4"),
    ]:
        with pytest.raises(EntityParseError) as raised:
            parse_markdown_v2(bad)
        assert str(raised.value) == message


def test_legacy_markdown_and_trimming() -> None:
    text, entities = parse_markdown("*b* _i_ `c` [t](https://e.com) run-1.")
    assert text == "b i c t run-1."
    assert [(e["type"], e["offset"]) for e in entities] == [
        ("bold", 0),
        ("italic", 2),
        ("code", 4),
        ("text_link", 6),
    ]
    with pytest.raises(
        EntityParseError, match="Can't find end of the entity starting at byte offset 2"
    ):
        parse_markdown("a *b")
    assert format_text("\n  hi  \n", None) == ("hi", [])
    assert format_text("  <b>hi</b>  ", "HTML") == (
        "hi",
        [{"offset": 0, "length": 2, "type": "bold"}],
    )
    # On the left tdlib trims only spaces and newlines, and only up to the first entity.
    assert format_text("\t<b> hi</b>", "HTML") == (
        "\t hi",
        [{"offset": 1, "length": 3, "type": "bold"}],
    )
    assert format_text("<b>hi </b>", "html") == ("hi", [{"offset": 0, "length": 2, "type": "bold"}])


def test_bot_command_detection() -> None:
    assert bot_command_entities("/approve_pr run-1 tok") == [
        {"offset": 0, "length": 11, "type": "bot_command"}
    ]
    assert bot_command_entities("see /help@agentpr_bot now") == [
        {"offset": 4, "length": 17, "type": "bot_command"}
    ]
    assert bot_command_entities("😀 /list") == [{"offset": 3, "length": 5, "type": "bot_command"}]
    assert bot_command_entities("a/b /x/y /ok@ab <b>/no</b>") == []
