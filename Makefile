# Campaign Action Bot — every task in one place. `make help` lists them.
# Needs only Python 3.11+ and make: the first target that needs them creates .venv.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)
# pytest-xdist: two workers per core (`make test WORKERS=1` runs in one process): many tests
# wait on a bot process, a lease or a timer rather than compute, so two per core keep the
# cores busy (measured on 2 cores: 3 min 22 s against 5 min 24 s with one per core);
# worksteal keeps them busy when a long test lands late. Each worker has its own database.
WORKERS ?= $(shell $(PYTHON) -c "import os; print(2 * (os.cpu_count() or 1))")
# Python keeps its bytecode caches (__pycache__, ignored by git) even where the environment
# says PYTHONDONTWRITEBYTECODE: otherwise every worker and every `python -m bot` the tests
# start compiles the bot and re-rewrites the test modules again (about 2 s of CPU each).
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n $(WORKERS) --dist worksteal

.DEFAULT_GOAL := help
.PHONY: help install run migrate lint typecheck imports catalogs test test-fast cov bench check-config clean

help: ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

install: $(VENV)/.installed ## create .venv and install the bot with its dev tools

run: install ## set up, upgrade the database and run the bot (reads .env)
	$(BIN)/campaignbot run

migrate: install ## apply database migrations
	$(BIN)/campaignbot db upgrade

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy (strict) on bot/
	$(BIN)/mypy

imports: install ## import-linter: the layer contract of STYLE.md 2.3
	$(BIN)/lint-imports

catalogs: install ## extract the texts, update the .po catalogs, compile the .mo files
	$(BIN)/python -m bot.locale.catalogs

test: install lint typecheck imports ## lint, type-check and run the whole test suite (what CI runs)
	$(PYTEST)

test-fast: install ## the tests not marked slow (crash, chaos, outage, fleet, bench, `run` processes), stop at a failure
	$(PYTEST) -x -m "not slow"

cov: install ## tests with branch coverage
	$(PYTEST) --cov --cov-report=term-missing:skip-covered

bench: install ## benchmarks against the fake Bot API and feed servers
	$(BIN)/python -m bench

check-config: install ## load the configuration and report problems
	$(BIN)/python -c "from bot.config import load_settings; s = load_settings(); print('configuration OK; database:', s.async_database_url.split('://')[0])"

clean: ## remove the virtual environments and caches
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
