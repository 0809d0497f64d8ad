"""The PR request file a human approves, and its one-time confirm token.

One writer for both doors: `request-open-pr` (the CLI prints the token once) and an auto-mode
run (the token goes to a 0600 file next to the request, for `agentpr show-pr-request`). Either
way only the token's sha256 reaches the workflow; the token never enters history or logs.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import activity

from activities.pr_body import composed_body
from common.settings import Settings
from contracts import PrRequestFile, PrRequestFileInput


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def token_file_for(request_file: Path) -> Path:
    return request_file.with_suffix(".token")


@dataclass(frozen=True)
class WrittenRequest:
    file: PrRequestFile
    token: str


def write_request_file(
    directory: Path, ask: PrRequestFileInput, keep_token: bool, settings: Settings | None = None
) -> WrittenRequest:
    """Write `<run>_<time>.json` (mode 0600, never overwritten); with `keep_token`, also the
    token beside it (mode 0600) for an operator on this machine to read."""
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=ask.ttl_minutes)
    token = secrets.token_urlsafe(24)
    body = composed_body(ask.body, ask.disclosure, settings) if ask.disclosure else ask.body
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{ask.run_id}_{now.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    content = (
        json.dumps(
            {
                "run_id": ask.run_id,
                "repo": ask.repo,
                "title": ask.title,
                "body_sha256": sha256_hex(body.encode()),
                "base": ask.base,
                "head": ask.head,
                "draft": ask.draft,
                "created_at": now.isoformat(),
                "expires_at": expires.isoformat(),
            },
            indent=2,
        ).encode()
        + b"\n"
    )
    _write_private(path, content)
    token_file = None
    if keep_token:
        token_file = token_file_for(path)
        _write_private(token_file, token.encode() + b"\n")
    return WrittenRequest(
        file=PrRequestFile(
            body=body,
            request_file=str(path),
            request_file_sha256=sha256_hex(content),
            token_sha256=sha256_hex(token.encode()),
            token_file=str(token_file) if token_file else None,
            expires_at=expires,
        ),
        token=token,
    )


def _write_private(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


class PrRequestActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    async def write_pr_request(self, ask: PrRequestFileInput) -> PrRequestFile:
        # A retry writes a fresh file and token; the workflow keeps the last answer only.
        return write_request_file(
            self.settings.pr_requests_dir, ask, keep_token=True, settings=self.settings
        ).file
