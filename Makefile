# Every target installs what it needs into .venv first (re-installing only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
PORT ?= 8501
API_PORT ?= 8600

.PHONY: run test lint format bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)
install-dev: $(STAMP_DEV)

## make run: migrate, build the demo world if the database is empty, then the app on http://localhost:$(PORT)
## and the HTTP API on http://127.0.0.1:$(API_PORT) (docs at /docs) together; Ctrl+C stops both
run: install
	$(BIN)/review-desk db upgrade
	$(BIN)/review-desk demo --if-empty
	$(BIN)/review-desk run --port $(PORT) --api-port $(API_PORT)

## make test: lint, then every test (PostgreSQL variants when REVIEW_STORE_TEST_PG_URL is set)
test: install-dev lint
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
	rm -rf $(VENV) .pytest_cache .ruff_cache
