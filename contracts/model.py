"""The optional model (issue 15): what the workflow hands the model activities and what comes
back. The model only ever advises: these carry its answer, who decided (a rule or the model)
and the tokens it cost; the workflow's rules decide what the answer may change."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.base import Contract
from contracts.skills import RepoContract
from contracts.steps import AgentGrade

ReviewVerdict = Literal["agree", "needs_review"]
ReplyKind = Literal["fix", "question", "decline"]


class ModelUsage(Contract):
    """Tokens the model cost (chat completions' `usage`), summed over calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def plus(self, other: ModelUsage) -> ModelUsage:
        return ModelUsage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class SemanticReviewInput(Contract):
    """A graded step the model reads: the diff and the repository's rules are read from the
    workspace by the activity (big things stay out of history)."""

    run_id: str
    workspace: str
    base_branch: str
    grade: AgentGrade
    contract: RepoContract | None = None
    # The step's runtime report (test evidence), a path on disk.
    report: str | None = None
    # Repository-relative files with the maintainers' rules (CONTRIBUTING, PR template).
    rules_files: list[str] = Field(default_factory=list)
    # The repository has no test infrastructure: the model is asked whether a change without
    # tests is acceptable (the one case its "agree" may let a step pass).
    no_test_infra: bool = False


class SemanticReview(Contract):
    verdict: ReviewVerdict
    reasons: list[str] = Field(default_factory=list)
    # "model", or the rule that answered without one ("rules: no model configured").
    decided_by: str = "model"
    usage: ModelUsage = Field(default_factory=ModelUsage)
    diff_chars: int = 0


class ReplyClassificationInput(Contract):
    run_id: str
    text: str  # a trusted maintainer's review or comment, cleaned (quoted_feedback.py)
    pr_title: str | None = None


class ReplyClassification(Contract):
    kind: ReplyKind
    reasons: list[str] = Field(default_factory=list)
    # For a question: a reply the operator may send (never posted by agentpr).
    draft_reply: str | None = None
    decided_by: str = "model"
    usage: ModelUsage = Field(default_factory=ModelUsage)
    # The GitHub fact (GitHubFactRecord.fact_key) this reads, so it is read once.
    fact_key: str | None = None
