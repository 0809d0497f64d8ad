"""The redactor, shape by shape: what it replaces, what ordinary output it leaves alone."""

from __future__ import annotations

import json

import pytest

from common.redaction import Redactor

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5" * 3 + "f6G7h8"
FINE_GRAINED = "github_pat_11ABCDEFG0" + "x1Y2z3" * 10
OPENAI_KEY = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5q" * 2
LEGACY_OPENAI_KEY = "sk-" + "T3BlbkFJ" * 6
ANTHROPIC_KEY = "sk-ant-api03-" + "Zx9_Yw8-Vu7t" * 4
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SLACK_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
TELEGRAM_SECRET = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
PEM_BODY = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\nZ1BjP5CE/Wm/Rr500P\n"
AGENTPR_SECRET = "hook-secret-value-0451"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {GITHUB_TOKEN} used", "token [REDACTED:github-token] used"),
        (f"gho_{'a1' * 18}", "[REDACTED:github-token]"),
        (f"ghs_{'a1' * 18}", "[REDACTED:github-token]"),
        (f"ghu_{'a1' * 18} ghr_{'b2' * 18}", "[REDACTED:github-token] [REDACTED:github-token]"),
        (f"pat={FINE_GRAINED}", "pat=[REDACTED:github-token]"),
        (f"OPENAI {OPENAI_KEY}.", "OPENAI [REDACTED:openai-key]."),
        (f"'{LEGACY_OPENAI_KEY}'", "'[REDACTED:openai-key]'"),
        (f"key: {ANTHROPIC_KEY}", "key: [REDACTED:anthropic-key]"),
        (f"aws {AWS_KEY_ID} eu", "aws [REDACTED:aws-access-key] eu"),
        (f"slack {SLACK_TOKEN}", "slack [REDACTED:slack-token]"),
        (
            f"https://api.telegram.org/bot123456789:{TELEGRAM_SECRET}/getMe",
            "https://api.telegram.org/bot123456789:[REDACTED:telegram-token]/getMe",
        ),
        (
            'curl -H "Authorization: Bearer abc.def-123_456" x',
            'curl -H "Authorization: Bearer [REDACTED:authorization]" x',
        ),
        ("authorization: token 0123456789abcdef", "authorization: token [REDACTED:authorization]"),
        (
            "AUTHORIZATION: Basic dXNlcjpwYXNzd29yZA==",
            "AUTHORIZATION: Basic [REDACTED:authorization]",
        ),
        ("export GITHUB_TOKEN=abc123def456 && x", "export GITHUB_TOKEN=[REDACTED:assignment] && x"),
        ('OPENAI_API_KEY="abc123def456"', 'OPENAI_API_KEY="[REDACTED:assignment]"'),
        (
            "DB_PASSWORD=hunter2 WEBHOOK_SECRET='s3cr3t'",
            "DB_PASSWORD=[REDACTED:assignment] WEBHOOK_SECRET='[REDACTED:assignment]'",
        ),
        (
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}-----END OPENSSH PRIVATE KEY-----\nok",
            "[REDACTED:private-key]\nok",
        ),
        (
            f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----",
            "[REDACTED:private-key]",
        ),
        (
            "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B\n\n"
            f"{PEM_BODY}-----END EC PRIVATE KEY-----",
            "[REDACTED:private-key]",
        ),
        (
            f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{PEM_BODY}-----END ENCRYPTED PRIVATE KEY-----",
            "[REDACTED:private-key]",
        ),
        (f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}", "[REDACTED:private-key]"),  # cut off
        (f"the {AGENTPR_SECRET} leaked", "the [REDACTED:secret] leaked"),
    ],
)
def test_each_shape_is_redacted(text: str, expected: str) -> None:
    assert Redactor([AGENTPR_SECRET]).redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pip install sk-learn scikit-learn",
        "see sk-some-long-kebab-case-branch-name",
        "task-0123456789abcdefghijklmnop",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "id 123e4567-e89b-12d3-a456-426614174000",
        "token = get_token()\npassword=None\napi_key=settings.key",
        "GITHUB_TOKEN=$GITHUB_TOKEN curl -H 'Authorization: Bearer $TOKEN'",
        "MAX_TOKENS=4096 TOKEN_LIMIT=5",
        "ghp_short and ghp_ alone; PRIVATE KEY files live in ~/.ssh",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
        "at 2024-05-01T12:00:00Z 1714564800: started",
        "xoxo-gossip AKIA is a prefix, AKIAshort too",
    ],
)
def test_ordinary_output_is_left_alone(text: str) -> None:
    assert Redactor(["short", "", None]).redact(text) == text


def test_values_shorter_than_eight_characters_are_not_redacted() -> None:
    redactor = Redactor(["main", "1234567", "12345678"])
    assert redactor.redact("main 1234567 12345678") == "main 1234567 [REDACTED:secret]"


def test_a_secret_containing_another_is_replaced_whole() -> None:
    redactor = Redactor(["abcdefgh", "abcdefgh-and-more"])
    assert redactor.redact("x abcdefgh-and-more y") == "x [REDACTED:secret] y"


def test_redacted_json_lines_stay_json() -> None:
    event = {
        "type": "item.completed",
        "item": {
            "command": f"export GITHUB_TOKEN={GITHUB_TOKEN}; cat id_rsa",
            "aggregated_output": f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}",  # cut off
            "note": f'"quoted {AGENTPR_SECRET}" and Authorization: Bearer {GITHUB_TOKEN}',
        },
    }
    redacted = Redactor([AGENTPR_SECRET]).redact(json.dumps(event))
    item = json.loads(redacted)["item"]
    assert item["command"] == "export GITHUB_TOKEN=[REDACTED:assignment]; cat id_rsa"
    assert item["aggregated_output"] == "[REDACTED:private-key]"
    assert GITHUB_TOKEN not in redacted and AGENTPR_SECRET not in redacted


def test_a_raw_key_printed_over_many_lines_is_dropped_line_by_line() -> None:
    lines = Redactor().lines()
    stream = [
        "before\n",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
        *(line + "\n" for line in PEM_BODY.splitlines()),
        "-----END OPENSSH PRIVATE KEY----- after\n",
        "next\n",
    ]
    out = "".join(lines.redact(line) for line in stream)
    assert out == "before\n[REDACTED:private-key]\n after\nnext\n"


def test_nested_values_are_redacted_keys_kept() -> None:
    value = {"GITHUB_TOKEN": [GITHUB_TOKEN, 3, None, {"x": (AWS_KEY_ID,)}]}
    assert Redactor().redact_value(value) == {
        "GITHUB_TOKEN": ["[REDACTED:github-token]", 3, None, {"x": ["[REDACTED:aws-access-key]"]}]
    }
