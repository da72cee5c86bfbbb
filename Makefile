# Every target sets itself up: on a fresh machine `make demo` or `make test` is the only command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KWS := $(VENV)/bin/kws
WORK ?= work

.PHONY: setup test demo train train-small corpus bench flash clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

test: setup
	$(PY) -m pytest -q tests

demo: setup
	$(KWS) demo --work $(WORK)/demo

bench: setup
	$(PY) benchmarks/foundation.py
	$(PY) benchmarks/fewshot.py
	$(PY) benchmarks/device.py

clean:
	rm -rf $(WORK) .pytest_cache

# The shipped embedding: nine languages, 32 words each, 40 utterances per word (see models/embedding/MODEL_CARD.md).
CORPUS := $(WORK)/corpus
EPOCHS ?= 40

$(CORPUS)/manifest.json: | setup
	$(KWS) synth --languages all --variants 40 --seed 0 --out $(CORPUS)

corpus: $(CORPUS)/manifest.json

train: setup corpus
	$(KWS) train-embedding --corpus $(CORPUS) --languages embedding --words-per-language 32 --epochs $(EPOCHS) --seed 0 --out models/embedding

# The ~1.1 M-MAC embedding for Cortex-M4-class boards (kws enroll --embedding models/embedding-small).
train-small: setup corpus
	$(KWS) train-embedding --corpus $(CORPUS) --languages embedding --words-per-language 32 --epochs $(EPOCHS) --seed 0 --architecture ds_cnn_small --out models/embedding-small
