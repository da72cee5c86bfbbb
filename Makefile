# Every target sets itself up: on a fresh machine `make demo` or `make test` is the only command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KWS := $(VENV)/bin/kws
WORK ?= work

.PHONY: setup test firmware-packages firmware-setup firmware-test demo train train-small corpus corpus-kokoro corpus-pico corpus-mbrola mbrola-setup corpus-openjtalk openjtalk-setup realspeech distill-setup bench bench-voices bench-pico bench-confound readme flash clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# The firmware tests build TFLM for Cortex-M4F with arm-none-eabi-gcc and run it on QEMU. `make test`
# installs their Debian packages when they are missing and it runs as root; elsewhere those tests skip,
# each saying in one line what to install (KWS_REQUIRE_FIRMWARE=1 makes them fail instead).
# toolchain/firmware/tools.DEBIAN_PACKAGES is the same list (tests/test_firmware_tools.py checks).
FIRMWARE_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm cmake

test: setup firmware-packages $(VENV)/.openjtalk
	$(PY) -m pytest -q tests

firmware-packages:
	@dpkg -s $(FIRMWARE_PACKAGES) >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(FIRMWARE_PACKAGES); }

# The firmware tests alone, with the TFLM tree at ../shared/third_party/tflite-micro; fails (rather than
# skipping) where the packages are missing and cannot be installed.
firmware-setup: firmware-packages
	@dpkg -s $(FIRMWARE_PACKAGES) >/dev/null 2>&1 || { echo "firmware tests need: sudo apt-get install $(FIRMWARE_PACKAGES)"; exit 1; }

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
	$(PY) benchmarks/nano_stream.py
	$(PY) benchmarks/streaming.py

# The README's figures, rendered from benchmarks/results/*.json and models/*/manifest.json (after `make bench`).
readme: setup
	$(PY) benchmarks/render_readme.py

clean:
	rm -rf $(WORK) .pytest_cache

# The shipped embedding: nine languages, 32 words each, 40 utterances per word (see models/embedding/MODEL_CARD.md).
CORPUS := $(WORK)/corpus
KOKORO_CORPUS := $(WORK)/corpus-kokoro
KOKORO_HELDOUT := $(WORK)/corpus-kokoro-heldout-v24
OPENJTALK_CORPUS := $(WORK)/corpus-openjtalk
EPOCHS ?= 40

$(CORPUS)/manifest.json: | setup
	$(KWS) synth --languages all --variants 40 --seed 0 --out $(CORPUS)

corpus: $(CORPUS)/manifest.json

# Three voice families (espeak-ng, Kokoro, Open JTalk), the real-speech teacher and room/device augmentation,
# streamable (issues 8, 10). Open JTalk joined after a dev check on MBROLA voices (README, "Voices it never heard").
# The wall times on 2 cores are in each MODEL_CARD.md; the Kokoro corpus took ~17 min of synthesis (about 6 s per
# word on idle cores), the Open JTalk corpus ~2 min.
TRAIN_FLAGS = --corpus $(CORPUS) --corpus $(KOKORO_CORPUS) --corpus $(OPENJTALK_CORPUS) --languages embedding \
	--words-per-language 32 --epochs $(EPOCHS) --seed 0 --teacher efficientword-net --room-augment

train: setup corpus $(KOKORO_CORPUS)/manifest.json $(OPENJTALK_CORPUS)/manifest.json distill-setup
	$(KWS) train-embedding $(TRAIN_FLAGS) --architecture ds_cnn_stream --out models/embedding --force

# The ~0.4 M-MAC-per-hop embedding for the smallest Cortex-M4 budgets (kws enroll --embedding models/embedding-small).
train-small: setup corpus $(KOKORO_CORPUS)/manifest.json $(OPENJTALK_CORPUS)/manifest.json distill-setup
	$(KWS) train-embedding $(TRAIN_FLAGS) --architecture ds_cnn_stream_small --out models/embedding-small --force

# The second voice family: Kokoro-82M speaking espeak-ng's IPA (corpus/kokoro.py). Training reads the
# embedding languages' first 16 words; benchmarks/voices.py also tests on the held-out languages.

$(KOKORO_CORPUS)/manifest.json: | setup
	$(KWS) synth --engine kokoro --languages embedding --words-per-language 16 --variants 12 --seed 0 --out $(KOKORO_CORPUS)

# Evaluation only: 24 utterances per word, so that each word has five test voices (at 12 it had two, and
# one clip moved a pooled EER by 3 points); 31 min of synthesis on 2 busy cores.
$(KOKORO_HELDOUT)/manifest.json: | setup
	$(KWS) synth --engine kokoro --languages heldout --variants 24 --seed 0 --out $(KOKORO_HELDOUT)

corpus-kokoro: $(KOKORO_CORPUS)/manifest.json $(KOKORO_HELDOUT)/manifest.json

# The third voice family, SVOX Pico (corpus/pico.py), for evaluation only: nothing trains or tunes on it.
# Its five languages, all 48 words (16 are in no embedding's vocabulary), 24 utterances each; 6 min on 2 busy cores.
PICO_CORPUS := $(WORK)/corpus-pico

