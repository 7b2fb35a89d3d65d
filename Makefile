# Two entry points (README quick start): `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/python -m pip install -q -e ".[test,dev]"
	touch $@

$(VENV)/.all: $(VENV)/.test
	$(BIN)/python -m pip install -q -e ".[test,dev,oracles,io,docs]"
	touch $@

.PHONY: demo test all-deps lint bench exhaustive docs
demo: $(VENV)/.runtime
	$(BIN)/python -m numfmt.demo

# the whole suite, with the optional oracles (torch, torchao, mmasim), io and docs dependencies installed
test: $(VENV)/.all
	$(BIN)/python -m pytest -q -n 2

# everything CI needs: optional oracles (torch, torchao, mmasim), io (safetensors, dask), docs
all-deps: $(VENV)/.all

lint: $(VENV)/.test
	$(BIN)/ruff check numfmt tests tools examples docs/hooks.py

bench: $(VENV)/.runtime
	$(BIN)/python -m numfmt.bench

exhaustive: $(VENV)/.test
	$(BIN)/python -m pytest -q -n 2 -m exhaustive

docs: $(VENV)/.all
	$(BIN)/mkdocs build --strict
