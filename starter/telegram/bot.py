"""The Telegram control bot (aiogram 3, long polling). A door like the CLI: same client module,
same typed workflow calls, no state of its own beyond the audit log.

Shape: an outer middleware drops replayed update ids and refuses chats outside the allowlist;
an inner middleware parses the message into an Intent (deterministic EN/ZH rules); one Router
per feature (reads, run controls, PR approval) handles the intents it owns.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, Update

from common.errors import OperatorError, RunBusy, RunFinished
from contracts import (
    Actor,
    ApprovePlanRequest,
    ApprovePrRequest,
    CommandRequest,
    Engine,
    RunMode,
    RunRecord,
    RunSpec,
    RunSummary,
    TargetStateRequest,
)
from contracts.states import RunState
from starter.client import RunClient
from starter.telegram.audit import AuditLog
from starter.telegram.intents import TIER_RANK, Intent, Tier, help_text, tier_needed
from starter.telegram.plain_language import PlainLanguage
from workflows.run import IntegrationRunWorkflow

REFUSAL = "This chat is not allowed to control agentpr."
# Runs whose state needs a person, shown by /overview.
ATTENTION = (
    RunState.NEEDS_HUMAN_REVIEW,
    RunState.FAILED,
    RunState.FAILED_RETRYABLE,
    RunState.PAUSED,
)
# Past the local work: the change is pushed (and maybe in a PR).
PUSHED_OR_LATER = (
    RunState.PUSHED,
    RunState.CI_WAIT,
    RunState.REVIEW_WAIT,
    RunState.ITERATING,
    RunState.DONE,
)
OVERVIEW_RUNS = 2_000
DEFAULT_LIST = 10
PER_RUN_TIMEOUT_S = 5.0


class Access(BaseMiddleware):
    """Replayed updates are dropped; other chats get a short refusal; both are audited. An
    allowed chat's tier (read, write, admin) rides along for the handlers to check."""

    def __init__(self, tiers: dict[int, Tier] | None, audit: AuditLog) -> None:
        self.tiers = tiers
        self.audit = audit

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        message = event.message
        chat_id = message.chat.id if message else None
        text = (message.text or "") if message else ""
        if not self.audit.claim_update(event.update_id):
            self.audit.write(
                chat_id=chat_id,
                update_id=event.update_id,
                command="-",
                outcome="duplicate",
                detail="update already processed",
                request_text=text,
                response_text="",
            )
            return None
        if message is None:
            return None
        if self.tiers is not None and chat_id not in self.tiers:
            await message.answer(REFUSAL)
            self.audit.write(
                chat_id=chat_id,
                update_id=event.update_id,
                command="-",
                outcome="refused",
                detail="chat not allowed",
                request_text=text,
                response_text=REFUSAL,
            )
            return None
        data["tier"] = "admin" if self.tiers is None else self.tiers[chat_id]
        return await handler(event, data)


class ParseIntent(BaseMiddleware):
    def __init__(self, reader: PlainLanguage) -> None:
        self.reader = reader

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Message)
        data["intent"] = await self.reader.intent(event.text or "", event.chat.id)
        return await handler(event, data)


class IntentIs(Filter):
    def __init__(self, *actions: str) -> None:
        self.actions = set(actions)

    async def __call__(self, message: Message, intent: Intent) -> bool:
        return intent.action in self.actions


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def describe_run(record: RunRecord) -> str:
    lines = [f"run_id: {record.run_id}", f"repo: {record.full_name}", f"state: {record.state}"]
    if record.pr_number:
        lines.append(f"PR: #{record.pr_number} {record.pr_url or ''}".rstrip())
    if record.grade:
        lines.append(f"verdict: {record.grade.verdict} ({record.grade.reason_code})")
        lines.append(f"next: {record.grade.next_action}")
    if record.pr_request and record.state == RunState.PUSHED:
        lines.append(
            f"PR request waiting: {record.pr_request.title} (expires "
            f"{_when(record.pr_request.expires_at)})"
        )
    lines.append(f"updated: {_when(record.updated_at)}")
    return "\n".join(lines)


