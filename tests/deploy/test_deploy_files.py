"""deploy/: the systemd units verify, the supervisord programs run the doctor first, the env
example covers what the units use, and the compose file holds together. Tools that may be
missing on a CI machine (systemd-analyze, the docker compose plugin, PyYAML) skip their part."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.run_env import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
ENV_EXAMPLE = DEPLOY / "agentpr.env.example"
INSTALLED = "/opt/agentpr"
# Which agentpr command each unit / supervisord program runs.
COMMANDS = {
    "server": "server",
    "worker": "worker",
    "webhook": "run-github-webhook",
    "telegram": "run-telegram-bot",
}
UNIT_ONLY = {"WEBHOOK_ARGS": "run-github-webhook", "TELEGRAM_BOT_ARGS": "run-telegram-bot"}


def unit_lines(unit: Path, key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in unit.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


def env_example() -> dict[str, str]:
    """Every variable in the example, set or commented out (`#NAME=value`)."""
    found = re.findall(r"^#?([A-Z][A-Z0-9_]+)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return {name: value.strip('"') for name, value in found}


def cli_options(command: str) -> set[str]:
    import typer

    from starter.cli.app import app

    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {opt for param in click_command.params for opt in param.opts}


# ---- systemd ---------------------------------------------------------------------------------


def test_every_program_has_a_unit() -> None:
    assert {unit.stem.removeprefix("agentpr-") for unit in UNITS} == set(COMMANDS)


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.stem)
def test_unit_runs_its_command_behind_the_doctor(unit: Path) -> None:
    command = COMMANDS[unit.stem.removeprefix("agentpr-")]
    (start,) = unit_lines(unit, "ExecStart")
    assert start.split()[:2] == [f"{INSTALLED}/.venv/bin/agentpr", command]
    # The server is the one thing the doctor checks, so it cannot be gated by it.
    expected_gate = [] if command == "server" else [f"{INSTALLED}/.venv/bin/agentpr doctor"]
    assert unit_lines(unit, "ExecStartPre") == expected_gate
    assert unit_lines(unit, "Restart") == ["on-failure"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.stem)
def test_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (not a systemd host)")
    # verify insists that ExecStart binaries exist: point the unit at this checkout's .venv.
    if not (Path(sys.prefix) / "bin" / "agentpr").exists():
        pytest.skip(f"no agentpr script in {sys.prefix}/bin to point the unit at")
    text = unit.read_text().replace(f"{INSTALLED}/.venv", sys.prefix)
    copy = tmp_path / unit.name
    copy.write_text(text.replace(INSTALLED, str(REPO_ROOT)))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    # Unknown keys and bad values are only warnings (exit 0): fail on any line about the unit.
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if unit.name in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


# ---- supervisord -----------------------------------------------------------------------------


def supervisord_programs() -> dict[str, configparser.SectionProxy]:
    config = configparser.RawConfigParser()  # supervisord's own %(…)s expansion is unused here
    config.read(DEPLOY / "supervisord" / "agentpr.conf")
    return {
        section.removeprefix("program:agentpr-"): config[section]
        for section in config.sections()
        if section.startswith("program:")
    }


def test_supervisord_programs_match_the_units() -> None:
    assert set(supervisord_programs()) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_supervisord_program_gates_on_the_doctor(name: str) -> None:
    program = supervisord_programs()[name]
    assert program["autorestart"] == "true"
    assert program["user"] == "agentpr" and program["directory"] == INSTALLED
    argv = shlex.split(program["command"])  # as supervisord splits it
    assert argv[:2] == ["sh", "-c"] and len(argv) == 3
    script = argv[2]
    subprocess.run(["sh", "-n", "-c", script], check=True)  # the shell parses it
    agentpr = f"{INSTALLED}/.venv/bin/agentpr"
    gate = "" if name == "server" else f"{agentpr} doctor && "
    assert f"; {gate}exec {agentpr} {COMMANDS[name]}" in script
    assert script.startswith("set -a; . /etc/agentpr/agentpr.env; set +a; ")


def test_supervisord_gate_stops_a_failing_start(tmp_path: Path) -> None:
    """The worker's command, run for real: Temporal is unreachable, so the doctor fails and
    the worker never starts."""
    if not (Path(sys.prefix) / "bin" / "agentpr").exists():
        pytest.skip(f"no agentpr script in {sys.prefix}/bin")
    env_file = tmp_path / "agentpr.env"
    env_file.write_text(
        f"AGENTPR_HOME={tmp_path / 'home'}\nTEMPORAL_ADDRESS=127.0.0.1:1\n"
        'WEBHOOK_ARGS="--host 127.0.0.1 --port 8787"\n'
    )
    script = shlex.split(supervisord_programs()["worker"]["command"])[2]
    script = script.replace("/etc/agentpr/agentpr.env", str(env_file)).replace(
        f"{INSTALLED}/.venv", sys.prefix
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTPR_", "TEMPORAL_"))}
    done = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot reach Temporal at 127.0.0.1:1" in done.stdout
    assert "worker started" not in done.stdout + done.stderr


# ---- the env example -------------------------------------------------------------------------


def test_env_example_has_every_setting() -> None:
    names = set(env_example())
    settings = (REPO_ROOT / "common" / "settings.py").read_text()
    read = set(re.findall(r'env\.get\("([A-Z_]+)"\)', settings))
    assert read - names == set(), "settings missing from deploy/agentpr.env.example"


def test_env_example_names_exist() -> None:
    """No invented variable: each is read by agentpr's code or used by a unit."""
    sources = "".join(
        path.read_text()
        for folder in ("common", "activities", "starter")
        for path in (REPO_ROOT / folder).rglob("*.py")
    )
    for name in env_example():
        assert f'"{name}"' in sources or name in UNIT_ONLY, f"{name} is read by nothing"


