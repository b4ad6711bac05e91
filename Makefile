# Two entry points, each doing its own set-up on a fresh machine with Python 3.11 and pip:
#   make demo   fly the simulator, record it live, grid it and compare with the true field
#   make test   run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: demo test lint bench bench-peers clean

$(BIN)/python:
	@echo "== creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	@echo "== installing dronesense and what it needs into $(VENV) (a few minutes the first time)"
	$(BIN)/python -m pip install --progress-bar off -e . | { grep -E '^(Collecting|Successfully)' || true; }
	$(BIN)/python -c "import dronesense" && touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	@echo "== installing dronesense with its test and development extras into $(VENV)"
	$(BIN)/python -m pip install --progress-bar off -e '.[dev]' | { grep -E '^(Collecting|Successfully)' || true; }
	$(BIN)/python -c "import dronesense, pytest" && touch $(VENV)/.runtime $@

demo: $(VENV)/.runtime
	$(BIN)/dronesense demo --out out/demo

test: $(VENV)/.dev
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(VENV)/.dev
	$(BIN)/ruff check dronesense firmware_sim tests benchmarks

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks

# the C++ peer of bench_ingest.py (its sdist builds only without build isolation)
bench-peers: $(VENV)/.dev
	$(BIN)/python -m pip install scikit-build-core pybind11
	$(BIN)/python -m pip install --no-build-isolation fasttlogparser

clean:
	rm -rf $(VENV) out build *.egg-info
