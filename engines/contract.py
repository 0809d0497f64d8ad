"""What every agent (codex, claude) is told before the operator's prompt: the rules agentpr
grades against."""

from __future__ import annotations

from contracts import AgentStepInput

CONTRACT = """\
You are working in the git repository at {workspace} for agentpr (run {run_id}).
Rules:
- Only change files inside this repository. Do not use sudo. Do not install anything globally
  (no npm -g, no pip --user, no system package managers); project-local environments are fine.
- Do not commit, push, rebase or rewrite git history: agentpr commits and pushes for you.
- Run the repository's tests before you finish{tests}.
- End your final message with one line: STATUS: PASS, STATUS: FAIL or STATUS: NEEDS REVIEW.
"""


def full_prompt(request: AgentStepInput) -> str:
    tests = ""
    if request.governance and request.governance.test_commands:
        tests = " (" + "; ".join(f"`{c}`" for c in request.governance.test_commands[:3]) + ")"
    if request.governance and request.governance.dco_required:
        tests += ". Commits will be signed off (DCO) by agentpr"
    preamble = CONTRACT.format(workspace=request.workspace, run_id=request.run_id, tests=tests)
    return preamble + "\n" + (request.prompt or "")
