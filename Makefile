# The two front-door commands: `make quickstart` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-dev quickstart test bench

setup:
	bash scripts/setup.sh

setup-dev:
	bash scripts/setup.sh --dev

quickstart: setup
	$(BIN)/omnialign quickstart --out runs/quickstart

test: setup-dev
	$(BIN)/python -m pytest -q

bench: setup-dev
	$(BIN)/python bench/train_step.py
