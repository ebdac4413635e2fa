# Every target installs what it needs into .venv first (re-installing only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
PORT ?= 8501
API_PORT ?= 8600

AXE := tests/a11y/node_modules/axe-core/axe.min.js

.PHONY: run test lint format bench install install-dev clean a11y

# uv (from PyPI) downloads and unpacks the dependencies in parallel, several times faster than pip; when it
# cannot be installed or fails, pip does the same install.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv || echo "uv is unavailable: installing with pip (slower)"

PIP_INSTALL = sh -c 'if [ -x $(BIN)/uv ] && $(BIN)/uv pip install --quiet --python $(BIN)/python "$$@"; \
	then :; else $(BIN)/python -m pip install --quiet "$$@"; fi' pip-install

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e ".[dev]"
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)
install-dev: $(STAMP_DEV)

# axe-core for the browser journey's accessibility check, pinned by tests/a11y/package-lock.json
$(AXE): tests/a11y/package.json tests/a11y/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/a11y --no-audit --no-fund --silent && touch $@; \
	else echo "npm is missing: the browser journey cannot run its accessibility check"; fi
a11y: $(AXE)

## make run: migrate, build the demo world if the database is empty, then the app on http://localhost:$(PORT)
## and the HTTP API on http://127.0.0.1:$(API_PORT) (docs at /docs) together; Ctrl+C stops both
run: install
	$(BIN)/review-desk db upgrade
	$(BIN)/review-desk demo --if-empty
	$(BIN)/review-desk run --port $(PORT) --api-port $(API_PORT)

## make test: lint, then every test (PostgreSQL variants when REVIEW_STORE_TEST_PG_URL is set)
test: install-dev lint a11y
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check review_store app pages tests bench
	$(BIN)/ruff format --check review_store app pages tests bench

format: install-dev
	$(BIN)/ruff format review_store app pages tests bench
	$(BIN)/ruff check --fix review_store app pages tests bench

## make bench: the benchmarks of bench/ (not part of make test); writes bench/results.json
bench: install-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/a11y/node_modules
