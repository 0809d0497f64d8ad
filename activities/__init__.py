"""Side effects, one module per concern (workspace, checks, agent, grading, finish, github,
notify). Every activity is safe to run twice.

`ALL_ACTIVITIES` is what worker.py registers on the orchestration queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ALL_ACTIVITIES: list[Callable[..., Any]] = []
