# The project's commands; `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help run test lint bench browser

help:  ## list the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)

run: $(BIN)/python  ## set up and start the app on localhost only (indexes corpus/ on first start)
	$(BIN)/pip install -q -e .
	$(BIN)/streamlit run app.py --server.address 127.0.0.1

browser:  ## Debian's Chromium for the browser tests (installed when missing, as root)
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q chromium; fi

test: $(BIN)/python browser  ## set up and run the tests
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pytest

lint: $(BIN)/python  ## ruff and mypy
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: $(BIN)/python  ## the benchmarks, quick modes (need ../shared/data/xquad-dev)
	$(BIN)/python bench/quality.py --every 20
	$(BIN)/python bench/ingest.py --quick
	$(BIN)/python bench/query.py --quick
	$(BIN)/python bench/startup.py --quick
