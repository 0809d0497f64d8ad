"""Which files a step edited, and how: shell writes (redirects, tee, sed -i, perl -i, cp/mv,
rm, python writes), patches (codex `apply_patch`, `git apply`), git commands that rewrite the
work tree, and the engines' own edit events. An edit keeps the text it removed and added only
for test files (what `grading.test_integrity` reads to tell a fix from a weakened test)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from grading.shell_lexing import PYTHON_RE, Segment, options_and_args, program_name


@dataclass
class FileEdit:
    path: str  # as the command or event names it; "" when unknown (`git stash pop`)
    origin: str  # what made it: "sed -i", "apply_patch", "file_change", "Edit", "git restore"…
    position: int = 0  # the segment of the command line (edits before the test run count)
    removed: str = ""  # text taken out (test files only)
    added: str = ""  # text put in (test files only)
    deleted: bool = False  # the file was removed
    whole: bool = False  # `added` is the file's entire new content (Write, cat > f <<EOF)


# Text that never changes what a test checks: docs, images, licences.
_DOC_SUFFIXES = (
    ".md",
    ".mdx",
    ".rst",
    ".txt",
    ".adoc",
    ".markdown",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".ico",
    ".webp",
    ".pdf",
)


_DOC_NAMES = (
    "readme",
    "changelog",
    "changes",
    "history",
    "license",
    "licence",
    "authors",
    "contributors",
    "notice",
    "codeowners",
)


# Build output, caches and environments: rewritten by tools, never reviewed.
_ARTIFACT_DIRS = frozenset(
    {
        "node_modules",
        ".venv",
        "venv",
        ".git",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".cache",
        ".agentpr_runtime",
        "htmlcov",
        "coverage",
        ".coverage",
        "dist",
        "build",
        "target",
    }
)


def is_code_path(path: str) -> bool:
    """Whether an edit to `path` changes what the tests exercise. Unknown paths ("") count:
    an edit we cannot place may be anywhere."""
    if not path:
        return True
    parts = [p for p in path.replace("\\", "/").split("/") if p and p != "."]
    if not parts:
        return True
    if any(part in _ARTIFACT_DIRS or part.endswith(".egg-info") for part in parts[:-1]):
        return False
    name = parts[-1].lower()
    if name in _ARTIFACT_DIRS or name.endswith((".log", ".pyc")):
        return False
    if name.endswith(_DOC_SUFFIXES) or name.startswith(_DOC_NAMES):
        return False
    return not any(part in ("docs", "doc") for part in parts[:-1])


_TEST_PATH_RE = re.compile(
    r"(?:^|/)(?:tests?|spec|specs|__tests__|testing)/|(?:^|/)test_[^/]*\.py$|_test\.(?:py|go)$|"
    r"\.(?:test|spec)\.[cm]?[jt]sx?$|_spec\.rb$|Tests?\.(?:java|kt|cs|php)$"
)


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH_RE.search(path))


# -- edits in a shell command line --


_GIT_EDITS = frozenset(
    {"apply", "am", "restore", "merge", "pull", "cherry-pick", "revert", "rebase", "mv", "rm"}
)


# Programs that may write a file they are given (redirects aside).
EDITORS = frozenset(
    "tee sed perl cp mv install rsync rm unlink shred truncate dd git apply_patch patch".split()
)


def segment_edits(argv: list[str], segment: Segment, position: int) -> list[FileEdit]:
    """The files one simple command writes, deletes or rewrites (not mkdir/touch/chmod: they
    change no content)."""
    name = program_name(argv[0])
    edits = [
        FileEdit(path, "redirect", position)
        for path in segment.redirects
        if not path.startswith(("/dev/", "&"))
    ]
    if name not in EDITORS and not PYTHON_RE.match(name):
        return edits
    rest = argv[1:]
    if name == "sed" and not any(w.startswith(("-i", "--in-place")) for w in rest):
        return edits  # `sed -n '1,200p' f`: the most common read of all
    if name == "git":
        return edits + _git_edits(argv, position)
    options, args = options_and_args(rest)
    if name == "tee":
        edits += [FileEdit(path, "tee", position) for path in args]
    elif (name == "sed" and any(o.startswith(("-i", "--in-place")) for o in options)) or (
        name == "perl" and any(_PERL_IN_PLACE_RE.match(o) for o in options)
    ):
        script, files = _inline_script(rest)
        removed, added = _substitutions(script)
        edits += [FileEdit(path, f"{name} -i", position, removed, added) for path in files]
    elif name in ("cp", "mv", "install", "rsync") and len(args) >= 2:
        edits.append(FileEdit(args[-1], name, position))
        if name == "mv":
            edits += [FileEdit(path, "mv", position, deleted=True) for path in args[:-1]]
    elif name in ("rm", "unlink", "shred"):
        edits += [FileEdit(path, name, position, deleted=True) for path in args]
    elif name == "truncate":
        edits += [FileEdit(path, name, position) for path in args if not path.isdigit()]
    elif name == "dd":
        edits += [FileEdit(word[3:], "dd", position) for word in rest if word.startswith("of=")]
    elif name == "apply_patch" or (name == "patch" and not options & {"--dry-run"}):
        edits.append(FileEdit("", name, position))  # the paths come from the patch text
    elif PYTHON_RE.match(name) and "-c" in rest[:-1]:
        code = rest[rest.index("-c") + 1]
        edits += [FileEdit(path, "python", position) for path in python_writes(code)]
    elif PYTHON_RE.match(name) and (rest[:1] == ["-"] or not rest):
        edits.append(FileEdit(PYTHON_STDIN, "python", position))  # the code is a heredoc
    return edits


PYTHON_STDIN = "\0stdin"


_PERL_IN_PLACE_RE = re.compile(r"^-(?![MI])[a-zA-Z]*i")


def _inline_script(rest: list[str]) -> tuple[str, list[str]]:
    """`sed -i -e S f` / `sed -i S f` / `perl -pi -e S f` → (S, [f])."""
    script_parts: list[str] = []
    files: list[str] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("-e", "--expression") or (
            word.startswith("-") and not word.startswith("--") and word.endswith("e")
        ):
            script_parts.append(rest[i + 1] if i + 1 < len(rest) else "")
            i += 2
            continue
        if word and not word.startswith("-"):
            files.append(word)
        i += 1
    if not script_parts and files:
        script_parts, files = files[:1], files[1:]
    return "\n".join(script_parts), files


_SUBSTITUTION_RE = re.compile(r"s([^\w\s\\])((?:\\.|(?!\1).)*)\1((?:\\.|(?!\1).)*)\1")


_DELETION_RE = re.compile(r"(?:^|;|\n)\s*/((?:\\.|[^/])*)/\s*d\b")


def _substitutions(script: str) -> tuple[str, str]:
    """What a sed/perl script takes out and puts in: `s/old/new/` and `/pattern/d`."""
    removed: list[str] = []
    added: list[str] = []
    for match in _SUBSTITUTION_RE.finditer(script):
        removed.append(match.group(2))
        added.append(match.group(3))
    removed += [match.group(1) for match in _DELETION_RE.finditer(script)]
    return "\n".join(removed), "\n".join(added)


def _git_edits(argv: list[str], position: int) -> list[FileEdit]:
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("-C", "-c", "--git-dir", "--work-tree") else 1
    if i >= len(argv):
        return []
    sub, rest = argv[i], argv[i + 1 :]
    if sub not in _GIT_EDITS and sub not in ("checkout", "stash", "reset"):
        return []  # status, diff, log, show, add, commit…: the work tree stays as it is
    options, args = options_and_args(rest)
    origin = f"git {sub}"
    if (
        sub in ("restore", "rm")
        and options & {"--staged", "--cached"}
        and "--worktree" not in options
    ):
        return []  # the index only: the files stay as they are
    if sub == "apply" and options & {"--check", "--stat", "--numstat", "--summary"}:
        return []  # a dry run
    if sub == "checkout" and ("--" in rest or len(args) > 1):
        paths = rest[rest.index("--") + 1 :] if "--" in rest else args[1:]
        return [FileEdit(path, origin, position) for path in paths] or [FileEdit("", origin)]
    if sub == "checkout" and args and not options & {"-b", "-B"}:
        return [FileEdit("", origin, position)]  # another branch: the whole tree may change
    if sub == "stash" and args[:1] in (["pop"], ["apply"]):
        return [FileEdit("", f"git stash {args[0]}", position)]
    if sub == "reset" and "--hard" in options:
        return [FileEdit("", origin, position)]
    if sub in _GIT_EDITS:
        if sub == "restore" and args:
            return [FileEdit(path, origin, position) for path in args]
        if sub == "rm" and args:
            return [FileEdit(path, origin, position, deleted=True) for path in args]
        return [FileEdit("", origin, position)]
    return []


# open("x", "w"), Path("x").write_text(…), pathlib.Path('x').open("a")
_PY_OPEN_RE = re.compile(r"""open\(\s*[rbf]?(["'])([^"']+)\1\s*,\s*(["'])[^"']*[wax+]""")


_PY_PATH_WRITE_RE = re.compile(
    r"""Path\(\s*[rbf]?(["'])([^"']+)\1\s*\)\s*\.\s*(?:write_text|write_bytes|open\(\s*["'][wax])"""
)


def python_writes(text: str) -> list[str]:
    if "open(" not in text and "write_" not in text:
        return []
    paths = [m.group(2) for m in _PY_OPEN_RE.finditer(text)]
    paths += [m.group(2) for m in _PY_PATH_WRITE_RE.finditer(text)]
    if not paths and ("write_text" in text or ".write(" in text):
        return [""]  # a write whose target we cannot read
    return paths


# -- patches --


_CODEX_PATCH_RE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$", re.M)


_DIFF_FILE_RE = re.compile(r"^\+\+\+ (?:[ab]/)?(\S+)", re.M)


def patch_edits(text: str, origin: str, position: int, tests_only: bool = False) -> list[FileEdit]:
    """The files a patch touches (codex's `*** Begin Patch` format or a unified diff), with the
    lines it removes and adds."""
    edits: list[FileEdit] = []
    if "*** Begin Patch" in text:
        headers = list(_CODEX_PATCH_RE.finditer(text))
        for n, header in enumerate(headers):
            kind, path = header.group(1), header.group(2)
            end = headers[n + 1].start() if n + 1 < len(headers) else len(text)
            edit = FileEdit(path, origin, position, deleted=kind == "Delete")
            if is_test_path(path) or not tests_only:
                _hunk_lines(text[header.end() : end], edit)
            edits.append(edit)
        return edits
    headers = list(_DIFF_FILE_RE.finditer(text))
    for n, header in enumerate(headers):
        path = header.group(1)
        end = headers[n + 1].start() if n + 1 < len(headers) else len(text)
        edit = FileEdit(path, origin, position)
        if path == "/dev/null":
            continue
        if is_test_path(path) or not tests_only:
            _hunk_lines(text[header.end() : end], edit)
        edits.append(edit)
    return edits


def _hunk_lines(body: str, edit: FileEdit) -> None:
    removed: list[str] = []
    added: list[str] = []
    for line in body.split("\n"):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    edit.removed, edit.added = "\n".join(removed), "\n".join(added)


_HEREDOC_START_RE = re.compile(r"<<-?[ \t]*([\"']?)([A-Za-z_][\w-]*)\1")


def heredoc_bodies(script: str) -> str:
    """The text of every here-document in a command line (what `cat > f <<EOF` writes)."""
    if "<<" not in script:
        return ""
    bodies: list[str] = []
    lines = script.split("\n")
    i = 0
    while i < len(lines):
        match = _HEREDOC_START_RE.search(lines[i])
        i += 1
        if match is None or "<<<" in lines[i - 1]:
            continue
        delimiter = match.group(2)
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != delimiter:
            body.append(lines[i])
            i += 1
        bodies.append("\n".join(body))
        i += 1
    return "\n".join(bodies)
