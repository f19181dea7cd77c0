# Every target creates .venv on first use: a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench clean

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

format: install
	$(BIN)/ruff format domain tracker projections migrations tests bench
	$(BIN)/ruff check --fix domain tracker projections migrations tests bench

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
