# The project's commands; `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help run test lint bench

help:  ## list the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)

run: $(BIN)/python  ## set up and start the app (indexes corpus/ on first start)
	$(BIN)/pip install -q -e .
	$(BIN)/streamlit run app.py

test: $(BIN)/python  ## set up and run the tests
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pytest

lint: $(BIN)/python  ## ruff and mypy
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: $(BIN)/python  ## the benchmarks (need ../shared/data/xquad-dev)
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/ingest.py
