"""The PR body a person approves: the operator's text placed in the repository's own PR
template, the template's checklist ticked only where the run's evidence supports it, and a
short AI-assistance note. Pure composition plus two reads of the workspace (the template and
the changed paths); the CLI (manual requests) and write_pr_request (auto) share it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from common.settings import Settings
from contracts import PrDisclosure
from skills.catalog import pinned_pack

TEMPLATE_PATHS = (
    ".github/PULL_REQUEST_TEMPLATE.md",
    ".github/pull_request_template.md",
    "PULL_REQUEST_TEMPLATE.md",
    "pull_request_template.md",
    "docs/PULL_REQUEST_TEMPLATE.md",
    "docs/pull_request_template.md",
)
MAX_TEMPLATE = 20_000
AI_NOTE_MARK = "AI assistance:"

_CHECKBOX = re.compile(r"^(\s*[-*] )\[ \](\s+)(.*)$")
_DESCRIPTION_HEADING = re.compile(
    r"^#{1,4}\s*(description|summary|what|changes|motivation|overview)\b", re.IGNORECASE
)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

# A checklist item is ticked when its words name something the run has evidence for.
_TICKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\btests?\b|\btested\b|\btesting\b", re.IGNORECASE), "tests"),
    (re.compile(r"\bdocs?\b|documentation|readme|changelog", re.IGNORECASE), "docs"),
    (re.compile(r"sign(ed)?[- ]?off|\bdco\b", re.IGNORECASE), "signoff"),
    (re.compile(r"\bai\b|\bllm\b|generated|assist", re.IGNORECASE), "ai"),
)


def read_pr_template(workspace: Path) -> str | None:
    for relative in TEMPLATE_PATHS:
        path = workspace / relative
        if path.is_file() and not path.is_symlink():
            return path.read_text(errors="replace")[:MAX_TEMPLATE]
    return None


def changed_paths(workspace: Path, base_branch: str) -> list[str]:
    """What the run's commits change (nothing on error: the checklist then ticks less)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", f"upstream/{base_branch}...HEAD"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line for line in result.stdout.splitlines() if line] if result.returncode == 0 else []


def evidence_for(disclosure: PrDisclosure, paths: list[str]) -> set[str]:
    found: set[str] = set()
    if disclosure.tests_passed:
        found.add("tests")
    if any(p.startswith("docs/") or p.lower().endswith((".md", ".rst")) for p in paths):
        found.add("docs")
    if disclosure.signed_off:
        found.add("signoff")
    if disclosure.assisted_by and disclosure.ai_note:
        found.add("ai")
    return found


def fill_checklist(template: str, evidence: set[str]) -> str:
    lines = []
    for line in template.splitlines():
        match = _CHECKBOX.match(line)
        if match and any(p.search(match.group(3)) and kind in evidence for p, kind in _TICKS):
            line = f"{match.group(1)}[x]{match.group(2)}{match.group(3)}"
        lines.append(line)
    return "\n".join(lines)


def _headings(text: str) -> list[str]:
    return [line.strip().lower() for line in text.splitlines() if line.lstrip().startswith("#")]


def follows_template(body: str, template: str) -> bool:
    """The body already has every heading of the template (or contains the template)."""
    headings = _headings(template)
    if headings:
        present = set(_headings(body))
        return all(heading in present for heading in headings)
    return _HTML_COMMENT.sub("", template).strip() in body


def ai_note(assisted_by: str) -> str:
    return (
        f"> 🤖 {AI_NOTE_MARK} this change was prepared with {assisted_by} through agentpr. "
        "A person reviewed it and approved opening this pull request."
    )


def compose_pr_body(
    body: str, disclosure: PrDisclosure, template: str | None, paths: list[str]
) -> str:
    """The operator's text in the template (under its description heading, else on top), the
    checklist ticked from evidence, the AI note last. Composing twice changes nothing."""
    text = body.strip()
    evidence = evidence_for(disclosure, paths)
    if template and follows_template(text, template):
        text = fill_checklist(text, evidence)  # the operator wrote the template out already
    elif template and template.strip():
        filled = fill_checklist(_HTML_COMMENT.sub("", template).strip(), evidence)
        lines = filled.splitlines()
        heading = next(
            (i for i, line in enumerate(lines) if _DESCRIPTION_HEADING.match(line)), None
        )
        if heading is None:
            text = f"{text}\n\n{filled}" if text else filled
        else:
            lines.insert(heading + 1, f"\n{text}\n" if text else "")
            text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    if disclosure.assisted_by and disclosure.ai_note and AI_NOTE_MARK not in text:
        text = f"{text}\n\n---\n{ai_note(disclosure.assisted_by)}".strip()
    return text + "\n"


def pack_body(template: str, disclosure: PrDisclosure, options: dict[str, str]) -> str:
    """A pack's PR body template with its placeholders filled ({changes}, {tests}, and one per
    pack option: the option's text when on, nothing when off)."""
    tests = (
        f"`{disclosure.test_command}` passed." if disclosure.tests_passed and disclosure.test_command
        else "The repository's tests passed." if disclosure.tests_passed
        else "See the checks on this pull request."
    )  # fmt: skip
    values = {"changes": disclosure.changes.strip(), "tests": tests, **options}
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), ""), template)


def _pack_template(body: str, disclosure: PrDisclosure, settings: Settings | None) -> str:
    if body.strip() or disclosure.pack is None or settings is None:
        return body
    pack = pinned_pack(disclosure.pack, settings.skills_dir, settings.skill_snapshots)
    if pack.manifest.pr_body is None:
        return body
    options: dict[str, str] = {}
    for name, spec in pack.manifest.options.items():
        text_file = f"reference/{name}.md"  # an option's text lives beside the references
        wanted = disclosure.pack_options.get(name, spec.default)
        options[name] = pack.read(text_file) if wanted and text_file in pack.files else ""
    return pack_body(pack.read(pack.manifest.pr_body), disclosure, options)


def composed_body(body: str, disclosure: PrDisclosure, settings: Settings | None = None) -> str:
    body = _pack_template(body, disclosure, settings)
    workspace = Path(disclosure.workspace)
    return compose_pr_body(
        body,
        disclosure,
        read_pr_template(workspace),
        changed_paths(workspace, disclosure.base_branch),
    )
