"""A real-speech embedding to distil from: EfficientWord-Net's ResNet-50 ArcFace model (ONNX).

Our embeddings have only heard synthesizers; EfficientWord-Net's was trained on MSWC, real speech,
and places a word near the same word in another voice. It is a training-time dependency only
(`make distill-setup`: its wheel declares PyAudio, which needs PortAudio to build, so it is installed
without dependencies): enrolment, conversion and the device never load it. Its embeddings are
cached per clip by content hash, as frontend features are (one window takes ~20 ms on one core).
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from toolchain.artifacts import read_cache_entry, write_bytes_atomic
from toolchain.errors import KwsError

TEACHERS = ("efficientword-net",)
WINDOW_SAMPLES = 24000  # the model's 1.5 s window at 16 kHz; 1 s clips are centred in it
MODEL_FILES = {True: "slim_93%_accuracy_72.7390%_qint8.onnx", False: "slim_93%_accuracy_72.7390%.onnx"}
DEFAULT_TEACHER_CACHE = Path(os.environ.get("KWS_CACHE", Path.home() / ".cache" / "kws")) / "teacher"


def teacher_window(clip_int16: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] 1.5 s window with the clip in the middle (the teacher was trained on such windows)."""
    audio = clip_int16.astype(np.float32) / 32768.0
    if audio.size >= WINDOW_SAMPLES:
        start = (audio.size - WINDOW_SAMPLES) // 2
        return audio[start:start + WINDOW_SAMPLES]
    pad = WINDOW_SAMPLES - audio.size
    return np.pad(audio, (pad // 2, pad - pad // 2))


@dataclass
class Teacher:
    """`embed(clips)` → unit-length float32 (N, dim) embeddings, cached by clip content and model."""

    name: str
    model_sha256: str
    dim: int
    _session: object
    _logfbank: object
    cache_dir: Path | None

    def _embed_one(self, clip: np.ndarray) -> np.ndarray:
        features = self._logfbank(teacher_window(clip), samplerate=16000, winlen=0.025, winstep=0.01,
                                  nfilt=64, nfft=512, preemph=0.0)
        vector = self._session.run(None, {"input": np.float32(features[None, None])})[0][0]
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)

    def embed(self, clips: np.ndarray, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(clips), self.dim), np.float32)
        for i, clip in enumerate(tqdm(clips, desc=f"teacher {self.name}", unit="clip", disable=not progress)):
            clip = np.ascontiguousarray(clip, dtype=np.int16)
            key = hashlib.sha256(clip.tobytes()).hexdigest()
            path = self.cache_dir / self.model_sha256[:16] / key[:2] / f"{key}.npy" if self.cache_dir else None
            cached = read_cache_entry(path, (self.dim,), np.float32) if path is not None else None
            if cached is not None:
                out[i] = cached
                continue
            out[i] = self._embed_one(clip)
            if path is not None:
                buffer = io.BytesIO()
                np.save(buffer, out[i])
                write_bytes_atomic(path, buffer.getvalue())
        return out


def load_teacher(name: str = "efficientword-net", quantized: bool = True,
                 cache_dir: Path | None = DEFAULT_TEACHER_CACHE) -> Teacher:
    """The int8 model by default (2.5× faster than the float one on a CPU)."""
    if name not in TEACHERS:
        raise KwsError(f"--teacher {name!r}: choose one of {', '.join(TEACHERS)}")
    try:
        import importlib.resources

        import onnxruntime
        from eff_word_net.audio_utils import logfbank
    except ImportError as exc:
        raise KwsError(f"teacher {name}: {exc.name} is not installed; run `make distill-setup` "
                       "(pip install --no-deps efficientword-net onnxruntime)") from exc
    model = importlib.resources.files("eff_word_net") / "models" / "resnet_50_arc" / MODEL_FILES[quantized]
    data = model.read_bytes()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    dim = int(session.get_outputs()[0].shape[-1])
    return Teacher(name, hashlib.sha256(data).hexdigest(), dim, session, logfbank, cache_dir)