$(PICO_CORPUS)/manifest.json: | setup
	$(KWS) synth --engine pico --languages en,de,es,fr,it --variants 24 --seed 0 --out $(PICO_CORPUS)

corpus-pico: $(PICO_CORPUS)/manifest.json

# A fourth voice family, MBROLA (corpus/mbrola.py): diphones of 28 recorded speakers in six of the embedding
# languages (no English: Festival packages those voices, and Festival is reserved). Debian's engine and
# voices are fetched into the kws cache without root and without touching the system's package sources
# (~330 MB unpacked, ~20 s); the corpus's 192 words × 24 utterances took 3 min 52 s on 2 busy cores.
MBROLA_CORPUS := $(WORK)/corpus-mbrola

mbrola-setup: setup
	$(PY) -m toolchain.corpus.mbrola_setup

$(MBROLA_CORPUS)/manifest.json: | mbrola-setup
	$(KWS) synth --engine mbrola --languages de,es,fa,fr,it,nl --words-per-language 32 --variants 24 --seed 0 --out $(MBROLA_CORPUS)

corpus-mbrola: $(MBROLA_CORPUS)/manifest.json

# A fifth voice family, Open JTalk's HTS voices (corpus/openjtalk.py): an HMM-parametric synthesizer whose two
# Japanese speakers say every word as a loanword. Mei ships in the pyopenjtalk-plus wheel, installed without
# its 190 MB Sudachi dictionary (katakana input never reads it); m001 is Debian's package, fetched into the kws
# cache without root (~1 MB). The corpus's 288 words × 16 utterances took ~2 min on 2 cores.
openjtalk-setup: $(VENV)/.openjtalk
	$(PY) -m toolchain.corpus.openjtalk_setup

$(VENV)/.openjtalk: $(VENV)/.installed
	$(PY) -m pip install -q --no-deps pyopenjtalk-plus==0.4.1.post10 sudachipy==0.7.0 pydantic==2.14.4 \
	  pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
	touch $@

$(OPENJTALK_CORPUS)/manifest.json: | openjtalk-setup
	$(KWS) synth --engine openjtalk --languages embedding --words-per-language 32 --variants 16 --seed 0 --out $(OPENJTALK_CORPUS)

corpus-openjtalk: $(OPENJTALK_CORPUS)/manifest.json

# Recorded human speech (corpus/real_speech.py): people reading words aloud in three GPL Debian data packages
# (tuxpaint-stamps-default, ktuberling-data, klettres-data; ~250 MB fetched into the kws cache without root),
# as 1 s clips without word labels for the teacher loss (`kws train-embedding --distill-speech`). The held-out
# languages are left out; at most 250 clips per package and language. ~1.5 min on 2 cores.
REALSPEECH := $(WORK)/realspeech

$(REALSPEECH)/manifest.json: | setup
	$(PY) -m toolchain.corpus.real_speech --out $(REALSPEECH)

realspeech: $(REALSPEECH)/manifest.json

# Voices never heard (benchmarks/voices.py): the shipped recipe trained on one voice family alone, each
# tested on the other family, then the shipped embedding on both families' test voices, the peer beside.
# ~21 + ~4 min of training on 2 cores (the ablation's five: 7-11 min each once the teacher's embeddings are
# cached — plain 421 s, teacher 407 s, room 594 s, recipe-distill3 637 s, recipe-am 636 s; the first teacher run also fills
# that cache), then ~15 min of evaluation (16 targets per group; 988 CPU-s with the ablation's five at 9278a96).
VOICES_WORK := $(WORK)/bench_voices
ONE_FAMILY_FLAGS = --architecture ds_cnn_stream --epochs $(EPOCHS) --seed 0 --force
RECIPE_FLAGS = $(ONE_FAMILY_FLAGS) --teacher efficientword-net --room-augment

$(VOICES_WORK)/embedding-espeak-only-recipe/manifest.json: | corpus distill-setup
	$(KWS) train-embedding --corpus $(CORPUS) $(RECIPE_FLAGS) --out $(@D)

$(VOICES_WORK)/embedding-kokoro-only-recipe/manifest.json: | corpus-kokoro distill-setup
	$(KWS) train-embedding --corpus $(KOKORO_CORPUS) $(RECIPE_FLAGS) --out $(@D)

# What a third training family buys on the family left out: the recipe on espeak-ng + MBROLA (tested on
# Kokoro voices) and on Kokoro + MBROLA (tested on espeak-ng voices), beside the one-family runs;
# 780 s and 331 s of training on 2 cores at 4ec3752 (teacher cache warm).
$(VOICES_WORK)/embedding-espeak-mbrola-recipe/manifest.json: | corpus corpus-mbrola distill-setup
	$(KWS) train-embedding --corpus $(CORPUS) --corpus $(MBROLA_CORPUS) $(RECIPE_FLAGS) --out $(@D)

