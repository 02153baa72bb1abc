# Two commands on a fresh machine: `make demo` (train the default CNN, write a report)
# and `make test`. Both create .venv and install neuronet into it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test demo bench clean

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/installed

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m pip install -q threadpoolctl
	$(PY) benchmarks/speed.py

demo: install
	$(PY) -m neuronet train --out runs/demo

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
