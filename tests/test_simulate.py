"""simulate: float vs TFLM int8 vs LiteRT int8 on labelled clips, and the accuracy-drop gate."""
from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from toolchain.errors import KwsError

LABELS = ["_silence_", "_unknown_", "beep"]
RATE = 16000
BEEP_HZ, BOOP_HZ = 700.0, 170.0


def burst(rng: np.random.Generator, seconds: float, base_hz: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.sin(np.pi * t / t[-1]) ** 2
    wave = sum(np.sin(2 * np.pi * base_hz * k * t + rng.uniform(0, 6)) / k for k in range(1, 4))
    return (rng.uniform(0.2, 0.4) * envelope * wave).astype(np.float32)


def noisy_clip(rng: np.random.Generator, kind: str, seconds: float = 1.0) -> np.ndarray:
    """Noise, with a beep or a boop burst inside the last second for the word classes."""
    clip = rng.normal(0, rng.uniform(0.005, 0.03), int(seconds * RATE)).astype(np.float32)
    if kind != "_silence_":
        word = burst(rng, rng.uniform(0.3, 0.5), BEEP_HZ if kind == "beep" else BOOP_HZ)
        start = clip.size - RATE + int(rng.integers(0, RATE - word.size))
        clip[start:start + word.size] += word
    return np.clip(np.round(clip * 32767), -32768, 32767).astype(np.int16)


def tiny_model(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((49, 40)),
        keras.layers.Rescaling(1 / 128),
        keras.layers.Reshape((49, 40, 1)),
        keras.layers.Conv2D(8, (5, 5), strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(len(LABELS), activation="softmax"),
    ])


def write_model_dir(out: Path, model, representative: np.ndarray) -> Path:
    """A converted_keyword_model directory as `kws convert` writes it."""
    from ai_edge_litert.interpreter import Interpreter

    from toolchain.frontend import FrontendParams
    from toolchain.streaming import StreamingParams
    from toolchain.tflite.converter import to_tflite
    from toolchain.tflite.micro import measure_arena

    int8 = to_tflite(model, representative)
    interpreter = Interpreter(model_content=int8)
    (in_scale, in_zero), (out_scale, out_zero) = (interpreter.get_input_details()[0]["quantization"],
                                                  interpreter.get_output_details()[0]["quantization"])
    out.mkdir(parents=True)
    model.save(out / "model.keras")
    (out / "model_float.tflite").write_bytes(to_tflite(model))
    (out / "model_int8.tflite").write_bytes(int8)
    manifest = {"kind": "converted_keyword_model", "labels": LABELS, "threshold": 0.6,
                "frontend": FrontendParams().to_dict(), "streaming": StreamingParams().to_dict(),
                "quantization": {"input": {"scale": in_scale, "zero_point": in_zero},
                                 "output": {"scale": out_scale, "zero_point": out_zero}},
                "arena_bytes": measure_arena(int8), "keywords": {"beep": {"shot_files": [], "source": []}}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@functools.cache
def model_dirs() -> tuple[Path, Path]:
    """(trained beep detector, the same with the int8 model of an untrained network swapped in)."""
    from toolchain.features import batch_features

    rng = np.random.default_rng(0)
    kinds = np.repeat(np.arange(len(LABELS)), 100)
    from toolchain.frontend import FrontendParams

    clips = batch_features(np.stack([noisy_clip(rng, LABELS[k]) for k in kinds]), FrontendParams())
    # the last 49 frames of 3 s streams: the frontend's noise estimate has settled, as on a device
    streamed = batch_features(np.stack([noisy_clip(rng, LABELS[k], 3.0) for k in kinds]), FrontendParams(), batch=64)
    features = np.concatenate([clips, streamed[:, -49:]]).astype(np.float32)
    kinds = np.concatenate([kinds, kinds])
    model = tiny_model(0)
    model.compile(optimizer=__import__("keras").optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(features, kinds, batch_size=32, epochs=25, shuffle=True, verbose=0)
    root = Path(tempfile.mkdtemp(prefix="kws_simulate_"))
    atexit.register(shutil.rmtree, root, True)
    good = write_model_dir(root / "good", model, features[::20])
    damaged = write_model_dir(root / "damaged", tiny_model(1), features[::20])
    damaged.joinpath("model.keras").write_bytes(good.joinpath("model.keras").read_bytes())
    return good, damaged


@pytest.fixture(scope="module")
def folder_corpus(tmp_path_factory) -> Path:
    """beep/ is the keyword, boop/ and hiss/ are other words (→ _unknown_)."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(5)
    for word, kind in (("beep", "beep"), ("boop", "boop"), ("hiss", "boop")):
        (root / word).mkdir()
        for i in range(12):
            sf.write(root / word / f"{i:02d}.wav", noisy_clip(rng, kind), RATE, subtype="PCM_16")
    return root


def test_int8_input_is_the_raw_features():
    from toolchain.convert.artifact import load_converted_model
    from toolchain.simulate.runtimes import TflmRunner

    manifest = json.loads((model_dirs()[0] / "manifest.json").read_text())
    assert manifest["quantization"]["input"] == {"scale": 1.0, "zero_point": 0}
    TflmRunner(load_converted_model(model_dirs()[0]))  # refuses any other input quantization


def test_runtimes_agree_on_the_same_features():
    from toolchain.convert.artifact import load_converted_model
    from toolchain.simulate.runtimes import runner

    model = load_converted_model(model_dirs()[0])
    features = np.random.default_rng(2).integers(-128, 128, (7, 49, 40)).astype(np.int8)
    outputs = {name: runner(model, name).predict(features) for name in ("float", "tflm", "litert")}
    assert all(o.shape == (7, 3) for o in outputs.values())
    np.testing.assert_array_equal(outputs["tflm"], outputs["litert"])
    assert np.max(np.abs(outputs["float"] - outputs["tflm"])) < 0.1


def test_simulate_reports_all_runtimes(folder_corpus, tmp_path):
    from toolchain.simulate.clips import simulate

    report_path = tmp_path / "out" / "report.json"
    result = simulate(model_dirs()[0], folder_corpus, report_path)
    report = json.loads(report_path.read_text())
    for key in ("n", "float", "tflm_int8", "litert_int8", "agreement_float_int8", "agreement_tflm_litert", "accuracy_drop",
                "max_abs_output_diff", "mean_abs_output_diff", "disagreements", "passed", "max_drop", "tflm_clips_per_s"):
        assert key in report, key
    silence = report["counts"]["_silence_"]
    assert report["n"] == 36 + silence and 2 <= silence <= 6
    assert report["counts"] == {"_silence_": silence, "_unknown_": 24, "beep": 12}  # every other word, up to max_per_label
    assert report["agreement_tflm_litert"] == 1.0
    # same flatbuffer, different kernels (TFLM reference vs XNNPACK): at most a couple of output quanta
    output_scale = json.loads((model_dirs()[0] / "manifest.json").read_text())["quantization"]["output"]["scale"]
    assert report["max_abs_output_diff"]["tflm_vs_litert"] <= 2 * output_scale + 1e-6
    assert report["float"]["accuracy"] >= 0.9
    assert set(report["float"]["per_class_recall"]) == set(LABELS)
    assert report["passed"] is (report["accuracy_drop"] <= 1.0)
    assert "TFLM int8" in result["table"] and "accuracy drop" in result["table"]
    assert sorted(p.name for p in report_path.parent.glob("*.png")) == [
        "report_confusion_float.png", "report_confusion_litert_int8.png", "report_confusion_tflm_int8.png"]


def test_damaged_int8_model_fails_the_gate(folder_corpus, tmp_path):
    from toolchain.simulate.clips import simulate

    report = simulate(model_dirs()[1], folder_corpus, tmp_path / "report.json", max_drop=1.0)
    assert report["accuracy_drop"] > 10
    assert report["passed"] is False
    assert report["disagreements"] and {"path", "label", "float", "tflm", "litert"} <= set(report["disagreements"][0])
    assert "FAILED" in report["table"]
    assert json.loads((tmp_path / "report.json").read_text())["passed"] is False


def test_refuses_other_artifacts(tmp_path, folder_corpus):
    from toolchain.simulate.clips import simulate

    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "keyword_model"}))
    with pytest.raises(KwsError, match="expected 'converted_keyword_model'"):
        simulate(tmp_path, folder_corpus, tmp_path / "r.json")


def test_corpus_without_the_keyword_is_an_error(tmp_path):
    from toolchain.simulate.clips import simulate

    (tmp_path / "corpus" / "boop").mkdir(parents=True)
    sf.write(tmp_path / "corpus" / "boop" / "a.wav", noisy_clip(np.random.default_rng(0), "boop"), RATE)
    with pytest.raises(KwsError, match="no clips of the model's keywords"):
        simulate(model_dirs()[0], tmp_path / "corpus", tmp_path / "r.json")
