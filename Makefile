# Every target bootstraps .venv from plain python3: a fresh machine needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed-stamp
DISTS  := -e . -e plugins/nz -e adapters/dbt -e adapters/airflow
export RUST_BACKTRACE := 0
export RUST_LIB_BACKTRACE := 0

.PHONY: venv demo test lint typecheck pytest rego-test bench fuzz lock dist clean

venv: $(STAMP)

$(STAMP): requirements/lock.txt pyproject.toml plugins/nz/pyproject.toml adapters/dbt/pyproject.toml adapters/airflow/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/lock.txt $(DISTS)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src adapters plugins tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

rego-test: $(STAMP)
	$(BIN)/kaitiaki policy test policies

test: lint typecheck rego-test pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -m fuzz -p no:cacheprovider tests/fuzz

lock: $(STAMP)
	$(BIN)/uv pip compile requirements/dev.in --universal --python-version 3.10 -o requirements/lock.txt

# The four wheels, and dist/constraints.txt: the lock's pins, for `pip install --constraint` where
# Airflow's own constraints file cannot be downloaded (it lives on GitHub, not on a package index).
dist: $(STAMP)
	rm -rf dist
	for project in . plugins/nz adapters/dbt adapters/airflow; do \
	  $(BIN)/uv build --quiet --wheel --no-build-isolation --python $(BIN)/python --out-dir dist $$project || exit 1; \
	done
	{ echo "# pins from requirements/lock.txt: the versions kaitiaki is tested with"; \
	  grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$$' requirements/lock.txt; } > dist/constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dist
