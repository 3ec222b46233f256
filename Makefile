# Warroom — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: demo test test-fast lint bench install clean help

help:
	@echo "make demo   run Warroom with SQLite and the built-in Slack sandbox (http://$(HOST):$(PORT)/sandbox)"
	@echo "make test   run the test suite (SQLite, and PostgreSQL when reachable)"
	@echo "make test-fast  unit and db tests on SQLite only (no whole bot, no processes; < 2 min)"
	@echo "make lint   ruff + mypy + lint-imports (the layers in docs/architecture.md)"
	@echo "make bench  run the benchmarks in bench/ and write bench/RESULTS.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/warroom serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

# The quick lane while working: the markers are set in tests/markers.py (pytest -m …).
test-fast: $(STAMP)
	WARROOM_TEST_DIALECTS=sqlite $(BIN)/python -m pytest -m "unit or db"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

# Re-take the README's screenshots (docs/screenshots/) with the headless-Chromium test.
.PHONY: screenshots
screenshots: $(STAMP)
	WARROOM_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info warroom.db
