"""Bad input: one line on stderr, exit 2 for usage errors and 1 for refusals, no traceback,
and the run's state untouched."""

from __future__ import annotations

import json

import pytest

from tests.operator_steps import created_run
from tests.run_env import Env, free_port


def one_line_error(result, code: int) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def history(env: Env, run_id: str) -> list[str]:
    shown = env.cli("show-run", "--run-id", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return [h["command"] for h in json.loads(shown.stdout)["history"]]


@pytest.fixture
def run_id(env: Env) -> str:
    return created_run(env)


@pytest.mark.parametrize(
    ("owner", "repo", "expected"),
    [
        ("-mem0ai", "mem0", "invalid GitHub owner '-mem0ai'"),
        ("mem0--ai", "mem0", "invalid GitHub owner 'mem0--ai'"),
        ("a" * 40, "mem0", "invalid GitHub owner"),
        ("mem0ai", "mem 0", "invalid GitHub repository name 'mem 0'"),
        ("mem0ai", "..", "invalid GitHub repository name '..'"),
        ("mem0ai", "mem0.git", "invalid GitHub repository name 'mem0.git'"),
    ],
)
def test_owner_and_repo_follow_github_naming_rules(
    env: Env, owner: str, repo: str, expected: str
) -> None:
    result = env.cli("create-run", "--owner", owner, "--repo", repo, "--prompt-version", "v1")
    assert expected in one_line_error(result, 2)


def test_bad_run_id_is_a_usage_error(env: Env) -> None:
    result = env.cli(
        "create-run",
        "--owner",
        "o",
        "--repo",
        "r",
        "--prompt-version",
        "v1",
        "--run-id",
        "has space",
    )
    assert "invalid run id 'has space'" in one_line_error(result, 2)


def test_missing_option_is_one_line(env: Env) -> None:
    line = one_line_error(env.cli("create-run", "--owner", "mem0ai"), 2)
    assert line == "agentpr create-run: Missing option '--repo'. (see --help)"


def test_unknown_run_id(env: Env) -> None:
    line = one_line_error(env.cli("pause", "--run-id", "no_such_run"), 1)
    assert line == "agentpr: no run with id 'no_such_run' (see `agentpr list-runs`)"
    line = one_line_error(env.cli("show-run", "--run-id", "no_such_run"), 1)
    assert "no run with id 'no_such_run'" in line


def test_duplicate_run_id_is_refused_and_the_first_run_untouched(env: Env, run_id: str) -> None:
    result = env.cli(
        "create-run",
        "--owner",
        "other",
        "--repo",
        "thing",
        "--prompt-version",
        "v9",
        "--run-id",
        run_id,
    )
    assert one_line_error(result, 1) == (
        f"agentpr: run '{run_id}' already exists; pick another --run-id"
    )
    shown = json.loads(env.cli("show-run", "--run-id", run_id, "--json").stdout)
    assert (shown["owner"], shown["repo"], shown["prompt_version"]) == ("mem0ai", "mem0", "v1")


def test_unknown_state_name(env: Env, run_id: str) -> None:
    env.cli("pause", "--run-id", run_id)
    line = one_line_error(env.cli("resume", "--run-id", run_id, "--target-state", "PLANNED"), 2)
    assert line.startswith("agentpr: --target-state: unknown state 'PLANNED'; states are QUEUED,")
    line = one_line_error(env.cli("list-runs", "--state", "nope"), 2)
    assert "unknown state 'nope'" in line
    assert history(env, run_id) == ["create-run", "pause"]


def test_missing_contract_file(env: Env, run_id: str) -> None:
    env.cli("start-discovery", "--run-id", run_id)
    line = one_line_error(
        env.cli("mark-plan-ready", "--run-id", run_id, "--contract-path", "missing.md"), 2
    )
    assert line == "agentpr: contract file not found: missing.md"
    assert history(env, run_id) == ["create-run", "start-discovery"]


def test_bad_enum_and_number_values(env: Env, run_id: str) -> None:
    line = one_line_error(env.cli("record-check", "--run-id", run_id, "--conclusion", "green"), 2)
    assert "'green' is not one of" in line
    line = one_line_error(env.cli("link-pr", "--run-id", run_id, "--pr-number", "0"), 2)
    assert "--pr-number" in line
    line = one_line_error(env.cli("list-runs", "--repo", "justaname"), 2)
    assert line == "agentpr: --repo must be OWNER/REPO, got 'justaname'"
    assert history(env, run_id) == ["create-run"]


def test_finished_run_refuses_commands(env: Env, run_id: str) -> None:
    env.cli("pause", "--run-id", run_id)
    assert env.cli("resume", "--run-id", run_id, "--target-state", "SKIPPED").returncode == 0
    line = one_line_error(env.cli("start-discovery", "--run-id", run_id), 1)
    assert line == f"agentpr: run {run_id} is finished (SKIPPED); no command applies"


def test_unreachable_server(env: Env) -> None:
    address = f"127.0.0.1:{free_port()}"
    env.extra["TEMPORAL_ADDRESS"] = address
    expected = (
        f"agentpr: cannot reach Temporal at {address} — start it with `agentpr server` or `make up`"
    )
    for args in (
        ("create-run", "--owner", "o", "--repo", "r", "--prompt-version", "v1"),
        ("pause", "--run-id", "x"),
        ("show-run", "--run-id", "x"),
        ("list-runs",),
    ):
        assert one_line_error(env.cli(*args), 1) == expected


def test_command_without_a_worker_says_so(env: Env, run_id: str) -> None:
    env.stop_worker()
    env.extra["AGENTPR_ANSWER_TIMEOUT_S"] = "2"
    line = one_line_error(env.cli("pause", "--run-id", run_id), 1)
    assert f"run {run_id} did not answer in 2s — is a worker running" in line
    line = one_line_error(env.cli("show-run", "--run-id", run_id), 1)
    assert f"run {run_id}" in line and "worker" in line
