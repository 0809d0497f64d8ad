"""Process settings, read once from the environment.

Secrets (GitHub and Telegram tokens, the webhook secret, the Temporal API key) are
`SecretStr`, so a settings object can be logged or printed without leaking them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from common.redaction import Redactor

DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "agentpr"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org"
DEFAULT_PYPI_URL = "https://pypi.org/simple/"
DEFAULT_NPM_REGISTRY_URL = "https://registry.npmjs.org/"


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|AUTH", re.IGNORECASE)


def agent_queue_for(task_queue: str) -> str:
    """Agent steps run on their own queue, next to the orchestration queue."""
    return f"{task_queue}-agent"


def notify_queue_for(task_queue: str) -> str:
    """Notifications wait on their own queue until a bot (its worker) is up to send them."""
    return f"{task_queue}-notify"


def github_queue_for(task_queue: str) -> str:
    """GitHub writes run on their own queue, rate limited by Temporal across all workers."""
    return f"{task_queue}-github"


def _secret(value: str | None) -> SecretStr | None:
    return SecretStr(value) if value else None


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _chat_ids(value: str | None) -> list[int]:
    from common.errors import UsageError

    try:
        return [int(part) for part in (value or "").replace(" ", "").split(",") if part]
    except ValueError:
        raise UsageError(
            f"AGENTPR_TELEGRAM_NOTIFY_CHAT_IDS: expected comma-separated chat ids, got {value!r}"
        ) from None


def _number(
    env: Mapping[str, str], name: str, default: float, kind: type = int, minimum: float = 1
) -> Any:
    """A positive number from the environment, or one line naming the variable."""
    from common.errors import UsageError

    value = env.get(name)
    if not value:
        return kind(default)
    try:
        number = kind(value)
    except ValueError:
        raise UsageError(f"{name}: expected a number, got {value!r}") from None
    if number < minimum:
        raise UsageError(f"{name}: expected at least {minimum:g}, got {value!r}")
    return number


def _port(env: Mapping[str, str], name: str) -> int | None:
    if not env.get(name):
        return None
    port: int = _number(env, name, 0)
    if port > 65535:
        from common.errors import UsageError

        raise UsageError(f"{name}: expected a port (1-65535), got {port}")
    return port


def _agent_env(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    from common.errors import UsageError

    try:
        data = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"AGENTPR_AGENT_ENV_FILE {path}: {err}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise UsageError(f"AGENTPR_AGENT_ENV_FILE {path}: expected a JSON object of strings")
    return data


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    home: Path
    temporal_address: str = DEFAULT_TEMPORAL_ADDRESS
    temporal_namespace: str = DEFAULT_NAMESPACE
    # A cluster or Temporal Cloud: common/connection.py turns these into the client's TLS
    # config and checks them there, so a bad value is one line from any door, not a traceback.
    # temporal_tls is TEMPORAL_TLS as given ("1"/"0"; unset = TLS only when something needs it).
    temporal_tls: str | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None
    # The orchestration queue: workflows and light activities. Agent runs and GitHub writes get
    # their own queues in later issues.
    task_queue: str = DEFAULT_TASK_QUEUE
    # How long a door waits for a run to answer before blaming a missing worker.
    answer_timeout_s: float = 30.0
    # Where run workspaces are cloned: <root>/<owner>/<repo>/<run_id>. None = $home/workspaces.
    workspace_root_override: Path | None = None
    policy_file_override: Path | None = None
    github_token: SecretStr | None = None
    github_api_url: str = DEFAULT_GITHUB_API_URL
    telegram_bot_token: SecretStr | None = None
    github_webhook_secret: SecretStr | None = None
    # Chats that receive notifications (default: the bot's --allow-chat-id list).
    telegram_notify_chat_ids: list[int] = []
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    codex_bin: str | None = None
    claude_bin: str | None = None
    # Extra environment for agent processes only (API keys, CODEX_HOME, ANTHROPIC_BASE_URL…),
    # from the JSON object in the file AGENTPR_AGENT_ENV_FILE. Values never reach history.
    agent_env: dict[str, str] = {}
    # Concurrent agent steps per worker (the agent task queue's slots).
    agent_slots: int = 2
    # Runs a worker keeps in memory between their workflow tasks (the SDK's default is 1,000).
    # A run waiting at a human gate for days needs no place here: evicted, it is replayed from
    # its history (~70 events) when something arrives. Each cached run costs ~0.25 MiB, so this
    # bounds the worker near 100 + 0.25 x N MiB however many runs wait (docs/BENCHMARKS.md).
    workflow_cache: int = 500
    # SIGINT, then this long, then SIGKILL for the agent's process group.
    agent_grace_s: float = 10.0
    # Content-creating GitHub requests per minute across all workers (GitHub's secondary limit
    # is about 80): Temporal's rate limit on the GitHub-writes task queue.
    github_writes_per_minute: float = 30.0
    # The operator's identity for commits (else git's own user.name / user.email).
    git_author_name: str | None = None
    git_author_email: str | None = None
    # Package registries preflight probes (loopback mirrors in tests and air-gapped sites).
    pypi_url: str = DEFAULT_PYPI_URL
    npm_registry_url: str = DEFAULT_NPM_REGISTRY_URL
    # The operator's skill packs (<dir>/<name>/<version>/manifest.json), before the built-in.
    skills_dir: Path | None = None
    # The worker's Prometheus endpoint (the SDK's metrics and agentpr's); None: no endpoint.
    metrics_port: int | None = None
    # The address it binds (127.0.0.1: reachable from this machine only).
    metrics_host: str = "127.0.0.1"
    # How often the worker counts runs by state for `agentpr_runs` (one visibility query each).
    metrics_sample_s: float = 30.0
    # An optional OpenAI-compatible chat-completions model (issue 15): the semantic review of
    # a PASS, maintainers' replies, the bot's plain language. Unset: the rules decide alone.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    # One model call's wall clock; a slow model costs this much at most, then the rules answer.
    llm_timeout_s: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("AGENTPR_HOME") or Path.home() / ".agentpr").expanduser()
        return cls(
            home=home,
            temporal_address=env.get("TEMPORAL_ADDRESS") or DEFAULT_TEMPORAL_ADDRESS,
            temporal_namespace=env.get("TEMPORAL_NAMESPACE") or DEFAULT_NAMESPACE,
            temporal_tls=env.get("TEMPORAL_TLS") or None,
            temporal_tls_cert=_path(env.get("TEMPORAL_TLS_CERT")),
            temporal_tls_key=_path(env.get("TEMPORAL_TLS_KEY")),
            temporal_tls_ca=_path(env.get("TEMPORAL_TLS_CA")),
            temporal_tls_server_name=env.get("TEMPORAL_TLS_SERVER_NAME") or None,
            temporal_api_key=_secret(env.get("TEMPORAL_API_KEY")),
            task_queue=env.get("AGENTPR_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
            answer_timeout_s=_number(
                env, "AGENTPR_ANSWER_TIMEOUT_S", 30.0, kind=float, minimum=0.1
            ),
            workspace_root_override=_path(env.get("AGENTPR_WORKSPACE_ROOT")),
            policy_file_override=_path(env.get("AGENTPR_POLICY_FILE")),
            github_token=_secret(env.get("AGENTPR_GITHUB_TOKEN")),
            github_api_url=env.get("AGENTPR_GITHUB_API_URL") or DEFAULT_GITHUB_API_URL,
            telegram_bot_token=_secret(env.get("AGENTPR_TELEGRAM_BOT_TOKEN")),
            github_webhook_secret=_secret(env.get("AGENTPR_GITHUB_WEBHOOK_SECRET")),
            telegram_notify_chat_ids=_chat_ids(env.get("AGENTPR_TELEGRAM_NOTIFY_CHAT_IDS")),
            telegram_api_url=env.get("AGENTPR_TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL,
            codex_bin=env.get("AGENTPR_CODEX_BIN") or None,
            claude_bin=env.get("AGENTPR_CLAUDE_BIN") or None,
            agent_env=_agent_env(env.get("AGENTPR_AGENT_ENV_FILE")),
            agent_slots=_number(env, "AGENTPR_AGENT_SLOTS", 2),
            workflow_cache=_number(env, "AGENTPR_WORKFLOW_CACHE", 500),
            github_writes_per_minute=_number(
                env, "AGENTPR_GITHUB_WRITES_PER_MINUTE", 30, kind=float, minimum=0.1
            ),
            git_author_name=env.get("AGENTPR_GIT_AUTHOR_NAME") or None,
            git_author_email=env.get("AGENTPR_GIT_AUTHOR_EMAIL") or None,
            pypi_url=env.get("AGENTPR_PYPI_URL") or DEFAULT_PYPI_URL,
            npm_registry_url=env.get("AGENTPR_NPM_REGISTRY_URL") or DEFAULT_NPM_REGISTRY_URL,
            skills_dir=_path(env.get("AGENTPR_SKILLS_DIR")),
            metrics_port=_port(env, "AGENTPR_METRICS_PORT"),
            metrics_host=env.get("AGENTPR_METRICS_HOST") or "127.0.0.1",
            metrics_sample_s=_number(
                env, "AGENTPR_METRICS_SAMPLE_S", 30.0, kind=float, minimum=0.1
            ),
            llm_base_url=env.get("AGENTPR_LLM_BASE_URL") or None,
            llm_api_key=_secret(env.get("AGENTPR_LLM_API_KEY")),
            llm_model=env.get("AGENTPR_LLM_MODEL") or None,
            llm_timeout_s=_number(env, "AGENTPR_LLM_TIMEOUT_S", 30.0, kind=float, minimum=0.1),
        )

    @property
    def model_configured(self) -> bool:
        """A model to consult: an endpoint and a model name (a local endpoint may need no
        key)."""
        return bool(self.llm_base_url and self.llm_model)

    @property
    def workspace_root(self) -> Path:
        return self.workspace_root_override or self.home / "workspaces"

    @property
    def skill_snapshots(self) -> Path:
        """Pinned copies of the skill packs runs use (skills/catalog.py pinned_pack)."""
        return self.home / "skill-packs"

    @property
    def policy_file(self) -> Path:
        return self.policy_file_override or self.home / "manager_policy.json"

    def secrets(self) -> list[str]:
        """Every secret agentpr holds, as plain text, to keep out of agents' environments."""
        held = (
            self.temporal_api_key,
            self.github_token,
            self.telegram_bot_token,
            self.github_webhook_secret,
            self.llm_api_key,
        )
        return [secret.get_secret_value() for secret in held if secret is not None]

    @property
    def policy_stamp_file(self) -> Path:
        """sha256 and path of the policy file the startup gate last validated (read by the
        CLI's fast lane, which spells this name itself to stay free of pydantic)."""
        return self.home / ".policy-validated"

    @property
    def notifications_enabled(self) -> bool:
        """Runs created here tell operators through Telegram when a bot is configured."""
        return self.telegram_bot_token is not None or bool(self.telegram_notify_chat_ids)

    @property
    def secret_values(self) -> list[str]:
        """Every secret this process knows, for the log censor and report scrubbing, including
        agent-environment values whose names say they are keys or tokens."""
        tokens = [
            secret.get_secret_value()
            for secret in (
                self.github_token,
                self.telegram_bot_token,
                self.github_webhook_secret,
                self.temporal_api_key,
                self.llm_api_key,
            )
            if secret is not None
        ]
        return tokens + [
            value
            for name, value in self.agent_env.items()
            if _SECRET_NAME.search(name) and len(value) >= 4
        ]

    @property
    def redactor(self) -> Redactor:
        """Redacts these secrets and every well-known credential shape from captured output
        before it reaches a report, an excerpt or an activity's error."""
        return Redactor(self.secret_values)

    @property
    def agent_task_queue(self) -> str:
        return agent_queue_for(self.task_queue)

    @property
    def github_task_queue(self) -> str:
        return github_queue_for(self.task_queue)

    @property
    def webhook_deliveries_db(self) -> Path:
        return self.home / "webhook_deliveries.sqlite"

    @property
    def notify_task_queue(self) -> str:
        return notify_queue_for(self.task_queue)

    @property
    def pr_requests_dir(self) -> Path:
        return self.home / "pr_requests"

    @property
    def temporal_db(self) -> Path:
        return self.home / "temporal.db"

    @property
    def server_lock(self) -> Path:
        return self.home / "server.lock"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"
