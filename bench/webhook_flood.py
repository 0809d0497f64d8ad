"""Webhook flood (issue 13): the bridge's memory under N parallel unsigned large deliveries.

The bridge runs in a child process (so its RSS is its own); N clients each announce and send a
`--mb` MB body with no signature. Measured: the child's RSS (VmRSS, and its peak VmHWM) before
and after, and the answers. Baseline in the same run: the same child serving the pre-issue-13
handler, which read the whole body before checking the signature.

    .venv/bin/python -m bench.webhook_flood [--clients 60 --mb 24]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from pathlib import Path

from starter.devserver import free_port

PATH = "/github/webhook"


def _serve(port: int, hardened: bool, ready: multiprocessing.synchronize.Event) -> None:
    from aiohttp import web

    from starter.webhook.bridge import MAX_BODY, WebhookBridge

    async def old_receive(request: web.Request) -> web.Response:
        await request.read()  # the whole body first, as before issue 13
        return web.json_response({"error": "bad or missing X-Hub-Signature-256"}, status=401)

    async def main() -> None:
        if hardened:
            app = WebhookBridge(None, None, "secret").app()  # type: ignore[arg-type]
        else:
            app = web.Application(client_max_size=MAX_BODY)
            app.router.add_post(PATH, old_receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _rss_kb(pid: int) -> tuple[int, int]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


async def _flood(port: int, clients: int, size: int) -> list[str]:
    chunk = b"x" * (1024 * 1024)

    async def one() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\nX-GitHub-Event: check_run\r\n"
            "X-GitHub-Delivery: flood\r\n\r\n"
        ).encode()
        writer.write(head)
        try:
            for _ in range(size // len(chunk)):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass  # the bridge answered and closed before the body was sent
        try:
            answer = await asyncio.wait_for(reader.read(64), timeout=60)
        except (ConnectionError, TimeoutError):
            answer = b"(no answer)"
        writer.close()
        return answer.split(b"\r\n", 1)[0].decode(errors="replace")

    return await asyncio.gather(*(one() for _ in range(clients)))


def measure(hardened: bool, clients: int, mb: int) -> dict[str, object]:
    port = free_port()
    ready = multiprocessing.Event()
    child = multiprocessing.Process(target=_serve, args=(port, hardened, ready), daemon=True)
    child.start()
    ready.wait(60)
    assert child.pid is not None
    before, _ = _rss_kb(child.pid)
    started = time.monotonic()
    answers = asyncio.run(_flood(port, clients, mb * 1024 * 1024))
    elapsed = time.monotonic() - started
    after, peak = _rss_kb(child.pid)
    child.terminate()
    child.join(10)
    return {
        "rss_before_mb": before / 1024,
        "rss_after_mb": after / 1024,
        "peak_mb": peak / 1024,
        "seconds": elapsed,
        "answers": sorted(set(answers)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--mb", type=int, default=24)
    args = parser.parse_args()
    old = measure(False, args.clients, args.mb)
    new = measure(True, args.clients, args.mb)
    print(f"## Webhook flood: {args.clients} parallel unsigned {args.mb} MB deliveries")
    print("| handler | RSS before (MB) | RSS after (MB) | peak RSS (MB) | seconds | answers |")
    print("|---|---|---|---|---|---|")
    for name, row in (("before issue 13 (read, then check)", old), ("hardened bridge", new)):
        print(
            f"| {name} | {row['rss_before_mb']:.0f} | {row['rss_after_mb']:.0f} | "
            f"{row['peak_mb']:.0f} | {row['seconds']:.1f} | {', '.join(row['answers'])} |"  # type: ignore[arg-type]
        )
    growth_old = float(old["peak_mb"]) - float(old["rss_before_mb"])  # type: ignore[arg-type]
    growth_new = float(new["peak_mb"]) - float(new["rss_before_mb"])  # type: ignore[arg-type]
    print(f"\npeak growth: {growth_new:.0f} MB vs {growth_old:.0f} MB before")


if __name__ == "__main__":
    main()
