"""`.keras` files whose bytes depend only on the model, so the same inputs and seed give the same file.

Keras writes three things that change from run to run although the model does not: the zip entries'
modification times, `date_saved` in metadata.json, and `shared_object_id` in config.json (the
Python `id()` of objects used twice, i.e. a memory address). The weights file is already stable.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import keras

FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def _renumber_shared_objects(node, numbers: dict[int, int]) -> None:
    """Replace each shared_object_id by its order of first appearance (Keras only matches ids to ids)."""
    if isinstance(node, dict):
        if "shared_object_id" in node:
            node["shared_object_id"] = numbers.setdefault(node["shared_object_id"], len(numbers) + 1)
        for value in node.values():
            _renumber_shared_objects(value, numbers)
    elif isinstance(node, list):
        for value in node:
            _renumber_shared_objects(value, numbers)


def _stable_member(name: str, data: bytes) -> bytes:
    if name == "metadata.json":
        metadata = json.loads(data)
        metadata.pop("date_saved", None)
        return json.dumps(metadata).encode()
    if name == "config.json":
        config = json.loads(data)
        _renumber_shared_objects(config, {})
        return json.dumps(config).encode()
    return data


def stable_keras_bytes(keras_zip: bytes) -> bytes:
    """The same .keras archive with run-dependent bytes replaced by fixed ones (see the module docstring)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(keras_zip)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_DATE)
            member.compress_type = info.compress_type
            member.external_attr = 0o644 << 16
            target.writestr(member, _stable_member(info.filename, source.read(info)))
    return out.getvalue()


def save_model_reproducibly(model: keras.Model, path: Path) -> None:
    """`model.save(path)`, then the file rewritten by `stable_keras_bytes`."""
    path = Path(path)
    model.save(path)
    path.write_bytes(stable_keras_bytes(path.read_bytes()))
