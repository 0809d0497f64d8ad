"""`.env` in the working directory: read at start, filling only unset variables; a bad line is
one error naming the file and line, never the value."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from common.env_file import EnvFileError, load_env_file, parse_env_file
from tests.run_env import agentpr_command


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("A=plain", "plain"),
        ("export A=exported", "exported"),
        ("A = spaced ", "spaced"),
        ("A=with # a comment", "with"),
        ("A=hash#inside", "hash#inside"),
        ("A='single $HOME \\n'", "single $HOME \\n"),
        ('A="double \\"q\\" \\n end"', 'double "q" \n end'),
        ('A="quoted" # comment', "quoted"),
        ("A=", ""),
        ("A=x=y", "x=y"),
    ],
)  # fmt: skip
def test_values(line: str, value: str) -> None:
    assert parse_env_file(f"# a comment\n\n{line}\n") == {"A": value}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nno equals sign\n", ".env:2: expected NAME=value"),
        ("1A=x\n", ".env:1: expected NAME=value"),
        ('A="ghp_secretvalue\n', '.env:1: the value\'s " quote is never closed'),
        ("A='x' trailing\n", ".env:1: text after the closing quote"),
    ],
)  # fmt: skip
def test_bad_lines_name_the_line_not_the_value(text: str, message: str) -> None:
    with pytest.raises(EnvFileError) as raised:
        parse_env_file(text)
    assert str(raised.value) == message and "ghp_" not in str(raised.value)


def test_only_unset_variables_are_filled(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SET_BEFORE=from-file\nNEW_ONE=from-file\n")
    environ = {"SET_BEFORE": "from-shell"}
    assert load_env_file(tmp_path, environ) == ["NEW_ONE"]
    assert environ == {"SET_BEFORE": "from-shell", "NEW_ONE": "from-file"}
    assert load_env_file(tmp_path / "absent", environ) == []
    assert load_env_file(tmp_path, {"AGENTPR_ENV_FILE": "0"}) == []


def agentpr(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    home = cwd / "home"
    return subprocess.run(
        [*agentpr_command(), *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "AGENTPR_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_reads_dot_env_where_it_starts(tmp_path: Path) -> None:
    packs = tmp_path / "my-packs"
    packs.mkdir()
    (tmp_path / ".env").write_text(f"AGENTPR_SKILLS_DIR={packs}\nAGENTPR_AGENT_SLOTS=0\n")
    # A value from .env is read (and checked like any setting) …
    bad = agentpr(tmp_path, "skills", "list")
    assert bad.returncode == 2 and "AGENTPR_AGENT_SLOTS: expected at least 1" in bad.stderr
    # … unless the environment sets it.
    good = agentpr(tmp_path, "skills", "list", "--json", AGENTPR_AGENT_SLOTS="2")
    assert good.returncode == 0, good.stderr
    assert "forge@v1" in good.stdout or '"forge"' in good.stdout
    (tmp_path / ".env").write_text("AGENTPR_GITHUB_TOKEN=ghp_x\nnot a setting\n")
    broken = agentpr(tmp_path, "skills", "list")
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert broken.stderr.strip() == f"agentpr: {tmp_path / '.env'}:2: expected NAME=value"
