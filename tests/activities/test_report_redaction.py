"""Reports redact secrets and private keys from captured output (issue 13): an agent step that
prints agentpr's own secret, a GitHub token and a PEM private key leaves none of them in the
reports directory, the grade's evidence, `show-run` or an activity's error."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from activities.git import GitError
from activities.redacted_failures import redacted_failure
from common.redaction import Redactor
from standins.git_repos import Remotes, make_remotes
from tests.agent_steps import implementing_run
from tests.operator_steps import show
from tests.run_env import Env

WEBHOOK_SECRET = "hook-secret-value-2718"
FAKE_GITHUB_TOKEN = "ghp_" + "Zq8Lk2Vn5Rt7Wy1Xc4Bm" + "9Pd3Fg6Hj0Ks"
PEM_BODY_LINE = "MIIEowIBAAKCAQEAu9sLr8JpA2dW0qZ7bY1vHf5kP3c"
PEM_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    f"{PEM_BODY_LINE}\n"
    "Xb7nQ2mT4vR8sL0aK6yW1eU9iO3pZ5cF7hJ2gD4=\n"
    "-----END RSA PRIVATE KEY-----"
)
LEAKS = (WEBHOOK_SECRET, FAKE_GITHUB_TOKEN, PEM_BODY_LINE, "BEGIN RSA PRIVATE KEY")


def _leaks_in(text: str) -> list[str]:
    return [leak for leak in LEAKS if leak in text]


def test_an_agent_step_that_prints_secrets_leaves_none_in_reports_evidence_or_show_run(
    env: Env, tmp_path: Path
) -> None:
    remotes: Remotes = make_remotes(tmp_path / "git")
    env.reconfigure(
        github_webhook_secret=SecretStr(WEBHOOK_SECRET),
        git_author_name="Ops",
        git_author_email="ops@example.com",
    )
    run_id = implementing_run(env, remotes)
    # The secrets are in the script, not on the command line the operator typed.
    script = tmp_path / "leak.sh"
    script.write_text(
        f"cat <<'KEY'\n{PEM_KEY}\nKEY\n"
        f"echo 'cloning with {FAKE_GITHUB_TOKEN}' >&2\n"
        f"echo 'token {FAKE_GITHUB_TOKEN}'\n"
        f"echo 'webhook secret is {WEBHOOK_SECRET}'\n"
    )
    result = env.cli(
        "run-agent-step",
        "--run-id",
        run_id,
        "--engine",
        "command",
        "--command",
        f"sh {script}",
        "--skip-network-check",
    )
    assert _leaks_in(result.stdout + result.stderr) == []

    reports = sorted(env.settings.reports_dir.iterdir())
    leaked = {path.name: _leaks_in(path.read_text(errors="replace")) for path in reports}
    assert {name: found for name, found in leaked.items() if found} == {}
    runtime = next(path for path in reports if "_agent_runtime_" in path.name)
    report = json.loads(runtime.read_text())
    tail = report["command_samples"][0]["output_tail"]
    assert "token [REDACTED:github-token]" in tail
    assert "webhook secret is [REDACTED:secret]" in tail
    transcript = Path(report["transcript"]).read_text()
    assert transcript.startswith("[REDACTED:private-key]\n")
    assert "cloning with [REDACTED:github-token]" in Path(report["stderr"]).read_text()

    assert _leaks_in(json.dumps(show(env, run_id))) == []
    shown = env.cli("show-run", "--run-id", run_id)
    assert shown.returncode == 0 and _leaks_in(shown.stdout) == []


def test_an_activity_error_keeps_its_type_and_cause_but_not_the_secrets() -> None:
    redactor = Redactor([WEBHOOK_SECRET])
    try:
        try:
            raise GitError(["push", "origin"], 128, f"fatal: auth {FAKE_GITHUB_TOKEN} refused")
        except GitError as err:
            raise ApplicationError(
                f"push failed: {err.output}", {"secret": WEBHOOK_SECRET}, type="PushFailed"
            ) from err
    except ApplicationError as err:
        failure = redacted_failure(err, redactor)
    assert failure.type == "PushFailed" and not failure.non_retryable
    assert failure.message == "push failed: fatal: auth [REDACTED:github-token] refused"
    assert list(failure.details) == [{"secret": "[REDACTED:secret]"}]
    cause = failure.__cause__
    assert isinstance(cause, ApplicationError) and cause.type == "GitError"
    assert "[REDACTED:github-token]" in cause.message and FAKE_GITHUB_TOKEN not in cause.message
    assert failure.__suppress_context__ and failure.__traceback__ is not None


def test_an_implicit_context_is_redacted_too() -> None:
    try:
        try:
            raise OSError(f"open {WEBHOOK_SECRET}")
        except OSError:
            raise ValueError("while handling")  # noqa: B904 (the implicit context is the point)
    except ValueError as err:
        failure = redacted_failure(err, Redactor([WEBHOOK_SECRET]))
    assert failure.type == "ValueError"
    cause = failure.__cause__
    assert isinstance(cause, ApplicationError) and cause.message == "open [REDACTED:secret]"
