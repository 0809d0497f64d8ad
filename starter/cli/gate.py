"""The startup gate: mutable commands run the doctor's quick checks first (as the previous tool
did) and refuse with one line; the global `--skip-doctor` skips it for recovery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.errors import Refused
from common.settings import Settings
from contracts import CheckStatus

if TYPE_CHECKING:
    pass


class Gate:
    skip = False


def require_healthy(settings: Settings) -> None:
    from activities.checks import quick_checks

    if Gate.skip:
        return
    for check in quick_checks(settings):
        if check.status == CheckStatus.FAIL:
            raise Refused(
                f"startup check failed: {check.name}: {check.detail} (see `agentpr doctor`; "
                "--skip-doctor bypasses this for recovery)"
            )
