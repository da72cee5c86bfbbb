"""`kws convert` on a keyword model whose embedding streams: a bit-exact streaming twin beside the window
model, and the simulator running that twin as the device does."""
import numpy as np
import pytest

from toolchain.convert.artifact import load_converted_model
from toolchain.convert.keyword_model import convert_keyword_model
from toolchain.convert.stream_twin import STREAM_FILE
from toolchain.embedding.train import TrainConfig, train_embedding
from toolchain.fewshot.enroll import enroll


@pytest.fixture(scope="module")
def streaming_conversion(synth_corpus, shots_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("stream_twin")
    train_embedding(TrainConfig(synth_corpus, root / "emb", ("en", "de", "fr"), 2, architecture="ds_cnn_stream", epochs=1,
                                batch_size=16, max_steps_per_epoch=2), progress=False)
    enroll([("gelb", shots_dir)], root / "kw", root / "emb")
    return root / "conv", convert_keyword_model(root / "kw", root / "conv", per_class=12)


@pytest.mark.slow
def test_streamable_keyword_model_converts_to_a_bit_exact_twin(streaming_conversion):
    out, report = streaming_conversion
    stream = report["stream"]
    assert (out / STREAM_FILE).is_file() and stream["hop_ms"] == 160
    assert stream["check"]["hops_compared"] > 50 and stream["check"]["max_abs_int8_difference"] <= 1
    assert stream["macs_per_second"] <= 10_000_000 and stream["macs_per_hop"] < report["total_macs"] / 3
    names = [s["name"] for s in stream["states"]]
    assert len(set(names)) == len(names) and sorted(s["input"] for s in stream["states"]) + [stream["frames_input"]] == \
        list(range(len(names) + 1))
    converted = load_converted_model(out)
    assert converted.manifest["stream"] == stream
    # the recognizer decides once per hop, as the device running the twin does
    assert converted.streaming.inference_stride_ms == stream["hop_ms"] and converted.streaming.minimum_count == 2


@pytest.mark.slow
def test_twin_scorer_equals_the_window_model_on_tflm_at_every_decision(streaming_conversion):
    from toolchain.simulate.runtimes import TflmRunner
    from toolchain.convert.artifact import first_window_end
    from toolchain.simulate.twin import TwinScorer

    model = load_converted_model(streaming_conversion[0])
    hop, frames = model.manifest["stream"]["hop_frames"], model.frontend.num_frames
    stride = model.streaming.stride_frames(model.frontend)
    features = np.random.default_rng(3).integers(-128, 128, (600, model.frontend.num_channels)).astype(np.int8)
    ends = np.arange(first_window_end(model), len(features), stride)
    assert np.all((ends + 1) % hop == 0)  # decisions where the device's twin has just finished a hop
    windows = np.stack([features[end - frames + 1:end + 1] for end in ends])
    with TwinScorer(model) as twin:
        streamed = np.concatenate([twin.push(windows[:5]), twin.push(windows[5:])])  # pushed in two blocks
    np.testing.assert_array_equal(streamed, TflmRunner(model).predict(windows))


def test_a_window_model_gets_no_twin(keyword_model, tmp_path):
    report = convert_keyword_model(keyword_model, tmp_path / "conv", per_class=4)
    assert report["stream"] is None and not (tmp_path / "conv" / STREAM_FILE).exists()


@pytest.mark.slow
def test_kws_stream_runs_the_twin_and_decides_as_the_window_model_would(streaming_conversion, shots_dir, tmp_path):
    import soundfile as sf

    from toolchain.audio import load_clip
    from toolchain.simulate.stream import stream_report

    shots = [load_clip(p).astype(np.float32) / 32768 for p in sorted(shots_dir.iterdir())[:3]]
    rng = np.random.default_rng(5)
    gap = lambda: 0.003 * rng.normal(size=24000).astype(np.float32)  # noqa: E731
    audio = np.concatenate([part for shot in shots for part in (gap(), shot)] + [gap()])
    sf.write(tmp_path / "talk.wav", audio, 16000, subtype="PCM_16")
    twin = stream_report(streaming_conversion[0], tmp_path / "talk.wav")
    window = stream_report(streaming_conversion[0], tmp_path / "talk.wav", runtime="tflm")
    assert twin["runtime"] == "tflm_int8_streaming_twin" and window["runtime"] == "tflm_int8"
    assert twin["windows"] == window["windows"] > 0 and twin["detections"] == window["detections"]
    # every posterior the recognizer sees, not only its (possibly empty) detections
    from toolchain.convert.artifact import load_converted_model as load
    from toolchain.frontend_c import FrontendStream
    from toolchain.simulate.stream import _posteriors, _RunnerScorer, audio_blocks
    from toolchain.simulate.twin import TwinScorer

    model = load(streaming_conversion[0])
    runs = []
    for scorer in (TwinScorer(model), _RunnerScorer(model, "tflm")):
        with FrontendStream(model.frontend) as frontend:
            parts = list(_posteriors(model, audio_blocks(tmp_path / "talk.wav", 16000, 2.0), frontend, scorer))
        runs.append((np.concatenate([t for t, _ in parts]), np.concatenate([p for _, p in parts])))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert len(runs[0][0]) == twin["windows"]


@pytest.mark.slow
def test_streaming_a_twin_model_never_loads_tensorflow(streaming_conversion, tmp_path):
    """The shipped embeddings stream through their twins: that path stays TensorFlow-free (memory bound)."""
    import subprocess
    import sys

    import soundfile as sf

    out, _ = streaming_conversion
    wav = tmp_path / "noise.wav"
    sf.write(wav, np.random.default_rng(0).normal(0, 0.05, 16000 * 5).astype(np.float32), 16000, subtype="PCM_16")
    code = ("import sys\nfrom toolchain.simulate.stream import stream_report\n"
            "if __name__ == '__main__':\n"
            f"    report = stream_report({str(out)!r}, {str(wav)!r})\n"
            "    print(report['runtime'], 'tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split()[-3:] == ["tflm_int8_streaming_twin", "False", "False"], result.stdout + result.stderr
