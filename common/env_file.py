"""`.env` in the working directory, read when `agentpr` starts (as the previous tool did): it only
fills variables the environment does not set, so a value exported in the shell always wins.

Standard library only: the CLI's fast lane reads it before anything heavier is imported."""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path

ENV_FILE = ".env"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvFileError(ValueError):
    """A line of the file is not `NAME=value`: named with its line number, never its value
    (the file holds secrets)."""


def parse_env_file(text: str, source: str = ENV_FILE) -> dict[str, str]:
    """`NAME=value` lines; `export NAME=value` too; blank lines and `#` comments skipped.
    Values may be quoted ('…' literally, "…" with \\n, \\t, \\" and \\\\ escapes); an unquoted
    value ends at ` #`."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line.removeprefix("export ").lstrip()
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not _NAME.fullmatch(name):
            raise EnvFileError(f"{source}:{number}: expected NAME=value")
        values[name] = _value(value.strip(), f"{source}:{number}")
    return values


def _value(value: str, where: str) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = _closing_quote(value, quote)
        if end is None:
            raise EnvFileError(f"{where}: the value's {quote} quote is never closed")
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise EnvFileError(f"{where}: text after the closing quote")
        inner = value[1:end]
        if quote == "'":
            return inner
        return re.sub(
            r"\\(.)",
            lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)),
            inner,
        )
    comment = value.find(" #")
    return (value[:comment] if comment != -1 else value).rstrip()


def _closing_quote(value: str, quote: str) -> int | None:
    index = 1
    while index < len(value):
        if value[index] == "\\" and quote == '"':
            index += 2
            continue
        if value[index] == quote:
            return index
        index += 1
    return None


def load_env_file(
    directory: Path | None = None, environ: MutableMapping[str, str] | None = None
) -> list[str]:
    """Fill unset variables from `<directory>/.env` (the working directory by default); the
    names it set. No file: nothing to do. `AGENTPR_ENV_FILE=0` turns it off."""
    environ = os.environ if environ is None else environ
    if environ.get("AGENTPR_ENV_FILE", "1") == "0":
        return []
    path = (directory or Path.cwd()) / ENV_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise EnvFileError(f"{path}: cannot read it ({err.__class__.__name__})") from None
    filled = []
    for name, value in parse_env_file(text, str(path)).items():
        if name not in environ:
            environ[name] = value
            filled.append(name)
    return filled
