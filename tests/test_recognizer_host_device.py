"""Host = device: the same int8 outputs through recognizer.h (compiled with g++) and the Python port.

The device turns each int8 output into a float posterior ((q - zero point) * scale, as the sketch
and main.cc do) and calls `Recognizer::Process`; the host simulation does the same through
`simulate.recognizer.Recognizer`. A long random sequence with keyword bursts, a catch-up jitter in
the times and a clock that jumps back must give the same decision at every step: label, score
(bit for bit) and whether it is new.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from toolchain.frontend import FrontendParams
from toolchain.simulate.recognizer import Recognizer, keyword_indices
from toolchain.simulate.runtimes import dequantize
from toolchain.streaming import StreamingParams

RECOGNIZER_DIR = Path(__file__).resolve().parents[1] / "firmware_export" / "common"
LABELS = ["_silence_", "_unknown_", "hello", "stop"]
SCALE, ZERO_POINT = 1 / 256, -128  # a softmax output, as the converter quantizes it

DRIVER = r"""
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include "recognizer.h"

// argv: threshold window_ms suppression_ms minimum_count output_scale output_zero_point is_keyword...
// stdin: one inference per line: now_ms q0 q1 ... (int8 outputs)
int main(int argc, char** argv) {
  if (argc != 7 + KWS_LABELS) return 2;
  bool is_keyword[KWS_LABELS];
  for (int i = 0; i < KWS_LABELS; ++i) is_keyword[i] = argv[7 + i][0] == '1';
  float threshold, scale;
  std::sscanf(argv[1], "%a", &threshold);
  std::sscanf(argv[5], "%a", &scale);
  const int zero_point = std::atoi(argv[6]);
  Recognizer<KWS_LABELS, KWS_CAPACITY> recognizer(is_keyword, threshold, std::atoi(argv[2]), std::atoi(argv[3]),
                                                  std::atoi(argv[4]));
  long now_ms;
  while (std::scanf("%ld", &now_ms) == 1) {
    int8_t scores[KWS_LABELS];
    for (int i = 0; i < KWS_LABELS; ++i) {
      int q;
      if (std::scanf("%d", &q) != 1) return 3;
      scores[i] = static_cast<int8_t>(q);
    }
    float posteriors[KWS_LABELS];
    for (int i = 0; i < KWS_LABELS; ++i) posteriors[i] = (scores[i] - zero_point) * scale;
    const Recognition r = recognizer.Process(posteriors, static_cast<int32_t>(now_ms));
    std::printf("%ld %d %a %d\n", now_ms, r.label, r.score, r.is_new ? 1 : 0);
  }
  return 0;
}
"""


def posterior_sequence(rng: np.random.Generator, steps: int) -> np.ndarray:
    """int8 softmax outputs: mostly silence/unknown, with bursts of one keyword of random length and strength."""
    logits = rng.normal(0, 1.0, (steps, len(LABELS))) + np.array([2.0, 1.0, 0.0, 0.0])
    position = 0
    while position < steps:
        position += int(rng.integers(20, 120))
        length, keyword = int(rng.integers(3, 130)), int(rng.integers(2, 4))  # some outlast the suppression
        logits[position:position + length, keyword] += rng.uniform(1.5, 7.0)
        position += length
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return np.clip(np.round(probabilities / SCALE) + ZERO_POINT, -128, 127).astype(np.int8)


def inference_times(rng: np.random.Generator, steps: int, stride_ms: int) -> np.ndarray:
    """Mostly one stride apart; sometimes late by a few frames (a slow inference caught up); one jump back (a reset)."""
    gaps = np.where(rng.random(steps) < 0.05, stride_ms + 20 * rng.integers(1, 6, steps), stride_ms)
    times = np.cumsum(gaps) + 990
    times[steps // 2:] -= times[steps // 2] - 990  # the clock restarts halfway
    return times


def on_host(quantized: np.ndarray, times: np.ndarray, threshold: float, streaming: StreamingParams) -> list[tuple]:
    recognizer = Recognizer(LABELS, threshold, streaming)
    posteriors = dequantize(quantized, SCALE, ZERO_POINT)
    return [(int(t), r.label, float(np.float32(r.score)), r.is_new)
            for t, row in zip(times, posteriors) for r in [recognizer.process(row, int(t))]]


def on_device(binary: Path, quantized: np.ndarray, times: np.ndarray, threshold: float, streaming: StreamingParams) -> list[tuple]:
    keywords = set(keyword_indices(LABELS).tolist())
    args = [str(binary), float(np.float32(threshold)).hex(), str(streaming.smoothing_window_ms), str(streaming.suppression_ms),
            str(streaming.minimum_count), float(np.float32(SCALE)).hex(), str(ZERO_POINT),
            *("1" if i in keywords else "0" for i in range(len(LABELS)))]
    stdin = "\n".join(f"{t} " + " ".join(map(str, row)) for t, row in zip(times, quantized.tolist()))
    printed = subprocess.run(args, input=stdin, capture_output=True, text=True, check=True).stdout
    return [(int(t), int(label), float.fromhex(score), new == "1") for t, label, score, new in (line.split() for line in printed.splitlines())]


@pytest.mark.skipif(shutil.which("g++") is None, reason="host g++ not installed")
@pytest.mark.parametrize("threshold, streaming", [
    (0.8, StreamingParams()),
    (0.5, StreamingParams()),
    (0.6, StreamingParams(smoothing_window_ms=1000, suppression_ms=1500, minimum_count=3, inference_stride_ms=20)),
    (0.7, StreamingParams().at_stride(200, FrontendParams())),
])
def test_compiled_recognizer_h_and_the_python_port_decide_the_same_at_every_step(tmp_path, threshold, streaming):
    driver = tmp_path / "driver.cc"
    driver.write_text(DRIVER)
    binary = tmp_path / "driver"
    subprocess.run(["g++", "-std=c++11", "-O2", "-Wall", "-Werror", f"-DKWS_LABELS={len(LABELS)}",
                    f"-DKWS_CAPACITY={streaming.capacity}", f"-I{RECOGNIZER_DIR}", "-o", str(binary),
                    str(driver)], check=True, capture_output=True)
    rng = np.random.default_rng(streaming.inference_stride_ms + int(threshold * 100))
    steps = 20000
    quantized = posterior_sequence(rng, steps)
    times = inference_times(rng, steps, streaming.inference_stride_ms)

    host, device = on_host(quantized, times, threshold, streaming), on_device(binary, quantized, times, threshold, streaming)

    assert len(device) == steps
    first_difference = next((i for i, (h, d) in enumerate(zip(host, device)) if h != d), None)
    assert first_difference is None, f"step {first_difference}: host {host[first_difference]}, device {device[first_difference]}"
    new = [step for step in host if step[3]]
    assert len(new) > 20 and {step[1] for step in new} == {2, 3}  # the sequence does exercise detections of both keywords
    assert any(step[1] >= 0 and not step[3] for step in host)  # and suppression
