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


DISCOVERY_CONTRACT = """\
You are studying the git repository at {workspace} for agentpr (run {run_id}).
Rules:
- This stage is read-only: do not change, create or delete any file, and do not use sudo or
  install anything.
- Do not commit, push or rewrite git history.
- End your final message with the contract: one JSON object (its schema is in the task packet),
  nothing after it.
"""


def full_prompt(request: AgentStepInput) -> str:
    if request.skill is not None and request.skill.stage == "discover":
        preamble = DISCOVERY_CONTRACT.format(workspace=request.workspace, run_id=request.run_id)
        return preamble + "\n" + (request.prompt or "")
    tests = ""
    if request.governance and request.governance.test_commands:
        tests = " (" + "; ".join(f"`{c}`" for c in request.governance.test_commands[:3]) + ")"
    if request.governance and request.governance.dco_required:
        tests += ". Commits will be signed off (DCO) by agentpr"
    preamble = CONTRACT.format(workspace=request.workspace, run_id=request.run_id, tests=tests)
    return preamble + "\n" + (request.prompt or "")
