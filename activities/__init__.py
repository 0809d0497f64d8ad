"""Side effects, one module per concern, each safe to run twice:

- workspace.py  prepare_workspace: fork, clone, upstream, branch, governance scan
- checks.py     doctor (global) and the preflight activity (per run)
- finish.py     finish_run: commit with the operator's identity, push to the fork
- pr_request.py write_pr_request: the request file (and token file) an auto-mode run waits on
- governance.py what a repository asks of contributors (read by prepare_workspace)
- maintainer_policy.py the repository's rules on AI/automated PRs and its recent PRs, read
                through the API before any fork
- runtime_env.py the guardrail environment for every agent/command a run executes
- landing.py    check_landed: is a closed PR's change on the default branch (merged,
                squashed, applied by hand, reverted)?
- git.py        git with credentials via GIT_ASKPASS, heartbeats, scrubbed errors
- model.py      the optional model's calls (semantic review, maintainers' replies), through
                chat_model.py, the one chat-completions client
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common.settings import Settings


def build_activities(settings: Settings) -> list[Callable[..., Any]]:
    """The activities the orchestration worker hosts, bound to this process's settings (the
    GitHub token stays in the worker; it never travels through workflow history)."""
    from activities.checks import PreflightActivities
    from activities.finish import FinishActivities
    from activities.github import GitHubReadActivities
    from activities.landing import LandingActivities
    from activities.maintainer_policy import MaintainerPolicyActivities
    from activities.model import ModelActivities
    from activities.pr_request import PrRequestActivities
    from activities.workspace import WorkspaceActivities

    model = ModelActivities(settings)
    return [
        model.review_pass,
        model.classify_reply,
        WorkspaceActivities(settings).prepare_workspace,
        PreflightActivities(settings).preflight,
        FinishActivities(settings).finish_run,
        GitHubReadActivities(settings).fetch_pull_request_status,
        GitHubReadActivities(settings).read_ci_baseline,
        LandingActivities(settings).check_landed,
        PrRequestActivities(settings).write_pr_request,
        MaintainerPolicyActivities(settings).read_policy_documents,
        MaintainerPolicyActivities(settings).list_recent_pull_requests,
    ]