class Replies:
    """What each intent does, through the shared client; returns the reply text."""

    def __init__(self, runs: RunClient) -> None:
        self.runs = runs

    async def list_runs(self, intent: Intent) -> str:
        rows = await self.runs.list_runs(limit=intent.limit or DEFAULT_LIST)
        if not rows:
            return "No runs yet." if intent.language == "en" else "还没有运行。"
        head = "Latest runs:" if intent.language == "en" else "最近的运行："
        return "\n".join(
            [head]
            + [
                f"{r.run_id} | {r.repo or '-'} | {r.state or '-'}"
                + (f" | PR #{r.pr_number}" if r.pr_number else "")
                for r in rows
            ]
        )

    async def pending_prs(self, intent: Intent) -> str:
        rows = await self.runs.list_runs(state=RunState.PUSHED, limit=intent.limit or DEFAULT_LIST)

        async def record_of(run_id: str) -> RunRecord | None:
            # One run that does not answer (its worker is down) must not hide the others.
            try:
                return await asyncio.wait_for(self.runs.get_run(run_id), PER_RUN_TIMEOUT_S)
            except (OperatorError, TimeoutError):
                return None

        records = await asyncio.gather(*(record_of(row.run_id) for row in rows))
        lines = []
        silent = 0
        for record in records:
            if record is None:
                silent += 1
                continue
            ask = record.pr_request
            if ask is None:
                continue
            lines.append(
                f"{record.run_id} | {record.full_name} | {ask.title} | expires "
                f"{_when(ask.expires_at)}\n  /approve_pr {record.run_id} <confirm_token>"
            )
        note = f"\n({silent} run(s) in PUSHED did not answer)" if silent else ""
        if not lines:
            empty = "No PR requests are waiting." if intent.language == "en" else "没有待审批的PR。"
            return empty + note
        return "PR requests waiting for approval:\n" + "\n".join(lines) + note

    async def overview(self, intent: Intent) -> str:
        """Each campaign's funnel, the runs that need a person, the PRs waiting, the cost —
        from search attributes only (no run is queried)."""
        rows = await self.runs.list_runs(limit=OVERVIEW_RUNS)
        if not rows:
            return "No runs yet." if intent.language == "en" else "还没有运行。"
        campaigns: dict[str, list[RunSummary]] = {}
        for row in rows:
            campaigns.setdefault(row.campaign or "(no campaign)", []).append(row)
        lines = ["Overview:"]
        for name, members in sorted(campaigns.items()):
            states = [r.state for r in members]
            funnel = [
                ("targeted", len(members)),
                ("skipped", states.count(RunState.SKIPPED)),
                ("pushed", sum(s in PUSHED_OR_LATER for s in states)),
                ("PR opened", sum(r.pr_number is not None for r in members)),
                ("merged", sum(s == RunState.DONE and r.pr_number is not None
                               for s, r in zip(states, members, strict=True))),
                # Checked after the merge (or the close): on the default branch.
                ("landed", sum(r.landed is True for r in members)),
            ]  # fmt: skip
            cost = sum(r.cost_usd or 0.0 for r in members)
            lines.append(
                f"{name}: "
                + " → ".join(f"{label} {count}" for label, count in funnel)
                + f" | cost ${cost:.2f}"
            )
        attention = [r for r in rows if r.state in ATTENTION]
        lines.append(f"Needing attention: {len(attention)}")
        lines += [f"  {r.run_id} | {r.repo or '-'} | {r.state}" for r in attention[:5]]
        if len(attention) > 5:
            lines.append(f"  … and {len(attention) - 5} more (/list)")
        waiting = sum(r.state == RunState.PUSHED for r in rows)
        lines.append(f"PRs waiting for approval: {waiting} (/pending_pr)")
        total = sum(r.cost_usd or 0.0 for r in rows)
        lines.append(f"Cost so far: ${total:.2f}")
        if len(rows) == OVERVIEW_RUNS:
            lines.append(f"(the newest {OVERVIEW_RUNS} runs)")
        return "\n".join(lines)

    async def create(self, intent: Intent, update_id: int) -> str:
        """New runs, one per repository: with --skills, auto mode following the pack (its
        plans wait for approval); without, manual runs an operator drives from the CLI."""
        assert intent.repos
        from starter.cli.plans import build_plan, pin_skills, skills_task

        pack = pin_skills(intent.skills, None) if intent.skills else None
        plan = (
            build_plan(Engine.CODEX, None, None, "feat: apply the agentpr change", None, None,
                       None, None, default_prompt=skills_task(pack))
            if pack
            else None
        )  # fmt: skip
        created = []
        for index, full_name in enumerate(intent.repos):
            owner, repo = full_name.split("/")
            # Named after the update: a redelivered update cannot create a second run.
            spec = RunSpec(
                run_id=f"tg{update_id}-{index + 1}",
                owner=owner,
                repo=repo,
                prompt_version=pack.version if pack else "v1",
                mode=RunMode.AUTO if pack else RunMode.MANUAL,
                auto=plan,
                skills=pack,
                approve_plans=pack is not None,
                created_by=Actor.TELEGRAM,
                notify=True,
            )
            try:
                await self.runs.create_run(spec)
                created.append(f"{spec.run_id} | {full_name}")
            except OperatorError as err:
                created.append(f"{full_name}: ⚠️ {err.message}")
        how = f"following {pack.label}, plans wait for /approve_plan" if pack else "manual"
        return f"Created ({how}):\n" + "\n".join(created)

    async def approve(self, intent: Intent, update_id: int) -> str:
        assert intent.run_id and intent.confirm_token
        record = await self.runs.get_run(intent.run_id)
        ask = record.pr_request
        if ask is None:
            return f"⚠️ run {intent.run_id} has no PR request"
        try:
            file_hash = hashlib.sha256(Path(ask.request_file).read_bytes()).hexdigest()
        except OSError:
            return f"⚠️ cannot read the request file {ask.request_file} on this machine"
        result = await self.runs.send(
            intent.run_id,
            IntegrationRunWorkflow.approve_open_pr,
            ApprovePrRequest(
                request_file_sha256=file_hash,
                token_sha256=hashlib.sha256(intent.confirm_token.encode()).hexdigest(),
                confirm=True,
                by=Actor.TELEGRAM,
                idempotency_key=f"telegram-{update_id}",
            ),
        )
        pr = result.pull_request
        if pr is None:
            return f"{intent.run_id}: {result.to_state}"
        return f"{intent.run_id}: PR #{pr.number} {pr.url} ({result.to_state})"

    async def control(self, intent: Intent, update_id: int) -> str:
        assert intent.run_id
        key = f"telegram-{update_id}"  # a redelivered update applies once
        w = IntegrationRunWorkflow
        if intent.action == "pause":
            result = await self.runs.send(
                intent.run_id, w.pause, CommandRequest(by=Actor.TELEGRAM, idempotency_key=key)
            )
        elif intent.action == "approve_plan":  # the plan as discovery wrote it (no edits here)
            result = await self.runs.send(
                intent.run_id,
                w.approve_plan,
                ApprovePlanRequest(by=Actor.TELEGRAM, idempotency_key=key),
            )
        else:
            assert intent.target_state is not None
            update = w.resume if intent.action == "resume" else w.retry
            result = await self.runs.send(
                intent.run_id,
                update,
                TargetStateRequest(
                    target_state=intent.target_state, by=Actor.TELEGRAM, idempotency_key=key
                ),
            )
        return f"{result.run_id}: {result.from_state} → {result.to_state} ({intent.action})"


