"""The streaming twin of a whole-window model: the same layer objects, run on one hop of frames.

A whole-window model built from layers that are 'valid' in time (ds_cnn_stream.py) recomputes, at
each step, positions it computed before. Its twin takes the hop's new frames plus, for each layer
whose kernel spans time, the last (kernel − stride) frames that layer saw (its state); it returns the
probabilities and the new states, which the caller feeds back at the next hop. State travels as
extra inputs and outputs rather than resource variables: int8 quantization then gives each state
input exactly the scale of the output it is copied from (concatenation shares one scale), the TFLM
interpreter needs no variable support, and a simulator or firmware resets it by zero-filling.
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
        x = layer(x)
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
