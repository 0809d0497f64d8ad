"""The `agentpr` executable: `.env` read, then the fast lane (stdlib only), else the full Typer
CLI."""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> NoReturn:
    from common.env_file import EnvFileError, load_env_file
    from starter.cli.fast_lane import try_fast_lane

    try:
        load_env_file()  # fills only what the environment leaves unset
    except EnvFileError as err:
        print(f"agentpr: {err}", file=sys.stderr)
        raise SystemExit(2) from None

    code = try_fast_lane(sys.argv[1:])
    if code is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        raise SystemExit(code)
    from starter.cli.app import main as full_cli

    full_cli()
