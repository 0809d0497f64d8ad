"""The PR gate, from the operator's side: request (prints a one-time confirm token), approve
(token + --confirm), the only way a PR reaches someone else's repository."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from common.errors import Refused, UsageError
from common.settings import Settings
from contracts import ApprovePrRequest, OpenPrRequest, PrRequestFileInput
from starter.cli import render
from starter.cli.invoke import build, send_command
from starter.cli.options import JsonOption, KeyOption, ReasonOption, RunIdOption

if TYPE_CHECKING:
    from starter.client import RunClient


def request_open_pr(
    run_id: RunIdOption,
    title: Annotated[str, typer.Option("--title", help="PR title.")],
    body: Annotated[str | None, typer.Option("--body", help="PR body (markdown).")] = None,
    body_file: Annotated[
        Path | None, typer.Option("--body-file", help="Read the PR body from this file.")
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="Base branch (default: upstream's default).")
    ] = None,
    head: Annotated[
        str | None, typer.Option("--head", help="OWNER:BRANCH (default: the fork's branch).")
    ] = None,
    ttl_minutes: Annotated[
        float, typer.Option("--ttl-minutes", min=0.01, help="How long the request stays valid.")
    ] = 60,
    draft: Annotated[bool, typer.Option("--draft", help="Open the PR as a draft.")] = False,
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the definition of done and write a PR request file; print a one-time confirm
    token. Only its hash is kept by the run: the token itself never reaches history or logs."""
    from activities.pr_request import write_request_file
    from starter.client import with_run_client
    from workflows.rules.disclosure import pr_disclosure

    if body is not None and body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    if body_file is not None:
        if not body_file.is_file():
            raise UsageError(f"body file not found: {body_file}")
        body = body_file.read_text(errors="replace")
    text = body or ""
    settings = Settings.from_env()

    async def current(runs: RunClient) -> Any:
        return await runs.get_run(run_id)

    record = asyncio.run(with_run_client(settings, current))
    if record.workspace is None:
        raise Refused(f"request-open-pr refused: run {run_id} has no workspace yet")
    fork_owner = (record.workspace.fork_full_name or "").split("/")[0]
    base = base or record.workspace.base_branch
    head = head or (f"{fork_owner}:{record.workspace.branch}" if fork_owner else None)
    written = write_request_file(
        settings.pr_requests_dir,
        PrRequestFileInput(
            run_id=run_id,
            repo=record.full_name,
            title=title,
            body=text,
            base=base,
            head=head or "",
            ttl_minutes=ttl_minutes,
            draft=draft,
            # The body is composed here (PR template, checklist, AI note) so the person who
            # approves sees exactly what will be opened.
            disclosure=pr_disclosure(record),
        ),
        keep_token=False,
        settings=settings,
    )
    text = written.file.body if written.file.body is not None else text
    token, path, expires = written.token, Path(written.file.request_file), written.file.expires_at
    request = build(
        OpenPrRequest,
        title=title,
        body=text,
        base=base,
        head=head,
        draft=draft,
        request_file=str(path),
        request_file_sha256=written.file.request_file_sha256,
        token_sha256=written.file.token_sha256,
        expires_at=expires,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    try:
        result = send_command(run_id, "request_open_pr", request, as_json=False, quiet=True)
    except BaseException:
        path.unlink(missing_ok=True)  # a refused request leaves no file behind
        raise
    ask = result.pr_request
    assert ask is not None
    if as_json:
        render.print_json(
            {
                "run_id": run_id,
                "confirm_token": token,
                "request_file": str(path),
                "expires_at": expires.isoformat(),
                "base": ask.base,
                "head": ask.head,
                "dod": ask.dod.model_dump(),
            }
        )
        return
    render.console.print(f"{run_id}: PR request written to {path}")
    render.console.print(f"  {ask.head} -> {record.full_name}:{ask.base}: {title}")
    render.console.print(
        f"  confirm token: {token}  (expires {expires.isoformat(timespec='seconds')})"
    )
    if ask.dod.passed:
        render.console.print("  definition of done: met")
    else:
        render.console.print("  definition of done NOT met: " + "; ".join(ask.dod.failures))
    render.console.print(
        f"  approve with: agentpr approve-open-pr --run-id {run_id} --request-file {path} "
        f"--confirm-token {token} --confirm" + ("" if ask.dod.passed else " --allow-dod-bypass")
    )


def approve_open_pr(
    run_id: RunIdOption,
    request_file: Annotated[Path, typer.Option("--request-file", help="From request-open-pr.")],
    confirm_token: Annotated[str, typer.Option("--confirm-token", help="From request-open-pr.")],
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Second confirmation: yes, open the PR.")
    ] = False,
    allow_dod_bypass: Annotated[
        bool,
        typer.Option(
            "--allow-dod-bypass",
            help="Open it although the definition of done is not met (recorded with who bypassed).",
        ),
    ] = False,
    reason: ReasonOption = None,
    idempotency_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open the PR (exactly once) after the double confirmation; the run moves to CI_WAIT.
    A second approval prints the PR already opened."""
    from activities.pr_request import sha256_hex

    if not request_file.is_file():
        raise UsageError(f"request file not found: {request_file}")
    request = build(
        ApprovePrRequest,
        request_file_sha256=sha256_hex(request_file.read_bytes()),
        token_sha256=sha256_hex(confirm_token.strip().encode()),
        confirm=confirm,
        allow_dod_bypass=allow_dod_bypass,
        reason=reason,
        idempotency_key=idempotency_key,
    )
    result = send_command(run_id, "approve_open_pr", request, as_json, quiet=not as_json)
    pr = result.pull_request
    if as_json or pr is None:
        return
    if result.applied and result.from_state != result.to_state:
        # Not created: an earlier attempt (a worker that crashed after GitHub answered) made it.
        how = "opened" if pr.created else "found the open"
        render.console.print(
            f"{run_id}: {how} PR #{pr.number} {pr.url} ({result.from_state} -> {result.to_state})"
        )
    else:
        render.console.print(f"{run_id}: PR #{pr.number} is already open: {pr.url} (no change)")


def show_pr_request(run_id: RunIdOption, as_json: JsonOption = False) -> None:
    """Show the PR request an auto-mode run wrote and waits on, with its confirm token (read
    from the 0600 file next to the request on this machine) and the approve command."""
    from activities.pr_request import token_file_for
    from starter.client import with_run_client

    settings = Settings.from_env()

    async def current(runs: RunClient) -> Any:
        return await runs.get_run(run_id)

    record = asyncio.run(with_run_client(settings, current))
    ask = record.pr_request
    if ask is None:
        raise Refused(f"run {run_id} has no PR request (state {record.state})")
    token_path = token_file_for(Path(ask.request_file))
    if not token_path.is_file():
        raise Refused(
            f"run {run_id}: the PR request was made with request-open-pr, which "
            f"printed its token once; no token file at {token_path}"
        )
    token = token_path.read_text().strip()
    approve = (
        f"agentpr approve-open-pr --run-id {run_id} --request-file {ask.request_file} "
        f"--confirm-token {token} --confirm" + ("" if ask.dod.passed else " --allow-dod-bypass")
    )
    if as_json:
        render.print_json(
            {
                "run_id": run_id,
                "state": record.state.value,
                "title": ask.title,
                "request_file": ask.request_file,
                "confirm_token": token,
                "expires_at": ask.expires_at.isoformat(),
                "base": ask.base,
                "head": ask.head,
                "dod": ask.dod.model_dump(),
                "pr_number": record.pr_number,
            }
        )
        return
    render.console.print(f"{run_id}: {ask.head} -> {record.full_name}:{ask.base}: {ask.title}")
    render.console.print(f"  request file: {ask.request_file}")
    render.console.print(
        f"  confirm token: {token}  (expires {ask.expires_at.isoformat(timespec='seconds')})"
    )
    render.console.print(
        "  definition of done: "
        + ("met" if ask.dod.passed else "NOT met: " + "; ".join(ask.dod.failures))
    )
    if record.pr_number is not None:
        render.console.print(f"  already approved: PR #{record.pr_number} {record.pr_url}")
    else:
        render.console.print(f"  approve with: {approve}")


COMMANDS = {
    "request-open-pr": request_open_pr,
    "approve-open-pr": approve_open_pr,
    "show-pr-request": show_pr_request,
}
