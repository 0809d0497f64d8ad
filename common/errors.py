"""Errors a door reports to an operator as one line and an exit code."""

from __future__ import annotations

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
    """The request is well formed but cannot apply now (illegal transition, unknown run)."""

    exit_code = EXIT_REFUSED
