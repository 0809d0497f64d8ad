"""Durable decisions: the run and campaign workflows, their state groupings (states.py) and
their rules (rules/, pure functions with no Temporal). Workflow modules import temporalio, our
contracts, and the activity classes they schedule (passed through the sandbox)."""
