"""Notifications to operators, sent by an activity so each one survives worker restarts and
waits durably until a sender is up.

The workflow schedules `Notifier.send_notification` on the `<queue>-notify` task queue. The
Telegram bot process hosts that queue with a `Notifier` whose `send` posts to the allowed chats,
so aiogram stays out of the main worker and of the workflows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import activity

from common.redaction import Redactor
from contracts import Notification, NotificationResult


class Notifier:
    def __init__(
        self, send: Callable[[Notification], Awaitable[int]], redactor: Redactor | None = None
    ) -> None:
        self.send = send
        self.redactor = redactor or Redactor()

    @activity.defn
    async def send_notification(self, note: Notification) -> NotificationResult:
        # A note may quote a grade's reasons (command output): chats are outside agentpr.
        note = note.model_copy(update={"text": self.redactor.redact(note.text)})
        sent = await self.send(note)
        activity.logger.info("notified %d chat(s) about %s (%s)", sent, note.run_id, note.kind)
        return NotificationResult(sent=sent)