$(VOICES_WORK)/embedding-kokoro-mbrola-recipe/manifest.json: | corpus-kokoro corpus-mbrola distill-setup
	$(KWS) train-embedding --corpus $(KOKORO_CORPUS) --corpus $(MBROLA_CORPUS) $(RECIPE_FLAGS) --out $(@D)

# The ablation (what each part of the recipe buys): espeak only, with neither part, the teacher alone,
# room augmentation alone, and the recipe with a heavier teacher loss; 7-11 min of training each (above).

$(VOICES_WORK)/embedding-espeak-only-plain/manifest.json: | corpus
	$(KWS) train-embedding --corpus $(CORPUS) $(ONE_FAMILY_FLAGS) --out $(@D)

$(VOICES_WORK)/embedding-espeak-only-teacher/manifest.json: | corpus distill-setup
	$(KWS) train-embedding --corpus $(CORPUS) $(ONE_FAMILY_FLAGS) --teacher efficientword-net --out $(@D)

$(VOICES_WORK)/embedding-espeak-only-room/manifest.json: | corpus
	$(KWS) train-embedding --corpus $(CORPUS) $(ONE_FAMILY_FLAGS) --room-augment --out $(@D)

# A variant of the recipe beside them: the teacher's loss weighted 3 instead of 1.
$(VOICES_WORK)/embedding-espeak-only-recipe-distill3/manifest.json: | corpus distill-setup
	$(KWS) train-embedding --corpus $(CORPUS) $(RECIPE_FLAGS) --distill-weight 3 --out $(@D)

# The recipe with the additive-margin softmax word loss instead of plain softmax (toolchain/embedding/margin.py).
$(VOICES_WORK)/embedding-espeak-only-recipe-am/manifest.json: | corpus distill-setup
	$(KWS) train-embedding --corpus $(CORPUS) $(RECIPE_FLAGS) --word-loss am-softmax --out $(@D)

ABLATIONS = plain teacher room recipe-distill3 recipe-am

bench-voices: $(VOICES_WORK)/embedding-espeak-only-recipe/manifest.json $(VOICES_WORK)/embedding-kokoro-only-recipe/manifest.json \
		$(VOICES_WORK)/embedding-espeak-mbrola-recipe/manifest.json $(VOICES_WORK)/embedding-kokoro-mbrola-recipe/manifest.json \
		$(foreach a,$(ABLATIONS),$(VOICES_WORK)/embedding-espeak-only-$(a)/manifest.json)
	$(PY) benchmarks/voices.py --corpus-espeak $(CORPUS) --corpus-kokoro $(KOKORO_CORPUS) --corpus-kokoro $(KOKORO_HELDOUT) \
		--family-embedding espeak=$(VOICES_WORK)/embedding-espeak-only-recipe --family-embedding kokoro=$(VOICES_WORK)/embedding-kokoro-only-recipe \
		--family-embedding espeak+mbrola=$(VOICES_WORK)/embedding-espeak-mbrola-recipe \
		--family-embedding kokoro+mbrola=$(VOICES_WORK)/embedding-kokoro-mbrola-recipe \
		$(foreach a,$(ABLATIONS),--ablation $(a)=$(VOICES_WORK)/embedding-espeak-only-$(a)) \
		--embedding models/embedding --targets-per-group 16

# A family no embedding heard (benchmarks/pico_voices.py): the shipped two and bench-voices' one-family
# recipe runs, enrolled and tested on Pico voices, the peer beside; 1,746 CPU-s of evaluation (~30 min on 2 cores).
bench-pico: $(PICO_CORPUS)/manifest.json $(VOICES_WORK)/embedding-espeak-only-recipe/manifest.json \
		$(VOICES_WORK)/embedding-kokoro-only-recipe/manifest.json | distill-setup
	$(PY) benchmarks/pico_voices.py --corpus $(PICO_CORPUS)

# What the five-shot head learns besides the word (benchmarks/family_confound.py): shots of a family the
# embedding never heard, scored on other words of that family and of a family it was trained on. Dev
# families only: the espeak-only recipe run with Kokoro shots, the shipped embedding with MBROLA shots.
bench-confound: $(VOICES_WORK)/embedding-espeak-only-recipe/manifest.json $(KOKORO_HELDOUT)/manifest.json $(MBROLA_CORPUS)/manifest.json
	$(PY) benchmarks/family_confound.py --unheard $(KOKORO_HELDOUT) --heard $(CORPUS)
	$(PY) benchmarks/family_confound.py --embedding models/embedding --unheard $(MBROLA_CORPUS) --heard $(CORPUS) \
		--results-name family_confound_shipped

# Training time only: EfficientWord-Net's real-speech embedding, the distillation teacher. Its wheel
# declares PyAudio (which needs PortAudio to build) and packaging tools its model code never imports,
# so it is installed without dependencies; numpy and onnxruntime are already there.
distill-setup: $(VENV)/.distill

$(VENV)/.distill: $(VENV)/.installed
	$(PY) -m pip install -q --no-deps efficientword-net==1.0.5
	touch $@
