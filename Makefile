# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-all lint bench docs notebooks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/msgsim run experiments/compare_semantics.yaml --force

test: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/mypy sim
	$(BIN)/python -m pytest

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/mypy sim

docs: $(STAMP)
	$(BIN)/python -m sim.report.reference

notebooks: $(STAMP)
	$(BIN)/python tests/test_notebooks.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py --all --json bench.json

clean:
	rm -rf $(VENV) .pytest_cache
