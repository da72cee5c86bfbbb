"""The audit cases: no command destroys a user's file or shows a traceback, and numeric options have ranges.

Every refusal here must come before the expensive work: training and conversion are replaced by
functions that fail the test if they are ever called.
"""
from __future__ import annotations

import errno
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from conftest import tone_word
from toolchain.cli import main
from toolchain.errors import KwsError
from toolchain.frontend import FrontendParams


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def _never(*args, **kwargs):
    raise AssertionError("expensive work started before the refusal")


@pytest.fixture()
def user_files(tmp_path, monkeypatch):
    """Shots, an embedding in use, a document folder and a plain file, as a user's disk holds them."""
    shots = tmp_path / "shots"
    shots.mkdir()
    sf.write(shots / "a.wav", tone_word(np.random.default_rng(0), 0.8, 16000, 200.0), 16000)
    embedding = tmp_path / "embedding"
    embedding.mkdir()
    (embedding / "manifest.json").write_text(json.dumps({"kind": "embedding", "embedding_hash": "x"}))
    (embedding / "classifier.keras").write_bytes(b"weights")
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.tex").write_text("precious")
    (tmp_path / "notes.txt").write_text("precious")
    from toolchain.fewshot import enroll

    monkeypatch.setattr(enroll, "DEFAULT_EMBEDDING", embedding)  # never risk the shipped one
    monkeypatch.setattr(enroll, "train_head", _never)
    monkeypatch.setattr(enroll, "load_embedding", _never)
    return tmp_path


@pytest.mark.parametrize("out, message", [
    ("shots", "is the input --shots"),
    ("shots/model", "lies inside the input --shots"),
    ("embedding", "is the input --embedding"),
    ("documents", "holds files that are not a keyword_model (thesis.tex)"),
    ("notes.txt", "is a file"),
    (".", "contains the input"),
])
def test_enroll_never_writes_over_a_users_files(user_files, out, message):
    before = _tree(user_files)
    result = CliRunner().invoke(main, ["enroll", "--keyword", "hola", "--shots", str(user_files / "shots"),
                                       "--out", str(user_files / out)])
    _one_line_error(result, message)
    assert _tree(user_files) == before


def test_enroll_into_the_default_embedding_is_refused(user_files):
    from toolchain.fewshot import enroll

    result = CliRunner().invoke(main, ["enroll", "--keyword", "hola", "--shots", str(user_files / "shots"),
                                       "--out", str(enroll.DEFAULT_EMBEDDING)])
    _one_line_error(result, "is the input --embedding")


def test_enroll_checks_the_keyword_and_the_output_before_training(user_files, read_only_dir):
    args = ["enroll", "--shots", str(user_files / "shots")]
    _one_line_error(CliRunner().invoke(main, args + ["--keyword", "k" * 300, "--out", str(user_files / "kw")]),
                    "300 bytes", "keep them to 64 bytes")
    _one_line_error(CliRunner().invoke(main, args + ["--keyword", "hola", "--out", str(read_only_dir / "kw")]),
                    "is not writable")
    assert not (user_files / "kw").exists()


def test_enroll_refuses_to_replace_an_earlier_model_without_force(user_files):
    out = user_files / "kw"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"kind": "keyword_model", "files": ["manifest.json"]}))
    args = ["enroll", "--keyword", "hola", "--shots", str(user_files / "shots"), "--out", str(out)]
    _one_line_error(CliRunner().invoke(main, args), "already holds a keyword_model; add --force")
    with pytest.raises(AssertionError, match="expensive work"):  # with --force the work starts
        CliRunner().invoke(main, args + ["--force"], catch_exceptions=False)


@pytest.fixture()
def fake_keyword_model(tmp_path, monkeypatch) -> Path:
    from toolchain.convert import keyword_model

    model = tmp_path / "kw"
    model.mkdir()
    (model / "manifest.json").write_text(json.dumps({"kind": "keyword_model", "embedding_path": str(tmp_path / "emb"),
                                                     "frontend": FrontendParams().to_dict(), "labels": ["a", "b", "c"]}))
    monkeypatch.setattr(keyword_model, "_convert", _never)
    return model


def test_convert_refuses_its_own_input_and_bad_per_class(fake_keyword_model, tmp_path):
    before = _tree(fake_keyword_model)
    _one_line_error(CliRunner().invoke(main, ["convert", str(fake_keyword_model), "--out", str(fake_keyword_model)]),
                    "is the input MODEL_DIR")
    assert _tree(fake_keyword_model) == before
    for bad in ("0", "-5"):
        result = CliRunner().invoke(main, ["convert", str(fake_keyword_model), "--out", str(tmp_path / "c"), "--per-class", bad])
        assert result.exit_code == 2 and "Invalid value for '--per-class'" in result.output and "Traceback" not in result.output
    from toolchain.convert.keyword_model import convert_keyword_model

    with pytest.raises(KwsError, match="--per-class 0: calibration needs at least 1"):
        convert_keyword_model(fake_keyword_model, tmp_path / "c", per_class=0)


