"""Lexing the shell commands an agent ran: words and operators (one C-speed regex instead of
shlex), heredocs, `bash -lc '...'` unwrapping, segments with their working directory, and the
argv a wrapper (env, nice, timeout...) finally runs."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})


INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node"}


_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})


_BLOCK_ENDS = frozenset({"fi", "done", "esac", "}"})


_WRAPPERS = frozenset(
    {
        "env",
        "nice",
        "nohup",
        "command",
        "exec",
        "builtin",
        "stdbuf",
        "timeout",
        "xargs",
        "caffeinate",
        "chronic",
        "unbuffer",
    }
)


_PUNCTUATION = "();<>|&\n"


_REDIRECTS = frozenset({">", ">>", "&>", "&>>", ">|", ">&"})


ALLOWED_WRITE_PREFIXES = (
    "/tmp",
    "/private/tmp",
    "/var/tmp",
    "/var/folders/",
    "/private/var/folders/",
    "/dev/null",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/tty",
    "/dev/fd/",
)


SYSTEM_PREFIXES = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/opt",
    "/var",
    "/boot",
    "/root",
    "/srv",
    "/System",
    "/Library",
    "/Applications",
)


REMOTE_SCRIPT_RE = re.compile(r"\s*(?:\$\(|`)\s*(?:curl|wget)\b")


_HEREDOC_RE = re.compile(r"<<-?[ \t]*[\"']?([A-Za-z_][\w-]*)[\"']?")


_ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


PYTHON_RE = re.compile(r"^python(\d+(\.\d+)?)?$")


PIP_RE = re.compile(r"^pip(\d+(\.\d+)?)?$")


def program_name(word: str) -> str:
    """`/usr/bin/git` → `git` (posixpath.basename without its overhead)."""
    return word[word.rfind("/") + 1 :]


@dataclass
class Segment:
    """One simple command: its words, where it writes, and the operator after it."""

    argv: list[str]
    redirects: list[str]
    text: str
    next_op: str = ""


def unwrap_shell(command: str) -> str:
    """`/bin/zsh -lc 'pytest -q'` → `pytest -q` (codex wraps every command this way)."""
    stripped = command.strip()
    if not stripped:
        return ""
    head = stripped.split(None, 1)[0]
    if program_name(head.strip("'\"")) not in SHELLS:
        return stripped
    words = _tokens(stripped)
    for i, word in enumerate(words[1:-1], start=1):
        if _is_operator(word):
            break
        if word.startswith("-") and not word.startswith("--") and "c" in word:
            return words[i + 1]
    return stripped


def _strip_heredocs(script: str) -> str:
    """Drop here-document bodies: their text is data, not commands (and may hold stray quotes)."""
    if "<<" not in script:
        return script
    kept: list[str] = []
    delimiter: str | None = None
    for line in script.split("\n"):
        if delimiter is not None:
            if line.strip() == delimiter:
                delimiter = None
            continue
        kept.append(line)
        match = _HEREDOC_RE.search(line)
        if match is not None and "<<<" not in line:
            delimiter = match.group(1)
    return "\n".join(kept)


# A shell word is a run of quoted strings, escapes and plain characters; operators are runs of
# the punctuation characters. One C-speed regex instead of shlex (which reads char by char).
_TOKEN_RE = re.compile(
    r"(?P<op>[();<>|&\n]+)"
    r"|(?P<word>(?:'[^']*'|\"(?:\\[\s\S]|[^\"\\])*\"|\\[\s\S]|[^\s'\"\\();<>|&])+)"
    r"|(?P<stray>['\"\\])"  # an unbalanced quote: taken as a plain character
)


_UNQUOTE_RE = re.compile(r"'([^']*)'|\"((?:\\[\s\S]|[^\"\\])*)\"|\\([\s\S])")


_DQ_ESCAPE_RE = re.compile(r"\\([\"\\$`\n])")


def _unquote(match: re.Match[str]) -> str:
    single, double, escaped = match.groups()
    if single is not None:
        return single
    if double is not None:
        return _DQ_ESCAPE_RE.sub(r"\1", double)
    return escaped


def _tokens(script: str) -> list[str]:
    """Shell tokens: words with quotes removed, and operator runs (`&&`, `|`, `;`, `>`, …)."""
    script = script.replace("\\\n", " ")  # line continuations
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(script):
        op, word, stray = match.group("op", "word", "stray")
        if op is not None:
            tokens.append(op)
        elif word is not None:
            if "'" in word or '"' in word or "\\" in word:
                word = _UNQUOTE_RE.sub(_unquote, word)
            tokens.append(word)
        elif stray is not None:
            tokens.append(stray)
    return tokens


def _is_operator(token: str) -> bool:
    return bool(token) and all(ch in _PUNCTUATION for ch in token)


def split_segments(script: str) -> list[Segment]:
    segments: list[Segment] = []
    words: list[str] = []
    redirects: list[str] = []
    tokens = _tokens(_strip_heredocs(script))
    i = 0

    def close(op: str) -> None:
        nonlocal words, redirects
        if words or redirects:
            text = " ".join(words + [f"> {r}" for r in redirects])
            segments.append(Segment(words, redirects, text, op))
        elif segments and op:
            segments[-1].next_op += op
        words, redirects = [], []

    while i < len(tokens):
        token = tokens[i]
        if _is_operator(token):
            if token in _REDIRECTS or (token.startswith(">") and "(" not in token):
                target = tokens[i + 1] if i + 1 < len(tokens) else ""
                if words and words[-1].isdigit():
                    words.pop()  # the file descriptor of `2>`
                if not (token == ">&" and (target.isdigit() or target == "-")):
                    if target and not _is_operator(target):
                        redirects.append(target)
                i += 2
                continue
            if token in ("<", "<<", "<<-", "<<<"):
                i += 2  # an input file or here-document delimiter
                continue
            close(token)
        elif token.startswith("#") and not words:
            # A comment: skip to the end of the line.
            while i + 1 < len(tokens) and "\n" not in tokens[i + 1]:
                i += 1
        else:
            words.append(token)
        i += 1
    close("")
    return segments


def effective_argv(segment: Segment) -> tuple[list[str], list[str]]:
    """The command's words without assignments, shell keywords and wrappers (env, time,
    timeout, xargs, sudo…), plus violations found on the way (sudo itself)."""
    argv = segment.argv
    violations: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        name = program_name(word)
        if _ASSIGNMENT_RE.match(word) or word in _KEYWORDS or word in _BLOCK_ENDS:
            i += 1
        elif name in ("sudo", "doas", "su"):
            violations.append(name)
            i += 1
            while i < len(argv) and argv[i].startswith("-"):
                # sudo -u user / -g group take a value
                i += 2 if argv[i] in ("-u", "-g", "-h", "-p", "-C", "-D", "-c") else 1
        elif name in _WRAPPERS:
            i += 1
            while i < len(argv) and (argv[i].startswith("-") or _ASSIGNMENT_RE.match(argv[i])):
                i += 1
            if name == "timeout" and i < len(argv):
                i += 1  # the duration
        else:
            break
    rest = argv[i:]
    if rest and program_name(rest[0]) in ("for", "case", "select", "function"):
        return [], violations
    return rest, violations


def change_dir(cwd: str | None, target: str) -> str | None:
    if target.startswith(("~", "$")) or target == "-":
        return None  # unknown: home or a variable
    if target.startswith("/"):
        return posixpath.normpath(target)
    return posixpath.normpath(posixpath.join(cwd, target)) if cwd else None


def masked_after(segments: list[Segment], index: int) -> bool:
    """Whether a later command decides the exit status (`pytest | tail`, `pytest || true`,
    `pytest; echo done`). `pytest && next` keeps a failure visible."""
    for seg in segments[index:-1]:
        op = seg.next_op.replace(")", "").replace("\n", ";").strip() or ";"
        if op != "&&":
            return True
    return False


def options_and_args(argv: list[str]) -> tuple[set[str], list[str]]:
    options = {a for a in argv if a.startswith("-")}
    args = [a for a in argv if not a.startswith("-")]
    return options, args
