"""The demo's codemod: what a coding agent would write, as a plain script so the demo needs no
model. It runs in the run's workspace (a clone of the fork) and adds the Forge LLM provider and
a test for it; agentpr then validates with the repository's own `make test`."""

from __future__ import annotations

from pathlib import Path

PROVIDER = '''"""Forge: an OpenAI-compatible LLM gateway, as a provider of this project."""

FORGE_BASE_URL = "https://api.forge.example/v1"


class ForgeProvider:
    name = "forge"

    def __init__(self, api_key: str, model: str = "forge-default") -> None:
        self.api_key = api_key
        self.model = model

    def endpoint(self, path: str) -> str:
        return f"{FORGE_BASE_URL}/{path.lstrip('/')}"
'''

TEST = """from forge_provider import ForgeProvider


def test_forge_endpoint():
    provider = ForgeProvider(api_key="k")
    assert provider.endpoint("/chat/completions").endswith("/v1/chat/completions")
"""

Path("forge_provider.py").write_text(PROVIDER)
Path("tests").mkdir(exist_ok=True)
Path("tests/test_forge_provider.py").write_text(TEST)
print("added forge_provider.py and tests/test_forge_provider.py")
