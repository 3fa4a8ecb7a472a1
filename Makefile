# bizintel: two commands for a newcomer, `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SIZE ?= demo
BENCH_SIZES ?= 1m,10m
# Dagster keeps runs and materializations here, so `make ui` shows what `make run` did.
export DAGSTER_HOME := $(CURDIR)/dagster_home
# Tools started by Dagster (dbt, code servers) come from the project's venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test ui dashboard generate bench clean

$(VENV)/.installed: pyproject.toml scripts/install_system_packages.sh
	bash scripts/install_system_packages.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/bizintel prepare
	touch $@

install: $(VENV)/.installed

run: install  ## generate demo data, materialize every asset for every partition, publish, summarize
	$(BIN)/bizintel run --size $(SIZE)

test: install  ## the test suite
	$(BIN)/pytest

ui: install  ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/dagster dev -w workspace.yaml

dashboard: install  ## the live dashboard on http://127.0.0.1:8501 (reads the analysts' copy; `make run` first)
	$(BIN)/bizintel dashboard

bench: install  ## floor scan vs pipeline, incremental, memory, query latency at 1M and 10M events -> BENCHMARKS.md
	$(BIN)/bizintel bench --sizes $(BENCH_SIZES)

generate: install
	$(BIN)/bizintel generate --size $(SIZE)

clean:
	rm -rf data dbt_project/target dbt_project/logs
	find dagster_home -mindepth 1 ! -name dagster.yaml -exec rm -rf {} +
