"""Process settings, read once from the environment.

Secrets (later: GitHub and Telegram tokens) are `SecretStr`, so a settings object can be
logged or printed without leaking them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_TASK_QUEUE = "agentpr"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    home: Path
    temporal_address: str = DEFAULT_TEMPORAL_ADDRESS
    temporal_namespace: str = DEFAULT_NAMESPACE
    # The orchestration queue: workflows and light activities. Agent runs and GitHub writes get
    # their own queues in later issues.
    task_queue: str = DEFAULT_TASK_QUEUE
    # How long a door waits for a run to answer before blaming a missing worker.
    answer_timeout_s: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("AGENTPR_HOME") or Path.home() / ".agentpr").expanduser()
        return cls(
            home=home,
            temporal_address=env.get("TEMPORAL_ADDRESS") or DEFAULT_TEMPORAL_ADDRESS,
            temporal_namespace=env.get("TEMPORAL_NAMESPACE") or DEFAULT_NAMESPACE,
            task_queue=env.get("AGENTPR_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
            answer_timeout_s=float(env.get("AGENTPR_ANSWER_TIMEOUT_S") or 30.0),
        )

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
