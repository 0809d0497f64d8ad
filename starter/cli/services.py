"""Process commands: the embedded server, the worker, both at once, and environment checks."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Annotated

import typer

from common.errors import Refused
from common.logs import set_level
from common.settings import Settings
from starter.cli import render

if TYPE_CHECKING:
    pass

PortOption = Annotated[int, typer.Option("--port", help="Temporal frontend (gRPC) port.")]
UiPortOption = Annotated[int, typer.Option("--ui-port", help="Web UI port.")]
HeadlessOption = Annotated[bool, typer.Option("--headless", help="Do not serve the Web UI.")]
MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        min=1,
        max=65535,
        help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (AGENTPR_METRICS_PORT).",
    ),
]


def _with_metrics_port(port: int | None) -> None:
    """The flag wins over AGENTPR_METRICS_PORT; set in the environment so that `up`'s worker
    process gets it too."""
    if port is not None:
        os.environ["AGENTPR_METRICS_PORT"] = str(port)


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def server(
    port: PortOption = 7233, ui_port: UiPortOption = 8233, headless: HeadlessOption = False
) -> None:
    """Run the embedded Temporal dev server (SQLite under $AGENTPR_HOME) until Ctrl-C."""
    from starter.devserver import serve

    set_level("INFO")
    code = serve(
        Settings.from_env(), port=port, ui_port=ui_port, headless=headless, with_worker=False
    )
    raise typer.Exit(code)


def up(
    port: PortOption = 7233,
    ui_port: UiPortOption = 8233,
    headless: HeadlessOption = False,
    metrics_port: MetricsPortOption = None,
) -> None:
    """Dev server plus worker in one process tree (what `make up` runs); Ctrl-C stops both."""
    from starter.devserver import serve

    _with_metrics_port(metrics_port)
    set_level("INFO")
    code = serve(
        Settings.from_env(), port=port, ui_port=ui_port, headless=headless, with_worker=True
    )
    raise typer.Exit(code)


def worker(metrics_port: MetricsPortOption = None) -> None:
    """Host the workflows and activities (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, AGENTPR_TASK_QUEUE)."""
    from worker import run_worker

    _with_metrics_port(metrics_port)
    set_level("INFO")
    asyncio.run(run_worker(Settings.from_env()))


def init_db() -> None:
    """Create the data directory and register our search attributes on the running server."""
    from common.connection import TemporalUnreachable, connect, register_search_attributes

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    render.console.print(f"data directory {settings.home} ready")

    async def register() -> list[str]:
        client = await connect(settings)
        return await register_search_attributes(client, settings.temporal_namespace)

    try:
        created = asyncio.run(register())
    except TemporalUnreachable as err:
        raise Refused(
            f"{err.message} (`agentpr server` registers the search attributes itself)"
        ) from None
    where = f"{settings.temporal_address} namespace {settings.temporal_namespace!r}"
    if created:
        render.console.print(f"registered search attributes on {where}: {', '.join(created)}")
    else:
        render.console.print(f"search attributes already registered on {where}")


def doctor(
    require_codex: Annotated[
        bool, typer.Option("--require-codex", help="A missing codex binary is a failure.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check this machine: git, python, codex, GitHub token and API, Telegram (if configured),
    Temporal and its worker, data and workspace directories, disk space, the policy file."""
    from activities.checks import CheckStatus, run_doctor

    report = asyncio.run(run_doctor(Settings.from_env(), require_codex=require_codex))
    if as_json:
        render.print_json(report)
    else:
        marks = {
            CheckStatus.OK: "[green]ok[/green]  ",
            CheckStatus.WARN: "[yellow]warn[/yellow]",
            CheckStatus.FAIL: "[red]FAIL[/red]",
        }
        for check in report.checks:
            render.console.print(f"{marks[check.status]}  {check.name:<18} {check.detail}")
    if not report.ok:
        raise typer.Exit(1)


COMMANDS = {
    "server": server,
    "worker": worker,
    "up": up,
    "init-db": init_db,
    "doctor": doctor,
}
