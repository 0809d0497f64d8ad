"""How a command reaches a run: build a request model (a validation failure is a usage error),
send it through the shared client (starter/client.py) and print the answer. The SDK, the client
and the startup gate are imported when a command calls them, not when the CLI starts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from common.errors import UsageError
from common.settings import Settings
from contracts.states import RunState
from starter.cli import render

if TYPE_CHECKING:
    from contracts import CommandRequest, CommandResult
    from starter.client import CampaignClient, RunClient

Model = TypeVar("Model", bound=BaseModel)


def parse_state(value: str, option: str) -> RunState:
    try:
        return RunState(value.strip().upper())
    except ValueError:
        raise UsageError(
            f"{option}: unknown state {value!r}; states are " + ", ".join(RunState)
        ) from None


def build(model: type[Model], /, _flags: dict[str, str] | None = None, **fields: Any) -> Model:
    """Construct a request model; a validation failure is a one-line usage error (naming the
    option: `_flags` maps a field whose flag is not `--<field>`, e.g. title → --pr-title)."""
    try:
        return model(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        where = ".".join(str(part) for part in first["loc"])
        where = (_flags or {}).get(where, where)
        if where and where not in message:
            message = f"--{where.replace('_', '-')}: {message}"
        raise UsageError(message) from None


def require_healthy() -> None:
    """The startup gate mutable commands pass first (skipped with --skip-doctor)."""
    from starter.cli.gate import require_healthy as gate

    gate(Settings.from_env())


def with_runs(action: Callable[[RunClient], Awaitable[Any]]) -> Any:
    """Connect, run one action against the run client, disconnect."""
    from starter.client import with_run_client

    return asyncio.run(with_run_client(Settings.from_env(), action))


def with_campaigns(action: Callable[[CampaignClient], Awaitable[Any]]) -> Any:
    from starter.client import with_campaign_client

    return asyncio.run(with_campaign_client(Settings.from_env(), action))


def send_command(
    run_id: str,
    update: str,
    request: CommandRequest,
    as_json: bool,
    quiet: bool = False,
) -> CommandResult:
    """Send one command (the run workflow's update named `update`) to the run; print its
    answer unless the caller prints its own."""
    require_healthy()

    async def action(runs: RunClient) -> CommandResult:
        return await runs.send(run_id, update, request)

    result: CommandResult = with_runs(action)
    if as_json:
        render.print_json(result)
    elif not quiet:
        render.print_command_result(result)
    return result
