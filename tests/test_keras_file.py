"""`.keras` files whose bytes depend only on the model (toolchain/keras_file.py)."""
import io
import json
import re
import zipfile

import keras
import numpy as np

from toolchain.keras_file import FIXED_ZIP_DATE, save_model_reproducibly, stable_keras_bytes


def _nested_model() -> keras.Model:
    """A model inside a model, as the keyword model is: Keras writes a shared_object_id (an id()) for it."""
    inner_input = keras.Input((4,), name="inner_x")
    trunk = keras.Model(inner_input, keras.layers.Dense(4, name="d")(inner_input), name="trunk")
    outer_input = keras.Input((4,), name="x")
    return keras.Model(outer_input, keras.layers.Dense(2, name="out")(trunk(outer_input)), name="m")


def _as_another_run_writes_it(keras_zip: bytes) -> bytes:
    """The same model as a later run in another process saves it: other object ids, another date and time."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(keras_zip)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "config.json":
                data = re.sub(rb'"shared_object_id": \d+', b'"shared_object_id": 139964073237456', data)
            if info.filename == "metadata.json":
                data = re.sub(rb'"date_saved": "[^"]*"', b'"date_saved": "2031-01-02@03:04:05"', data)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2031, 1, 2, 3, 4, 5)), data)
    return out.getvalue()


def test_run_dependent_bytes_are_normalised(tmp_path):
    model = _nested_model()
    model.save(tmp_path / "raw.keras")
    raw = (tmp_path / "raw.keras").read_bytes()
    other = _as_another_run_writes_it(raw)
    assert b"shared_object_id" in raw and other != raw
    assert stable_keras_bytes(other) == stable_keras_bytes(raw)
    save_model_reproducibly(model, tmp_path / "stable.keras")
    assert (tmp_path / "stable.keras").read_bytes() == stable_keras_bytes(raw)


def test_the_stable_file_loads_as_the_same_model(tmp_path):
    model = _nested_model()
    save_model_reproducibly(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert {info.date_time for info in archive.infolist()} == {FIXED_ZIP_DATE}
        assert "date_saved" not in json.loads(archive.read("metadata.json"))
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
