"""The firmware's frontend C code (TFLM's library + firmware_export/common/frontend_tables.c) built
for the host computes exactly toolchain.frontend's features (TensorFlow's op), at several frontends.

Without frontend_tables.c, TFLM's single-precision set-up (a Hann coefficient and filterbank weights
1 apart) makes 19 values differ from TensorFlow's op on this audio at the default frontend and 3 at
8 kHz (measured when the tables were added)."""
from __future__ import annotations

import numpy as np
import pytest

from toolchain.frontend import FrontendParams, stream_features

FRONTENDS = {
    "default": FrontendParams(),
    "32 channels, 25/10 ms, 60-3800 Hz": FrontendParams(num_channels=32, window_size_ms=25, window_step_ms=10,
                                                        lower_band_limit=60.0, upper_band_limit=3800.0),
    "64 channels, 8 kHz, no PCAN": FrontendParams(sample_rate=8000, num_channels=64, upper_band_limit=3900.0,
                                                  enable_pcan=False),
}


def _audio(rate: int, seconds: int = 12) -> np.ndarray:
    """Loud and quiet stretches of noise under swept tones: every channel crosses many rounding points."""
    rng = np.random.default_rng(7)
    t = np.arange(rate * seconds) / rate
    sweep = np.sin(2 * np.pi * (100 + 300 * t) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    noise = rng.normal(0, 1, t.size) * np.repeat(rng.uniform(0.01, 0.3, seconds * 4), rate // 4)
    return np.clip((0.3 * sweep + noise) * 8000, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("name", sorted(FRONTENDS))
def test_device_frontend_equals_toolchain_frontend(tflm_tree, name):
    from toolchain.firmware.host_frontend import tflm_c_features

    frontend = FRONTENDS[name]
    audio = _audio(frontend.sample_rate)
    host, device = stream_features(audio, frontend), tflm_c_features(audio, frontend, tflm_tree)
    assert host.shape == device.shape and host.shape[0] > 500
    differ = np.argwhere(host != device)
    assert len(differ) == 0, f"{len(differ)} values differ, first (frame, channel) {differ[0].tolist()}"
