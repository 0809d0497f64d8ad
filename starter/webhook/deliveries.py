"""At-most-once processing of GitHub deliveries, by `X-GitHub-Delivery` id.

A SQLite file under $AGENTPR_HOME (WAL, so several bridge processes share it safely): a delivery
is *claimed* atomically before processing, marked *done* after, and *released* (deleted) when
processing failed so GitHub's redelivery is processed. Records survive restarts.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

# A claim older than this belongs to a bridge that died mid-delivery: it may be taken again.
STALE_CLAIM_S = 300.0


class DeliveryStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one connection, used from the bridge's worker threads
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, event TEXT, "
            "status TEXT NOT NULL, claimed_at REAL NOT NULL, done_at REAL)"
        )

    def claim(self, delivery_id: str, event: str) -> bool:
        """True if this process now owns the delivery; False if it was (being) processed."""
        with self._lock:
            return self._claim(delivery_id, event)

    def _claim(self, delivery_id: str, event: str) -> bool:
        now = time.time()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute(
                "SELECT status, claimed_at FROM deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()
            if row is not None and not (row[0] == "claimed" and now - row[1] > STALE_CLAIM_S):
                self._db.execute("COMMIT")
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO deliveries (id, event, status, claimed_at) "
                "VALUES (?, ?, 'claimed', ?)",
                (delivery_id, event, now),
            )
            self._db.execute("COMMIT")
            return True
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def complete(self, delivery_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET status = 'done', done_at = ? WHERE id = ?",
                (time.time(), delivery_id),
            )

    def release(self, delivery_id: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM deliveries WHERE id = ? AND status = 'claimed'", (delivery_id,)
            )

    def cleanup(self, keep_days: float) -> int:
        cutoff = time.time() - keep_days * 86400
        cursor = self._db.execute(
            "DELETE FROM deliveries WHERE status = 'done' AND done_at < ?", (cutoff,)
        )
        return cursor.rowcount

    def close(self) -> None:
        self._db.close()
