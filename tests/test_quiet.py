"""TensorFlow's C++ log lines never reach the terminal of a `kws` command (toolchain/quiet.py)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import tone_word

# absl's line prefix ("I0000 00:00:1796284790.298598   26536 port.cc:153]") and what TensorFlow says through it.
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ |absl::InitializeLog|oneDNN|cuInit|cuda|TensorFlow binary|rebuild TensorFlow")


def test_kws_features_prints_no_tensorflow_log_lines(tmp_path):
    folder = tmp_path / "clips" / "yes"
    folder.mkdir(parents=True)
    sf.write(folder / "a.wav", tone_word(np.random.default_rng(0), 0.6, 16000, 180.0), 16000)
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
    kws = Path(sys.executable).with_name("kws")
    run = subprocess.run([str(kws), "features", str(tmp_path / "clips"), "--out", str(tmp_path / "f.npz"),
                          "--cache", str(tmp_path / "cache")], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "f.npz").is_file()  # the frontend ran, so TensorFlow was imported
    leaked = [line for line in re.split(r"[\r\n]+", run.stderr + run.stdout) if TF_LOG_LINE.search(line)]
    assert not leaked, "\n".join(leaked)
