"""Streaming twin = whole-window model, hop by hop: float to 1e-5, int8 on TFLM bit for bit."""
import keras
import numpy as np
import pytest

from toolchain.embedding.ds_cnn_stream import StreamDsCnnParams, StreamDsCnnSmallParams, build
from toolchain.embedding.streaming_form import FRAMES_INPUT, PROBABILITIES, run_stream, streaming_form
from toolchain.errors import KwsError

FRAMES, CHANNELS = 49, 40


def _model(params, seed=0):
    """Random weights and batch-norm statistics: equivalence must hold for any weights."""
    keras.utils.set_random_seed(seed)
    model = build((FRAMES, CHANNELS), 7, params)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.2, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))
    return model


def _windows_ending_at_hops(features, hop):
    ends = np.arange(hop, len(features) + 1, hop)
    keep = [i for i, end in enumerate(ends) if end >= FRAMES]
    return keep, np.stack([features[ends[i] - FRAMES:ends[i]] for i in keep])


@pytest.mark.parametrize("params", [StreamDsCnnParams(), StreamDsCnnSmallParams()], ids=["full", "small"])
def test_float_twin_equals_whole_window_at_every_hop_and_after_reset(params):
    assert params.receptive_frames == FRAMES and params.hop_frames * 20 <= 160  # a decision every ≤ 160 ms
    model = _model(params)
    twin, states = streaming_form(model, params.hop_frames)
    features = np.random.default_rng(1).integers(-128, 128, (params.hop_frames * 30, CHANNELS)).astype(np.float32)
    streamed = run_stream(twin, states, features, params.hop_frames)
    keep, windows = _windows_ending_at_hops(features, params.hop_frames)
    whole = model.predict(windows, verbose=0)
    assert np.abs(streamed[keep] - whole).max() <= 1e-5
    # reset = zero state: a second stream starting mid-way agrees with the whole model from its own start
    later = features[params.hop_frames * 11:]
    restarted = run_stream(twin, states, later, params.hop_frames)
    keep, windows = _windows_ending_at_hops(later, params.hop_frames)
    assert np.abs(restarted[keep] - model.predict(windows, verbose=0)).max() <= 1e-5


@pytest.mark.parametrize("params", [StreamDsCnnParams(), StreamDsCnnSmallParams()], ids=["full", "small"])
def test_first_convolution_reads_frequency_bins_as_channels_with_the_same_weights(params):
    """The one-channel first convolution, strided in frequency, runs in the twin on groups of `stride`
    neighbouring bins (fewer, wider im2col copies on the Cortex-M4): its kernel is the original's, reshaped."""
    model = _model(params)
    twin, states = streaming_form(model, params.hop_frames)
    first = next(layer for layer in model.layers if type(layer) is keras.layers.Conv2D)
    folded = twin.get_layer(f"{first.name}_bins_as_channels")
    stride = params.first_strides[1]
    kt, kf = params.first_kernel
    assert folded.kernel.shape == (kt, kf // stride, stride, params.first_filters) and folded.strides == (params.first_strides[0], 1)
    np.testing.assert_array_equal(folded.get_weights()[0].reshape(first.kernel.shape), first.get_weights()[0])
    assert states[0].shape[1:] == (folded.input.shape[2], stride)  # its state: rows of whole bin groups


def test_a_window_the_kernels_do_not_cover_is_refused():
    with pytest.raises(KwsError, match="see 49 frames but the window has 51"):
        build((51, CHANNELS), 3, StreamDsCnnParams())


@pytest.mark.slow
def test_int8_twin_on_tflm_matches_the_int8_whole_window_model():
    from toolchain.tflite.converter import to_int8_tflite, to_tflite
    from toolchain.tflite.flatbuffer import layer_costs, total_macs
    from toolchain.tflite.micro import tflm_interpreter
    from toolchain.tflite.streaming import TflmStream, calibration_feeds, streaming_io

    params = StreamDsCnnParams()
    model = _model(params)
    twin, states = streaming_form(model, params.hop_frames)
    shapes = {s.name: s.shape for s in states}
    rng = np.random.default_rng(2)
    calibration = rng.integers(-128, 128, (24, FRAMES, CHANNELS)).astype(np.float32)
    stream_bytes = to_int8_tflite(twin, calibration_feeds(twin, shapes, calibration, FRAMES_INPUT, params.hop_frames))
    whole_bytes = to_tflite(model, calibration)
    hop_macs, window_macs = total_macs(stream_bytes), total_macs(whole_bytes)
    layers = layer_costs(stream_bytes)
    pooled = next(i for i, layer in enumerate(layers) if layer["op"] == "MEAN")
    assert len(layers[pooled - 1]["output_shape"]) == 2  # the mean runs over one axis of (positions, channels)
    assert hop_macs * (1000 // (20 * params.hop_frames)) < 10_000_000 and hop_macs < window_macs / 3

    io = streaming_io(stream_bytes, FRAMES_INPUT, PROBABILITIES, shapes)
    inputs = sorted([io.frames_input, *(p for _, p, _ in io.states)])
    outputs = sorted([io.probabilities_output, *(p for _, _, p in io.states)])
    assert inputs == outputs == list(range(len(states) + 1))  # every tensor named, none twice
    device = TflmStream(stream_bytes, io)
    features = rng.integers(-128, 128, (params.hop_frames * 25, CHANNELS)).astype(np.int8)
    streamed = np.stack([device.step(features[k:k + params.hop_frames]) for k in range(0, len(features), params.hop_frames)])
    keep, windows = _windows_ending_at_hops(features, params.hop_frames)
    whole = tflm_interpreter(whole_bytes)
    expected = []
    for window in windows:
        whole.set_input(window[None], 0)
        whole.invoke()
        expected.append(whole.get_output(0).reshape(-1).copy())
    difference = np.abs(streamed[keep].astype(int) - np.stack(expected).astype(int)).max()
    assert difference <= 1, difference
    device.reset()
    again = np.stack([device.step(features[k:k + params.hop_frames]) for k in range(0, len(features), params.hop_frames)])
    assert np.array_equal(again, streamed)
