"""The operator CLI (`agentpr`): thin Typer commands grouped by concern.

- app.py      the root app, error handling at the edge, process exit
- runs.py     run lifecycle commands (create-run … retry, show-run, list-runs)
- services.py server, worker, up, init-db, doctor
- render.py   human (rich) and --json output
"""
