"""doctor with each dependency missing, and the startup gate, through the real CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from standins.github_api import FakeGitHub
from tests.run_env import Env, free_port, new_run_id

TOKEN = "ghp_DoctorToken000111222333"
TELEGRAM_TOKEN = "123456:DoctorTelegramToken"


def doctor(env: Env, *args: str) -> tuple[int, dict[str, dict]]:
    result = env.cli("doctor", "--json", *args)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is (result.returncode == 0)
    return result.returncode, {check["name"]: check for check in report["checks"]}


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[str]:
    """Telegram's Bot API getMe, as documented: {"ok": true, "result": {User}}."""

    class BotApi(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            good = self.path == f"/bot{TELEGRAM_TOKEN}/getMe"
            body = (
                {
                    "ok": True,
                    "result": {
                        "id": 123456,
                        "is_bot": True,
                        "first_name": "agentpr",
                        "username": "agentpr_bot",
                    },
                }
                if good
                else {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
            payload = json.dumps(body).encode()
            self.send_response(200 if good else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), BotApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def codex_stand_in(tmp_path: Path) -> Path:
    """Answers `--version` like codex-cli does. The real CLI arrives with the agent issue."""
    script = tmp_path / "bin" / "codex"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho 'codex-cli 0.169.0'\n")
    script.chmod(0o755)
    return script


def test_everything_present(
    env: Env, github: FakeGitHub, telegram: str, codex_stand_in: Path
) -> None:
    env.reconfigure(
        github_token=SecretStr(TOKEN),
        github_api_url=github.base_url,
        telegram_bot_token=SecretStr(TELEGRAM_TOKEN),
        telegram_api_url=telegram,
        codex_bin=str(codex_stand_in),
    )
    code, checks = doctor(env, "--require-codex")
    assert code == 0
    assert {name: c["status"] for name, c in checks.items()} == {
        "git": "ok",
        "data dir": "ok",
        "workspace root": "ok",
        "policy": "ok",
        "python": "ok",
        "codex": "ok",
        "github": "ok",
        "telegram": "ok",
        "temporal": "ok",
        "search attributes": "ok",
        "worker": "ok",
    }
    assert checks["codex"]["detail"] == f"codex-cli 0.169.0 ({codex_stand_in})"
    assert checks["github"]["detail"] == "authenticated as agentpr-bot; rate limit 4999/5000 left"
    assert checks["telegram"]["detail"] == "bot @agentpr_bot"
    text = env.cli("doctor").stdout
    assert TOKEN not in text and TELEGRAM_TOKEN not in text


def test_git_missing_fails_and_gates_mutable_commands(env: Env) -> None:
    run_id = new_run_id()
    assert (
        env.cli(
            "create-run",
            "--owner",
            "o",
            "--repo",
            "r",
            "--prompt-version",
            "v1",
            "--run-id",
            run_id,
        ).returncode
        == 0
    )
    env.extra["PATH"] = "/nonexistent"
    code, checks = doctor(env)
    assert code == 1 and checks["git"] == {
        "name": "git",
        "status": "fail",
        "detail": "git is not on PATH",
    }
    assert checks["python"]["status"] == "warn"
    gated = env.cli("pause", "--run-id", run_id)
    assert gated.returncode == 1
    assert gated.stderr == (
        "agentpr: startup check failed: git: git is not on PATH (see `agentpr doctor`; "
        "--skip-doctor bypasses this for recovery)\n"
    )
    shown = env.cli("show-run", "--run-id", run_id, "--json")  # reads are never gated
    assert json.loads(shown.stdout)["state"] == "QUEUED"
    recovered = env.cli("--skip-doctor", "pause", "--run-id", run_id)
    assert recovered.returncode == 0, recovered.stderr


def test_a_broken_codex_is_a_warning_unless_required(env: Env, tmp_path: Path) -> None:
    # The doctor checks the binary an agent step would run (AGENTPR_CODEX_BIN here); a missing
    # one is the engine's AgentMissing (tests/engines/test_codex.py).
    broken = tmp_path / "codex"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    env.reconfigure(codex_bin=str(broken))
    code, checks = doctor(env)
    assert code == 0 and checks["codex"]["status"] == "warn"
    assert checks["codex"]["detail"] == f"{broken} --version failed"
    code, checks = doctor(env, "--require-codex")
    assert code == 1 and checks["codex"]["status"] == "fail"


def test_github_token_missing_wrong_low_and_unreachable(env: Env, github: FakeGitHub) -> None:
    code, checks = doctor(env)
    assert code == 0 and checks["github"]["status"] == "warn"
    assert "AGENTPR_GITHUB_TOKEN is not set" in checks["github"]["detail"]

    env.reconfigure(github_token=SecretStr("ghp_wrong"), github_api_url=github.base_url)
    code, checks = doctor(env)
    assert code == 1 and checks["github"]["detail"] == "GET /user answered 401 Bad credentials"

    env.reconfigure(github_token=SecretStr(TOKEN))
    github.rate_limit_remaining = 42
    code, checks = doctor(env)
    assert code == 0 and checks["github"]["status"] == "warn"
    assert "rate limit 42/5000 left" in checks["github"]["detail"]

    env.reconfigure(github_api_url=f"http://127.0.0.1:{free_port()}")
    code, checks = doctor(env)
    assert code == 1 and "unreachable" in checks["github"]["detail"]


def test_telegram_configured_but_wrong_or_unreachable(env: Env, telegram: str) -> None:
    env.reconfigure(telegram_bot_token=SecretStr("999:bad"), telegram_api_url=telegram)
    code, checks = doctor(env)
    assert code == 1 and checks["telegram"]["detail"] == "getMe answered 401 Unauthorized"
    env.reconfigure(telegram_api_url=f"http://127.0.0.1:{free_port()}")
    code, checks = doctor(env)
    assert code == 1 and "unreachable" in checks["telegram"]["detail"]


def test_workspace_root_not_writable_and_bad_policy(env: Env, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    policy = tmp_path / "policy.json"
    policy.write_text('{"defaults": {"codex_sandbox": "yolo"}}')
    env.reconfigure(workspace_root_override=blocker / "workspaces", policy_file_override=policy)
    code, checks = doctor(env)
    assert code == 1
    assert checks["workspace root"]["status"] == "fail"
    assert "is not writable: Not a directory" in checks["workspace root"]["detail"]
    assert checks["policy"]["status"] == "fail"
    assert checks["policy"]["detail"].startswith(
        f"{policy}: defaults.codex_sandbox: Input should be"
    )


def test_temporal_unreachable(env: Env) -> None:
    env.extra["TEMPORAL_ADDRESS"] = f"127.0.0.1:{free_port()}"
    code, checks = doctor(env)
    assert code == 1 and checks["temporal"]["status"] == "fail"
    assert set(checks) >= {"git", "python", "codex", "github", "temporal"}
