"""The agent's environment, built from an allowlist (issue 13: the agent holds no keys).

An agent runs code it wrote and code the repository ships, with a wide sandbox, so its
environment starts empty and takes only: what any toolchain needs (PATH, HOME, locale, proxies
and certificate bundles, package index mirrors), what its engine reads (`AgentEngine.inherits`:
the CLI's own configuration and model credentials), and the operator's
`AGENTPR_AGENT_ENV_FILE`. Never: agentpr's own variables (AGENTPR_*: tokens, the webhook secret,
the data directory), Temporal's (TEMPORAL_*: where runs live and how to reach them), or any
variable whose value is one of agentpr's secrets under another name. The runtime guardrails
(activities/runtime_env.py) are laid over the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# A name ending in "*" is a prefix.
TOOLCHAIN_NEEDS = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "TMPDIR",
    # How this machine's Python behaves (no bytecode in the repository, unbuffered output,
    # encoding); never PYTHONPATH or PYTHONHOME, which would point at agentpr's own code.
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "npm_config_registry",
    "NPM_CONFIG_REGISTRY",
)
NEVER = ("AGENTPR_*", "TEMPORAL_*")


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(
        name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern
        for pattern in patterns
    )


def agent_base_env(
    environ: Mapping[str, str],
    engine_inherits: Iterable[str],
    operator_env: Mapping[str, str],
    secrets: Iterable[str],
) -> dict[str, str]:
    """The environment an agent starts from, before the guardrails and the run marker."""
    allowed = (*TOOLCHAIN_NEEDS, *engine_inherits)
    hidden = {value for value in secrets if value}
    env = {name: value for name, value in environ.items() if _matches(name, allowed)}
    env.update(operator_env)
    return {
        name: value
        for name, value in env.items()
        if not _matches(name, NEVER) and value not in hidden
    }
