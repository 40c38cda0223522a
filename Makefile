# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# `demo` needs only the core package (which includes httpx: reverse sync is a core feature); `test`
# adds the engines the suite executes (PostgreSQL driver, fakesnow, chdb, pyspark), a much larger download.
$(VENV)/.core: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.core

.PHONY: install demo test bench
install: $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/segwarehouse demo
	$(BIN)/segwarehouse run

test: $(VENV)/.test
	$(BIN)/python -m pytest

bench: $(VENV)/.test
	$(BIN)/python bench/scaling.py
