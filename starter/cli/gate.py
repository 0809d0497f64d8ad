"""The startup gate: mutable commands run the doctor's quick checks first (as the previous tool
did) and refuse with one line; the global `--skip-doctor` skips it for recovery."""

from __future__ import annotations

from common.errors import Refused
from common.settings import Settings
from contracts import CheckStatus


class Gate:
    skip = False


def require_healthy(settings: Settings) -> None:
    if Gate.skip:
        return
    from activities.checks import quick_checks

    for check in quick_checks(settings):
        if check.status == CheckStatus.FAIL:
            raise Refused(
                f"startup check failed: {check.name}: {check.detail} (see `agentpr doctor`; "
                "--skip-doctor bypasses this for recovery)"
            )
