"""An auto-mode run reads the maintainers' rules before any fork: a banned repository ends the
run SKIPPED (evidence in the record and the Web UI's current details) without a fork, and
`--ignore-policy REASON` takes it on with the reason recorded."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pydantic import SecretStr
from temporalio.api.sdk.v1 import WorkflowMetadata

from common.connection import connect
from standins.git_repos import CALC_FILES, make_remotes
from standins.github_api import FakeGitHub
from tests.operator_steps import BODY, TOKEN, create_auto_run, ok, wait_for_state
from tests.run_env import Env

FORGE = "printf 'PROVIDER = \"forge\"\\n' > forge.py"
BANNED = "We do not accept AI-generated pull requests."


async def current_details(env: Env, run_id: str) -> str:
    client = await connect(env.settings)
    metadata = await client.get_workflow_handle(run_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return metadata.current_details


def test_a_banned_repository_is_skipped_unless_the_operator_ignores_the_policy(
    env: Env, tmp_path: Path
) -> None:
    remotes = make_remotes(
        tmp_path / "git", files={**CALC_FILES, ".github/AI_POLICY.md": f"# AI\n\n{BANNED}\n"}
    )
    with FakeGitHub(tmp_path / "github", token=TOKEN) as fake:
        fake.add_repo("demo", "calc", remotes.upstream)
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        env.reconfigure(
            github_token=SecretStr(TOKEN),
            github_api_url=fake.base_url,
            git_author_name="Ops",
            git_author_email="ops@example.com",
            agent_env={"PATH": path},
            agent_grace_s=2.0,
        )
        body = tmp_path / "body.md"
        body.write_text(BODY)

        skipped = create_auto_run(env, body, FORGE)
        record = wait_for_state(env, skipped, {"SKIPPED", "FAILED_RETRYABLE"}, 120)
        assert record["state"] == "SKIPPED", record["history"]
        (evidence,) = record["maintainer_policy"]["evidence"]
        assert (evidence["file"], evidence["line"], evidence["quote"]) == (
            ".github/AI_POLICY.md",
            3,
            BANNED,
        )
        assert [h["command"] for h in record["history"]] == [
            "create-run",
            "start-discovery",
            "check-maintainer-policy",
        ]
        assert not any(r.method == "POST" for r in fake.requests)
        assert not any("/pulls" in r.route_path for r in fake.requests)
        details = asyncio.run(current_details(env, skipped))
        assert "SKIPPED" in details and f'.github/AI_POLICY.md:3 "{BANNED}"' in details
        shown = ok(env.cli("show-run", "--run-id", skipped))
        assert "AI_POLICY.md:3" in shown

        taken = create_auto_run(env, body, FORGE, "--ignore-policy", "the maintainers asked in #12")
        record = wait_for_state(env, taken, {"PUSHED", "SKIPPED", "NEEDS_HUMAN_REVIEW"}, 120)
        assert record["state"] == "PUSHED", record["history"]
        policy = record["maintainer_policy"]
        assert policy["outcome"] == "proceed"
        assert policy["ignored_because"] == "the maintainers asked in #12"
        assert policy["evidence"][0]["kind"] == "banned"  # still recorded
        assert record["ignore_policy"] == "the maintainers asked in #12"