def build_dispatcher(
    runs: RunClient,
    tiers: dict[int, Tier] | None,
    audit: AuditLog,
    reader: PlainLanguage | None = None,
) -> Dispatcher:
    """`tiers`: each allowed chat's access (None: any chat, admin — development only)."""
    reader = reader or PlainLanguage(None)
    dispatcher = Dispatcher()
    dispatcher["replies"] = Replies(runs)
    dispatcher["audit"] = audit
    dispatcher["reader"] = reader
    dispatcher.update.outer_middleware(Access(tiers, audit))

    reads, controls, approvals = Router(name="reads"), Router(name="controls"), Router(name="prs")
    for router in (reads, controls, approvals):
        router.message.outer_middleware(ParseIntent(reader))  # before filters: they read it

    async def answer(
        message: Message,
        update_id: int,
        intent: Intent,
        audit: AuditLog,
        work: Callable[[], Awaitable[str]],
        tier: Tier,
    ) -> None:
        outcome, detail = "ok", intent.rule
        needed = tier_needed(intent.action)
        if intent.error:
            reply, outcome = intent.error, "error"
        elif TIER_RANK[tier] < TIER_RANK[needed]:
            reply, outcome = (
                f"⛔ This chat has {tier} access; {intent.action} needs {needed}.",
                "refused",
            )
        else:
            try:
                reply = await work()
            except RunBusy as err:  # not wrong, just early: say when to send it again
                reply, outcome = f"⏳ {err.message}", "busy"
            except RunFinished as err:  # nothing to retry: the run is over
                reply, outcome = f"🏁 {err.message}", "finished"
            except OperatorError as err:
                reply, outcome = f"⚠️ {err.message}", "refused"
        sentence = not intent.rule.startswith("command")
        if (sentence and intent.action not in ("help", "unknown")) or intent.rule.startswith(
            "model"
        ):
            reply += f"\n(rule: {intent.rule})"  # operators see which rule read their words
        await message.answer(reply)
        audit.write(
            chat_id=message.chat.id,
            update_id=update_id,
            command=intent.action,
            outcome=outcome,
            detail=detail,
            request_text=message.text or "",
            response_text=reply,
            extra_secrets=(intent.confirm_token,) if intent.confirm_token else (),
        )

    @reads.message(IntentIs("list", "show", "status", "pending_pr", "overview", "help", "unknown"))
    async def on_read(
        message: Message,
        event_update: Update,
        intent: Intent,
        replies: Replies,
        audit: AuditLog,
        reader: PlainLanguage,
        tier: Tier,
    ) -> None:
        async def work() -> str:
            if intent.action == "list":
                return await replies.list_runs(intent)
            if intent.action in ("show", "status"):
                assert intent.run_id
                record = await replies.runs.get_run(intent.run_id)
                if intent.action == "show":
                    return describe_run(record) + "\n" + await reader.why(record, intent.language)
                return describe_run(record)
            if intent.action == "pending_pr":
                return await replies.pending_prs(intent)
            if intent.action == "overview":
                return await replies.overview(intent)
            return help_text(intent.language)

        await answer(message, event_update.update_id, intent, audit, work, tier)

    @controls.message(IntentIs("pause", "resume", "retry", "approve_plan", "create"))
    async def on_control(
        message: Message,
        event_update: Update,
        intent: Intent,
        replies: Replies,
        audit: AuditLog,
        tier: Tier,
    ) -> None:
        update_id = event_update.update_id

        async def work() -> str:
            if intent.action == "create":
                return await replies.create(intent, update_id)
            return await replies.control(intent, update_id)

        await answer(message, update_id, intent, audit, work, tier)

    @approvals.message(IntentIs("approve_pr"))
    async def on_approve(
        message: Message,
        event_update: Update,
        intent: Intent,
        replies: Replies,
        audit: AuditLog,
        tier: Tier,
    ) -> None:
        await answer(
            message,
            event_update.update_id,
            intent,
            audit,
            lambda: replies.approve(intent, event_update.update_id),
            tier,
        )

    dispatcher.include_routers(reads, controls, approvals)
    return dispatcher


def make_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
    return Bot(token, session=session)
