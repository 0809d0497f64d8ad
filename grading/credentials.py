"""Commands that read credentials: private keys, `.env` files, cloud and git credential stores,
`gh auth token`, and environment dumps that show tokens. The step goes to a person, and what
the command printed never reaches a report: its output is dropped from the evidence and the
values it showed are redacted wherever else they appear (the final message, later commands)."""

from __future__ import annotations

import re

from grading.shell_lexing import Segment, program_name

# Programs that print, copy or encode a file they are given.
_READERS = frozenset(
    "cat tac head tail less more bat batcat nl od xxd hexdump strings base64 sed awk gawk grep "
    "egrep fgrep rg ag cut sort uniq jq yq cp scp rsync openssl".split()
)


# Every program `credential_read` or `prints_secret_variable` looks at.
CREDENTIAL_PROGRAMS = _READERS | {"gh", "git", "aws", "printenv", "echo", "printf"}


_KEY_NAMES = frozenset(
    {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk", "identity"}
)


_STORE_NAMES = {
    ".netrc": "netrc credentials",
    "_netrc": "netrc credentials",
    ".git-credentials": "git credentials",
    ".pgpass": "database passwords",
    ".pypirc": "PyPI credentials",
}


_STORE_PATHS = {
    ".aws/credentials": "AWS credentials",
    ".config/gh/hosts.yml": "GitHub CLI token",
    ".docker/config.json": "Docker registry credentials",
    ".kube/config": "Kubernetes credentials",
    "gcloud/application_default_credentials.json": "Google Cloud credentials",
    "gcloud/credentials.db": "Google Cloud credentials",
    ".codex/auth.json": "Codex credentials",
    ".claude/.credentials.json": "Claude credentials",
}


_KEY_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore")


# `.env.example` and friends document the names; they hold no values.
_ENV_TEMPLATES = ("example", "sample", "template", "dist", "defaults", "schema")


# Cheap pre-check on a command's words before the per-path rules.
_HINT_RE = re.compile(
    r"id_|\.pem|\.key|\.p12|\.pfx|\.jks|keystore|\.env|netrc|credential|\.pgpass|\.pypirc|"
    r"\.npmrc|hosts\.yml|config\.json|\.kube|auth\.json|identity"
)


# Certificates are public, and a repository's test keys protect nothing.
_PUBLIC_KEY_NAMES = ("cert", "chain", "ca.", "ca-", "bundle", "pub", "public")


_FIXTURE_DIRS = frozenset(
    {"test", "tests", "testdata", "fixtures", "fixture", "examples", "example", "samples", "spec"}
)


def _public_or_fixture(path: str, name: str) -> bool:
    lowered = name.lower()
    if any(word in lowered for word in _PUBLIC_KEY_NAMES):
        return True
    return any(part in _FIXTURE_DIRS for part in path.split("/")[:-1])


def credential_file(path: str) -> str | None:
    """What kind of credential `path` holds, or None."""
    path = path.strip().strip("\"'")
    name = path[path.rfind("/") + 1 :]
    if name in _KEY_NAMES:
        return "SSH private key"
    if name in _STORE_NAMES:
        return _STORE_NAMES[name]
    if name.endswith(_KEY_SUFFIXES) and not _public_or_fixture(path, name):
        return "private key file"
    if name == ".env" or (name.startswith(".env.") and not name.endswith(_ENV_TEMPLATES)):
        return ".env secrets"
    if name == ".npmrc" and path.startswith(("~", "$HOME", "/root", "/home", "/Users")):
        return "npm token"
    for suffix, kind in _STORE_PATHS.items():
        if path.endswith(suffix):
            return kind
    return None


def credential_read(argv: list[str]) -> str | None:
    """ "<kind> (<path>)" when the command prints or copies a credential, else None."""
    name = program_name(argv[0])
    if name not in _READERS and name not in ("gh", "git", "aws"):
        return None
    if name == "gh" and argv[1:3] == ["auth", "token"]:
        return "GitHub CLI token (gh auth token)"
    if (
        name == "gh"
        and argv[1:3] == ["auth", "status"]
        and ("-t" in argv or "--show-token" in argv)
    ):
        return "GitHub CLI token (gh auth status --show-token)"
    if name == "git" and "credential" in argv[1:3] and ("fill" in argv or "get" in argv):
        return "git credentials (git credential fill)"
    if (
        name == "aws"
        and argv[1:2] == ["configure"]
        and any("secret" in word or word == "export-credentials" for word in argv[2:])
    ):
        return "AWS credentials (aws configure)"
    if name not in _READERS or not _HINT_RE.search(" ".join(argv[1:])):
        return None
    if name == "sed" and any(w.startswith(("-i", "--in-place")) for w in argv[1:]):
        return None  # edits the file in place, prints nothing
    words = argv[1:]
    if name in ("cp", "scp", "rsync"):
        words = [w for w in words if not w.startswith("-")][:-1]  # the sources, not the copy
    for word in words:
        if word.startswith("-") or not _HINT_RE.search(word):
            continue
        kind = credential_file(word)
        if kind is not None:
            return f"{kind} ({word})"
    return None


def dumps_environment(segment: Segment) -> bool:
    """`env`, `printenv`, `set`, `export -p` on their own: the whole environment printed."""
    if program_name(segment.argv[0]) not in ("env", "printenv", "set", "export"):
        return False
    words = [w for w in segment.argv if not w.startswith("-")]
    if not words:
        return False
    name = program_name(words[0])
    return (name in ("env", "printenv", "set") and len(words) == 1) or (
        name == "export" and segment.argv[1:] == ["-p"]
    )


# GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD_FILE — not TOKENIZERS_PARALLELISM.
_SECRET_NAME = (
    r"(?:[A-Z0-9]+_)*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|"
    r"CREDENTIALS?)(?:_[A-Z0-9_]*)?"
)


_SECRET_NAME_RE = re.compile(rf"^{_SECRET_NAME}$")


# `$GITHUB_TOKEN`, `${GITHUB_TOKEN}` — not `${GITHUB_TOKEN:+set}` or `${#GITHUB_TOKEN}`.
_SECRET_VAR_RE = re.compile(rf"\$(?:\{{{_SECRET_NAME}(?!\w|:?\+)|{_SECRET_NAME}(?!\w))")


def prints_secret_variable(argv: list[str]) -> bool:
    """`printenv GITHUB_TOKEN`, `echo $OPENAI_API_KEY`: one secret printed by name."""
    name = program_name(argv[0])
    if name == "printenv":
        return any(_SECRET_NAME_RE.match(word) for word in argv[1:])
    if name in ("echo", "printf"):
        return any(_SECRET_VAR_RE.search(word) for word in argv[1:])
    return False


_SHOWN_SECRET_RE = re.compile(rf"^(?:declare -x )?{_SECRET_NAME}=(\S.*)$", re.M)


def shows_secrets(output: str) -> bool:
    """An environment dump that printed a secret-named variable with a value."""
    return _SHOWN_SECRET_RE.search(output) is not None


# A value worth redacting elsewhere: long enough not to be a word, mixing letters and digits.
_VALUE_RE = re.compile(r"[A-Za-z0-9_+/=.:@-]{12,}")


_MAX_VALUES = 64


def secret_values(output: str, names_only: bool) -> list[str]:
    """Values a credential read showed, so they can be redacted wherever they appear again.
    From an environment dump, only the secret-named variables' values."""
    if names_only:
        texts = [match.group(1) for match in _SHOWN_SECRET_RE.finditer(output)]
    else:
        texts = [output]
    values: list[str] = []
    for text in texts:
        for match in _VALUE_RE.finditer(text):
            value = match.group().strip(":=@.")
            if len(value) >= 12 and any(c.isdigit() for c in value) and value not in values:
                values.append(value)
                if len(values) >= _MAX_VALUES:
                    return values
    return values
