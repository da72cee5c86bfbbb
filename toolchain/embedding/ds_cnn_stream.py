"""Streamable DS-CNN: the same depthwise-separable stack, with no padding in time.

Every time-kernel is 'valid' and the strides in time multiply to `hop_frames`, so each output
position depends only on frames inside the window, and the kernels are sized so that the window's
single last position sees exactly the 1 s window (receptive field = frames). The streaming twin
(`streaming_form.py`) then computes, per hop of `hop_frames` new frames, only the positions those
frames add, carrying each layer's last (kernel - stride) input frames as state: the same weights,
the same numbers, about a sixth of the arithmetic per second of a window recomputed every hop. No
global pooling over time is needed: the window's last position already covers it (pooling over
frequency remains). Frequency is padded explicitly, so both forms pad identically.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from toolchain.embedding.ds_cnn import embedding_and_words, pointwise
from toolchain.errors import KwsError


@dataclass(frozen=True)
class StreamDsCnnParams:
    first_filters: int = 32
    first_kernel: tuple[int, int] = (9, 4)
    first_strides: tuple[int, int] = (2, 2)
    # (channels, stride) per depthwise-separable block; the stride applies in time and frequency
    blocks: tuple[tuple[int, int], ...] = ((64, 1), (96, 2), (96, 1), (128, 2), (128, 1))
    block_kernel: int = 3
    embedding_dim: int = 256
    dropout: float = 0.2

    @property
    def hop_frames(self) -> int:
        """New frames per streaming step: the product of the time strides."""
        hop = self.first_strides[0]
        for _, stride in self.blocks:
            hop *= stride
        return hop

    @property
    def receptive_frames(self) -> int:
        """Frames the last output position sees."""
        frames, step = self.first_kernel[0], self.first_strides[0]
        for _, stride in self.blocks:
            frames += (self.block_kernel - 1) * step
            step *= stride
        return frames


@dataclass(frozen=True)
class StreamDsCnnSmallParams(StreamDsCnnParams):
    """The Cortex-M4 size: 10 frequency columns after the first conv and four narrower blocks."""

    first_kernel: tuple[int, int] = (13, 4)
    first_strides: tuple[int, int] = (2, 4)
    blocks: tuple[tuple[int, int], ...] = ((48, 2), (64, 1), (96, 2), (128, 1))


def _freq_padding(kernel: int, stride: int, size: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding along frequency, made explicit so the streaming form repeats it."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def build(input_shape: tuple[int, int], num_classes: int, params: StreamDsCnnParams = StreamDsCnnParams()) -> keras.Model:
    """Whole-window classifier (what training uses); its penultimate layer 'embedding' is the embedding."""
    frames, channels = input_shape
    if params.receptive_frames != frames:
        raise KwsError(f"streamable DS-CNN: the kernels see {params.receptive_frames} frames but the window has {frames}; "
                       "change first_kernel so the last position covers the window exactly")
    inputs = keras.Input(shape=input_shape, name="features")
    x = layers.Rescaling(1.0 / 128.0, name="to_unit_range")(inputs)
    x = layers.Reshape((-1, channels, 1), name="to_image")(x)
    width = channels
    x = layers.ZeroPadding2D(((0, 0), _freq_padding(params.first_kernel[1], params.first_strides[1], width)))(x)
    x = layers.Conv2D(params.first_filters, params.first_kernel, strides=params.first_strides, padding="valid", use_bias=False)(x)
    width = -(-width // params.first_strides[1])
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for filters, stride in params.blocks:
        x = layers.ZeroPadding2D(((0, 0), _freq_padding(params.block_kernel, stride, width)))(x)
        x = layers.DepthwiseConv2D(params.block_kernel, strides=stride, padding="valid", use_bias=False)(x)
        width = -(-width // stride)
        x = pointwise(x, filters)
    return keras.Model(inputs, embedding_and_words(x, params, num_classes), name="ds_cnn_stream")
