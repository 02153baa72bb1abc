# Two commands on a fresh machine: `make demo` (train the default CNN, write a report)
# and `make test`. Both create .venv and install neuronet into it first; the tests and
# the benchmark add their extras (PyTorch, the oracle and the yardstick).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install install-test test demo bench clean

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/installed-test: $(VENV)/installed
	$(PY) -m pip install -q -e ".[test,bench]"
	touch $@

install: $(VENV)/installed

install-test: $(VENV)/installed-test

test: install-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

bench: install-test
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/recurrent.py

demo: install
	$(PY) -m neuronet train --out runs/demo

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
