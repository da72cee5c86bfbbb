"""Additive-margin softmax (CosFace, Wang et al. 2018) for the word classes: `--word-loss am-softmax`.

Few-shot enrolment compares embeddings by direction (the head is linear, the prototype scorer is a
cosine), while plain softmax only asks each word's logit to win. Classifying by the cosine to a unit
weight vector, with the target's cosine lowered by a margin before the softmax, asks every word to
sit inside a tight cone away from the others — the angular-margin training that real-speech embeddings
such as EfficientWord-Net's ArcFace use. Only the training-time word layer changes: the trunk, its
streaming twin and everything on the device stay as they are.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import ops

WORD_LAYER = "word_logits"


@dataclass(frozen=True)
class MarginParams:
    margin: float = 0.2  # subtracted from the target's cosine
    scale: float = 30.0  # cosines times this are the logits (a cosine alone cannot make a peaked softmax)


@keras.saving.register_keras_serializable(package="kws")
class CosineWords(keras.layers.Layer):
    """Cosine between the input and each word's unit weight vector: the word 'logits' in [-1, 1]."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")

    def call(self, inputs):
        directions = inputs / ops.maximum(ops.norm(inputs, axis=-1, keepdims=True), 1e-6)
        weights = self.kernel / ops.maximum(ops.norm(self.kernel, axis=0, keepdims=True), 1e-6)
        return ops.matmul(directions, ops.cast(weights, directions.dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="kws")
class AdditiveMarginLoss(keras.losses.Loss):
    """Cross-entropy over scale × (cosine − margin at the target word) from sparse labels."""

    def __init__(self, margin: float = MarginParams.margin, scale: float = MarginParams.scale, name="additive_margin", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin, self.scale = margin, scale

    def call(self, y_true, y_pred):
        cosines = ops.cast(y_pred, "float32")
        target = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), ops.shape(cosines)[-1])
        logits = self.scale * (cosines - self.margin * target)
        return keras.losses.categorical_crossentropy(target, logits, from_logits=True)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "scale": self.scale}


def with_cosine_words(classifier: keras.Model) -> keras.Model:
    """The same network with its softmax word layer replaced by `CosineWords` (the same inputs, fresh weights)."""
    words = classifier.get_layer(WORD_LAYER)
    cosines = CosineWords(words.units, name=WORD_LAYER, dtype="float32")(words.input)
    return keras.Model(classifier.input, cosines, name=classifier.name)
