# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-all lint bench build docs notebooks clean

# The run's hot modules are compiled with Cython from their own source (setup.py,
# sim/compiled.py): `build` compiles, in place and on every core, the modules whose source
# (.py, or the .pxd beside it) changed since (all of them the first time and after setup.py
# changed: about 1.5 minutes on 2 cores). The editable install compiles nothing
# (MSGSIM_PURE=1): `build` does it, once.
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	MSGSIM_PURE=1 $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	@force=""; if [ setup.py -nt sim/compiled.json ]; then force=--force; fi; \
	echo "$(BIN)/python setup.py --quiet build_ext --inplace $$force"; \
	$(BIN)/python setup.py --quiet build_ext --inplace $$force

run: build
	$(BIN)/msgsim run experiments/compare_semantics.yaml --force

test: build
	$(BIN)/ruff check sim tests benchmarks setup.py
	$(BIN)/mypy sim
	$(BIN)/python -m pytest

test-all: build
	$(BIN)/python -m pytest -m ''

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks setup.py
	$(BIN)/mypy sim

docs: $(STAMP)
	$(BIN)/python -m sim.report.reference

notebooks: $(STAMP)
	$(BIN)/python tests/test_notebooks.py

bench: build
	$(BIN)/python benchmarks/bench_pipeline.py --all --json bench.json

clean:
	rm -rf $(VENV) .pytest_cache build sim/compiled.json
	find sim -name '*.so' -delete
