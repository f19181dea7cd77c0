# Every target creates .venv on first use: a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench soak clean web-messages web-bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tracker serve --demo

lint: install
	$(BIN)/ruff check domain tracker projections migrations tests bench
	$(BIN)/ruff format --check domain tracker projections migrations tests bench
	$(BIN)/mypy domain tracker projections
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format domain tracker projections migrations tests bench
	$(BIN)/ruff check --fix domain tracker projections migrations tests bench

# The suite runs on every core (pytest-xdist); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The reliability suite with its long bounds (more clients' commands, crash rounds, fuzz
# examples) and the soak-only tests; `make test` runs the same tests with short bounds.
soak: install
	TRACKER_SOAK=1 $(BIN)/pytest tests/reliability -m "reliability or soak" $(PYTEST_ARGS)

# The commands suite loads the server with wrk (Debian package): installed here when missing
# and root; otherwise that suite is reported as skipped. See docs/benchmarks.md.
bench: install
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || \
		apt-get install -y wrk >/dev/null 2>&1 || \
		(apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1) || true
	$(BIN)/python -m bench $(BENCH_ARGS)

# The web pages' French catalogue: merge the templates' message ids into
# tracker/web/i18n/fr/LC_MESSAGES/messages.po (then translate the new, empty entries).
web-messages: install
	$(BIN)/python -m tracker.web.i18n

# The web pages suite of `make bench` alone: server time per page at 200 and 10,000
# projects beside plain SQL (docs/web.md, docs/benchmarks.md).
web-bench: install
	$(BIN)/python -m bench --only web $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
