"""How our processes end.

Processes that used a temporalio Client or Worker sometimes abort at interpreter exit
(`PyGILState_Release`, rc 134; temporalio/sdk-python#300) after their work succeeded. Ending
with flush + `os._exit` avoids it, so every entry point leaves through `exit_now`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)
