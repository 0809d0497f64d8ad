"""The doors: the operator CLI (cli/), later the Telegram bot and the GitHub webhook, all
sharing client.py (typed calls to the run workflow)."""
