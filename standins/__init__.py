"""Loopback stand-ins for the services agentpr talks to, for `make demo`, the benchmarks and the
tests. GitHub, Telegram, OpenAI and Anthropic are unreachable here, so each of these speaks the
real service's published wire format on 127.0.0.1:

- github_api: GitHub's REST API (repos, forks with the asynchronous 404-then-200, pulls, checks,
  reviews, comments, rate limits), backed by local bare git repositories
- github_webhooks: GitHub's webhook payloads and signed deliveries
- telegram_api: Telegram's Bot API (getMe, long-polling getUpdates, sendMessage)
- model_server: OpenAI's Responses API (SSE), playing a script of model turns for `codex exec`
- messages_server: Anthropic's Messages API (SSE), a script for Claude Code
- git_repos: bare upstream and fork repositories; tcp_proxy: a connection a test can cut
- loopback: the HTTP server they share

Never used on a production path: no product module imports this package (`make lint` checks).
"""