def test_unit_variables_are_in_the_example_with_real_flags() -> None:
    example = env_example()
    used = set()
    for path in [*UNITS, DEPLOY / "supervisord" / "agentpr.conf"]:
        used |= set(re.findall(r"\$([A-Z_]+)", path.read_text()))
    assert used == set(UNIT_ONLY)
    for name, command in UNIT_ONLY.items():
        flags = {word for word in shlex.split(example[name]) if word.startswith("--")}
        assert flags and flags <= cli_options(command), f"{name}: {flags}"


def test_env_example_is_valid_shell() -> None:
    """supervisord's programs source it with sh; values with spaces must survive."""
    done = subprocess.run(
        ["sh", "-c", f'set -a; . "{ENV_EXAMPLE}"; set +a; env'],
        capture_output=True,
        text=True,
        check=True,
        env={},
    )
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert seen["WEBHOOK_ARGS"] == "--host 127.0.0.1 --port 8787"
    assert seen["TEMPORAL_ADDRESS"] == "127.0.0.1:7233"


# ---- compose ---------------------------------------------------------------------------------

COMPOSE_DIR = DEPLOY / "compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"


def test_compose_services() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: see the text check below")
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgresql", "temporal", "temporal-ui", "worker"} <= set(services)
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    worker = services["worker"]
    assert worker["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert worker["command"] == ["sh", "-c", "agentpr doctor && exec agentpr worker"]
    assert (REPO_ROOT / worker["build"]["dockerfile"]).exists()
    assert worker["deploy"]["replicas"] >= 1


def test_compose_text() -> None:
    """What holds without a YAML parser: pinned images, the workers' address and image."""
    text = COMPOSE.read_text()
    images = re.findall(r"^\s+image:\s*(\S+)$", text, re.MULTILINE)
    assert len(images) >= 4
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", f"image {image} is not pinned"
    assert "TEMPORAL_ADDRESS: temporal:7233" in text
    assert re.search(r"^  worker:$", text, re.MULTILINE)
    dockerfile = (COMPOSE_DIR / "Dockerfile").read_text()
    assert "make venv" in dockerfile
    assert 'CMD ["sh", "-c", "agentpr doctor && exec agentpr worker"]' in dockerfile


def test_docker_compose_config() -> None:
    docker = shutil.which("docker")
    plugin = (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30
        ).returncode
        == 0
    )
    if not plugin:
        pytest.skip("the docker CLI with the compose plugin is not installed")
    done = subprocess.run(
        [docker, "compose", "config", "-q"],
        cwd=COMPOSE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
