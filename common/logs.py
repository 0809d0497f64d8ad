"""structlog, configured once per process: JSON off a TTY, console on a TTY.

Stdlib records (temporalio's own loggers) go through the same renderer. Known secret values are
censored from every event by one processor, wherever they appear.

structlog is imported when logging is configured, not when this module is: importing structlog
loads its dev renderer (and rich, better_exceptions) whatever the renderer, a cost a CLI
command that never logs should not pay.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

_configured = False
_secrets: set[str] = set()
REDACTED = "***"


def register_secret(value: str | None) -> None:
    """Censor this value from every log line from now on (tokens, webhook secrets)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def _censor(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _censor(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_censor(v) for v in value)
    return value


def censor_secrets(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    if not _secrets:
        return event
    return {k: _censor(v) for k, v in event.items()}


def configure_logging(level: str = "INFO", *, secrets: Iterable[str | None] = ()) -> None:
    global _configured
    for secret in secrets:
        register_secret(secret)
    if _configured:
        return
    _configured = True
    import structlog

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        censor_secrets,
    ]
    renderer: Any
    if sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def set_level(level: str) -> None:
    """Raise or lower verbosity after configuration (long-running commands log at INFO)."""
    logging.getLogger().setLevel(level.upper())
