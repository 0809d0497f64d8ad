"""Redaction of secrets and private keys from captured output, before it reaches a report, an
excerpt, a notification or an activity error (issue 13: reports never carry a secret).

Two kinds of secret are replaced with a marker such as `[REDACTED:github-token]`:

- the exact values agentpr itself holds (`Settings.secret_values`: its tokens, the webhook
  secret, key-like values of the agent environment), whatever their shape;
- well-known shapes of credentials an agent or a repository's tooling may print: PEM private
  keys (also a block cut off before its END line), GitHub, OpenAI, Anthropic, AWS, Slack and
  Telegram tokens, `Authorization:` headers and `…_TOKEN=value` style assignments.

One compiled regex does one pass over the text; agentpr's own values are literal replacements
before it (`str.replace` runs at memory speed). Everything here is stdlib: the CLI's fast lane
may use it without loading pydantic.

Text is scanned as it is, and also as it appears inside JSON strings (transcripts are JSON
lines): a PEM body there holds `\\n` escapes, and no match runs past a `"`, so redacted JSON stays
JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Shorter values are too likely to be ordinary words ("main", "true", a port) to be replaced
# wherever they occur.
MIN_SECRET_LEN = 8
SECRET_MARKER = "[REDACTED:secret]"


def marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


# What a PEM body may hold: base64, line breaks (raw or JSON-escaped) and the header lines of
# an encrypted key ("Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,…").
_PEM_BODY = r"(?:[A-Za-z0-9+/=\s:,.-]|\\[nr])"
_PEM_END = r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
_WORD = "[A-Za-z0-9_]"
_TOKEN_CHAR = "[A-Za-z0-9_-]"
# Real keys mix letters and digits: `sk-learn`, or a kebab-case name that starts with sk-, don't.
_HAS_DIGIT = r"(?=[A-Za-z_-]*[0-9])"
# A value that is a `$REFERENCE`, a quote or an escape is not a secret.
_ASSIGNED_VALUE = r"""(?:\\?["'])?(?![$"'\\])[^\s"'\\,;&|)]+"""
_SECRET_NAME_ENDINGS = ("SECRET", "TOKEN", "PASSWORD", "PASSWD", "API_KEY", "APIKEY")

# Speed: every alternative starts with a literal character (word-boundary checks come right
# after it, as look-behinds), so the regex engine only tries a match where one of a dozen
# characters stands instead of at every position: ~30x faster on transcripts than the same
# shapes written with leading `\b` and named groups. `_kind_of` tells the shapes apart.
_SHAPES = (
    # A PEM private key; cut off (a truncated output tail, a line-by-line stream), everything
    # key-like after BEGIN.
    rf"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:{_PEM_BODY}*?{_PEM_END}|{_PEM_BODY}*)",
    rf"g(?<!{_WORD}g)(?:h[pousr]_[A-Za-z0-9]{{20,255}}|ithub_pat_[A-Za-z0-9_]{{20,255}})"
    rf"(?!{_WORD})",
    rf"s(?<!{_WORD}s)k-(?:ant-|proj-)?{_HAS_DIGIT}{_TOKEN_CHAR}{{20,}}",
    rf"A(?<!{_WORD}A)(?:KIA|SIA)[0-9A-Z]{{16}}(?!{_WORD})",
    rf"x(?<!{_WORD}x)ox[baprs]-[A-Za-z0-9-]{{10,}}",
    # Telegram's <bot id>:<secret>: the id is public, the part after the colon is redacted.
    rf":(?<=[0-9]{{8}}:){_TOKEN_CHAR}{{35}}(?!{_TOKEN_CHAR})",
    # The header name and scheme stay readable; `Bearer $TOKEN` is a reference and is kept.
    *(
        rf"""{name}["']?\s*[:=]\s*["']?(?:[Bb]earer|BEARER|[Tt]oken|[Bb]asic)\s+"""
        r"[A-Za-z0-9._~+/=-]{8,}"
        for name in ("Authorization", "authorization", "AUTHORIZATION")
    ),
    # GITHUB_TOKEN=…, export OPENAI_API_KEY="…": the name stays. Environment-style (upper case)
    # names only: `token=None` in Python code is not a secret.
    *(rf"{ending}={_ASSIGNED_VALUE}" for ending in _SECRET_NAME_ENDINGS),
)
_PATTERN = re.compile("|".join(_SHAPES))
_END_RE = re.compile(_PEM_END)
_KINDS_BY_PREFIX = (
    ("-----", "private-key"),
    ("g", "github-token"),
    ("sk-ant-", "anthropic-key"),
    ("sk-", "openai-key"),
    ("A", "aws-access-key"),  # AKIA/ASIA; API_KEY= and APIKEY= are assignments, tried first
    ("x", "slack-token"),
    (":", "telegram-token"),
)


def _kind_of(found: str) -> str:
    if found.startswith(_SECRET_NAME_ENDINGS):
        return "assignment"
    if found[:1] in "Aa" and found[1:13].lower() == "uthorization":
        return "authorization"
    return next(kind for prefix, kind in _KINDS_BY_PREFIX if found.startswith(prefix))


def _replace(match: re.Match[str]) -> str:
    found = match.group()
    kind = _kind_of(found)
    if kind == "assignment":
        # The name and an opening quote stay: GITHUB_TOKEN="[REDACTED:assignment]".
        value = re.match(r"""[A-Z_]+=\\?["']?""", found)
        return f"{value.group() if value else ''}{marker(kind)}"
    if kind == "authorization":
        scheme, _, _ = found.rpartition(found.split()[-1])
        return f"{scheme}{marker(kind)}"
    if kind == "telegram-token":
        return f":{marker(kind)}"
    return marker(kind)


class Redactor:
    """Redacts one process's known secret values and every well-known credential shape."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first: a secret that contains another is replaced whole.
        self.secrets = sorted(
            {value for value in secrets if value and len(value) >= MIN_SECRET_LEN},
            key=len,
            reverse=True,
        )

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, SECRET_MARKER)
        return _PATTERN.sub(_replace, text)

    def redact_value(self, value: Any) -> Any:
        """Every string inside a JSON-like value (dicts, lists, tuples), keys left alone."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_value(item) for item in value]
        return value

    def lines(self) -> LineRedactor:
        return LineRedactor(self)


class LineRedactor:
    """Redacts a stream one line at a time (a transcript as the agent writes it).

    A PEM key printed raw spans many lines: after a line whose key has no END, the following
    lines are dropped until the END line, so no line of the body reaches the file."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.inside_key = False

    def redact(self, line: str) -> str:
        text = line.rstrip("\r\n")
        ending = line[len(text) :]
        if self.inside_key:
            end = _END_RE.search(text)
            if end is None:
                return ""
            self.inside_key = False
            text = text[end.end() :]
        redacted = self.redactor.redact(text)
        if _opens_key(text):
            self.inside_key = True
        return redacted + ending


def _opens_key(line: str) -> bool:
    """The line's last key has no END on the line (its body follows on the next lines)."""
    begin = line.rfind("-----BEGIN ")
    return begin >= 0 and _END_RE.search(line, begin) is None and "PRIVATE KEY" in line[begin:]
