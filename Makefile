# The story of the project, one target a step. Every target installs what it needs first, so a
# fresh clone needs nothing but Python 3.11 and access to PyPI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else from this Python, else from a private bootstrap venv: pip refuses to install
# into a distribution's Python (PEP 668, Debian/Ubuntu), a venv of it does not.
UV_BOOTSTRAP := .uv-bootstrap
UV := $(shell command -v uv 2>/dev/null || (python3 -m uv --version >/dev/null 2>&1 && echo "python3 -m uv") || echo "$(UV_BOOTSTRAP)/bin/uv")
VENV := .venv
BIN := $(VENV)/bin

export GX_ANALYTICS_ENABLED := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export AIRFLOW_HOME ?= $(CURDIR)/.airflow

# Days of the bundled real sample that `make run` scores.
HIGGS_START := 2012-07-01
HIGGS_END := 2012-07-07
SE_START := 2018-08-29
SE_END := 2018-09-02

.PHONY: help install run test test-fast evaluate bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --compile-bytecode: every stage, dbt step, Airflow component and test worker is a new Python
# process, and where PYTHONDONTWRITEBYTECODE is set (as on this project's development machine)
# none of them can cache bytecode, so each compiled Airflow, dbt and GX from source again: a one-day
# `influence run` took 83 s without the compiled files, 58 s with them. Compiling the environment
# once costs ~25 s.
$(BIN)/influence: pyproject.toml uv.lock Makefile
	@test "$(UV)" != "$(UV_BOOTSTRAP)/bin/uv" || test -x $(UV_BOOTSTRAP)/bin/uv || \
		{ python3 -m venv $(UV_BOOTSTRAP) && $(UV_BOOTSTRAP)/bin/pip install --quiet uv; }
	$(UV) sync --frozen --compile-bytecode
	@touch $@

install: $(BIN)/influence ## create .venv from uv.lock (Airflow, dbt, DuckDB, Great Expectations)

# Both samples in one `influence run`: one process start-up (Airflow, its execution API, GX:
# about 20 s) for the whole sample instead of one per sample.
run: install ## score every day of the bundled real sample through the Airflow DAG, then show the ranking
	$(BIN)/influence run --start $(HIGGS_START) --end $(HIGGS_END) --start $(SE_START) --end $(SE_END)
	$(BIN)/influence top --date $(HIGGS_END) -n 10
	$(BIN)/influence top --date $(SE_END) -n 10

# One worker per core, a test file per worker (module fixtures build their warehouse once): most
# slow tests wait on single-threaded dbt parsing and Airflow start-up, so two cores overlap them.
# Files go out in collection order, slow ones first (tests/conftest.py), not most tests first.
PYTEST_PARALLEL := -n auto --dist loadfile --no-loadscope-reorder

test: install ## the whole test suite (what CI runs)
	$(BIN)/pytest $(PYTEST_PARALLEL)

test-fast: install ## the suite without the slow end-to-end and scheduler tests
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not slow"

evaluate: install ## rebuild the Higgs week in a scratch dir and write reports/evaluation.md
	$(BIN)/python -m influence.evaluate

bench: install ## synthetic S/M/L benchmark: reports/bench.md and reports/bench.json
	$(BIN)/python -m influence.bench

clean: ## remove everything generated (keeps data/samples)
	rm -rf data/raw data/quarantine data/warehouse data/published data/runs data/evaluation .airflow dbt_project/target dbt_project/logs
