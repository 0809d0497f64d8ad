"""Insight: what runs did, read from their records — `agentpr stats` (pass rate, reasons, where
the time goes, cost), `agentpr inspect-run` (one run's timeline) and `agentpr campaign report`
(one self-contained HTML page).

Pure: RunRecords in, pydantic models (or an HTML string) out; no Temporal, no network, no
clock of its own (the caller passes `now`). The doors in starter/cli fetch the records; the one
file insight reads and writes is the finished runs' facts the doors keep between calls.

    facts       one run's derived facts: pushed, PR opened/merged/closed, stays per state, cost
    durations   `--since 7d` and friends
    stats       the aggregate over many runs (`stats`)
    timeline    one run's timeline and next action (`inspect-run`)
    report      the campaign's HTML page (Chart.js, vendored and inlined)
    finished_runs  finished runs' facts kept on disk, so a call lists only what changed
"""
