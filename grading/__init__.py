"""Grade one agent step from evidence: transcript → Evidence → verdict.

Pure: no Temporal, no subprocess, no network, no clock. It only reads the text it is given, one
line at a time (transcripts can be tens of MB), so the agent activity, `analyze-transcript` and the
tests all get the same answer from the same bytes. The engines (engines/) parse their own event
streams into the Collector of `grading.evidence`; `grading.rules.grade` decides.

    evidence        the models and the one-pass, bounded Collector
    shell_lexing    words, operators, heredocs, segments of a command line
    command_kinds   test run, lint/type check, install, information
    safety          what an agent must not do
    credentials     commands that print or copy credentials
    file_edits      which files a command or an edit event changed, and how
    shell           one command line analysed (the ones above together)
    output_scan     missing tools, permission denials, network failures and outages, test
                    summaries, runs that collected no tests
    test_integrity  weakened tests and narrowed test selections
    agent_messages  model-side errors, the agent's own status line and its claims
    rules           the verdict, rule by rule; next_actions: what the operator does next
    bounds          what evidence keeps, so any transcript grades in bounded memory
"""

from __future__ import annotations

from grading.agent_messages import AgentStatus, parse_agent_status
from grading.evidence import CommandSample, Evidence, TestRun
from grading.rules import GradeInput, GradeOutcome, grade
from grading.shell import ShellAnalysis, analyze_shell

__all__ = [
    "AgentStatus",
    "CommandSample",
    "Evidence",
    "GradeInput",
    "GradeOutcome",
    "ShellAnalysis",
    "TestRun",
    "analyze_shell",
    "grade",
    "parse_agent_status",
]
