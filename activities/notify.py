"""Notifications to operators, sent by an activity so each one survives worker restarts and
waits durably until a sender is up.

The workflow schedules `Notifier.send_notification` on the `<queue>-notify` task queue. The
Telegram bot process hosts that queue with a `Notifier` whose `send` posts to the allowed chats,
so aiogram stays out of the main worker and of the workflows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import activity

from contracts import Notification, NotificationResult


class Notifier:
    def __init__(self, send: Callable[[Notification], Awaitable[int]]) -> None:
        self.send = send

    @activity.defn
    async def send_notification(self, note: Notification) -> NotificationResult:
        sent = await self.send(note)
        activity.logger.info("notified %d chat(s) about %s (%s)", sent, note.run_id, note.kind)
        return NotificationResult(sent=sent)
