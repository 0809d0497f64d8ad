"""Reading a command's output: missing tools, permission denials, network failures and the test
runner's own summary line. Cheap substring checks come before the regexes."""

from __future__ import annotations

import re

from grading.bounds import clip, line_at

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


def find_network_error(text: str, lowered: str | None = None) -> str | None:
    """The line saying the network failed; `lowered` is `text.lower()` if the caller has it."""
    if lowered is None:
        lowered = text.lower()
    found = [at for at in map(lowered.find, _NETWORK_HINTS) if at >= 0]
    if not found:
        return None
    if len(lowered) != len(text):  # lower() changed the length: positions do not carry over
        match = _NETWORK_RE.search(text)
        return line_at(text, match) if match else None
    # The long alternation runs only on the lines a hint points at, earliest first: over a
    # whole 12 kB window it costs milliseconds per command.
    for at in sorted(found):
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        line = text[start : end if end != -1 else len(text)]
        match = _NETWORK_RE.search(line)
        if match is not None:
            return line_at(line, match)
    return None


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


# -- a test run that ran nothing --

_NO_TESTS_RE = re.compile(
    r"collected 0 items(?! /)|^[= ]*no tests ran\b|No tests found|No test files found|"
    r"^Ran 0 tests\b|\b0 passing\b|no test files|^running 0 tests$",
    re.M,
)


# Any of these means tests did run (or failed to load): not an empty run.
_SOME_TESTS_RE = re.compile(
    r"\b[1-9]\d* (?:passed|failed|passing|failing|errors?|tests? passed)\b|"
    r"^(?:ok|FAIL)\s|^--- (?:FAIL|PASS|SKIP)|^running [1-9]\d* tests?$|Tests:\s+[1-9]|^Ran [1-9]",
    re.M,
)


_NO_TESTS_HINTS = ("0 items", "no tests", "no test files", "ran 0", "0 passing", "running 0")


def ran_no_tests(output: str, exit_code: int | None, runner: str) -> bool:
    """The run collected nothing: pytest's "collected 0 items" / exit 5, jest's "No tests
    found", go's "no test files", unittest's "Ran 0 tests". Not test evidence of anything."""
    if exit_code == 5 and runner == "pytest":
        return True
    lowered = output.lower()
    if not any(hint in lowered for hint in _NO_TESTS_HINTS):
        return False
    if not _NO_TESTS_RE.search(output):
        return False
    return not _SOME_TESTS_RE.search(output)


# -- the environment being down --

# pip names a distribution it cannot find; "(from versions: none)" means it saw no index at all.
_NO_DISTRIBUTION_RE = re.compile(
    r"from versions: none\)[\s\S]{0,400}No matching distribution found for \S+"
)


_OUTAGE_NAMES = (
    ("name resolution", "DNS failure"),
    ("could not resolve", "DNS failure"),
    ("service not known", "DNS failure"),
    ("servname", "DNS failure"),
    ("eai_again", "DNS failure"),
    ("enotfound", "DNS failure"),
    ("getaddrinfo", "DNS failure"),
    ("connection refused", "connection refused"),
    ("econnrefused", "connection refused"),
    ("npm err! network", "package registry unreachable"),
    ("could not fetch url", "package registry unreachable"),
    ("no matching distribution", "package registry unreachable"),
    ("timed out", "connection timed out"),
    ("etimedout", "connection timed out"),
    ("timeout", "connection timed out"),
    ("unreachable", "network unreachable"),
    ("service unavailable", "server unavailable"),
    ("bad gateway", "server unavailable"),
    ("server error", "server unavailable"),
    ("gateway time", "server unavailable"),
    ("no route to host", "network unreachable"),
)


def find_outage(text: str, lowered: str | None = None) -> str | None:
    """ "<what is down>: <the line that says so>" when the output shows the environment (DNS,
    a registry, the network) failing rather than the code."""
    if lowered is None:
        lowered = text.lower()
    line = find_network_error(text, lowered)
    if line is None and "no matching distribution" in lowered:
        match = _NO_DISTRIBUTION_RE.search(text)
        if match is not None:
            line = clip(match.group().rsplit("\n", 1)[-1], 300)
    return None if line is None else name_outage(line)


def name_outage(line: str) -> str:
    """ "DNS failure: <line>", "package registry unreachable: <line>"…"""
    lowered = line.lower()
    name = next((name for hint, name in _OUTAGE_NAMES if hint in lowered), "network failure")
    return f"{name}: {line}"
