"""Architecture name → (params dataclass, builder). Adding one is one new file and one line here."""
from __future__ import annotations

from dataclasses import asdict

from toolchain.embedding import ds_cnn, ds_cnn_stream
from toolchain.errors import KwsError

ARCHITECTURES = {
    "ds_cnn": (ds_cnn.DsCnnParams, ds_cnn.build),
    "ds_cnn_small": (ds_cnn.DsCnnSmallParams, ds_cnn.build),
    # valid in time, receptive field = the window: a streaming twin with the same weights (streaming_form.py)
    "ds_cnn_stream": (ds_cnn_stream.StreamDsCnnParams, ds_cnn_stream.build),
    "ds_cnn_stream_small": (ds_cnn_stream.StreamDsCnnSmallParams, ds_cnn_stream.build),
}
DEFAULT_ARCHITECTURE = "ds_cnn"


def architecture_params(name: str, values: dict | None = None):
    """The params dataclass of architecture `name`, from overrides or a manifest's JSON."""
    if name not in ARCHITECTURES:
        raise KwsError(f"unknown architecture {name!r} (have: {', '.join(ARCHITECTURES)})")
    return ARCHITECTURES[name][0](**{k: _as_tuples(v) for k, v in (values or {}).items()})


def streaming_hop_frames(name: str, values: dict | None = None) -> int | None:
    """Frames per streaming step when the architecture has a streaming twin, else None."""
    return getattr(architecture_params(name, values), "hop_frames", None)


def build_classifier(name: str, input_shape, num_classes: int, overrides: dict | None = None):
    params = architecture_params(name, overrides)
    return ARCHITECTURES[name][1](tuple(input_shape), num_classes, params), asdict(params)


def _as_tuples(value):
    """Manifests store params as JSON, which turns the dataclasses' tuples into lists."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value
