"""The CLI's fast lane: `show-run --json` and `pause` answered through Temporal's HTTP API with
the standard library only — no Typer, pydantic or Temporal SDK to import, which
is most of what a command costs (bench/cli_latency.py).

It takes a command only when it is sure to answer exactly as the full CLI would: the exact
argument shapes below, a plain (no TLS, no API key) connection, a run that is running, and an
HTTP API that answers in Temporal's wire format. Anything else returns None before a request
that changes anything is sent, and the full CLI takes over (the same answer, more slowly).
`AGENTPR_FAST_LANE=0` turns it off.

A gated `pause` (without `--skip-doctor`) takes the lane only when the startup gate's quick
checks (activities/checks.py `quick_checks`) would all pass: git answers, the data dir and the
workspace root are writable with room, and the policy file is absent or is byte for byte the one
the full check last validated (its sha256 stamp, Settings.policy_stamp_file). Any doubt: the full CLI runs the
real gate and words the refusal.

The HTTP API's address: TEMPORAL_HTTP_ADDRESS, else the gRPC address's port + 10 (where
`agentpr server` puts it, as Temporal's own defaults do: 7243 next to 7233).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_JSON_PLAIN = base64.b64encode(b"json/plain").decode()
_RUNNING = "WORKFLOW_EXECUTION_STATUS_RUNNING"
_COMPLETED = "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"
_TIMEOUT_S = 30.0
MIN_FREE_BYTES = 1024 * 1024 * 1024  # activities/checks.py MIN_FREE_MB, as bytes


class _NotMine(Exception):
    """The fast lane cannot answer this one exactly: the full CLI takes it."""


def try_fast_lane(argv: Sequence[str]) -> int | None:
    """The exit code when the fast lane answered, None when the full CLI must."""
    if os.environ.get("AGENTPR_FAST_LANE", "1") == "0":
        return None
    args = list(argv)
    gated = args[:1] == ["pause"]
    if args[:1] != ["show-run"] and args[:2] != ["--skip-doctor", "pause"] and not gated:
        return None  # before importing urllib (and ssl, email): `--help` does not pay for it
    pause_options = {"--run-id", "--reason", "--idempotency-key"}
    try:
        api = _http_api()
        if args[:1] == ["show-run"]:
            return _show_run(api, _options(args[1:], {"--run-id"}, {"--json"}))
        if gated:
            options = _options(args[1:], pause_options, {"--json"})
            _quick_checks_pass()
            return _pause(api, options)
        return _pause(api, _options(args[2:], pause_options, {"--json"}))
    except _NotMine:
        return None
    return None


def _options(args: list[str], valued: set[str], flags: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    i = 0
    while i < len(args):
        name = args[i]
        if name in flags and name not in found:
            found[name] = ""
            i += 1
        elif name in valued and name not in found and i + 1 < len(args):
            found[name] = args[i + 1]
            i += 2
        else:
            raise _NotMine
    if "--run-id" not in found or not _RUN_ID.match(found["--run-id"]):
        raise _NotMine
    return found


class _HttpApi:
    def __init__(self, base: str, namespace: str) -> None:
        import urllib.parse

        self.base = f"{base}/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}"

    def call(
        self, path: str, body: dict[str, Any] | None = None, timeout: float = _TIMEOUT_S
    ) -> dict[str, Any]:
        import urllib.request

        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
        if not isinstance(answer, dict):
            raise _NotMine
        return answer

    def workflow(self, run_id: str) -> str:
        import urllib.parse

        return f"/workflows/{urllib.parse.quote(run_id, safe='')}"


def _http_api() -> _HttpApi:
    env = os.environ
    if env.get("TEMPORAL_TLS") or env.get("TEMPORAL_API_KEY") or env.get("TEMPORAL_TLS_CERT"):
        raise _NotMine
    address = env.get("TEMPORAL_HTTP_ADDRESS")
    if not address:
        host, _, port = (env.get("TEMPORAL_ADDRESS") or "127.0.0.1:7233").rpartition(":")
        if not port.isdigit():
            raise _NotMine
        address = f"{host}:{int(port) + 10}"
    if "://" not in address:
        address = f"http://{address}"
    return _HttpApi(address.rstrip("/"), env.get("TEMPORAL_NAMESPACE") or "default")


def _quick_checks_pass() -> None:
    """The startup gate's verdict when it is sure to be "all pass"; otherwise _NotMine."""
    import hashlib
    import shutil
    import subprocess
    import tempfile

    env = os.environ
    home = Path(env.get("AGENTPR_HOME") or Path.home() / ".agentpr").expanduser()
    workspaces = Path(env.get("AGENTPR_WORKSPACE_ROOT") or home / "workspaces").expanduser()
    policy = Path(env.get("AGENTPR_POLICY_FILE") or home / "manager_policy.json").expanduser()
    try:
        if shutil.which("git") is None:
            raise _NotMine
        done = subprocess.run(
            ["git", "--version"], capture_output=True, timeout=20, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            raise _NotMine
        for directory in (home, workspaces):
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-") as probe:
                probe.write(b"ok")
            if shutil.disk_usage(directory).free < MIN_FREE_BYTES:
                raise _NotMine
        if policy.exists():
            digest = hashlib.sha256(policy.read_bytes()).hexdigest()
            stamp = home / ".policy-validated"  # Settings.policy_stamp_file
            if stamp.read_text().strip() != f"{digest} {policy}":
                raise _NotMine
    except (OSError, subprocess.SubprocessError) as err:
        raise _NotMine from err


def _answer_timeout() -> float:
    """AGENTPR_ANSWER_TIMEOUT_S as Settings reads it; a value it would refuse is not mine."""
    raw = os.environ.get("AGENTPR_ANSWER_TIMEOUT_S")
    if not raw:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        raise _NotMine from None
    if not value >= 0.1:  # also NaN
        raise _NotMine
    return value


def _unanswered(run_id: str, timeout: float, as_json: bool) -> int:
    """starter/client.py RunClient._answer's words when no worker answers in time."""
    queue = os.environ.get("AGENTPR_TASK_QUEUE") or "agentpr"
    return _say(
        f"run {run_id} did not answer in {timeout:g}s — is a worker running on "
        f"task queue {queue!r}? start one with `agentpr worker` or "
        "`make up` (a command sent now may still apply when it starts)",
        as_json=as_json,
    )


def _running(api: _HttpApi, run_id: str) -> None:
    """The run exists and runs (a finished run is read from its result, by the full CLI)."""
    try:
        described = api.call(api.workflow(run_id))
    except (OSError, ValueError) as err:  # unreachable, 404, not JSON: the full CLI explains
        raise _NotMine from err
    info = described.get("workflowExecutionInfo")
    if not isinstance(info, dict) or info.get("status") != _RUNNING:
        raise _NotMine
    if (info.get("type") or {}).get("name") != "IntegrationRunWorkflow":
        raise _NotMine


def _payload(outcome: Any) -> Any:
    payloads = outcome.get("payloads") if isinstance(outcome, dict) else None
    if not isinstance(payloads, list) or len(payloads) != 1:
        raise _NotMine
    first = payloads[0]
    if (first.get("metadata") or {}).get("encoding") != _JSON_PLAIN:
        raise _NotMine
    return json.loads(base64.b64decode(first.get("data") or ""))


def _show_run(api: _HttpApi, options: dict[str, str]) -> int:
    if "--json" not in options:
        raise _NotMine  # the table needs the full renderer
    run_id = options["--run-id"]
    timeout = _answer_timeout()
    _running(api, run_id)
    try:
        answer = api.call(
            api.workflow(run_id) + "/query/get_run?noPayloadShorthand=true",
            {"query": {"queryType": "get_run"}},
            timeout=timeout,
        )
    except TimeoutError:
        return _unanswered(run_id, timeout, as_json=True)
    except (OSError, ValueError) as err:
        raise _NotMine from err
    record = _payload(answer.get("queryResult"))
    sys.stdout.write(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return 0


def _pause(api: _HttpApi, options: dict[str, str]) -> int:
    import time
    import urllib.error
    import uuid

    run_id = options["--run-id"]
    timeout = _answer_timeout()
    reason = options.get("--reason")
    key = options.get("--idempotency-key")
    if (reason is not None and len(reason) > 500) or (key is not None and not 0 < len(key) <= 200):
        raise _NotMine  # the full CLI words the refusal
    _running(api, run_id)
    request = {"by": "cli", "reason": reason, "idempotency_key": key}
    body = {
        "request": {
            "meta": {"updateId": str(uuid.uuid4()), "identity": f"agentpr-cli@{os.getpid()}"},
            "input": {
                "args": {
                    "payloads": [
                        {
                            "metadata": {"encoding": _JSON_PLAIN},
                            "data": base64.b64encode(json.dumps(request).encode()).decode(),
                        }
                    ]
                }
            },
        },
        "waitPolicy": {"lifecycleStage": _COMPLETED},
    }
    path = api.workflow(run_id) + "/update/pause?noPayloadShorthand=true"
    deadline = time.monotonic() + timeout
    answer: dict[str, Any] = {}
    try:
        # The server answers when the update completed, or earlier when its long poll ends;
        # asking again with the same update id waits on the same update (it applies once).
        while not isinstance(answer.get("outcome"), dict):
            left = deadline - time.monotonic()
            if left <= 0:
                return _unanswered(run_id, timeout, as_json="--json" in options)
            answer = api.call(path, body, timeout=left)
    except TimeoutError:
        return _unanswered(run_id, timeout, as_json="--json" in options)
    except urllib.error.HTTPError as err:
        if err.code in (400, 404):
            raise _NotMine from err  # nothing was applied: the full CLI explains
        return _say(
            f"pause for run {run_id} got HTTP {err.code} from Temporal's HTTP API; "
            "see `agentpr show-run` before trying again"
        )
    except (OSError, ValueError):
        return _say(
            f"pause for run {run_id}: Temporal's HTTP API stopped answering; see "
            "`agentpr show-run` before trying again"
        )
    outcome = answer["outcome"]
    failure = outcome.get("failure")
    if isinstance(failure, dict):
        info = failure.get("applicationFailureInfo")
        refusal = info.get("type") if isinstance(info, dict) else None
        return _say(str(failure.get("message") or "refused"), refusal, as_json="--json" in options)
    result = _payload(outcome.get("success"))
    if "--json" in options:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_result(result)
    return 0


def _print_result(result: dict[str, Any]) -> None:
    """What `render.print_command_result` prints for a pause, without loading rich."""
    run_id, command = result.get("run_id"), result.get("command")
    source, target = result.get("from"), result.get("to")
    if result.get("duplicate"):
        at = datetime.fromisoformat(str(result.get("at")).replace("Z", "+00:00"))
        line = (
            f"{run_id}: {command} was already applied with this idempotency key at "
            f"{at.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')} ({source} -> {target}); "
            "nothing changed"
        )
    elif source == target:
        line = f"{run_id}: {command} recorded; state stays {target}"
    else:
        line = f"{run_id}: {source} -> {target} ({command})"
    sys.stdout.write(line + "\n")


def _say(message: str, refusal: str | None = None, as_json: bool = False) -> int:
    """What starter/cli/app.py prints for a refusal (exit 1), --json document included."""
    line = " ".join(message.replace("Value error, ", "").split())
    sys.stderr.write("agentpr: " + line + "\n")
    if as_json:
        from contracts.errors import Refusal  # a StrEnum, stdlib only

        known = Refusal.of(refusal)
        sys.stdout.write(
            json.dumps(
                {
                    "ok": False,
                    "error": line,
                    "exit_code": 1,
                    "refusal": known.value if known else None,
                },
                indent=2,
            )
            + "\n"
        )
    return 1
