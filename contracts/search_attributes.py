"""The search attributes that make runs findable from the CLI, the bot and the Web UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STATE = SearchAttributeKey.for_keyword("AgentprState")
REPO = SearchAttributeKey.for_keyword("AgentprRepo")
PR = SearchAttributeKey.for_int("AgentprPR")
VERDICT = SearchAttributeKey.for_keyword("AgentprVerdict")
CAMPAIGN = SearchAttributeKey.for_keyword("AgentprCampaign")
# The pushed commit: GitHub's check events for PRs from forks carry no PR number, only this.
HEAD_SHA = SearchAttributeKey.for_keyword("AgentprHeadSha")

# What the run's agent steps cost so far, in US dollars (find the expensive runs).
COST_USD = SearchAttributeKey.for_float("AgentprCostUsd")

# Whether the merged change is on the upstream's default branch (set once checked: a merged
# then reverted change is False) — the funnel's last step, without reading any run.
LANDED = SearchAttributeKey.for_keyword("AgentprLanded")
LANDED_YES, LANDED_NO = "landed", "not_landed"

ALL_KEYS = (STATE, REPO, PR, VERDICT, CAMPAIGN, HEAD_SHA, COST_USD, LANDED)