@pytest.mark.parametrize("clock", ["nan", "-64", "0", "inf"])
def test_clock_must_be_a_finite_positive_number(tmp_path, clock):
    result = CliRunner().invoke(main, ["export-firmware", str(tmp_path), "--board", "cortex-m", "--out", str(tmp_path / "fw"),
                                       "--clock-mhz", clock])
    assert result.exit_code == 2 and "'--clock-mhz'" in result.output and "Traceback" not in result.output


def test_clock_checks_in_the_library_and_the_fixed_clock_board(tmp_path):
    from toolchain.export.firmware import export_firmware

    for clock in (math.nan, -64.0, 0.0):
        with pytest.raises(KwsError, match="--clock-mhz .*positive number of MHz"):
            export_firmware(tmp_path / "missing", "cortex-m", tmp_path / "fw", clock_mhz=clock)
    with pytest.raises(KwsError, match="runs at a fixed clock"):
        export_firmware(tmp_path / "missing", "nano33ble", tmp_path / "fw", clock_mhz=128.0)


@pytest.fixture()
def no_simulation(monkeypatch):
    """simulate's model loads (its input errors come first), but scoring must never start."""
    from toolchain.simulate import clips

    monkeypatch.setattr(clips, "load_converted_model", lambda path: None)
    monkeypatch.setattr(clips, "_simulate", _never)


def test_export_and_simulate_refuse_a_read_only_output(tmp_path, read_only_dir, no_simulation):
    _one_line_error(CliRunner().invoke(main, ["export-firmware", str(tmp_path / "m"), "--board", "cortex-m",
                                              "--out", str(read_only_dir / "fw")]), "is not writable")
    _one_line_error(CliRunner().invoke(main, ["simulate", str(tmp_path / "m"), "--data", str(tmp_path / "d"),
                                              "--report", str(read_only_dir / "r.json")]), "is not writable")


def test_simulate_report_is_replaced_only_with_force(tmp_path, no_simulation):
    report = tmp_path / "r.json"
    report.write_text("{}")
    _one_line_error(CliRunner().invoke(main, ["simulate", str(tmp_path / "m"), "--data", str(tmp_path / "d"),
                                              "--report", str(report)]), "already exists; add --force")
    assert report.read_text() == "{}"
    for bad in ("-1", "nan"):
        result = CliRunner().invoke(main, ["simulate", str(tmp_path / "m"), "--data", str(tmp_path / "d"),
                                           "--report", str(tmp_path / "s.json"), "--max-drop", bad])
        assert result.exit_code == 2 and "'--max-drop'" in result.output


