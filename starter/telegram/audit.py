"""The bot's audit log ($AGENTPR_HOME/telegram/audit.jsonl), in the previous bot's shape, and
the record of processed update ids (a repeated update_id is handled once, across restarts)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.logs import REDACTED

MAX_TEXT = 500


class AuditLog:
    def __init__(self, path: Path, secrets: list[str] | None = None) -> None:
        self.path = path
        self.secrets = [s for s in (secrets or []) if s]
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.seen_updates: set[int] = set()
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry.get("update_id"), int) and entry.get("outcome") != "duplicate":
                    self.seen_updates.add(entry["update_id"])

    def claim_update(self, update_id: int) -> bool:
        """True the first time an update id is seen (updates are handled concurrently, so the
        claim happens before handling, not when the outcome is written)."""
        with self._lock:
            if update_id in self.seen_updates:
                return False
            self.seen_updates.add(update_id)
            return True

    def scrub(self, text: str, extra_secrets: tuple[str, ...] = ()) -> str:
        for secret in (*self.secrets, *extra_secrets):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def write(
        self,
        *,
        chat_id: int | None,
        update_id: int | None,
        command: str,
        outcome: str,
        detail: str,
        request_text: str,
        response_text: str,
        extra_secrets: tuple[str, ...] = (),
    ) -> None:
        entry: dict[str, Any] = {
            "chat_id": chat_id,
            "command": command,
            "detail": detail,
            "outcome": outcome,
            "request_text": self.scrub(request_text, extra_secrets)[:MAX_TEXT],
            "response_text": self.scrub(response_text, extra_secrets)[:MAX_TEXT],
            "ts": datetime.now(UTC).isoformat(),
            "update_id": update_id,
        }
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            if update_id is not None and outcome != "duplicate":
                self.seen_updates.add(update_id)
