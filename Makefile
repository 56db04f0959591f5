# banktwin — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run serve test test-fast check format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install banktwin with its dev tools

run: $(STAMP) ## start the demo: synthetic bank + live activity + API on http://127.0.0.1:8000
	$(BIN)/banktwin demo

serve: $(STAMP) ## serve the API on the embedded defaults (needs BANKTWIN_TOKEN_SECRET and BANKTWIN_CLIENTS)
	$(BIN)/banktwin serve

test: $(STAMP) ## run the whole test suite (PostgreSQL tests: 127.0.0.1:5432 or BANKTWIN_TEST_POSTGRES_URL)
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## run the unit tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

check: $(STAMP) ## lint, format check and type check (ruff + mypy)
	$(BIN)/ruff check banktwin tests bench
	$(BIN)/ruff format --check banktwin tests bench
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix banktwin tests bench
	$(BIN)/ruff format banktwin tests bench

bench: $(STAMP) ## run the benchmarks; prints JSON and writes bench/results/
	$(BIN)/python -m bench

clean: ## remove the virtualenv, caches and local data (./var)
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache bench/results
