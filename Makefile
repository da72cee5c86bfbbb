# Every target sets itself up: on a fresh machine `make demo` or `make test` is the only command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KWS := $(VENV)/bin/kws
WORK ?= work

.PHONY: setup test firmware-setup firmware-test demo train train-small corpus corpus-kokoro distill-setup bench readme flash clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

test: setup
	$(PY) -m pytest -q tests

# The firmware tests alone (TFLM built for Cortex-M4F, run on QEMU): installs the Debian packages they
# need when missing (as root; else says what to install), with the TFLM tree at ../shared/third_party/tflite-micro.
FIRMWARE_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cmake
firmware-setup:
	@dpkg -s $(FIRMWARE_PACKAGES) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q --no-install-recommends $(FIRMWARE_PACKAGES); \
	  else echo "firmware tests need: sudo apt-get install $(FIRMWARE_PACKAGES)"; exit 1; fi; }

firmware-test: setup firmware-setup
	KWS_REQUIRE_FIRMWARE=1 $(PY) -m pytest -q tests/test_firmware_qemu.py tests/test_firmware_stream.py tests/test_export.py

demo: setup
	$(KWS) demo --work $(WORK)/demo --force

bench: setup
	$(PY) benchmarks/foundation.py
	$(PY) benchmarks/fewshot.py
	$(PY) benchmarks/device.py
	$(PY) benchmarks/firmware.py
	$(PY) benchmarks/stream_speed.py
	$(PY) benchmarks/streaming.py

# The README's figures, rendered from benchmarks/results/*.json and models/*/manifest.json (after `make bench`).
readme: setup
	$(PY) benchmarks/render_readme.py

clean:
	rm -rf $(WORK) .pytest_cache

# The shipped embedding: nine languages, 32 words each, 40 utterances per word (see models/embedding/MODEL_CARD.md).
CORPUS := $(WORK)/corpus
EPOCHS ?= 40

$(CORPUS)/manifest.json: | setup
	$(KWS) synth --languages all --variants 40 --seed 0 --out $(CORPUS)

corpus: $(CORPUS)/manifest.json

train: setup corpus
	$(KWS) train-embedding --corpus $(CORPUS) --languages embedding --words-per-language 32 --epochs $(EPOCHS) --seed 0 --out models/embedding --force

# The ~1.1 M-MAC embedding for Cortex-M4-class boards (kws enroll --embedding models/embedding-small).
train-small: setup corpus
	$(KWS) train-embedding --corpus $(CORPUS) --languages embedding --words-per-language 32 --epochs $(EPOCHS) --seed 0 --architecture ds_cnn_small --out models/embedding-small --force

# The second voice family: Kokoro-82M speaking every language from espeak-ng's IPA (corpus/kokoro.py).
KOKORO_CORPUS := $(WORK)/corpus-kokoro

$(KOKORO_CORPUS)/manifest.json: | setup
	$(KWS) synth --engine kokoro --languages all --variants 12 --seed 0 --out $(KOKORO_CORPUS)

corpus-kokoro: $(KOKORO_CORPUS)/manifest.json

# Training time only: EfficientWord-Net's real-speech embedding, the distillation teacher. Its wheel
# declares PyAudio (which needs PortAudio to build) and packaging tools its model code never imports,
# so it is installed without dependencies; numpy and onnxruntime are already there.
distill-setup: $(VENV)/.distill

$(VENV)/.distill: $(VENV)/.installed
	$(PY) -m pip install -q --no-deps efficientword-net==1.0.5
	touch $@
