"""A skill pack's fix stage on a failing check, with the pack pinned across continue-as-new:
the REAL Codex CLI against the scripted model server, the GitHub stand-in reporting a failed
check (with its log) on the PR's head. The operator edits the pack's folder while the run is
under way and the run continues as new: the fix stage still reads the pack the run was created
with, and the agent gets the failing check's log quoted below the stage's instructions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from contracts import (
    AgentStepRequest,
    AutoPlan,
    Engine,
    ReconcileRequest,
    ReviewRequest,
    ReviewState,
    RunMode,
    RunSpec,
    RunStart,
)
from contracts.states import RunState
from skills.catalog import BUILT_IN, load_pack
from standins.github_api import FakeGitHub
from standins.model_server import ScriptedModelServer, run_command, say
from starter.client import RunClient
from tests.agent_steps import ADD_MULTIPLY, CODEX, codex_worker
from tests.operator_steps import BODY, TITLE, TOKEN, approve, ok
from tests.run_env import Env, new_run_id
from tests.skills.test_staged_runs import contract
from tests.workflows.test_continue_as_new import wait_for
from workflows.run import IntegrationRunWorkflow

pytestmark = pytest.mark.skipif(
    not CODEX.exists(), reason=f"codex is not installed at {CODEX} (run `make agents`)"
)

THRESHOLD = 150  # history events after which the run continues as new
FIX = "python3 -c \"open('calc.py','a').write('\\n# multiply handles floats too\\n')\""
CHECK_LOG = "FAILED test_calc.py::test_multiply_floats - assert 6.0 == 6.25"
EDITED = "EDITED AFTER THE RUN STARTED"


async def test_the_fix_stage_reads_the_failing_check_with_the_pinned_pack(
    env: Env, github: FakeGitHub, client: Client, tmp_path: Path
) -> None:
    # The operator's own copy of change@v1, which they will edit while the run is under way.
    packs = tmp_path / "packs"
    shutil.copytree(BUILT_IN / "change" / "v1", packs / "change" / "v1")
    codex_worker(env, tmp_path)
    env.reconfigure(github_token=SecretStr(TOKEN), github_api_url=github.base_url, skills_dir=packs)
    pack = load_pack("change@v1", packs)
    assert pack.ref.source == "operator"
    runs = RunClient(client, env.settings)
    steps = [
        say(contract()),  # discover
        run_command(ADD_MULTIPLY),  # implement
        run_command("python3 -m pytest -q"),
        say("Added multiply; tests pass.\nSTATUS: PASS"),
        run_command(FIX),  # fix
        run_command("python3 -m pytest -q"),
        say("Fixed the failing check; tests pass.\nSTATUS: PASS"),
    ]
    with ScriptedModelServer(steps) as server:
        overrides = [arg for arg in server.codex_args() if arg != "-c"]
        run_id = new_run_id()
        step = AgentStepRequest(
            engine=Engine.CODEX,
            prompt=pack.manifest.summary,
            codex_config=overrides,
            skip_network_check=True,
        )
        spec = RunSpec(
            run_id=run_id,
            owner="demo",
            repo="calc",
            prompt_version="v1",
            mode=RunMode.AUTO,
            auto=AutoPlan(step=step, commit_title=TITLE, pr_body=BODY),
            skills=pack.ref.model_copy(update={"stages": list(pack.manifest.stages)}),
        )
        await client.start_workflow(
            IntegrationRunWorkflow.run,
            RunStart(spec=spec, continue_as_new_after=THRESHOLD),
            id=run_id,
            task_queue=env.settings.task_queue,
        )
        pushed = await wait_for(
            runs,
            run_id,
            lambda r: (
                r.state in (RunState.NEEDS_HUMAN_REVIEW, RunState.FAILED_RETRYABLE)
                or (r.state == RunState.PUSHED and r.pr_request)
            ),
            timeout=240,
        )
        assert pushed.state == RunState.PUSHED, pushed.history[-3:]  # type: ignore[attr-defined]
        shown = json.loads(ok(env.cli("show-pr-request", "--run-id", run_id, "--json")))
        ok(approve(env, run_id, shown, "--confirm"))
        record = await runs.get_run(run_id)
        assert record.state == RunState.CI_WAIT

        # The operator edits the pack's folder; then the run continues as new.
        fix_md = packs / "change" / "v1" / "fix.md"
        fix_md.write_text(fix_md.read_text() + f"\n{EDITED}\n")
        handle = client.get_workflow_handle(run_id)
        first_execution = (await handle.describe()).run_id
        for _ in range(200):
            if (await handle.describe()).run_id != first_execution:
                break
            await runs.send(
                run_id,
                IntegrationRunWorkflow.record_review,
                ReviewRequest(review_state=ReviewState.COMMENTED),
            )
        else:
            raise AssertionError("the run never continued as new")

        # CI fails on the head, with its log; the run iterates with the pack's fix stage.
        github.set_check_run(
            "demo", "calc", record.head_sha or "", "tests", conclusion="failure",
            title="1 failed", output_text=CHECK_LOG,
        )  # fmt: skip
        await runs.send(run_id, IntegrationRunWorkflow.reconcile_github, ReconcileRequest())
        done = await wait_for(
            runs,
            run_id,
            lambda r: (
                r.iterations == 1
                and r.state
                in (RunState.CI_WAIT, RunState.NEEDS_HUMAN_REVIEW, RunState.FAILED_RETRYABLE)
            ),
            timeout=240,
        )
    assert done.state == RunState.CI_WAIT, done.history[-3:]  # type: ignore[attr-defined]
    # The run still names the pack it was created with, checksum and all.
    assert done.skills.sha256 == pack.ref.sha256  # type: ignore[attr-defined]
    stages = [(s.stage, s.verdict) for s in done.stage_outcomes]  # type: ignore[attr-defined]
    assert stages == [("discover", "PASS"), ("implement", "PASS"), ("fix", "PASS")]
    # The fix stage: its instructions from the pinned pack (not the edited folder), the
    # failing check and its log quoted as data, the approved contract in the task packet.
    fix_request = next(json.dumps(r) for r in server.requests if "Stage: fix" in json.dumps(r))
    assert EDITED not in fix_request
    assert CHECK_LOG in fix_request and "check tests failure" in fix_request
    workspace = Path(done.workspace.path)  # type: ignore[attr-defined]
    packet = json.loads((workspace / ".agentpr_runtime" / "task-packet.json").read_text())
    assert packet["stage"] == "fix" and packet["contract"]["plan"]["target_files"] == ["calc.py"]
    assert packet["skill_pack"]["sha256"] == pack.ref.sha256
    # The fix was pushed as a new commit on the PR's branch, never force-pushed.
    assert done.head_sha != record.head_sha  # type: ignore[attr-defined]
