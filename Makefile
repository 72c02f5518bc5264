# LeadSieve: `make run` (demo on SQLite) and `make test` do all set-up themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export LEADSIEVE_DATA_DIR ?= $(CURDIR)/var
HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL for the second test pass, e.g. postgres://postgres@127.0.0.1:5432/test
TEST_DATABASE_URL ?=
PYTEST_ARGS ?=

.PHONY: install run demo-data serve test test-sqlite test-postgres check format browser \
	bench-import bench-predictive bench-scoring bench-routing bench-ui bench-api bench-bulk \
	bench-capture \
	bench-reports bench-postgres \
	coverage-engine clean

$(STAMP): pyproject.toml
	@echo "Installing LeadSieve and its dependencies into $(VENV) (the first time: a few minutes)…"
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (Playwright drives /usr/bin/chromium; no downloads).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

demo-data: install
	@echo "Preparing the demo database in $(LEADSIEVE_DATA_DIR) (migrations, then a year of demo leads the first time)…"
	LEADSIEVE_DEMO=1 $(BIN)/leadsieve migrate --no-input -v0
	LEADSIEVE_DEMO=1 $(BIN)/leadsieve load-demo --if-empty
	LEADSIEVE_DEMO=1 $(BIN)/leadsieve create-demo-admin

# The web server, a worker and the tick every minute; Ctrl-C stops all three.
run: demo-data
	LEADSIEVE_DEMO=1 $(BIN)/leadsieve run --bind $(HOST):$(PORT)

test: install browser
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$(TEST_DATABASE_URL)" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_DATABASE_URL is not set: PostgreSQL pass skipped"; fi

# A test process killed by a signal leaves its threads' stacks in .pytest-crash/ (tests/testenv.py);
# they are printed after the run, pass or fail.
CRASH_LOGS = status=$$?; for f in .pytest-crash/*.log; do [ -s "$$f" ] && { echo "== $$f"; cat "$$f"; }; done; exit $$status

test-sqlite: install
	@rm -rf .pytest-crash
	env -u DATABASE_URL $(BIN)/pytest -n 2 $(PYTEST_ARGS); $(CRASH_LOGS)

test-postgres: install
	@rm -rf .pytest-crash
	DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest -n 2 $(PYTEST_ARGS); $(CRASH_LOGS)

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=check $(BIN)/mypy leadsieve
	SECRET_KEY=check $(BIN)/leadsieve makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Line and branch coverage of the Django-free engine by its own tests (target: 100%).
coverage-engine: install
	env -u DATABASE_URL $(BIN)/pytest -p no:xdist -q tests/engine --cov=leadsieve.engine \
		--cov-branch --cov-report=term-missing:skip-covered

bench-import: install
	$(PY) bench/bench_import.py

bench-predictive: install
	$(PY) bench/bench_predictive.py

bench-scoring: install
	$(PY) bench/bench_scoring.py

bench-routing: install
	$(PY) bench/bench_routing.py

bench-ui: install
	$(PY) bench/bench_ui.py

# The API and web pages under load through `leadsieve serve` (1M leads; SQLite, and PostgreSQL
# at BENCH_POSTGRES_URL when reachable). wrk, the load generator, is Debian's package.
bench-api: install
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
		else echo "bench-api needs wrk: sudo apt-get install wrk"; exit 1; fi; }
	$(PY) bench/bench_api.py

# One bulk call (1,000 leads) at a time, phases and profile; DB=postgres for PostgreSQL.
DB ?= sqlite
bench-bulk: install
	$(PY) bench/bench_bulk_capture.py --db $(DB)

# One lead captured, scored and routed: fast vs batch path, then the API under wrk (#17).
bench-capture: install
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
		else echo "bench-capture needs wrk: sudo apt-get install wrk"; exit 1; fi; }
	$(PY) bench/bench_capture.py
# The insights reports at 1M leads against naive ORM aggregates, and capture's upkeep cost.
bench-reports: install
	$(PY) bench/bench_reports.py

# The PostgreSQL figures of #21 measured so far (import, 1/2/4 workers) on a database of
# their own, created on DATABASE_URL's server and dropped after; SCALE leads (default 1M).
# Keys not measured yet are null in the JSON line.
SCALE ?= 1000000
bench-postgres: install
	SCALE=$(SCALE) $(PY) bench/bench_postgres.py

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache .mypy_cache
