"""The `agentpr` executable: the fast lane first (stdlib only), else the full Typer CLI."""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> NoReturn:
    from starter.cli.fast_lane import try_fast_lane

    code = try_fast_lane(sys.argv[1:])
    if code is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        raise SystemExit(code)
    from starter.cli.app import main as full_cli

    full_cli()
