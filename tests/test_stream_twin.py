"""`kws convert` on a keyword model whose embedding streams: a bit-exact streaming twin beside the window model."""
import pytest

from toolchain.convert.artifact import load_converted_model
from toolchain.convert.keyword_model import convert_keyword_model
from toolchain.convert.stream_twin import STREAM_FILE
from toolchain.embedding.train import TrainConfig, train_embedding
from toolchain.fewshot.enroll import enroll


@pytest.mark.slow
def test_streamable_keyword_model_converts_to_a_bit_exact_twin(synth_corpus, shots_dir, tmp_path):
    embedding = tmp_path / "emb"
    train_embedding(TrainConfig(synth_corpus, embedding, ("en", "de", "fr"), 2, architecture="ds_cnn_stream", epochs=1,
                                batch_size=16, max_steps_per_epoch=2), progress=False)
    enroll([("gelb", shots_dir)], tmp_path / "kw", embedding)
    report = convert_keyword_model(tmp_path / "kw", tmp_path / "conv", per_class=12)
    stream = report["stream"]
    assert (tmp_path / "conv" / STREAM_FILE).is_file() and stream["hop_ms"] == 160
    assert stream["check"]["hops_compared"] > 50 and stream["check"]["max_abs_int8_difference"] <= 1
    assert stream["macs_per_second"] <= 10_000_000 and stream["macs_per_hop"] < report["total_macs"] / 3
    names = [s["name"] for s in stream["states"]]
    assert len(set(names)) == len(names) and sorted(s["input"] for s in stream["states"]) + [stream["frames_input"]] == \
        list(range(len(names) + 1))
    converted = load_converted_model(tmp_path / "conv")
    assert converted.manifest["stream"] == stream
    # the recognizer decides once per hop, as the device running the twin does
    assert converted.streaming.inference_stride_ms == stream["hop_ms"] and converted.streaming.minimum_count == 2


def test_a_window_model_gets_no_twin(keyword_model, tmp_path):
    report = convert_keyword_model(keyword_model, tmp_path / "conv", per_class=4)
    assert report["stream"] is None and not (tmp_path / "conv" / STREAM_FILE).exists()
