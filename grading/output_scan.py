"""Reading a command's output: missing tools, permission denials, network failures and the test
runner's own summary line. Cheap substring checks come before the regexes."""

from __future__ import annotations

import re

from grading.bounds import line_at

# zsh, bash, dash, and programs exec'd directly by make or env.
NOT_FOUND_RE = re.compile(
    r"command not found: ([\w.+-]+)|(?:^|\n)(?:[\w/.-]+: )?(?:line \d+: )?([\w.+/-]+): "
    r"command not found|(?:^|\n)(?:/bin/)?sh: \d+: ([\w.+/-]+): not found|"
    r"(?:^|\n)(?:g?make(?:\[\d+\])?|env): ([\w.+/-]+): No such file or directory"
)


PERMISSION_RE = re.compile(
    r"Operation not permitted|Permission denied|Read-only file system|\bEACCES\b|\bEPERM\b"
)


_NETWORK_RE = re.compile(
    r"Temporary failure in name resolution|Could not resolve host|Name or service not known|"
    r"nodename nor servname|getaddrinfo|\bEAI_AGAIN\b|\bENOTFOUND\b|\bECONNRESET\b|"
    r"\bECONNREFUSED\b|\bETIMEDOUT\b|Connection (?:refused|reset|timed out|aborted)|"
    r"Read timed out|ReadTimeoutError|ConnectTimeoutError|Max retries exceeded with url|"
    r"Network is unreachable|No route to host|Failed to establish a new connection|"
    r"Could not fetch URL|npm ERR! network|network request to \S+ failed|TLS handshake timeout|"
    r"\b50[0234] (?:Server Error|Internal Server Error|Service Unavailable|Bad Gateway|"
    r"Gateway Time-?out)|"
    r"dial tcp|i/o timeout|proxyconnect|ssl\.SSLError|SSLEOFError"
)


# Cheap substring checks before the regexes: most failing output holds none of these words, and
# `in` on a lower-cased window runs at memory speed where a long alternation does not.
_NETWORK_HINTS = (
    "name resolution",
    "could not resolve",
    "service not known",
    "servname",
    "getaddrinfo",
    "eai_again",
    "enotfound",
    "econn",
    "etimedout",
    "connection refused",
    "connection reset",
    "connection timed out",
    "connection aborted",
    "read timed out",
    "timeouterror",
    "max retries exceeded",
    "network is unreachable",
    "no route to host",
    "new connection",
    "could not fetch url",
    "npm err! network",
    "network request to",
    "handshake timeout",
    "server error",
    "service unavailable",
    "bad gateway",
    "gateway time",
    "dial tcp",
    "i/o timeout",
    "proxyconnect",
    "sslerror",
    "ssleof",
)


PERMISSION_HINTS = (
    "permission denied",
    "not permitted",
    "read-only file system",
    "eacces",
    "eperm",
)


def find_network_error(text: str) -> str | None:
    lowered = text.lower()
    if not any(hint in lowered for hint in _NETWORK_HINTS):
        return None
    match = _NETWORK_RE.search(text)
    return line_at(text, match) if match else None


_SUMMARY_FAIL_RE = re.compile(
    r"\b[1-9]\d* (?:failed|errors?)\b|^\s*[1-9]\d* fail\b|Tests:\s+[1-9]\d* failed|"
    r"test result: FAILED|^FAIL\b|no tests ran",
    re.M,
)


_SUMMARY_PASS_RE = re.compile(
    r"\b\d+ passed\b|^\s*\d+ pass\b|Tests:\s+\d+ passed|test result: ok|^ok\s|^PASS\b", re.M
)


def read_test_summary(tail: str) -> bool | None:
    """True/False from a test runner's summary line, None when there is none."""
    if _SUMMARY_FAIL_RE.search(tail):
        return False
    if _SUMMARY_PASS_RE.search(tail):
        return True
    return None
