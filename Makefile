# Every target sets itself up: on a fresh machine `make demo` or `make test` is the only command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KWS := $(VENV)/bin/kws
WORK ?= work

.PHONY: setup test demo train bench flash clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

test: setup
	$(PY) -m pytest -q tests

clean:
	rm -rf $(WORK) .pytest_cache