def test_synth_refuses_bad_counts_and_a_file_as_out(tmp_path):
    result = CliRunner().invoke(main, ["synth", "--languages", "en", "--words-per-language", "-14", "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "'--words-per-language'" in result.output
    from toolchain.corpus.synth import SynthConfig

    with pytest.raises(KwsError, match="--words-per-language -14"):
        SynthConfig(("en",), -14)
    (tmp_path / "file").write_text("precious")
    _one_line_error(CliRunner().invoke(main, ["synth", "--languages", "en", "--out", str(tmp_path / "file")]), "is a file")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("precious")
    _one_line_error(CliRunner().invoke(main, ["synth", "--languages", "en", "--out", str(tmp_path / "home")]),
                    "not empty (thesis.tex)", "--force")
    assert (tmp_path / "file").read_text() == "precious" and (tmp_path / "home" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("command", ["synth", "enroll", "convert", "simulate", "stream-eval", "train-embedding"])
def test_a_seed_numpy_would_refuse_is_refused_at_the_option(tmp_path, command):
    result = CliRunner().invoke(main, [command, "--seed", "-1"])
    assert result.exit_code == 2 and "Invalid value for '--seed'" in result.output and "Traceback" not in result.output


def test_report_folders_are_not_mixed_into_inputs_or_overwritten(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _one_line_error(CliRunner().invoke(main, ["stream-eval", str(tmp_path / "m"), "--corpus", str(corpus),
                                              "--out", str(corpus / "eval")]), "lies inside the input --corpus")
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "stream_eval.json").write_text("{}")
    _one_line_error(CliRunner().invoke(main, ["stream-eval", str(tmp_path / "m"), "--corpus", str(corpus),
                                              "--out", str(tmp_path / "rep")]), "--force")
    result = CliRunner().invoke(main, ["stream-eval", str(tmp_path / "m"), "--corpus", str(corpus), "--out", str(tmp_path / "x"),
                                       "--hours", "0"])
    assert result.exit_code == 2 and "'--hours'" in result.output


def test_damaged_embedding_and_keyword_model_files_are_one_line_errors(tmp_path):
    from toolchain.embedding.artifact import Embedding, load_embedding
    from toolchain.fewshot.enroll import load_keyword_model

    embedding = tmp_path / "embedding"
    embedding.mkdir()
    buffer = tmp_path / "bank.npz"
    np.savez_compressed(buffer, features=np.zeros((50, 49, 40), np.int8), labels=np.arange(50))
    (embedding / "unknown_bank.npz").write_bytes(buffer.read_bytes()[:300])
    with pytest.raises(KwsError, match="unknown_bank.npz: unreadable unknown-word bank .*damaged or truncated"):
        Embedding(None, None, {}, embedding).unknown_bank()
    (embedding / "manifest.json").write_text(json.dumps({"kind": "embedding", "frontend": FrontendParams().to_dict()}))
    (embedding / "classifier.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(KwsError, match="classifier.keras: cannot load the Keras model"):
        load_embedding(embedding)
    model = tmp_path / "kw"
    model.mkdir()
    from toolchain.fewshot.enroll import MANIFEST_KEYS

    complete = {key: None for key in MANIFEST_KEYS}
    (model / "manifest.json").write_text(json.dumps({**complete, "kind": "keyword_model", "frontend": FrontendParams().to_dict(),
                                                     "labels": ["_silence_", "_unknown_", "x"]}))
    (model / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(KwsError, match="model.keras: cannot load the Keras model .*damaged or truncated"):
        load_keyword_model(model)
    from types import SimpleNamespace

    from toolchain.simulate.runtimes import KerasRunner

    with pytest.raises(KwsError, match="model.keras: cannot load the Keras model .*run `kws convert` again"):
        KerasRunner(SimpleNamespace(keras_path=model / "model.keras", labels=["_silence_", "_unknown_", "x"]))


def test_an_os_error_becomes_one_line_but_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    from toolchain.convert import keyword_model

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "c" / "model_int8.tflite"))

    monkeypatch.setattr(keyword_model, "convert_keyword_model", full_disk)
    _one_line_error(CliRunner().invoke(main, ["convert", str(tmp_path), "--out", str(tmp_path / "c")]),
                    "model_int8.tflite: no space left on the device")

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(keyword_model, "convert_keyword_model", bug)
    result = CliRunner().invoke(main, ["convert", str(tmp_path), "--out", str(tmp_path / "c")])
    assert isinstance(result.exception, ZeroDivisionError)


@pytest.mark.slow
def test_two_add_to_runs_at_once_write_v2_and_v3_and_lose_no_keyword(keyword_model, shots_dir, tmp_path):
    model = tmp_path / "kw"
    subprocess.run(["cp", "-r", str(keyword_model), str(model)], check=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    runs = [subprocess.Popen([sys.executable, "-m", "toolchain.cli", "enroll", "--add-to", str(model), "--keyword", word,
                              "--shots", str(shots_dir)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for word in ("eins", "zwei")]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    reported = sorted(line.split()[2] for text in outputs for line in text.splitlines() if line.startswith("keyword model v"))
    assert reported == ["v2", "v3"]
    added = sorted(json.loads((tmp_path / f"kw-{v}" / "manifest.json").read_text())["changes"]["added"][0] for v in reported)
    assert added == ["eins", "zwei"]


@pytest.mark.slow
def test_a_real_converted_model_is_replaced_only_with_force_and_never_over_a_users_file(keyword_model, tmp_path):
    out = tmp_path / "converted"
    args = ["convert", str(keyword_model), "--out", str(out), "--per-class", "5"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    _one_line_error(CliRunner().invoke(main, args), "already holds a converted_keyword_model; add --force")
    again = CliRunner().invoke(main, args + ["--force"])
    assert again.exit_code == 0, again.output
    (out / "notes.txt").write_text("mine")
    _one_line_error(CliRunner().invoke(main, args + ["--force"]), "(notes.txt)", "move them out")
    assert (out / "notes.txt").read_text() == "mine" and (out / "model_int8.tflite").is_file()


@pytest.mark.parametrize("manifest", ["[1, 2]", "{}", "\"text\""])
@pytest.mark.parametrize("command", [["convert", "M", "--out", "o"], ["export-firmware", "M", "--board", "cortex-m", "--out", "fw"],
                                     ["stream", "M", "audio.wav"], ["enroll", "--add-to", "M", "--keyword", "a", "--shots", "s"]])
def test_a_manifest_that_is_not_an_object_with_a_kind_is_one_line(tmp_path, manifest, command):
    (tmp_path / "M").mkdir()
    (tmp_path / "M" / "manifest.json").write_text(manifest)
    args = [str(tmp_path / a) if a in ("M", "o", "fw", "audio.wav", "s") else a for a in command]
    _one_line_error(CliRunner().invoke(main, args), "manifest.json: not a manifest")


@pytest.mark.parametrize("command", [["enroll", "--add-to", "M", "--keyword", "a", "--shots", "s"], ["convert", "M", "--out", "o"]])
def test_an_incomplete_keyword_model_manifest_is_one_line(tmp_path, command):
    (tmp_path / "M").mkdir()
    (tmp_path / "M" / "manifest.json").write_text(json.dumps({"kind": "keyword_model", "embedding_path": str(tmp_path / "e")}))
    (tmp_path / "M" / "model.keras").write_bytes(b"PK")
    args = [str(tmp_path / a) if a in ("M", "o", "s") else a for a in command]
    _one_line_error(CliRunner().invoke(main, args), "manifest.json: missing 'version': not a complete keyword model")
