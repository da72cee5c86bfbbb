"""The streaming twin of a whole-window model: the same layer objects, run on one hop of frames.

A whole-window model built from layers that are 'valid' in time (ds_cnn_stream.py) recomputes, at
each step, positions it computed before. Its twin takes the hop's new frames plus, for each layer
whose kernel spans time, the last (kernel − stride) frames that layer saw (its state); it returns the
probabilities and the new states, which the caller feeds back at the next hop. State travels as
extra inputs and outputs rather than resource variables: int8 quantization then gives each state
input exactly the scale of the output it is copied from (concatenation shares one scale), the TFLM
interpreter needs no variable support, and a simulator or firmware resets it by zero-filling.
Two layers are rewritten for the device with the same weights and the same integer sums, because
their TFLM kernels cost less that way (per-op counts of `kws run-emulated`): a one-channel
convolution strided in frequency, and the global average pool.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from toolchain.errors import KwsError

FRAMES_INPUT = "frames"
PROBABILITIES = "probabilities"
STATE_PREFIX = "state_"


@dataclass(frozen=True)
class StreamState:
    name: str
    shape: tuple[int, ...]  # without the batch axis


def _time_kernel(layer) -> tuple[int, int] | None:
    if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)) and layer.kernel_size[0] > 1:
        return layer.kernel_size[0], layer.strides[0]
    if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)) and layer.strides[0] > 1:
        raise KwsError(f"layer {layer.name}: a stride in time without a kernel in time cannot stream")
    return None


def _frequency_stride_as_channels(layer, x):
    """(input, layer) computing the layer's output with its frequency stride folded into channels.

    A one-channel convolution striding s along frequency reads the same values as one reading s
    neighbouring bins as s channels with stride 1: reshape (t, W, 1) → (t, W/s, s) (the same bytes)
    and the kernel (kt, kf, 1, F) → (kt, kf/s, s, F) (the same weights, so the same per-channel int8
    scales and integer sums). CMSIS-NN's im2col then copies s bytes per tap instead of one, and the
    layer's time state has rows of W bytes instead of W one-byte rows to slice: on the emulated
    Cortex-M4 the first DS-CNN convolution went from 402 k to 353 k instructions per hop, its state
    slice from 16.7 k to 9.2 k."""
    stride = layer.strides[1]
    foldable = (type(layer) is layers.Conv2D and layer.padding == "valid" and layer.data_format == "channels_last"
                and tuple(layer.dilation_rate) == (1, 1) and layer.groups == 1 and x.shape[-1] == 1 and stride > 1
                and layer.kernel_size[1] % stride == 0 and x.shape[2] % stride == 0)
    if not foldable:
        return x, layer
    folded = layers.Conv2D(layer.filters, (layer.kernel_size[0], layer.kernel_size[1] // stride), strides=(layer.strides[0], 1),
                           padding="valid", use_bias=layer.use_bias, activation=layer.activation,
                           dtype=layer.dtype_policy, name=f"{layer.name}_bins_as_channels")
    x = layers.Reshape((-1, x.shape[2] // stride, stride), name=f"{layer.name}_bin_groups")(x)
    folded.build((None, None, *x.shape[2:]))
    kernel, *bias = layer.get_weights()
    folded.set_weights([kernel.reshape(folded.kernel.shape), *bias])
    return x, folded


def _pool_as_one_axis(layer, x):
    """The layer's output, with a 2-D global average pool computed as a mean over axis 0 of (positions, channels).

    TFLM's int8 MEAN walks a generic N-d index per value: over (1, 1, 5, 128) pooled on two axes that
    costs ~176 Cortex-M4 instructions per value (113 k per hop, 4 %); over (5, 128) ~104. The same
    values are summed, with the same count and rescaling, so the int8 output is the same."""
    if isinstance(layer, layers.GlobalAveragePooling2D) and layer.data_format == "channels_last" and not layer.keepdims:
        channels = x.shape[-1]
        return layers.Lambda(lambda t: keras.ops.mean(keras.ops.reshape(t, (-1, channels)), axis=0, keepdims=True),
                             name=f"{layer.name}_over_positions")(x)
    return layer(x)


def _chain(model: keras.Model) -> list:
    """The model's layers in order; streaming needs a single chain (each layer feeds the next)."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise KwsError(f"model {model.name}: streaming needs one input and one output")
    chain = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for layer in chain:
        if isinstance(layer.input, (list, tuple)):
            raise KwsError(f"layer {layer.name}: takes several inputs; streaming needs a plain chain")
    return chain


def streaming_form(model: keras.Model, hop_frames: int) -> tuple[keras.Model, tuple[StreamState, ...]]:
    """(twin, its states). The twin maps {'frames': (1, hop, channels), 'state_k': …} to
    {'probabilities': …, 'state_k': …}; zero states are the reset value."""
    channels = model.input_shape[-1]
    frames = keras.Input((hop_frames, channels), batch_size=1, name=FRAMES_INPUT)
    inputs, outputs, states = {FRAMES_INPUT: frames}, {}, []
    x = frames
    for layer in _chain(model):
        kernel = _time_kernel(layer)
        if kernel is not None:
            x, layer = _frequency_stride_as_channels(layer, x)
            keep = kernel[0] - kernel[1]
            if keep < 0:
                raise KwsError(f"layer {layer.name}: stride {kernel[1]} exceeds kernel {kernel[0]} in time")
            if keep:
                name = f"{STATE_PREFIX}{len(states)}"
                state = keras.Input((keep, *x.shape[2:]), batch_size=1, name=name)
                buffer = layers.Concatenate(axis=1, name=f"{name}_join")([state, x])
                outputs[name] = layers.Identity(name=f"{name}_next")(buffer[:, -keep:])
                inputs[name] = state
                states.append(StreamState(name, tuple(int(d) for d in state.shape[1:])))
                x = buffer
        x = _pool_as_one_axis(layer, x)
    outputs = {PROBABILITIES: x, **outputs}
    return keras.Model(inputs, outputs, name=f"{model.name}_streaming"), tuple(states)


def zero_states(states: tuple[StreamState, ...]) -> dict[str, np.ndarray]:
    return {s.name: np.zeros((1, *s.shape), np.float32) for s in states}


def run_stream(twin: keras.Model, states: tuple[StreamState, ...], features: np.ndarray, hop_frames: int) -> np.ndarray:
    """Probabilities after each whole hop of `features` (frames, channels), from reset state."""
    current = zero_states(states)
    out = []
    for start in range(0, len(features) - hop_frames + 1, hop_frames):
        result = twin({FRAMES_INPUT: features[None, start:start + hop_frames].astype(np.float32), **current}, training=False)
        out.append(np.asarray(result[PROBABILITIES])[0])
        current = {s.name: np.asarray(result[s.name]) for s in states}
    return np.stack(out) if out else np.zeros((0, twin.output_shape[PROBABILITIES][-1]), np.float32)
