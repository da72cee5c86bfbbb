"""Training across machines (MultiWorkerMirroredStrategy) with a plain distributed loop.

Keras 3's `Model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585: its symbolic
build reduces a per-replica batch across workers), so a multi-worker run steps the model here:
`strategy.run` per replica, gradients all-reduced by the strategy, a checkpoint per epoch so a
killed run resumes, and a `history.csv` + TensorBoard log like the single-machine path.
"""
from __future__ import annotations

import csv
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf


def fit_multi_worker(model: keras.Model, strategy: tf.distribute.Strategy, train_ds: tf.data.Dataset,
                     dev_ds: tf.data.Dataset, steps: int, epochs: int, global_batch: int, workdir: Path | None,
                     resume: bool, verbose: int) -> int:
    """Train `epochs` epochs of `steps` global batches; returns the epochs run in this call.

    `model` must be compiled inside `strategy.scope()` (its optimizer is used). With `workdir`, each
    epoch ends in a checkpoint under `workdir/backup` and a row of `workdir/history.csv`.
    """
    optimizer = model.optimizer
    loss_fn = _per_example(model.loss)
    with strategy.scope():
        optimizer.build(model.trainable_variables)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    manager = None
    if workdir is not None:
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch)
        manager = tf.train.CheckpointManager(checkpoint, str(workdir / "backup"), max_to_keep=1)
        if resume and manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint)
    iterator = iter(strategy.experimental_distribute_dataset(train_ds.repeat()))

    @tf.function
    def train_step(batches):
        def replica_step(features, labels):
            with tf.GradientTape() as tape:
                probabilities = model(features, training=True)
                loss = tf.nn.compute_average_loss(loss_fn(labels, probabilities), global_batch_size=global_batch)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(probabilities, -1, output_type=tf.int32),
                                                     tf.cast(labels, tf.int32)), tf.float32))
            return loss, correct, tf.cast(tf.shape(labels)[0], tf.float32)

        results = strategy.run(replica_step, args=next(batches))
        return tuple(strategy.reduce("SUM", value, axis=None) for value in results)

    writer = tf.summary.create_file_writer(str(workdir / "logs")) if workdir is not None else None
    first = int(epoch.numpy())
    for index in range(first, epochs):
        losses, correct, seen = [], 0.0, 0.0
        for _ in range(steps):
            loss, hits, examples = train_step(iterator)
            losses.append(float(loss))
            correct += float(hits)
            seen += float(examples)
        _average_moving_statistics(model, strategy)
        row = {"epoch": index, "loss": float(np.mean(losses)), "accuracy": correct / max(1.0, seen),
               "val_accuracy": accuracy(model, dev_ds)}
        epoch.assign(index + 1)
        if manager is not None:
            manager.save()
            _append_history(workdir / "history.csv", row)
            with writer.as_default():
                for key in ("loss", "accuracy", "val_accuracy"):
                    tf.summary.scalar(key, row[key], step=index)
        if verbose:
            print(f"epoch {index + 1}/{epochs} - loss {row['loss']:.4f} - accuracy {row['accuracy']:.4f} - "
                  f"val_accuracy {row['val_accuracy']:.4f}", flush=True)
    return epochs - first


def _average_moving_statistics(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Batch-norm moving statistics are updated from each worker's own batches (they are not
    gradients, so nothing all-reduces them): average them so every worker, and the saved model,
    holds the same network."""
    for variable in model.non_trainable_variables:
        if not keras.backend.is_float_dtype(variable.dtype):
            continue  # e.g. dropout seed states: not statistics
        local = strategy.run(lambda v=variable: tf.identity(v))
        variable.assign(strategy.reduce("MEAN", local, axis=None))


def _per_example(loss) -> keras.losses.Loss:
    """The compiled word loss, unreduced (the global batch average is taken across replicas)."""
    if isinstance(loss, str):
        return keras.losses.SparseCategoricalCrossentropy(reduction="none")
    return type(loss).from_config({**loss.get_config(), "reduction": "none"})


def accuracy(model: keras.Model, dataset: tf.data.Dataset) -> float:
    """Top-1 accuracy over a (features, label) dataset, on this process alone (any strategy)."""
    hits, total = 0, 0
    for features, labels in dataset:
        predicted = tf.argmax(model(features, training=False), -1, output_type=tf.int32)
        hits += int(tf.reduce_sum(tf.cast(predicted == tf.cast(labels, tf.int32), tf.int32)))
        total += int(labels.shape[0])
    return hits / max(1, total)


def _append_history(path: Path, row: dict) -> None:
    is_new = not path.is_file()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if is_new:
            writer.writeheader()
        writer.writerow(row)
