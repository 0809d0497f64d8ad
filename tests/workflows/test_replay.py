"""Replay recorded histories through today's workflow code.

A change to IntegrationRunWorkflow that would break runs already in flight (non-determinism)
fails here. The histories in tests/histories/ were recorded from real runs of an earlier version;
keep them, and add a new recording when the workflow changes shape (behind `workflow.patched`):

    AGENTPR_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_replay.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from contracts import (
    AgentStepRequest,
    CheckConclusion,
    CheckRequest,
    CommandRequest,
    ContractRequest,
    Engine,
    FinishRequest,
    GitHubEvent,
    LinkPrRequest,
    PreflightRequest,
    PrepareRequest,
    ReconcileRequest,
    ReviewRequest,
    ReviewState,
    RunSpec,
    TargetStateRequest,
)
from contracts.states import RunState
from standins.git_repos import make_remotes
from starter.client import RunClient
from tests import operator_steps
from tests.operator_steps import CODEMOD, TOKEN, approve, pushed_run, wait_for_state
from tests.run_env import Env, new_run_id
from worker import workflow_runner
from workflows.campaign import CampaignWorkflow
from workflows.run import IntegrationRunWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RECORD = os.environ.get("AGENTPR_RECORD_HISTORIES") == "1"


async def drive_scenario(runs: RunClient, finish: bool) -> str:
    """A run touching every update handler, with an idempotent repeat and a refused command."""
    run_id = new_run_id()
    await runs.create_run(RunSpec(run_id=run_id, owner="mem0ai", repo="mem0", prompt_version="v1"))
    w = IntegrationRunWorkflow
    steps = [
        (w.start_discovery, CommandRequest()),
        (w.mark_plan_ready, ContractRequest(contract_path="/c.md", contract_sha256="0" * 64)),
        (w.pause, CommandRequest(idempotency_key="p1")),
        (w.pause, CommandRequest(idempotency_key="p1")),
        (w.resume, TargetStateRequest(target_state=RunState.PLAN_READY)),
        (w.start_implementation, CommandRequest()),
        (w.mark_local_validated, CommandRequest(reason="tests green")),
        (w.pause, CommandRequest()),
        (w.resume, TargetStateRequest(target_state=RunState.PUSHED)),
        (w.link_pr, LinkPrRequest(pr_number=12)),
        (w.record_check, CheckRequest(conclusion=CheckConclusion.FAILURE)),
        (w.retry, TargetStateRequest(target_state=RunState.LOCAL_VALIDATING)),
        (w.pause, CommandRequest()),
        (w.resume, TargetStateRequest(target_state=RunState.CI_WAIT)),
        (w.record_check, CheckRequest(conclusion=CheckConclusion.SUCCESS, pr_number=12)),
        (w.record_review, ReviewRequest(review_state=ReviewState.APPROVED)),
    ]
    if finish:
        steps.append((w.mark_done, CommandRequest()))
    for update, request in steps:
        await runs.send(run_id, update, request)
    try:  # a refused command leaves no trace in history
        await runs.send(run_id, w.start_discovery, CommandRequest())
    except Exception:  # noqa: BLE001
        pass
    return run_id


def recorded_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


async def drive_steps_scenario(runs: RunClient, root: Path) -> str:
    """prepare, preflight and finish through activities, against local bare repositories."""
    remotes = make_remotes(root)
    run_id = new_run_id()
    await runs.create_run(
        RunSpec(
            run_id=run_id,
            owner="demo",
            repo="calc",
            prompt_version="v1",
            upstream_url=remotes.upstream_url,
            fork_url=remotes.fork_url,
        )
    )
    w = IntegrationRunWorkflow
    prepared = await runs.send(run_id, w.run_prepare, PrepareRequest())
    assert prepared.prepare is not None
    await runs.send(run_id, w.run_preflight, PreflightRequest(skip_network_check=True))
    Path(prepared.prepare.workspace.path, "forge.py").write_text("PROVIDER = 'forge'\n")
    await runs.send(run_id, w.pause, CommandRequest())
    await runs.send(run_id, w.resume, TargetStateRequest(target_state=RunState.LOCAL_VALIDATING))
    await runs.send(
        run_id,
        w.run_finish,
        FinishRequest(
            changes="Forge", project="calc", commit_title="feat(llm): add Forge provider"
        ),
    )
    return run_id


async def drive_agent_scenario(runs: RunClient, root: Path) -> str:
    """An agent step (command engine: a codemod and its tests) graded PASS, then finished."""
    remotes = make_remotes(root)
    run_id = new_run_id()
    await runs.create_run(
        RunSpec(
            run_id=run_id,
            owner="demo",
            repo="calc",
            prompt_version="v1",
            upstream_url=remotes.upstream_url,
            fork_url=remotes.fork_url,
        )
    )
    w = IntegrationRunWorkflow
    await runs.send(run_id, w.run_prepare, PrepareRequest())
    await runs.send(run_id, w.pause, CommandRequest())
    await runs.send(run_id, w.resume, TargetStateRequest(target_state=RunState.IMPLEMENTING))
    step = await runs.send(
        run_id,
        w.run_agent_step,
        AgentStepRequest(
            engine=Engine.COMMAND,
            skip_network_check=True,
            command="printf 'PROVIDER = 1\\n' > forge.py && python3 -m pytest -q",
            success_state=RunState.LOCAL_VALIDATING,
        ),
    )
    assert step.agent is not None and step.agent.grade.verdict == "PASS", step.agent
    await runs.send(
        run_id,
        w.run_finish,
        FinishRequest(
            changes="Forge", project="calc", commit_title="feat(llm): add Forge provider"
        ),
    )
    return run_id


async def drive_gate_scenario(env: Env, client: Client, root: Path) -> str:
    """PR gate, a webhook fact, an iteration, a reconciled merge: the GitHub half of a run."""
    import asyncio

    from standins.github_api import FakeGitHub

    remotes = make_remotes(root / "git")
    with FakeGitHub(root / "github", token=TOKEN) as github:
        github.add_repo("demo", "calc", remotes.upstream)
        run_id = pushed_run(env, github, codemod=CODEMOD)
        assert (
            approve(env, run_id, operator_steps.request(env, run_id), "--confirm").returncode == 0
        )
        pull = github.pulls("demo", "calc")[0]
        runs = RunClient(client, env.settings)
        await runs.signal_github_event(
            run_id,
            GitHubEvent(
                delivery_id="d-1",
                kind="check_run",
                repo="demo/calc",
                head_sha=pull["head"]["sha"],
                name="tests",
                conclusion=CheckConclusion.FAILURE,
                detail="1 failed",
            ),
        )
        await runs.send(
            run_id,
            IntegrationRunWorkflow.retry,
            TargetStateRequest(target_state=RunState.ITERATING),
        )
        await asyncio.to_thread(wait_for_state, env, run_id, {"CI_WAIT"})
        github.merge_pull("demo", "calc", pull["number"])
        await runs.send(run_id, IntegrationRunWorkflow.reconcile_github, ReconcileRequest())
        assert (await runs.get_run(run_id)).state == RunState.DONE
    return run_id


async def drive_model_scenario(env: Env, client: Client, root: Path) -> str:
    """The optional model (issue 15): a reviewed PASS, a maintainer's review the model reads
    as a fix before the iteration, then a merge."""
    import asyncio

    from pydantic import SecretStr

    from standins.chat_completions import API_KEY, MODEL, ScriptedChatServer, answer, by_schema
    from standins.github_api import FakeGitHub

    remotes = make_remotes(root / "git")
    responder = by_schema(
        {
            "review": answer({"verdict": "agree", "reasons": []}),
            "reply": answer({"kind": "fix", "reasons": ["asks for a change"], "draft_reply": ""}),
        }
    )
    with (
        ScriptedChatServer(default=responder) as model,
        FakeGitHub(root / "github", token=TOKEN) as github,
    ):
        github.add_repo("demo", "calc", remotes.upstream)
        run_id = pushed_run(
            env,
            github,
            codemod=CODEMOD,
            llm_base_url=model.base_url,
            llm_model=MODEL,
            llm_api_key=SecretStr(API_KEY),
        )
        assert (
            approve(env, run_id, operator_steps.request(env, run_id), "--confirm").returncode == 0
        )
        pull = github.pulls("demo", "calc")[0]
        runs = RunClient(client, env.settings)
        await runs.signal_github_event(
            run_id,
            GitHubEvent(
                delivery_id="d-2",
                kind="review",
                repo="demo/calc",
                review_state=ReviewState.CHANGES_REQUESTED,
                review_id=7,
                author="demo",
                author_association="OWNER",
                detail="This belongs in a plugin rather than in core.",
            ),
        )
        await asyncio.to_thread(wait_for_state, env, run_id, {"ITERATING"})
        await runs.send(
            run_id,
            IntegrationRunWorkflow.retry,
            TargetStateRequest(target_state=RunState.ITERATING),
        )
        await asyncio.to_thread(wait_for_state, env, run_id, {"CI_WAIT"})
        github.merge_pull("demo", "calc", pull["number"])
        await runs.send(run_id, IntegrationRunWorkflow.reconcile_github, ReconcileRequest())
        record = await runs.get_run(run_id)
        assert record.state == RunState.DONE
        assert record.reply_classification is not None
        assert record.reply_classification.kind == "fix"
        assert model.schema_names().count("review") == 2  # the step and the iteration
    return run_id


async def save_history(client: Client, run_id: str, name: str) -> None:
    history = await client.get_workflow_handle(run_id).fetch_history()
    path = HISTORIES / f"{name}.json"
    path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")


@pytest.mark.skipif(not RECORD, reason="set AGENTPR_RECORD_HISTORIES=1 to record new histories")
async def test_record_histories(client: Client, env: Env, tmp_path: Path) -> None:
    runs = RunClient(client, env.settings)
    if not (HISTORIES / "run_done_v1.json").exists():
        for name, finish in (("run_in_flight_v1", False), ("run_done_v1", True)):
            await save_history(client, await drive_scenario(runs, finish), name)
    env.reconfigure(git_author_name="Ops", git_author_email="ops@example.com")
    runs = RunClient(client, env.settings)
    if not (HISTORIES / "run_steps_v2.json").exists():
        await save_history(client, await drive_steps_scenario(runs, tmp_path), "run_steps_v2")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.reconfigure(agent_env={"PATH": path})
    runs = RunClient(client, env.settings)
    if not (HISTORIES / "run_agent_step_v3.json").exists():
        await save_history(
            client, await drive_agent_scenario(runs, tmp_path / "agent"), "run_agent_step_v3"
        )
    if not (HISTORIES / "run_github_v4.json").exists():
        await save_history(
            client, await drive_gate_scenario(env, client, tmp_path / "gate"), "run_github_v4"
        )
    if not (HISTORIES / "run_model_v6.json").exists():
        await save_history(
            client, await drive_model_scenario(env, client, tmp_path / "model"), "run_model_v6"
        )
    if not (HISTORIES / "campaign_auto_v5.json").exists():
        campaign_id, run_id = await drive_campaign_scenario(env, client, tmp_path / "campaign")
        await save_history(client, campaign_id, "campaign_auto_v5")
        await save_history(client, run_id, "run_auto_v5")


async def drive_campaign_scenario(env: Env, client: Client, root: Path) -> tuple[str, str]:
    """A one-repository campaign: the auto-mode run drives itself to PUSHED."""
    from contracts import AutoPlan, CampaignRepo, CampaignSpec, CampaignStart
    from starter.client import CampaignClient
    from workflows.campaign import campaign_run_id, campaign_workflow_id

    remotes = make_remotes(root / "git")
    repo = CampaignRepo(
        owner="demo", repo="calc", upstream_url=remotes.upstream_url, fork_url=remotes.fork.as_uri()
    )
    name = f"replay-{new_run_id()[2:8]}"
    plan = AutoPlan(
        step=AgentStepRequest(
            engine=Engine.COMMAND,
            skip_network_check=True,
            command="printf 'PROVIDER = 1\\n' > forge.py",
        )
    )
    campaigns = CampaignClient(client, env.settings)
    await campaigns.start(CampaignStart(spec=CampaignSpec(name=name, repos=[repo], plan=plan)))
    for _ in range(240):
        status = await campaigns.status(name)
        if status.counts.get("PUSHED") == 1:
            break
        await asyncio.sleep(0.5)
    assert status.counts == {"PUSHED": 1}, status.counts
    return campaign_workflow_id(name), campaign_run_id(name, repo)


def test_recorded_histories_exist() -> None:
    names = [path.name for path in recorded_histories()]
    assert {
        "run_in_flight_v1.json",
        "run_done_v1.json",
        "run_steps_v2.json",
        "run_agent_step_v3.json",
        "run_github_v4.json",
        "campaign_auto_v5.json",
        "run_auto_v5.json",
    } <= set(names)


@pytest.mark.parametrize("path", recorded_histories(), ids=lambda p: p.name)
async def test_recorded_history_replays_with_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[IntegrationRunWorkflow, CampaignWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    history = WorkflowHistory.from_json("recorded", path.read_text())
    await replayer.replay_workflow(history)


async def test_fresh_history_replays(client: Client, env: Env) -> None:
    """Today's code replays its own history (catches non-determinism inside one version)."""
    run_id = await drive_scenario(RunClient(client, env.settings), finish=True)
    history = await client.get_workflow_handle(run_id).fetch_history()
    replayer = Replayer(
        workflows=[IntegrationRunWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
