"""The streaming twin quantized with the window model's ranges computes, in int8, what the window model computes."""
import keras
import numpy as np
import pytest

from toolchain.embedding.ds_cnn_stream import StreamDsCnnSmallParams, build
from toolchain.embedding.streaming_form import FRAMES_INPUT, PROBABILITIES, streaming_form
from toolchain.errors import KwsError

FRAMES, CHANNELS = 49, 40


def _loud_model(seed=0):
    """Random weights with a sharp output layer, as training leaves it: quiet inputs give narrow ranges,
    the pinned-range map wide ones, and large logits turn a scale's rounding into many output LSB."""
    keras.utils.set_random_seed(seed)
    model = build((FRAMES, CHANNELS), 7, StreamDsCnnSmallParams())
    last = [layer for layer in model.layers if layer.get_weights()][-1]
    last.set_weights([w * 30 for w in last.get_weights()])
    return model


def _max_lsb(twin_bytes, whole_bytes, shapes, features, hop):
    from toolchain.tflite.micro import tflm_interpreter
    from toolchain.tflite.streaming import TflmStream, streaming_io

    device = TflmStream(twin_bytes, streaming_io(twin_bytes, FRAMES_INPUT, PROBABILITIES, shapes))
    streamed = np.stack([device.step(features[k:k + hop]) for k in range(0, len(features) - hop + 1, hop)])
    whole = tflm_interpreter(whole_bytes)
    worst = 0
    for k, end in enumerate(range(hop, len(features) + 1, hop)):
        if end >= FRAMES:
            whole.set_input(features[None, end - FRAMES:end], 0)
            whole.invoke()
            worst = max(worst, int(np.abs(streamed[k].astype(int) - whole.get_output(0).reshape(-1).astype(int)).max()))
    return worst


def _quantization(tflite_bytes):
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
    tensors = model.subgraphs[0].tensors
    return lambda i: (float(tensors[i].quantization.scale[0]), int(tensors[i].quantization.zeroPoint[0]))


@pytest.mark.slow
def test_twin_takes_the_window_models_scales_and_outputs():
    from toolchain.convert.keyword_model import fixed_batch
    from toolchain.tflite.converter import calibrated_tflite, quantize_calibrated, to_int8_tflite, window_feeds
    from toolchain.tflite.shared_ranges import computing_outputs, with_window_ranges
    from toolchain.tflite.streaming import calibration_feeds

    model = _loud_model()
    hop = StreamDsCnnSmallParams().hop_frames
    twin, states = streaming_form(model, hop)
    shapes = {s.name: s.shape for s in states}
    rng = np.random.default_rng(2)
    quiet = rng.integers(-20, 21, (12, FRAMES, CHANNELS)).astype(np.float32)
    whole_calibrated = calibrated_tflite(fixed_batch(model), window_feeds(quiet))
    whole = quantize_calibrated(whole_calibrated)
    feeds = calibration_feeds(twin, shapes, quiet, FRAMES_INPUT, hop)
    shared = quantize_calibrated(with_window_ranges(calibrated_tflite(twin, feeds), whole_calibrated))

    in_whole, in_shared = _quantization(whole), _quantization(shared)
    pairs = list(zip(computing_outputs(whole), computing_outputs(shared), strict=True))
    assert all(a[0] == b[0] and in_whole(a[1]) == in_shared(b[1]) for a, b in pairs)
    features = rng.integers(-20, 21, (hop * 20, CHANNELS)).astype(np.int8)
    assert _max_lsb(shared, whole, shapes, features, hop) == 0
    # every range is the window model's, so the twin's own calibration data do not matter: one window will do
    one_window = calibration_feeds(twin, shapes, quiet[:1], FRAMES_INPUT, hop)
    assert quantize_calibrated(with_window_ranges(calibrated_tflite(twin, one_window), whole_calibrated)) == shared
    # calibrated on its own stream the twin takes other scales: the fixture has the trained models' disagreement
    alone_bytes = to_int8_tflite(twin, feeds)
    in_alone, alone = _quantization(alone_bytes), computing_outputs(alone_bytes)
    assert any(in_whole(a[1]) != in_alone(b[1]) for a, b in zip(computing_outputs(whole), alone, strict=True))


def test_layers_that_differ_are_refused():
    from toolchain.tflite.converter import calibrated_tflite, window_feeds
    from toolchain.tflite.shared_ranges import with_window_ranges

    model = _loud_model()
    twin, states = streaming_form(model, StreamDsCnnSmallParams().hop_frames)
    quiet = np.zeros((1, FRAMES, CHANNELS), np.float32)
    from toolchain.tflite.streaming import calibration_feeds

    twin_calibrated = calibrated_tflite(twin, calibration_feeds(twin, {s.name: s.shape for s in states}, quiet, FRAMES_INPUT,
                                                                  StreamDsCnnSmallParams().hop_frames))
    other = keras.Sequential([keras.Input((FRAMES, CHANNELS), batch_size=1), keras.layers.Dense(7, activation="softmax")])
    with pytest.raises(KwsError, match="streaming model: its .* pairs with the window model's|no counterpart"):
        with_window_ranges(twin_calibrated, calibrated_tflite(other, window_feeds(quiet)))
