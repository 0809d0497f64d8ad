"""`run-telegram-bot`: the Telegram door. aiogram is imported only here, inside the command
(it takes seconds to import; the CLI, the worker and the workflows never load it)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from common.errors import UsageError
from common.logs import register_secret, set_level
from common.settings import Settings
from contracts import Notification
from starter.cli import render

if TYPE_CHECKING:
    from starter.telegram.intents import Tier


def chat_tiers(
    admin: list[int] | None, write: list[int] | None, read: list[int] | None
) -> dict[int, Tier]:
    """Each chat's access; a chat named twice is refused (which tier would it have?)."""
    tiers: dict[int, Tier] = {}
    for tier, chats in (("admin", admin), ("write", write), ("read", read)):
        for chat in chats or []:
            if chat in tiers and tiers[chat] != tier:
                raise UsageError(f"chat {chat} is given both {tiers[chat]} and {tier} access")
            tiers[chat] = tier  # type: ignore[assignment]
    return tiers


def run_telegram_bot(
    allow_chat_id: Annotated[
        list[int] | None,
        typer.Option(
            "--allow-chat-id",
            help="A chat with admin access: reads, controls, /create and PR approval (repeatable).",
        ),
    ] = None,
    write_chat_id: Annotated[
        list[int] | None,
        typer.Option(
            "--write-chat-id",
            help="A chat that reads, steers runs (pause/resume/retry/approve_plan) and creates "
            "them (/create), but never approves a PR (repeatable).",
        ),
    ] = None,
    read_chat_id: Annotated[
        list[int] | None,
        typer.Option("--read-chat-id", help="A chat that only reads (repeatable)."),
    ] = None,
    allow_any_chat: Annotated[
        bool, typer.Option("--allow-any-chat", help="Accept every chat (development only).")
    ] = False,
) -> None:
    """Run the Telegram control bot (long polling). Needs AGENTPR_TELEGRAM_BOT_TOKEN; the Bot
    API base URL comes from AGENTPR_TELEGRAM_API_URL (a self-hosted Bot API server works)."""
    from starter.cli.gate import require_healthy

    settings = Settings.from_env()
    if settings.telegram_bot_token is None:
        raise UsageError("AGENTPR_TELEGRAM_BOT_TOKEN is not set")
    tiers = chat_tiers(allow_chat_id, write_chat_id, read_chat_id)
    if not tiers and not allow_any_chat:
        raise UsageError(
            "refusing to start without --allow-chat-id, --write-chat-id or --read-chat-id "
            "(or --allow-any-chat for development only)"
        )
    token = settings.telegram_bot_token.get_secret_value()
    register_secret(token)
    set_level("INFO")
    if allow_any_chat and not tiers:
        render.console.print(
            "[bold red]WARNING: --allow-any-chat: ANY Telegram chat that finds "
            "this bot can pause, resume and approve runs. Development only."
            "[/bold red]"
        )
    require_healthy(settings)

    from temporalio.worker import Worker

    from activities.chat_model import ChatModel
    from activities.notify import Notifier
    from activities.redacted_failures import RedactActivityFailures
    from common.connection import connect
    from starter.client import RunClient
    from starter.telegram.audit import AuditLog
    from starter.telegram.bot import build_dispatcher, make_bot
    from starter.telegram.plain_language import PlainLanguage

    async def serve() -> None:
        client = await connect(settings)
        audit = AuditLog(
            settings.home / "telegram" / "audit.jsonl", secrets=[token, *settings.secret_values]
        )
        allowed = None if allow_any_chat and not tiers else tiers
        reader = PlainLanguage(ChatModel.from_settings(settings))
        dispatcher = build_dispatcher(RunClient(client, settings), allowed, audit, reader)
        bot = make_bot(token, settings.telegram_api_url)
        me = await bot.get_me()
        notify_chats = settings.telegram_notify_chat_ids or sorted(allow_chat_id or [])

        async def send(note: Notification) -> int:
            for chat_id in notify_chats:
                await bot.send_message(chat_id, note.text)
            return len(notify_chats)

        # This process also hosts the notify queue: notifications wait there until a bot is up.
        notifier = Worker(
            client,
            task_queue=settings.notify_task_queue,
            activities=[Notifier(send, settings.redactor).send_notification],
            interceptors=[RedactActivityFailures(settings.redactor)],
        )
        render.console.print(
            f"telegram bot @{me.username} polling "
            f"({'any chat' if allowed is None else f'{len(allowed)} chat(s)'}); "
            f"notifying {len(notify_chats)} chat(s)"
        )
        try:
            async with notifier:
                await dispatcher.start_polling(bot, polling_timeout=20)
        finally:
            await bot.session.close()
            if reader.model is not None:
                await reader.model.close()
            render.console.print("telegram bot stopped")

    asyncio.run(serve())


COMMANDS = {"run-telegram-bot": run_telegram_bot}
