"""Logging: JSON off a TTY, secrets censored wherever they appear."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_json_lines_off_a_tty_with_secrets_censored() -> None:
    result = run_python(
        """
        import logging, structlog
        from common.logs import configure_logging
        configure_logging("INFO", secrets=["ghp_supersecret123"])
        structlog.get_logger("agentpr.test").info("pushing", url="https://x:ghp_supersecret123@h")
        logging.getLogger("temporalio.x").warning("token ghp_supersecret123 in a stdlib record")
        """
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["event"] == "pushing" and lines[0]["url"] == "https://x:***@h"
    assert lines[0]["logger"] == "agentpr.test" and lines[0]["level"] == "info"
    assert lines[1]["event"] == "token *** in a stdlib record"
    assert "ghp_supersecret123" not in result.stderr


def test_configure_is_once_per_process() -> None:
    result = run_python(
        """
        import logging
        from common.logs import configure_logging
        configure_logging("INFO"); configure_logging("DEBUG")
        print(len(logging.getLogger().handlers), logging.getLogger().level)
        """
    )
    assert result.stdout.split() == ["1", str(20)]
