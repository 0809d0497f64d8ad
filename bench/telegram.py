"""Telegram bot benchmark (issue 7): command round trip (update injected into the loopback Bot
API → the bot's reply sent) p50/p95, vs the same Query through the client the CLI uses; and the
bot process's RSS at rest.

    .venv/bin/python -m bench.telegram [--rounds 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import embedded_temporal, process_bytes
from contracts import RunSpec
from standins.telegram_api import FakeTelegram
from starter.telegram.audit import AuditLog
from starter.telegram.bot import build_dispatcher, make_bot

TOKEN = "123456:BenchBotToken"
CHAT = 111


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def main(rounds: int) -> None:
    with FakeTelegram(TOKEN) as telegram:
        async with embedded_temporal() as harness:
            run_id = "bench_tg"
            await harness.runs.create_run(
                RunSpec(run_id=run_id, owner="bench", repo="tg", prompt_version="v1")
            )
            dispatcher = build_dispatcher(
                harness.runs, {CHAT: "admin"}, AuditLog(harness.settings.home / "audit.jsonl")
            )
            bot = make_bot(TOKEN, telegram.base_url)
            polling = asyncio.create_task(
                dispatcher.start_polling(bot, polling_timeout=10, handle_signals=False)
            )
            bot_times: list[float] = []
            for index in range(rounds + 5):
                start = time.perf_counter()
                telegram.inject_message(CHAT, f"/status {run_id}")
                await asyncio.to_thread(telegram.wait_for_sent, index + 1, CHAT, 30)
                if index >= 5:  # warm-up
                    bot_times.append(time.perf_counter() - start)
            client_times: list[float] = []
            for _ in range(rounds):
                start = time.perf_counter()
                await harness.runs.get_run(run_id)
                client_times.append(time.perf_counter() - start)
            await dispatcher.stop_polling()
            await polling
            await bot.session.close()

            # A bot process at rest: started, polling, nothing to do.
            env = {
                **os.environ,
                "AGENTPR_HOME": str(harness.settings.home),
                "TEMPORAL_ADDRESS": harness.settings.temporal_address,
                "AGENTPR_TASK_QUEUE": harness.settings.task_queue,
                "AGENTPR_TELEGRAM_BOT_TOKEN": TOKEN,
                "AGENTPR_TELEGRAM_API_URL": telegram.base_url,
            }
            agentpr = Path(sys.executable).parent / "agentpr"
            process = subprocess.Popen(
                [str(agentpr), "run-telegram-bot", "--allow-chat-id", str(CHAT)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.sleep(15)
            at_rest = process_bytes(process.pid) / (1024 * 1024)
            process.terminate()
            process.wait(20)

    ours_p50, ours_p95 = statistics.median(bot_times) * 1000, p95(bot_times) * 1000
    base_p50, base_p95 = statistics.median(client_times) * 1000, p95(client_times) * 1000
    print(f"## telegram bot ({rounds} `/status` round trips)")
    print("| measure | bot | client query | ratio |")
    print("|---|---|---|---|")
    print(f"| round trip p50 (ms) | {ours_p50:.1f} | {base_p50:.1f} | {ours_p50 / base_p50:.2f}x |")
    print(f"| round trip p95 (ms) | {ours_p95:.1f} | {base_p95:.1f} | {ours_p95 / base_p95:.2f}x |")
    print(f"\nbot process RSS at rest: {at_rest:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    asyncio.run(main(parser.parse_args().rounds))
