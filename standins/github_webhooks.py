"""GitHub webhook deliveries, for demos and tests: payload builders and a sender that posts like GitHub.

Each builder returns `(event_name, payload)` shaped like GitHub's documented examples for one
event and action, trimmed to what a receiver reads. They are repository webhooks: `repository`
and `sender` are present, `installation` is absent (that is for GitHub Apps). Ids are stable
per name, so two payloads about one repository agree.

Shapes worth knowing, as GitHub sends them:

- `check_run.pull_requests` and `check_suite.pull_requests` list only pull requests whose head
  branch is in the same repository; for a pull request from a fork they are EMPTY, so a receiver
  must find the pull request by `head_sha` itself.
- A review's `state` is lower case in webhooks ("approved", "changes_requested", "commented")
  but upper case in the REST API ("APPROVED", ...).
- `pull_request` "closed" covers both outcomes: `pull_request.merged` tells merged from not.

Usage::

    event, payload = check_run_completed("demo/calc", name="tests", conclusion="failure",
                                         head_sha=sha, head_branch="agentpr/x")
    status, answer = deliver(url, event, payload, secret="s3cret")
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.parse
import uuid
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

GITHUB = "https://github.com"
API = "https://api.github.com"
HOOKSHOT_USER_AGENT = "GitHub-Hookshot/abc"
# Both signatures are sent when a secret is set; receivers should check the SHA-256 one.
SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"

REVIEW_STATES = ("approved", "changes_requested", "commented")
CONCLUSIONS = (
    "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required",
    "stale",
)  # fmt: skip

Payload = dict[str, Any]


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value: HMAC-SHA256 of the raw body, keyed with the secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode(payload: Mapping[str, Any]) -> bytes:
    """The body GitHub posts for `payload`: compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def deliver(
    url: str,
    event: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None = None,
    delivery_id: str | None = None,
    body: bytes | None = None,
    headers_override: Mapping[str, str | None] | None = None,
    hook_id: int = 1,
    timeout: float = 10,
) -> tuple[int, Any]:
    """POST one delivery to `url` as GitHub does; returns the status and the answer, parsed
    as JSON when it is JSON, else as text. `body` replaces the encoded payload (the signature
    is computed over whatever is sent); `headers_override` replaces headers, and a None value
    drops one (e.g. to send no signature)."""
    data = encode(payload) if body is None else body
    headers: dict[str, str] = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": HOOKSHOT_USER_AGENT,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Event": event,
        "X-GitHub-Hook-ID": str(hook_id),
    }
    repository = payload.get("repository")
    if isinstance(repository, Mapping) and "id" in repository:
        headers["X-GitHub-Hook-Installation-Target-Type"] = "repository"
        headers["X-GitHub-Hook-Installation-Target-ID"] = str(repository["id"])
    if secret is not None:
        legacy = hmac.new(secret.encode(), data, hashlib.sha1).hexdigest()
        headers[LEGACY_SIGNATURE_HEADER] = f"sha1={legacy}"
        headers[SIGNATURE_HEADER] = sign(secret, data)
    for name, value in (headers_override or {}).items():
        for existing in [h for h in headers if h.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name] = value
    # http.client rather than urllib.request: the latter re-cases header names
    # ("X-github-event"), and receivers under test should see GitHub's spelling.
    target = urllib.parse.urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(target.netloc, timeout=timeout)
    try:
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        connection.request("POST", path, data, headers)
        response = connection.getresponse()
        status, raw = response.status, response.read()
    finally:
        connection.close()
    text = raw.decode("utf-8", errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


# -- events --------------------------------------------------------------------------------


def ping(
    hook_id: int = 1,
    *,
    repo_full_name: str | None = None,
    url: str = "https://agentpr.example/webhooks/github",
    events: Sequence[str] = ("check_run", "check_suite", "pull_request", "pull_request_review"),
) -> tuple[str, Payload]:
    """Sent once when the webhook is created. Without `repo_full_name` it is an organization
    hook's ping: no `repository`."""
    now = _now()
    hook_api = (
        f"{API}/repos/{repo_full_name}/hooks/{hook_id}"
        if repo_full_name
        else f"{API}/orgs/hooks/{hook_id}"
    )
    payload: Payload = {
        "zen": "Design for failure.",
        "hook_id": hook_id,
        "hook": {
            "type": "Repository" if repo_full_name else "Organization",
            "id": hook_id,
            "name": "web",
            "active": True,
            "events": list(events),
            "config": {"content_type": "json", "insecure_ssl": "0", "url": url},
            "updated_at": now,
            "created_at": now,
            "url": hook_api,
            "test_url": f"{hook_api}/test",
            "ping_url": f"{hook_api}/pings",
            "deliveries_url": f"{hook_api}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        },
    }
    if repo_full_name:
        payload["repository"] = repository(repo_full_name)
        payload["sender"] = account(repo_full_name.split("/")[0])
    else:
        payload["sender"] = account("octocat")
    return "ping", payload


def check_run_completed(
    repo_full_name: str,
    *,
    name: str,
    conclusion: str,
    head_sha: str,
    head_branch: str,
    pull_requests: Sequence[Mapping[str, Any]] = (),
    check_run_id: int | None = None,
    summary: str | None = None,
    text: str | None = None,
    title: str | None = None,
    app_slug: str = "github-actions",
) -> tuple[str, Payload]:
    """A check run finished. `pull_requests` are `pull_request_ref(...)` objects; leave it
    empty for a fork's pull request, as GitHub does."""
    _check_conclusion(conclusion)
    run_id = check_run_id or _stable_id("check_run", repo_full_name, head_sha, name)
    suite = _check_suite(repo_full_name, conclusion, head_sha, head_branch, pull_requests, app_slug)
    api = f"{API}/repos/{repo_full_name}"
    html_url = f"{GITHUB}/{repo_full_name}/runs/{run_id}"
    now = _now()
    check_run = {
        "id": run_id,
        "name": name,
        "node_id": f"CR_{run_id}",
        "head_sha": head_sha,
        "external_id": "",
        "url": f"{api}/check-runs/{run_id}",
        "html_url": html_url,
        "details_url": html_url,
        "status": "completed",
        "conclusion": conclusion,
        "started_at": now,
        "completed_at": now,
        "output": {
            "title": title,
            "summary": summary,
            "text": text,
            "annotations_count": 0,
            "annotations_url": f"{api}/check-runs/{run_id}/annotations",
        },
        "check_suite": suite,
        "app": _app(app_slug),
        "pull_requests": [dict(pr) for pr in pull_requests],
    }
    return "check_run", _event(
        repo_full_name, "completed", "github-actions[bot]", check_run=check_run
    )


def check_run_created(
    repo_full_name: str,
    *,
    name: str,
    head_sha: str,
    head_branch: str,
    pull_requests: Sequence[Mapping[str, Any]] = (),
    app_slug: str = "github-actions",
) -> tuple[str, Payload]:
    """A check run was queued: it has a status and no conclusion yet."""
    event, payload = check_run_completed(
        repo_full_name, name=name, conclusion="success", head_sha=head_sha,
        head_branch=head_branch, pull_requests=pull_requests, app_slug=app_slug,
    )  # fmt: skip
    run = payload["check_run"]
    run.update(status="queued", conclusion=None, completed_at=None)
    run["check_suite"].update(status="queued", conclusion=None)
    payload["action"] = "created"
    return event, payload


def check_suite_completed(
    repo_full_name: str,
    *,
    conclusion: str,
    head_sha: str,
    head_branch: str,
    pull_requests: Sequence[Mapping[str, Any]] = (),
    app_slug: str = "github-actions",
) -> tuple[str, Payload]:
    """Every check run of one app on one commit finished; `pull_requests` as for check runs."""
    _check_conclusion(conclusion)
    suite = _check_suite(repo_full_name, conclusion, head_sha, head_branch, pull_requests, app_slug)
    suite["latest_check_runs_count"] = 1
    suite["check_runs_url"] = f"{suite['url']}/check-runs"
    suite["head_commit"] = {
        "id": head_sha,
        "tree_id": hashlib.sha1(head_sha.encode()).hexdigest(),
        "message": "Commit message",
        "timestamp": _now(),
        "author": {"name": "agentpr", "email": "agentpr@example.com"},
        "committer": {"name": "agentpr", "email": "agentpr@example.com"},
    }
    return "check_suite", _event(
        repo_full_name, "completed", "github-actions[bot]", check_suite=suite
    )


def pull_request_review_submitted(
    repo_full_name: str,
    *,
    number: int,
    state: str,
    head_sha: str,
    review_id: int,
    body: str = "",
    user: str = "reviewer",
    head_ref: str = "agentpr/change",
    head_label: str | None = None,
    base_ref: str = "main",
    author_association: str = "MEMBER",
) -> tuple[str, Payload]:
    """A reviewer submitted a review; `state` is lower case, as webhooks send it."""
    if state not in REVIEW_STATES:
        raise ValueError(f"webhook review state must be one of {REVIEW_STATES}, not {state!r}")
    pull = pull_request_object(
        repo_full_name,
        number=number,
        head_sha=head_sha,
        head_ref=head_ref,
        head_label=head_label,
        base_ref=base_ref,
    )
    html_url = f"{pull['html_url']}#pullrequestreview-{review_id}"
    review = {
        "id": review_id,
        "node_id": f"PRR_{review_id}",
        "user": account(user),
        "body": body or None,
        "commit_id": head_sha,
        "submitted_at": _now(),
        "state": state,
        "html_url": html_url,
        "pull_request_url": pull["url"],
        "author_association": author_association,
        "_links": {"html": {"href": html_url}, "pull_request": {"href": pull["url"]}},
    }
    return "pull_request_review", _event(
        repo_full_name, "submitted", user, review=review, pull_request=pull
    )


def issue_comment_created(
    repo_full_name: str,
    *,
    number: int,
    comment_id: int,
    body: str,
    user: str = "reviewer",
    author_association: str = "MEMBER",
    on_pull_request: bool = True,
) -> tuple[str, Payload]:
    """A comment on a pull request's conversation tab (GitHub sends `issue_comment`; the issue
    carries a `pull_request` object when it is a pull request)."""
    issue_url = f"{API}/repos/{repo_full_name}/issues/{number}"
    html = f"https://github.com/{repo_full_name}/pull/{number}"
    issue: Payload = {
        "url": issue_url,
        "id": _stable_id("issue", repo_full_name, str(number)),
        "number": number,
        "title": "agentpr change",
        "user": account("agentpr-bot"),
        "state": "open",
        "author_association": "CONTRIBUTOR",
        "html_url": html,
    }
    if on_pull_request:
        issue["pull_request"] = {"url": f"{API}/repos/{repo_full_name}/pulls/{number}"}
    comment = {
        "id": comment_id,
        "node_id": f"IC_{comment_id}",
        "url": f"{API}/repos/{repo_full_name}/issues/comments/{comment_id}",
        "html_url": f"{html}#issuecomment-{comment_id}",
        "issue_url": issue_url,
        "user": account(user),
        "body": body,
        "created_at": _now(),
        "updated_at": _now(),
        "author_association": author_association,
    }
    return "issue_comment", _event(repo_full_name, "created", user, issue=issue, comment=comment)


def pull_request_review_comment_created(
    repo_full_name: str,
    *,
    number: int,
    comment_id: int,
    body: str,
    head_sha: str,
    head_ref: str = "agentpr/change",
    path: str = "README.md",
    user: str = "reviewer",
    author_association: str = "MEMBER",
) -> tuple[str, Payload]:
    """A comment on a line of the pull request's diff."""
    pull = pull_request_object(repo_full_name, number=number, head_sha=head_sha, head_ref=head_ref)
    comment = {
        "id": comment_id,
        "node_id": f"PRRC_{comment_id}",
        "url": f"{API}/repos/{repo_full_name}/pulls/comments/{comment_id}",
        "html_url": f"{pull['html_url']}#discussion_r{comment_id}",
        "pull_request_url": pull["url"],
        "path": path,
        "line": 1,
        "side": "RIGHT",
        "commit_id": head_sha,
        "user": account(user),
        "body": body,
        "created_at": _now(),
        "updated_at": _now(),
        "author_association": author_association,
    }
    return "pull_request_review_comment", _event(
        repo_full_name, "created", user, comment=comment, pull_request=pull
    )


def pull_request_synchronize(
    repo_full_name: str,
    *,
    number: int,
    before: str,
    after: str,
    head_ref: str,
    head_label: str | None = None,
    sender: str = "maintainer",
) -> tuple[str, Payload]:
    """Someone pushed to the pull request's branch: `before` was its head, `after` is."""
    pull = pull_request_object(
        repo_full_name, number=number, head_sha=after, head_ref=head_ref, head_label=head_label
    )
    return "pull_request", _event(
        repo_full_name, "synchronize", sender, number=number, before=before, after=after,
        pull_request=pull,
    )  # fmt: skip


def pull_request_closed(
    repo_full_name: str,
    *,
    number: int,
    merged: bool,
    head_sha: str,
    head_ref: str,
    head_label: str,
    base_ref: str = "main",
    merged_by: str = "maintainer",
) -> tuple[str, Payload]:
    """A pull request was merged (`merged=True`) or closed without merging."""
    now = _now()
    pull = pull_request_object(
        repo_full_name,
        number=number,
        head_sha=head_sha,
        head_ref=head_ref,
        head_label=head_label,
        base_ref=base_ref,
    )
    pull.update(
        state="closed",
        closed_at=now,
        updated_at=now,
        merged=merged,
        merged_at=now if merged else None,
        merged_by=account(merged_by) if merged else None,
        merge_commit_sha=head_sha if merged else None,
        mergeable=None,
        mergeable_state="unknown",
    )
    payload = _event(repo_full_name, "closed", merged_by, number=number, pull_request=pull)
    return "pull_request", payload


# -- objects -------------------------------------------------------------------------------


def account(login: str) -> Payload:
    """A user as webhooks show it; a login ending in "[bot]" is a Bot."""
    account_id = _stable_id("account", login)
    kind = "Bot" if login.endswith("[bot]") else "User"
    return {
        "login": login,
        "id": account_id,
        "node_id": f"U_{account_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{account_id}?v=4",
        "gravatar_id": "",
        "url": f"{API}/users/{login}",
        "html_url": f"{GITHUB}/{login}",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def repository(full_name: str) -> Payload:
    """A repository as webhooks show it (the fields receivers read)."""
    owner, name = full_name.split("/", 1)
    repo_id = _stable_id("repository", full_name)
    return {
        "id": repo_id,
        "node_id": f"R_{repo_id}",
        "name": name,
        "full_name": full_name,
        "private": False,
        "owner": account(owner),
        "html_url": f"{GITHUB}/{full_name}",
        "description": None,
        "fork": False,
        "url": f"{API}/repos/{full_name}",
        "pulls_url": f"{API}/repos/{full_name}/pulls{{/number}}",
        "clone_url": f"{GITHUB}/{full_name}.git",
        "default_branch": "main",
        "visibility": "public",
    }


def pull_request_ref(
    repo_full_name: str,
    *,
    number: int,
    head_sha: str,
    head_ref: str,
    base_ref: str = "main",
    base_sha: str = "0" * 40,
) -> Payload:
    """The minimal pull request check runs and suites list (same-repository heads only)."""
    api = f"{API}/repos/{repo_full_name}"
    repo_id = _stable_id("repository", repo_full_name)
    repo = {"id": repo_id, "url": api, "name": _name(repo_full_name)}
    return {
        "url": f"{api}/pulls/{number}",
        "id": _stable_id("pull", repo_full_name, str(number)),
        "number": number,
        "head": {"ref": head_ref, "sha": head_sha, "repo": repo},
        "base": {"ref": base_ref, "sha": base_sha, "repo": repo},
    }


def pull_request_object(
    repo_full_name: str,
    *,
    number: int,
    head_sha: str,
    head_ref: str,
    head_label: str | None = None,
    base_ref: str = "main",
    title: str = "agentpr change",
    author: str = "agentpr-bot",
) -> Payload:
    """An open pull request as webhooks carry it. `head_label` "owner:branch" with another
    owner than the base's makes it a fork's pull request (head.repo is that fork)."""
    base_owner = repo_full_name.split("/")[0]
    head_owner = (head_label or f"{base_owner}:{head_ref}").split(":", 1)[0]
    head_repo = repository(f"{head_owner}/{_name(repo_full_name)}")
    head_repo["fork"] = head_owner.lower() != base_owner.lower()
    api = f"{API}/repos/{repo_full_name}"
    url = f"{api}/pulls/{number}"
    html_url = f"{GITHUB}/{repo_full_name}/pull/{number}"
    now = _now()
    return {
        "url": url,
        "id": _stable_id("pull", repo_full_name, str(number)),
        "node_id": f"PR_{number}",
        "html_url": html_url,
        "issue_url": f"{api}/issues/{number}",
        "number": number,
        "state": "open",
        "locked": False,
        "title": title,
        "user": account(author),
        "body": None,
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
        "merged_at": None,
        "merge_commit_sha": None,
        "draft": False,
        "head": {
            "label": f"{head_owner}:{head_ref}",
            "ref": head_ref,
            "sha": head_sha,
            "user": account(head_owner),
            "repo": head_repo,
        },
        "base": {
            "label": f"{base_owner}:{base_ref}",
            "ref": base_ref,
            "sha": "0" * 40,
            "user": account(base_owner),
            "repo": repository(repo_full_name),
        },
        "author_association": "CONTRIBUTOR",
        "merged": False,
        "mergeable": True,
        "mergeable_state": "clean",
        "merged_by": None,
    }


# -- internals -----------------------------------------------------------------------------


def _event(repo_full_name: str, action: str, sender: str, **fields: Any) -> Payload:
    return {
        "action": action,
        **fields,
        "repository": repository(repo_full_name),
        "sender": account(sender),
    }


def _check_suite(
    repo_full_name: str,
    conclusion: str,
    head_sha: str,
    head_branch: str,
    pull_requests: Sequence[Mapping[str, Any]],
    app_slug: str,
) -> Payload:
    suite_id = _stable_id("check_suite", repo_full_name, head_sha, app_slug)
    now = _now()
    return {
        "id": suite_id,
        "node_id": f"CS_{suite_id}",
        "head_branch": head_branch,
        "head_sha": head_sha,
        "status": "completed",
        "conclusion": conclusion,
        "url": f"{API}/repos/{repo_full_name}/check-suites/{suite_id}",
        "before": None,
        "after": head_sha,
        "pull_requests": [dict(pr) for pr in pull_requests],
        "app": _app(app_slug),
        "created_at": now,
        "updated_at": now,
    }


def _app(slug: str) -> Payload:
    app_id = 15368 if slug == "github-actions" else _stable_id("app", slug)
    return {
        "id": app_id,
        "slug": slug,
        "node_id": f"A_{app_id}",
        "owner": account("github"),
        "name": "GitHub Actions" if slug == "github-actions" else slug,
        "external_url": f"{GITHUB}/features/actions",
        "html_url": f"{GITHUB}/apps/{slug}",
    }


def _check_conclusion(conclusion: str) -> None:
    if conclusion not in CONCLUSIONS:
        raise ValueError(f"conclusion must be one of {CONCLUSIONS}, not {conclusion!r}")


def _name(full_name: str) -> str:
    return full_name.split("/", 1)[1]


def _stable_id(*parts: str) -> int:
    return 100_000 + zlib.crc32("\x00".join(parts).encode()) % 900_000_000


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
