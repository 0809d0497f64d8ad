"""The campaign spec file: the flags of `campaign start` and the YAML make the same spec, and a
wrong file is told line by line (no traceback, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import SpecError
from contracts.campaign_spec import CampaignSpecFile
from starter.cli.app import run_cli
from starter.spec_file import load_spec, parse_spec, spec_yaml

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "forge-wave-1.yaml"


def errors_of(text: str, base: Path = Path("/tmp")) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "w.yaml", base)
    return caught.value.lines


def flags_spec(capsys: pytest.CaptureFixture[str], *flags: str) -> CampaignSpecFile:
    code = run_cli(["campaign", "start", *flags, "--print-spec", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return CampaignSpecFile.model_validate(json.loads(out.out))


def test_the_flags_and_the_yaml_make_the_same_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repos.txt").write_text("demo/calc0\n")
    (tmp_path / "task.md").write_text("Add the Forge provider.\n")
    (tmp_path / "body.md").write_text("Adds Forge to {repo} ({language}).\n")
    monkeypatch.chdir(tmp_path)
    from_flags = flags_spec(
        capsys,
        "--name",
        "forge-wave-1",
        "--repos-file",
        "repos.txt",
        "--exclude",
        "legacy$",
        "--prompt-file",
        "task.md",
        "--engine",
        "claude",
        "--codex-model",
        "sonnet",
        "--validation-command",
        "pytest -q",
        "--commit-title",
        "feat: add the Forge provider to {repo}",
        "--pr-title",
        "feat: Forge for {owner}/{repo}",
        "--pr-body-file",
        "body.md",
        "--no-draft",
        "--max-parallel",
        "8",
        "--max-prs-per-owner",
        "2",
        "--max-minutes",
        "30",
        "--ignore-policy",
        "maintainers asked for it",
    )
    spec_file = tmp_path / "wave.yaml"
    spec_file.write_text(
        """\
name: forge-wave-1
targets:
  repos_file: repos.txt
  exclude: ["legacy$"]
prompt_file: task.md
engine: claude
model: sonnet
validation_command: pytest -q
commit:
  title: "feat: add the Forge provider to {repo}"
pr:
  title: "feat: Forge for {owner}/{repo}"
  body_file: body.md
  draft: false
rollout: {max_parallel: 8, max_prs_per_owner: 2}
budget: {max_minutes_per_step: 30}
policy: {ignore: maintainers asked for it}
"""
    )
    assert load_spec(spec_file) == from_flags
    # What --print-spec writes reads back as the same spec.
    printed = tmp_path / "printed.yaml"
    printed.write_text(spec_yaml(from_flags))
    assert load_spec(printed) == from_flags


ROLLOUT_AND_BUDGET_FLAGS = (
    *("--prs-per-hour", "6", "--timezone", "Europe/Berlin", "--failure-threshold", "5/10"),
    *("--window", "mon-thu 09:00-17:00", "--window", "fri-mon 22:00-24:00"),
    *("--max-cost-usd", "150", "--max-cost-usd-per-run", "3"),
)
ROLLOUT_AND_BUDGET_YAML = """\
name: w
targets: {org: forge-org}
rollout:
  prs_per_hour: 6
  timezone: Europe/Berlin
  windows:
    - {days: [mon, tue, wed, thu], start: "09:00", end: "17:00"}
    - {days: [fri, sat, sun, mon], start: "22:00", end: "00:00"}
  failure_threshold: {recent: 10, max_failures: 5}
