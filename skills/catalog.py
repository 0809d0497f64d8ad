"""Finding, validating and pinning skill packs.

A pack is identified by name and version and pinned by a checksum over all of its files: a run
records the checksum when it is created and every stage verifies it, so editing a pack folder
never changes what a running run is told (it gets a new version, or a new run does)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from common.errors import UsageError
from contracts.skills import (
    PackManifest,
    PackSource,
    SkillPackRef,
    SkillStage,
    parse_pack_label,
)

BUILT_IN = Path(__file__).parent / "packs"
MANIFEST = "manifest.json"
MAX_PACK_BYTES = 2_000_000  # a pack is instructions and references, not data


class SkillPackError(UsageError):
    """A pack that cannot be found, read or validated: one line for the operator."""


@dataclass(frozen=True)
class SkillPack:
    manifest: PackManifest
    root: Path
    ref: SkillPackRef
    files: tuple[str, ...]  # relative paths, sorted

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def instructions(self, stage: SkillStage) -> str:
        return self.read(self.manifest.stages[stage].instructions)

    def references(self, stage: SkillStage) -> list[str]:
        return list(self.manifest.stages[stage].references)


def _pack_files(root: Path) -> tuple[str, ...]:
    files = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") or part == "__pycache__" for part in path.parts)
    ]
    return tuple(sorted(files))


def pack_checksum(root: Path, files: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for relative in files:
        digest.update(relative.encode() + b"\0")
        digest.update((root / relative).read_bytes() + b"\0")
    return digest.hexdigest()


def read_pack(root: Path, source: PackSource = "built-in") -> SkillPack:
    """The pack in folder `root`, validated: its manifest, every file it names present, and
    its name and version matching the folder (`<name>/<version>/`)."""
    manifest_path = root / MANIFEST
    try:
        manifest = PackManifest.model_validate_json(manifest_path.read_bytes())
    except FileNotFoundError:
        raise SkillPackError(f"{root}: no {MANIFEST}") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise SkillPackError(f"{manifest_path}: {where}: {first['msg']}") from None
    if (root.parent.name, root.name) != (manifest.name, manifest.version):
        raise SkillPackError(
            f"{manifest_path}: says {manifest.name}@{manifest.version} but lives in "
            f"{root.parent.name}/{root.name}"
        )
    files = _pack_files(root)
    named = [s.instructions for s in manifest.stages.values()]
    named += [r for s in manifest.stages.values() for r in s.references]
    named += [manifest.pr_body] if manifest.pr_body else []
    missing = sorted(set(named) - set(files))
    if missing:
        raise SkillPackError(f"{manifest.name}@{manifest.version}: missing {', '.join(missing)}")
    size = sum((root / f).stat().st_size for f in files)
    if size > MAX_PACK_BYTES:
        raise SkillPackError(f"{manifest.name}@{manifest.version}: {size} bytes, over 2 MB")
    ref = SkillPackRef(
        name=manifest.name,
        version=manifest.version,
        sha256=pack_checksum(root, files),
        source=source,
    )
    return SkillPack(manifest=manifest, root=root, ref=ref, files=files)


def pack_roots(operator_dir: Path | None) -> list[tuple[Path, PackSource]]:
    """Where packs are looked for, first match wins: the operator's folder, then ours."""
    roots: list[tuple[Path, PackSource]] = [(BUILT_IN, "built-in")]
    if operator_dir is not None:
        roots.insert(0, (operator_dir, "operator"))
    return roots


def list_packs(operator_dir: Path | None) -> tuple[list[SkillPack], list[str]]:
    """Every pack (an operator's shadows a built-in one of the same name and version), and one
    line per folder that is not a valid pack."""
    found: dict[str, SkillPack] = {}
    problems: list[str] = []
    for base, source in pack_roots(operator_dir):
        if not base.is_dir():
            if source == "operator":
                problems.append(f"{base}: AGENTPR_SKILLS_DIR is not a directory")
            continue
        for root in sorted(p for p in base.glob("*/*") if p.is_dir()):
            try:
                pack = read_pack(root, source)
            except SkillPackError as err:
                problems.append(str(err))
                continue
            found.setdefault(pack.ref.label, pack)
    return sorted(found.values(), key=lambda p: (p.ref.name, p.ref.version)), problems


def load_pack(
    label: str, operator_dir: Path | None, default_version: str | None = None
) -> SkillPack:
    """The pack `name@version` (or `name` with `default_version`)."""
    try:
        name, version = parse_pack_label(label, default_version)
    except ValueError as err:
        raise SkillPackError(str(err)) from None
    for base, source in pack_roots(operator_dir):
        root = base / name / version
        if (root / MANIFEST).is_file():
            return read_pack(root, source)
    known = ", ".join(p.ref.label for p in list_packs(operator_dir)[0]) or "none"
    raise SkillPackError(f"no skill pack {name}@{version} (known: {known})")


def pinned_pack(ref: SkillPackRef, operator_dir: Path | None, snapshots: Path) -> SkillPack:
    """The exact pack a run was created with. The first stage snapshots it into `snapshots`
    (content-addressed); later stages read the snapshot, so an edited pack folder changes
    nothing for runs already under way. A pack edited before the first stage ran is refused."""
    snapshot = snapshots / f"{ref.name}@{ref.version}-{ref.sha256[:16]}"
    if (snapshot / MANIFEST).is_file():
        pack = read_pack_snapshot(snapshot, ref)
        if pack.ref.sha256 == ref.sha256:
            return pack
    pack = load_pack(ref.label, operator_dir)
    if pack.ref.sha256 != ref.sha256:
        raise SkillPackError(
            f"skill pack {ref.label} changed since the run was created (checksum "
            f"{pack.ref.sha256[:12]}, the run pinned {ref.sha256[:12]}): give the change a new "
            "version, or start a new run"
        )
    staging = snapshot.with_name(snapshot.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(pack.root, staging, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    (staging / ".pinned.json").write_text(json.dumps(ref.model_dump(mode="json")))
    shutil.rmtree(snapshot, ignore_errors=True)
    staging.rename(snapshot)
    return read_pack_snapshot(snapshot, ref)


def read_pack_snapshot(snapshot: Path, ref: SkillPackRef) -> SkillPack:
    """A snapshot folder is named `<name>@<version>-<sha>`, not `<name>/<version>`."""
    manifest = PackManifest.model_validate_json((snapshot / MANIFEST).read_bytes())
    files = _pack_files(snapshot)
    pinned = ref.model_copy(update={"sha256": pack_checksum(snapshot, files)})
    return SkillPack(manifest=manifest, root=snapshot, ref=pinned, files=files)
