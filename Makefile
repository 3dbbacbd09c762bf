# Every target bootstraps .venv from plain python3: a fresh machine needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed-stamp
DISTS  := -e . -e plugins/nz -e adapters/dbt -e adapters/airflow
export RUST_BACKTRACE := 0
export RUST_LIB_BACKTRACE := 0

# The real OPA, built from its Go module at a pinned version into the ignored .tools/bin (no
# release binary can be fetched here). The stamp names the version, so a bump rebuilds and an
# existing build is kept: only a fresh machine pays for it (about 3 minutes on 2 cores).
GO          ?= $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)
TOOLS       := $(CURDIR)/.tools/bin
OPA_VERSION := v1.22.4
OPA         := $(TOOLS)/opa
OPA_STAMP   := $(TOOLS)/.opa-$(OPA_VERSION)
export KAITIAKI_OPA := $(OPA)
# go keeps its module and build caches under $HOME; a CI shell without HOME keeps them here.
ifeq ($(strip $(HOME)),)
export GOPATH  := $(CURDIR)/.tools/go
export GOCACHE := $(CURDIR)/.tools/go/cache
endif

.PHONY: venv opa demo test lint typecheck pytest rego-test policy-data bench fuzz lock dist clean dbt-lowest

venv: $(STAMP)

opa: $(OPA_STAMP)

$(OPA_STAMP):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) GOFLAGS=-buildvcs=false $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)
	$(OPA) version | grep -q "^Version: $(OPA_VERSION:v%=%)$$"
	touch $@

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

# KAITIAKI_REQUIRE_OPA: the tests that run the real OPA fail, rather than skip, without it.
pytest: $(STAMP) $(OPA_STAMP)
	KAITIAKI_REQUIRE_OPA=1 $(BIN)/pytest -q

# The policy tree is an ordinary OPA tree: kaitiaki's runner and OPA's own must both pass on it,
# and the data files generated from the rules' METADATA must be current (make policy-data).
rego-test: $(STAMP) $(OPA_STAMP)
	$(BIN)/python -m kaitiaki.engine.ruledata --check
	$(BIN)/kaitiaki policy test policies
	$(OPA) check --strict policies
	$(OPA) test policies

# The adapter supports dbt-core >=1.10,<1.12 (adapters/dbt/pyproject.toml); the lock tests 1.11.
# This runs the dbt tests on the lowest release line too, in a venv of its own: the lock's pins,
# except dbt-core itself and sqlparse (1.10 needs <0.5.5). About a minute once cached (docs/dbt.md).
# `test` runs it before the full pytest, so that pytest's closing line is the whole suite's.
DBT_LOWEST  := 1.10.23
LOWEST_VENV := .venv-dbt-lowest
LOWEST_BIN  := $(LOWEST_VENV)/bin
dbt-lowest: $(STAMP)
	test -x $(LOWEST_BIN)/python || $(BIN)/uv venv --quiet --python $(BIN)/python $(LOWEST_VENV)
	grep -v -E '^(dbt-core|sqlparse)==' requirements/lock.txt > $(LOWEST_VENV)/constraints.txt
	$(BIN)/uv pip install --quiet --python $(LOWEST_BIN)/python -c $(LOWEST_VENV)/constraints.txt \
		dbt-core==$(DBT_LOWEST) dbt-duckdb 'sqlparse<0.5.5' -e . -e plugins/nz -e adapters/dbt \
		pytest pytest-timeout hypothesis jsonschema packaging 'sqlglotc; python_version >= "3.11"'
	$(LOWEST_BIN)/python -c "import dbt.version as v; assert v.__version__ == '$(DBT_LOWEST)', v.__version__"
	$(LOWEST_BIN)/python -m pytest -q -p no:cacheprovider tests/dbt

policy-data: $(STAMP)
	$(BIN)/python -m kaitiaki.engine.ruledata

test: lint typecheck rego-test dbt-lowest pytest

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
