"""GitHub doors: the webhook bridge, its dedup records, and reconciliation by polling."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from common.errors import OperatorError, Refused, UsageError
from common.logs import register_secret, set_level
from common.settings import Settings
from contracts import CommandResult, ReconcileRequest
from contracts.states import RunState
from starter.cli import render
from starter.cli.options import JsonOption

if TYPE_CHECKING:
    from starter.client import RunClient


def run_github_webhook(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8787,
    allow_unsigned: Annotated[
        bool,
        typer.Option(
            "--allow-unsigned",
            help="Accept unsigned deliveries (development "
            "only: anyone who can reach the port can move runs).",
        ),
    ] = False,
    path: Annotated[
        str, typer.Option("--path", help="Path GitHub posts to (the hook's payload URL).")
    ] = "/github/webhook",
    max_payload_bytes: Annotated[
        int,
        typer.Option(
            "--max-payload-bytes",
            min=1024,
            max=25 * 1024 * 1024,
            help="Largest body accepted (413 beyond; GitHub caps deliveries at 25 MB).",
        ),
    ] = 25 * 1024 * 1024,
) -> None:
    """Receive GitHub webhooks (POST /github/webhook, GET /healthz) and signal the runs they
    concern. Needs AGENTPR_GITHUB_WEBHOOK_SECRET unless --allow-unsigned."""
    from aiohttp import web

    from common.connection import connect
    from starter.cli.gate import require_healthy
    from starter.client import RunClient
    from starter.webhook.bridge import WebhookBridge
    from starter.webhook.deliveries import DeliveryStore

    settings = Settings.from_env()
    secret = (
        settings.github_webhook_secret.get_secret_value()
        if settings.github_webhook_secret
        else None
    )
    if secret is None and not allow_unsigned:
        raise UsageError(
            "AGENTPR_GITHUB_WEBHOOK_SECRET is not set; refusing to accept unsigned "
            "deliveries (--allow-unsigned for local development only)"
        )
    if not path.startswith("/") or len(path) > 200 or any(c.isspace() for c in path):
        raise UsageError(f"--path {path!r}: give an absolute URL path such as /github/webhook")
    set_level("INFO")
    if secret is None:
        render.console.print(
            "[bold red]WARNING: accepting UNSIGNED GitHub deliveries — anyone "
            "who reaches this port can move runs. Development only.[/bold red]"
        )
    else:
        register_secret(secret)
    require_healthy(settings)

    async def serve() -> None:
        client = await connect(settings)
        store = DeliveryStore(settings.webhook_deliveries_db)
        bridge = WebhookBridge(
            RunClient(client, settings),
            store,
            secret,
            path=path,
            max_payload_bytes=max_payload_bytes,
        )
        runner = web.AppRunner(bridge.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as err:
            raise Refused(f"cannot listen on {host}:{port}: {err.strerror}") from None
        render.console.print(f"webhook bridge listening on http://{host}:{port}{path}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
        store.close()
        render.console.print("webhook bridge stopped")

    asyncio.run(serve())


def cleanup_webhook_deliveries(
    keep_days: Annotated[
        float, typer.Option("--keep-days", min=0, help="Keep this many days.")
    ] = 30,
) -> None:
    """Delete webhook dedup records older than --keep-days."""
    from starter.webhook.deliveries import DeliveryStore

    store = DeliveryStore(Settings.from_env().webhook_deliveries_db)
    removed = store.cleanup(keep_days)
    store.close()
    render.console.print(f"removed {removed} delivery record(s) older than {keep_days:g} days")


def sync_github(
    run_id: Annotated[str | None, typer.Option("--run-id", help="Only this run.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print decisions, apply none.")
    ] = False,
    loop: Annotated[bool, typer.Option("--loop", help="Repeat until interrupted.")] = False,
    interval_sec: Annotated[float, typer.Option("--interval-sec", min=1)] = 120,
    as_json: JsonOption = False,
) -> None:
    """Reconcile runs waiting on GitHub (CI_WAIT, REVIEW_WAIT) by polling their PR, checks and
    reviews — GitHub does not redeliver failed webhooks. Facts already applied by a webhook are
    not applied again."""
    from starter.cli.gate import require_healthy
    from starter.client import with_run_client

    settings = Settings.from_env()
    if not dry_run:
        require_healthy(settings)

    async def once(runs: RunClient) -> list[dict[str, Any]]:
        if run_id is not None:
            targets = [run_id]
        else:
            targets = [
                row.run_id
                for state in (RunState.CI_WAIT, RunState.REVIEW_WAIT)
                for row in await runs.list_runs(state=state, limit=10_000)
            ]
        gate = asyncio.Semaphore(8)  # reconcile several runs at once; GitHub reads are cheap

        async def reconcile(target: str) -> dict[str, Any]:
            async with gate:
                try:
                    result: CommandResult = await runs.send(
                        target,
                        "reconcile_github",
                        ReconcileRequest(dry_run=dry_run),
                    )
                except OperatorError as err:
                    return {"run_id": target, "error": err.message}
            return {
                "run_id": target,
                "from": result.from_state.value,
                "to": result.to_state.value,
                "decisions": result.decisions,
            }

        return list(await asyncio.gather(*(reconcile(target) for target in targets)))

    async def main(runs: RunClient) -> None:
        while True:
            answers = await once(runs)
            if as_json:
                render.print_json({"dry_run": dry_run, "runs": answers})
            else:
                if not answers:
                    render.console.print("no runs wait on GitHub")
                for answer in answers:
                    if "error" in answer:
                        render.console.print(f"{answer['run_id']}: {answer['error']}")
                        continue
                    moved = (
                        f"{answer['from']} -> {answer['to']}"
                        if answer["from"] != answer["to"]
                        else f"stays {answer['from']}"
                    )
                    render.console.print(
                        f"{answer['run_id']}: {moved}" + (" (dry run)" if dry_run else "")
                    )
                    for decision in answer["decisions"]:
                        render.console.print(f"  - {decision}")
            if not loop:
                return
            await asyncio.sleep(interval_sec)

    asyncio.run(with_run_client(settings, main))


COMMANDS = {
    "sync-github": sync_github,
    "run-github-webhook": run_github_webhook,
    "cleanup-webhook-deliveries": cleanup_webhook_deliveries,
}
