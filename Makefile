# Every target bootstraps .venv from pinned versions (requirements.lock) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv up test bench lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "agentpr needs Python 3.11+ (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

## venv: only bootstrap .venv (deployments)
venv: $(STAMP)

## up: embedded Temporal dev server + worker; prints the Web UI address; Ctrl-C stops both
up: $(STAMP)
	$(BIN)/agentpr up

## test: the whole suite against a real Temporal dev server started by the session
test: $(STAMP)
	$(BIN)/python -m pytest

## bench: benchmarks that print ratios (numbers go to docs/BENCHMARKS.md)
bench: $(STAMP)
	$(BIN)/python -m bench.run_core
	$(BIN)/python -m bench.workspace_steps

## lock: regenerate requirements.lock from a clean environment
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[test]' setuptools==80.9.0
	(echo "# Every package make installs, pinned. Regenerate with: make lock"; \
	 .lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e') > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV)
