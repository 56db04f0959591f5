# banktwin — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install tools run serve test test-fast check format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) tools ## create .venv and install banktwin with its dev tools

# promtool checks and unit-tests deploy/prometheus/rules.yml (tests/integration/
# test_prometheus_rules.py); Debian's `prometheus` package ships it as /usr/bin/promtool. In a
# container (policy-rc.d forbids starting services) the install starts no server; on a host
# with systemd it enables prometheus.service: `systemctl disable --now prometheus` if unwanted.
# Not fatal: without root or apt-get it says what to run, and that test then skips (CI fails).
#
# The dashboard's browser tests (tests/e2e/test_dashboard.py) drive Debian's chromium
# (/usr/bin/chromium) through Playwright; never `playwright install`, which downloads a browser.
# Without it those tests skip (CI fails).
tools: ## install promtool (Debian's prometheus) and chromium (browser tests) when missing
	@if command -v promtool >/dev/null 2>&1; then \
		echo "promtool: $$(command -v promtool)"; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "promtool is missing: run 'sudo make tools' (Debian's prometheus package)," \
			"or put a promtool of Prometheus >= 2.42 on PATH"; \
	else \
		echo "installing promtool (Debian package prometheus)"; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends prometheus >/dev/null ) \
		|| echo "apt-get could not install prometheus: promtool is still missing"; \
	fi
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "chromium is missing: run 'sudo make tools' (Debian's chromium package)"; \
	else \
		echo "installing chromium (Debian package chromium)"; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium >/dev/null ) \
		|| echo "apt-get could not install chromium: /usr/bin/chromium is still missing"; \
	fi

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
