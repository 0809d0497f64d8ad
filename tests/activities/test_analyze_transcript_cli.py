"""`agentpr analyze-transcript` on the 14 real transcripts, as an operator runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.run_env import agentpr_command
from tests.transcript_cases import CASES, FIXTURES, Case


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*agentpr_command(), "analyze-transcript", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name[:40] for c in CASES])
def test_cli_verdict_on_real_transcript(case: Case) -> None:
    path = FIXTURES / case.name
    if not path.exists():
        pytest.skip(f"real transcripts not present at {FIXTURES} (../shared is not checked out)")
    result = analyze(
        str(path),
        "--engine",
        "codex",
        "--exit-code",
        "0",
        "--changed-files",
        str(case.changed_files),
        "--added-lines",
        str(case.added_lines),
        "--state",
        case.state.value,
        "--workspace",
        case.workspace,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["verdict"], answer["reason_code"]) == (case.verdict.value, case.reason_code)
    assert answer["evidence"]["turn_completed"] is True


def test_human_output_and_bad_input(tmp_path: Path) -> None:
    transcript = tmp_path / "events.jsonl"
    transcript.write_text(
        '{"type":"turn.started"}\nnot json\n'
        '{"type":"item.completed","item":{"id":"1","type":"command_execution",'
        '"command":"/bin/bash -c \'python3 -m pytest -q\'","aggregated_output":"1 passed",'
        '"exit_code":0,"status":"completed"}}\n'
        '{"type":"item.completed","item":{"id":"2","type":"agent_message","text":"STATUS: PASS"}}\n'
        '{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,'
        '"output_tokens":5,"reasoning_output_tokens":0}}\n'
    )
    result = analyze(str(transcript), "--changed-files", "1", "--added-lines", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("events.jsonl: PASS (tests_passed)")
    missing = analyze(str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"agentpr: transcript not found: {tmp_path / 'nope.jsonl'}"
    bad_state = analyze(str(transcript), "--state", "SOMEWHERE")
    assert bad_state.returncode == 2 and "unknown state 'SOMEWHERE'" in bad_state.stderr
