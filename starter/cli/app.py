"""`agentpr`: the root command. Errors become one line on stderr and an exit code here, at the
edge: 2 for usage errors, 1 for refusals, never a traceback (AGENTPR_DEBUG=1 shows one).

Registering the commands imports only Typer, the contracts' enums and the command modules
(which import their SDKs, workflows and activities when they run): `agentpr --help` loads no
Temporal code (tests/starter/test_cli_imports.py). Settings and logging are set up by the root
callback, i.e. only when a command runs."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Annotated, Any, NoReturn

import typer

from common.errors import EXIT_REFUSED, EXIT_USAGE, OperatorError, Refused
from common.logs import configure_logging
from common.process import exit_now
from common.settings import Settings
from starter.cli import (
    agent,
    campaigns,
    github,
    insight,
    pull_requests,
    runs,
    services,
    skills,
    telegram,
)
from starter.cli.gate import Gate

app = typer.Typer(
    name="agentpr",
    help="Drive AI coding agents to land one integration across many repositories, with a "
    "human approving every pull request. Each run is a durable Temporal workflow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _set_up(function: Callable[..., Any]) -> Callable[..., Any]:
    """Read the settings and configure logging (structlog, secrets censored) when a command
    runs: the root callback also runs for `agentpr CMD --help`, which needs neither."""

    @functools.wraps(function)  # Typer reads the options from the wrapped signature
    def command(*args: Any, **kwargs: Any) -> Any:
        secrets = Settings.from_env().secret_values  # a bad setting: one line, at the edge
        configure_logging(os.environ.get("AGENTPR_LOG_LEVEL", "WARNING"), secrets=secrets)
        return function(*args, **kwargs)

    return command


for name, function in {
    **services.COMMANDS,
    **runs.COMMANDS,
    **agent.COMMANDS,
    **pull_requests.COMMANDS,
    **github.COMMANDS,
    **telegram.COMMANDS,
    **skills.COMMANDS,
    **insight.COMMANDS,
}.items():
    app.command(name)(_set_up(function))
for group in (campaigns.app, skills.app):
    for registered in group.registered_commands:
        registered.callback = _set_up(registered.callback) if registered.callback else None
    app.add_typer(group)


@app.callback()
def root(
    skip_doctor: Annotated[
        bool,
        typer.Option(
            "--skip-doctor",
            help="Skip the startup checks mutable commands run first (for recovery only).",
        ),
    ] = False,
) -> None:
    Gate.skip = skip_doctor


def _one_line(message: str) -> str:
    return " ".join(message.replace("Value error, ", "").split())


def print_error_json(err: OperatorError) -> None:
    """With --json a refused command prints one JSON document too (the line on stderr stays):
    the refusal's type tells a script a busy run (try again) from an illegal command."""
    refusal = err.refusal if isinstance(err, Refused) else None
    document = {
        "ok": False,
        "error": _one_line(err.message),
        "exit_code": err.exit_code,
        "refusal": refusal.value if refusal is not None else None,
    }
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code instead of exiting (tests and `main` use this)."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name="agentpr", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.TyperException as err:  # Typer's (vendored click's) usage errors
        ctx = getattr(err, "ctx", None)
        where = f"agentpr {ctx.info_name}" if ctx is not None and ctx.parent else "agentpr"
        sys.stderr.write(f"{where}: {_one_line(err.format_message())} (see --help)\n")
        return err.exit_code if err.exit_code else EXIT_USAGE
    except typer.Abort:
        sys.stderr.write("agentpr: aborted\n")
        return 130
    except OperatorError as err:
        # A spec file's errors: one line each, so every one names its own line of the file.
        for line in getattr(err, "lines", None) or [err.message]:
            sys.stderr.write(f"agentpr: {_one_line(line)}\n")
        if "--json" in args:
            print_error_json(err)
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("agentpr: interrupted\n")
        return 130
    except Exception as err:  # noqa: BLE001 - the edge: report, never dump a traceback
        if os.environ.get("AGENTPR_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(
            f"agentpr: unexpected error: {type(err).__name__}: {_one_line(str(err))}\n"
        )
        return EXIT_REFUSED


def main() -> NoReturn:
    exit_now(run_cli())
