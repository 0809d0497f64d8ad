"""init-db and doctor through the CLI."""

from __future__ import annotations

import json

from tests.run_env import Env, free_port


def test_init_db_creates_the_data_dir_and_says_attributes_are_registered(env: Env) -> None:
    env.extra["AGENTPR_HOME"] = str(env.settings.home / "fresh")
    result = env.cli("init-db")
    assert result.returncode == 0, result.stderr
    assert (env.settings.home / "fresh").is_dir()
    lines = result.stdout.splitlines()
    assert lines[0] == f"data directory {env.settings.home / 'fresh'} ready"
    assert lines[1] == (
        f"search attributes already registered on {env.settings.temporal_address} "
        "namespace 'default'"
    )


def test_init_db_without_a_server(env: Env) -> None:
    env.extra["TEMPORAL_ADDRESS"] = address = f"127.0.0.1:{free_port()}"
    result = env.cli("init-db")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"agentpr: cannot reach Temporal at {address} — start it with `agentpr server` or "
        "`make up` (`agentpr server` registers the search attributes itself)"
    )


def test_doctor_reports_every_check(env: Env) -> None:
    result = env.cli("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    by_name = {check["name"]: check for check in report["checks"]}
    assert set(by_name) == {
        "git",
        "data dir",
        "workspace root",
        "policy",
        "python",
        "codex",
        "github",
        "temporal",
        "search attributes",
        "worker",
    }
    assert by_name["git"]["detail"].startswith("git version")
    assert by_name["worker"]["status"] == "ok"
    text = env.cli("doctor").stdout
    assert "temporal" in text and "reachable at" in text


def test_doctor_fails_without_temporal_and_warns_without_worker(env: Env) -> None:
    # A queue no worker ever polled (the server remembers recent pollers for minutes).
    env.extra["AGENTPR_TASK_QUEUE"] = "nobody-polls-this-queue"
    warned = json.loads(env.cli("doctor", "--json").stdout)
    worker = next(c for c in warned["checks"] if c["name"] == "worker")
    assert warned["ok"] is True and worker["status"] == "warn"
    assert "start `agentpr worker`" in worker["detail"]
    env.extra["TEMPORAL_ADDRESS"] = f"127.0.0.1:{free_port()}"
    result = env.cli("doctor", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    temporal = next(c for c in report["checks"] if c["name"] == "temporal")
    assert report["ok"] is False and temporal["status"] == "fail"
    assert "cannot reach Temporal" in temporal["detail"]