budget: {max_cost_usd_per_run: 3, max_cost_usd: 150}
"""


def test_the_rollout_and_budget_flags_make_the_spec_the_yaml_makes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    flags = ("--name", "w", "--org", "forge-org", *ROLLOUT_AND_BUDGET_FLAGS)
    from_flags = flags_spec(capsys, *flags)
    assert from_flags == parse_spec(ROLLOUT_AND_BUDGET_YAML, "w.yaml", tmp_path)
    # --print-spec's YAML, as `campaign apply -f` reads it, is the same spec again.
    assert run_cli(["campaign", "start", *flags, "--print-spec"]) == 0
    printed = tmp_path / "printed.yaml"
    printed.write_text(capsys.readouterr().out)
    assert load_spec(printed) == from_flags
    assert "start: 09:00" in printed.read_text()  # a default window is written out whole


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ("--max-cost-usd", "abc"),
            "Invalid value for '--max-cost-usd': Input should be a valid number",
        ),
        (("--max-cost-usd", "0"), "--max-cost-usd: Input should be greater than 0"),
        (("--max-cost-usd-per-run", "-1"), "--max-cost-usd-per-run: Input should be greater"),
        (("--prs-per-hour", "0"), "--prs-per-hour: Input should be greater than 0"),
        (("--timezone", "Mars/Base"), "--timezone: unknown time zone 'Mars/Base'"),
        (("--window", "mon-fri"), "--window 'mon-fri': expected DAYS HH:MM-HH:MM, e.g."),
        (("--window", "mo-fr 09:00-17:00"), "--window 'mo-fr 09:00-17:00': unknown day in"),
        (("--window", "mon 9:00-25:00"), "--window 'mon 9:00-25:00': '25:00' is not a time"),
        (("--failure-threshold", "5"), "--failure-threshold '5': expected MAX/RECENT, e.g. 5/10"),
        (("--failure-threshold", "11/10"), "--failure-threshold '11/10': MAX/RECENT needs"),
        (("--failure-threshold", "0/10"), "--failure-threshold '0/10': MAX/RECENT needs"),
    ],
)
def test_a_bad_rollout_or_budget_flag_is_one_line(
    capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], expected: str
) -> None:
    code = run_cli(["campaign", "start", "--name", "w", "--org", "o", *flags, "--print-spec"])
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    (line,) = out.err.splitlines()
    assert expected in line


def test_the_default_flags_are_the_default_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    from_flags = flags_spec(capsys, "--name", "w", "--org", "forge-org")
    assert from_flags == parse_spec("name: w\ntargets: {org: forge-org}\n", "w.yaml", tmp_path)


def test_the_example_spec_loads() -> None:
    spec = load_spec(EXAMPLE)
    assert spec.name == "forge-wave-1"
    assert "{repo}" in (spec.pr.title or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: w\ntargets:\n  org: acme\n  colour: blue\n",
            ["w.yaml:4: targets.colour: unknown key"],
        ),
        ("name: w\n", ["w.yaml:1: targets: missing"]),
        (
            "name: w\ntargets: {org: acme}\npr:\n  title: 'feat: {lang}'\n",
            [
                "w.yaml:4: pr.title: unknown template variable {lang} (known: {owner}, {repo}, "
                "{default_branch}, {language})"
            ],
        ),
        # In a block scalar, the line of the variable itself.
        (
            "name: w\ntargets: {org: acme}\npr:\n  body: |\n    Hello {owner}.\n\n    On {branch}.\n",
            [
                "w.yaml:7: pr.body: unknown template variable {branch} (known: {owner}, {repo}, "
                "{default_branch}, {language})"
            ],
        ),
        (
            "name: w\ntargets: {org: acme}\nrollout:\n  max_parallel: 0\nengine: cobol\n",
            [
                "w.yaml:4: rollout.max_parallel: Input should be greater than or equal to 1",
                "w.yaml:5: engine: Input should be 'codex', 'claude' or 'command'",
            ],
        ),
        (
            "name: w\ntargets:\n  org: acme\n  repos_file: r.txt\n",
            ["w.yaml:2: targets: give repos_file or org/topic/search, not both"],
        ),
        ("name: w\nname: v\ntargets: {org: a}\n", ["w.yaml:2: name: given twice"]),
        (
            "name: w\ntargets: [\n",
            ["w.yaml:3: not YAML: expected the node content, but found '<stream end>'"],
        ),
        ("- a\n- b\n", ["w.yaml:1: a campaign spec is a mapping (name:, targets:, …)"]),
        ("", ["w.yaml:1: a campaign spec is a mapping (name:, targets:, …)"]),
        (
            "name: w\ntargets: {org: a}\ncommit: {title: add things}\n",
            [
                "w.yaml:3: commit.title: commit title 'add things' is not a conventional commit: "
                "use 'type(scope): summary' with type one of feat, fix, docs, style, refactor, "
                "perf, test, build, ci, chore, revert"
            ],
        ),
    ],
)
def test_a_wrong_spec_is_told_line_by_line(text: str, expected: list[str]) -> None:
    assert errors_of(text) == expected


def test_relative_paths_are_the_spec_files_folder(tmp_path: Path) -> None:
    spec = parse_spec("name: w\ntargets: {repos_file: r.txt}\n", "w.yaml", tmp_path)
    assert spec.targets.repos_file == str(tmp_path.resolve() / "r.txt")


def test_the_cli_prints_one_line_per_error_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: w\ntargets: {org: a}\npr: {title: 'feat: {x}'}\nrollout: {max_parallel: 0}\n"
    )
    code = run_cli(["campaign", "apply", "-f", str(bad), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert [line.split(": ")[1] for line in err.splitlines()] == [
        f"{bad}:3",
        f"{bad}:4",
    ]
