"""What leaves an activity towards Temporal's history carries no secret: error messages (and
their causes) and heartbeat details pass through the redactor (common/redaction.py).

An error message often quotes captured output (git's stderr, a GitHub answer, a failing
command), and history is read by anyone with access to the namespace, so one interceptor on
every worker covers every activity, including errors raised by code that never thought of it.
"""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError, TemporalError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from common.redaction import Redactor


def redacted_failure(error: BaseException, redactor: Redactor) -> ApplicationError:
    """An ApplicationError with the same type, retry behaviour, traceback and cause chain, its
    message and details redacted. Any other exception becomes one of its class name, the type
    Temporal gives it anyway (so `non_retryable_error_types` still match)."""
    if isinstance(error, ApplicationError):
        redacted = ApplicationError(
            redactor.redact(error.message),
            *redactor.redact_value(list(error.details)),
            type=error.type,
            non_retryable=error.non_retryable,
            next_retry_delay=error.next_retry_delay,
            category=error.category,
        )
    else:
        redacted = ApplicationError(redactor.redact(str(error)), type=type(error).__name__)
    # Temporal sends the cause, or else the context, along: the same link, redacted.
    linked = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if linked is not None and (
        isinstance(linked, ApplicationError) or not isinstance(linked, TemporalError)
    ):
        redacted.__cause__ = redacted_failure(linked, redactor)
    redacted.__suppress_context__ = True
    # Source lines and locations only; the values were in the message.
    return redacted.with_traceback(error.__traceback__)


class _RedactingInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, redactor: Redactor) -> None:
        super().__init__(next)
        self.redactor = redactor

    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        super().init(_RedactingOutbound(outbound, self.redactor))

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except ApplicationError as err:
            failure = redacted_failure(err, self.redactor)
        except TemporalError:
            raise  # cancellation and the SDK's own signals pass untouched
        except Exception as err:  # noqa: BLE001 (any error reaches history: redact it)
            failure = redacted_failure(err, self.redactor)
        # Raised outside the handler, so the original (unredacted) error is not its context.
        raise failure


class _RedactingOutbound(ActivityOutboundInterceptor):
    def __init__(self, next: ActivityOutboundInterceptor, redactor: Redactor) -> None:
        super().__init__(next)
        self.redactor = redactor

    def heartbeat(self, *details: Any) -> None:
        # Heartbeat details (the agent's last command, the git command running) are kept by
        # the server and shown with the pending activity.
        self.next.heartbeat(*self.redactor.redact_value(list(details)))


class RedactActivityFailures(Interceptor):
    """Worker interceptor: every activity's errors and heartbeats, redacted."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RedactingInbound(next, self.redactor)
