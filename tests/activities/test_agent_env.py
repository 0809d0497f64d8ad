"""The agent holds no keys (issue 13): its environment comes from an allowlist."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from activities.agent_env import agent_base_env
from engines.claude import ClaudeEngine
from engines.codex import CodexEngine
from standins.git_repos import Remotes, make_remotes
from tests.agent_steps import implementing_run
from tests.run_env import Env

WORKER_ENV = {
    "PATH": "/usr/bin",
    "HOME": "/home/ops",
    "LC_ALL": "C.UTF-8",
    "HTTPS_PROXY": "http://proxy:3128",
    "AGENTPR_HOME": "/home/ops/.agentpr",
    "AGENTPR_GITHUB_TOKEN": "ghp_token",
    "AGENTPR_GITHUB_WEBHOOK_SECRET": "hook-secret",
    "TEMPORAL_ADDRESS": "127.0.0.1:7233",
    "GH_TOKEN": "ghp_token",  # agentpr's token under another name
    "AWS_SECRET_ACCESS_KEY": "aws",
    "OPENAI_API_KEY": "sk-openai",
    "ANTHROPIC_API_KEY": "sk-ant",
    "CODEX_HOME": "/home/ops/.codex",
}


def test_only_the_allowlist_and_the_engine_s_own_variables_reach_the_agent() -> None:
    codex = agent_base_env(WORKER_ENV, CodexEngine.inherits, {}, ["ghp_token", "hook-secret"])
    assert codex == {
        "PATH": "/usr/bin",
        "HOME": "/home/ops",
        "LC_ALL": "C.UTF-8",
        "HTTPS_PROXY": "http://proxy:3128",
        "OPENAI_API_KEY": "sk-openai",
        "CODEX_HOME": "/home/ops/.codex",
    }
    claude = agent_base_env(WORKER_ENV, ClaudeEngine.inherits, {}, [])
    assert "ANTHROPIC_API_KEY" in claude and "OPENAI_API_KEY" not in claude


def test_the_operator_s_agent_env_file_is_passed_but_never_agentpr_s_own_names() -> None:
    env = agent_base_env(
        {},
        (),
        {"MY_KEY": "1", "AGENTPR_GITHUB_TOKEN": "x", "TEMPORAL_API_KEY": "y", "COPY": "ghp"},
        ["ghp"],
    )
    assert env == {"MY_KEY": "1"}


def test_an_agent_step_sees_no_agentpr_secret(env: Env, tmp_path: Path) -> None:
    remotes: Remotes = make_remotes(tmp_path / "git")
    env.reconfigure(
        github_webhook_secret=SecretStr("hook-secret-value"),
        agent_env={"LEAKED_COPY": "hook-secret-value", "OPERATOR_SETTING": "kept"},
        git_author_name="Ops",
        git_author_email="ops@example.com",
    )
    run_id = implementing_run(env, remotes)
    dump = tmp_path / "agent-env.txt"
    env.cli(
        "run-agent-step",
        "--run-id",
        run_id,
        "--engine",
        "command",
        "--command",
        f"env > {dump}",
        "--skip-network-check",
    )
    seen = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert seen["OPERATOR_SETTING"] == "kept" and seen["AGENTPR_RUN_ID"] == run_id
    assert "hook-secret-value" not in dump.read_text()
    leaked = [name for name in seen if name.startswith(("TEMPORAL_", "AGENTPR_"))]
    assert leaked == ["AGENTPR_RUN_ID"]
