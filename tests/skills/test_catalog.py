"""Skill packs: found, validated, checksummed and pinned as runs will load them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from contracts.skills import parse_pack_label
from skills.catalog import BUILT_IN, SkillPackError, list_packs, load_pack, pinned_pack
from tests.run_env import agentpr_command


def test_the_built_in_packs_are_valid() -> None:
    packs, problems = list_packs(None)
    assert problems == []
    assert {p.ref.label for p in packs} >= {"forge@v1", "change@v1"}
    forge = load_pack("forge@v1", None)
    assert list(forge.manifest.stages) == ["discover", "implement", "fix"]
    assert forge.manifest.stages["discover"].read_only
    assert "FORGE_API_KEY" in forge.read("reference/forge.md")
    assert "api.forge.tensorblock.co/v1" in forge.instructions("implement")
    assert forge.manifest.options["about_forge"].default is True


@pytest.mark.parametrize(
    ("label", "default", "parsed"),
    [("forge@v1", None, ("forge", "v1")), ("forge", "v2", ("forge", "v2")),
     (" change@v1.1 ", None, ("change", "v1.1"))],
)  # fmt: skip
def test_labels(label: str, default: str | None, parsed: tuple[str, str]) -> None:
    assert parse_pack_label(label, default) == parsed


@pytest.mark.parametrize("label", ["forge", "Forge@v1", "forge@1", "../x@v1", "forge@v1/.."])
def test_bad_labels_are_one_line_errors(label: str) -> None:
    with pytest.raises(SkillPackError) as err:
        load_pack(label, None)
    assert "\n" not in str(err.value)


def copy_pack(tmp_path: Path, name: str = "forge", version: str = "v1") -> Path:
    target = tmp_path / "packs" / name / version
    shutil.copytree(BUILT_IN / "forge" / "v1", target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest.update(name=name, version=version)
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_an_operator_pack_shadows_the_built_in_one(tmp_path: Path) -> None:
    target = copy_pack(tmp_path)
    (target / "implement.md").write_text("our own words\n")
    pack = load_pack("forge@v1", tmp_path / "packs")
    assert pack.ref.source == "operator" and pack.instructions("implement") == "our own words\n"
    assert pack.ref.sha256 != load_pack("forge@v1", None).ref.sha256


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "manifest.json").write_text("{"), "manifest.json: manifest: Invalid JSON"),
        (lambda p: (p / "fix.md").unlink(), "forge@v1: missing fix.md"),
        (
            lambda p: (p / "manifest.json").write_text(
                json.dumps({"name": "forge", "version": "v1", "summary": "s", "stages": {}})
            ),
            "a skill pack needs an `implement` stage",
        ),
        (
            lambda p: (p / "manifest.json").write_text(
                json.dumps(
                    {
                        "name": "forge",
                        "version": "v1",
                        "summary": "s",
                        "stages": {"implement": {"instructions": "../../etc/passwd"}},
                    }
                )
            ),
            "is not a relative path inside the pack",
        ),  # fmt: skip
    ],
)
def test_broken_packs_are_named_not_loaded(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    target = copy_pack(tmp_path)
    damage(target)
    packs, problems = list_packs(tmp_path / "packs")
    assert len(problems) == 1 and message in problems[0], problems
    assert [p.ref.source for p in packs if p.ref.label == "forge@v1"] == ["built-in"]


def test_a_pack_in_the_wrong_folder_is_refused(tmp_path: Path) -> None:
    target = copy_pack(tmp_path, version="v2")
    shutil.move(target, target.with_name("v3"))
    with pytest.raises(SkillPackError, match="says forge@v2 but lives in forge/v3"):
        load_pack("forge@v3", tmp_path / "packs")


def test_a_run_s_pack_never_changes_under_it(tmp_path: Path) -> None:
    target = copy_pack(tmp_path, version="v7")
    operator = tmp_path / "packs"
    ref = load_pack("forge@v7", operator).ref
    snapshots = tmp_path / "home" / "skill-packs"
    first = pinned_pack(ref, operator, snapshots)
    assert first.ref.sha256 == ref.sha256 and first.root.is_relative_to(snapshots)
    # Edited after the run's first stage: the run keeps reading its snapshot.
    (target / "implement.md").write_text("changed\n")
    again = pinned_pack(ref, operator, snapshots)
    assert again.instructions("implement") == first.instructions("implement") != "changed\n"
    # A pack edited before a run's first stage is refused, with what to do.
    other = ref.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(SkillPackError, match="changed since the run was created"):
        pinned_pack(other, operator, snapshots)


def test_cli_lists_and_shows_packs(tmp_path: Path) -> None:
    env = {"AGENTPR_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    listed = subprocess.run(
        [*agentpr_command(), "skills", "list", "--json"], env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    labels = [p["label"] for p in json.loads(listed.stdout)["packs"]]
    assert "forge@v1" in labels and "change@v1" in labels
    shown = subprocess.run(
        [*agentpr_command(), "skills", "show", "forge@v1", "--stage", "discover"], env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0 and "--- reference/scenarios.md ---" in shown.stdout
    missing = subprocess.run(
        [*agentpr_command(), "skills", "show", "forge@v9"], env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip() == "agentpr: no skill pack forge@v9 (known: change@v1, forge@v1)"
