"""Errors a door reports to an operator as one line and an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contracts.errors import Refusal

EXIT_REFUSED = 1
EXIT_USAGE = 2


class OperatorError(Exception):
    """Something the operator must read: printed as one line, never as a traceback."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(OperatorError):
    """The command line itself is wrong (bad name, unknown state, missing file)."""

    exit_code = EXIT_USAGE


class Refused(OperatorError):
    """The request is well formed but cannot apply now (illegal transition, unknown run).

    `refusal` is the workflow's refusal type (contracts.Refusal) when a workflow refused;
    None for a refusal of the door itself (no such run, Temporal unreachable, a timeout)."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str, refusal: Refusal | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal


class RunBusy(Refused):
    """A step is running on the run; the command applies once it has finished."""


class RunFinished(Refused):
    """The run (or campaign) has ended; no command applies any more."""


class IllegalTransition(Refused):
    """The run's state does not allow this command."""


class PullRequestGate(Refused):
    """The pull-request gate holds (a check, the budget or a missing confirmation)."""


def refused(message: str, refusal: Refusal | None) -> Refused:
    """The Refused (sub)class for a workflow's refusal type, for the doors to act on."""
    from contracts.errors import Refusal

    kind = (
        {
            Refusal.RUN_BUSY: RunBusy,
            Refusal.RUN_FINISHED: RunFinished,
            Refusal.CAMPAIGN_FINISHED: RunFinished,
            Refusal.ILLEGAL_TRANSITION: IllegalTransition,
            Refusal.PR_GATE: PullRequestGate,
        }.get(refusal, Refused)
        if refusal is not None
        else Refused
    )
    return kind(message, refusal)


class SpecError(UsageError):
    """A campaign spec file is wrong: one line per error, each `file:line: what`."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines
