# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/segwarehouse: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

.PHONY: install demo test bench
install: $(BIN)/segwarehouse

demo: install
	$(BIN)/segwarehouse demo
	$(BIN)/segwarehouse run

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/scaling.py
