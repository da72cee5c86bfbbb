"""DS-CNN (depthwise-separable CNN, Zhang et al. 2017 "Hello Edge"), widened in depth and strided
for the 49×40 micro-frontend map, so that it stays under ~6 M MACs per 1 s window."""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

EMBEDDING_LAYER = "embedding"


@dataclass(frozen=True)
class DsCnnParams:
    first_filters: int = 32
    first_kernel: tuple[int, int] = (10, 4)
    first_strides: tuple[int, int] = (2, 2)
    # (channels, stride) per depthwise-separable block
    blocks: tuple[tuple[int, int], ...] = ((64, 1), (96, 2), (96, 1), (128, 2), (128, 1))
    embedding_dim: int = 256
    dropout: float = 0.2


@dataclass(frozen=True)
class DsCnnSmallParams(DsCnnParams):
    """~1.1 M MACs instead of ~5.1 M: a Cortex-M4F at 64 MHz (Nano 33 BLE Sense) runs it in ~145 ms
    instead of ~650 ms. The first conv strides 4 across the 40 channels, leaving 10 frequency columns
    (as Hello Edge's 10 MFCCs), and the blocks are fewer and narrower."""

    first_strides: tuple[int, int] = (2, 4)
    blocks: tuple[tuple[int, int], ...] = ((48, 2), (64, 1), (96, 2), (128, 1))


def build(input_shape: tuple[int, int], num_classes: int, params: DsCnnParams = DsCnnParams()) -> keras.Model:
    """Classifier over int8-valued feature maps; the layer named 'embedding' is what few-shot heads use."""
    inputs = keras.Input(shape=input_shape, name="features")
    x = layers.Rescaling(1.0 / 128.0, name="to_unit_range")(inputs)
    x = layers.Reshape((*input_shape, 1))(x)
    x = layers.Conv2D(params.first_filters, params.first_kernel, strides=params.first_strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for channels, stride in params.blocks:
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = pointwise(x, channels)
    return keras.Model(inputs, embedding_and_words(x, params, num_classes), name="ds_cnn")


def pointwise(depthwise_output, channels: int):
    """The second half of a depthwise-separable block: normalise the depthwise output, mix channels."""
    x = layers.BatchNormalization()(depthwise_output)
    x = layers.ReLU()(x)
    x = layers.Conv2D(channels, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def embedding_and_words(features, params: DsCnnParams, num_classes: int):
    """Pool, the layer named 'embedding', and the word softmax that trains it."""
    x = layers.GlobalAveragePooling2D()(features)
    x = layers.Dense(params.embedding_dim, activation="relu", name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(params.dropout)(x)
    return layers.Dense(num_classes, activation="softmax", name="word_logits", dtype="float32")(x)
