"""The firmware's streaming keyword decision (firmware_export/common/recognizer.h), in Python.

`Recognizer` is a line-by-line port, float32 arithmetic and ring buffer included, so host and
device agree on every decision. `smoothed_scores` + `detect` are the same rules vectorised for a
regularly spaced stream, used to sweep thresholds over hours of audio.

Rules: each inference adds one row of posteriors. A keyword is detected when, over the last
`window_ms`, at least `minimum_count` inferences were seen and the keyword's average posterior is
>= `threshold`. A detection within `suppression_ms` of the previous *new* one is reported but not
marked new, so one utterance fires once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.export.settings_header import is_keyword, recognizer_capacity


@dataclass(frozen=True)
class Recognition:
    label: int  # index into the labels, or -1 when nothing is detected
    score: float  # averaged posterior of `label` (of the best keyword when label is -1)
    is_new: bool  # true once per utterance


class Recognizer:
    """`Recognizer<kLabels, kCapacity>` of recognizer.h."""

    def __init__(self, labels: list[str], threshold: float, window_ms: int, suppression_ms: int, minimum_count: int,
                 capacity: int):
        self.is_keyword = [is_keyword(label) for label in labels]
        self.threshold = np.float32(threshold)
        self.window_ms = int(window_ms)
        self.suppression_ms = int(suppression_ms)
        self.minimum_count = int(minimum_count)
        self.capacity = int(capacity)
        self._scores = np.zeros((self.capacity, len(labels)), np.float32)
        self._times = np.zeros(self.capacity, np.int64)
        self.reset()

    @classmethod
    def from_manifest(cls, labels: list[str], threshold: float, streaming: dict) -> "Recognizer":
        window, stride = int(streaming["smoothing_window_ms"]), int(streaming["inference_stride_ms"])
        return cls(labels, threshold, window, int(streaming["suppression_ms"]), int(streaming["minimum_count"]),
                   recognizer_capacity(window, stride))

    def reset(self) -> None:
        self._head = 0
        self.count = 0
        self._has_detection = False
        self._last_detection_ms = 0

    def _oldest(self) -> int:
        return (self._head - self.count + self.capacity) % self.capacity

    def _newest(self) -> int:
        return (self._head - 1 + self.capacity) % self.capacity

    def process(self, posteriors: np.ndarray, now_ms: int) -> Recognition:
        if self.count > 0 and now_ms < self._times[self._newest()]:
            self.reset()
        self._scores[self._head] = posteriors
        self._times[self._head] = now_ms
        self._head = (self._head + 1) % self.capacity
        if self.count < self.capacity:
            self.count += 1
        while self.count > 0 and self._times[self._oldest()] <= now_ms - self.window_ms:
            self.count -= 1

        rows = (self._oldest() + np.arange(self.count)) % self.capacity
        best, best_score = -1, np.float32(0.0)
        for label, keyword in enumerate(self.is_keyword):
            if not keyword:
                continue
            # cumsum adds in order, in float32, like the C++ loop (np.sum would add pairwise)
            total = np.cumsum(self._scores[rows, label], dtype=np.float32)[-1]
            average = np.float32(total / np.float32(self.count))
            if best < 0 or average > best_score:
                best, best_score = label, average
        if best < 0 or self.count < self.minimum_count or best_score < self.threshold:
            return Recognition(-1, float(best_score), False)
        is_new = False
        if not self._has_detection or now_ms - self._last_detection_ms >= self.suppression_ms:
            is_new = True
            self._has_detection = True
            self._last_detection_ms = now_ms
        return Recognition(best, float(best_score), is_new)


def smoothed_scores(posteriors: np.ndarray, labels: list[str], streaming: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For posteriors one inference stride apart from the stream's start: the recognizer's best
    keyword (label index), its averaged score, and the averaging count at every step.

    Equal to `Recognizer.process` step by step, up to float rounding of the average."""
    window, stride = int(streaming["smoothing_window_ms"]), int(streaming["inference_stride_ms"])
    capacity = recognizer_capacity(window, stride)
    span = min(capacity, -(-window // stride))  # rows whose time is > now - window
    n = len(posteriors)
    keywords = np.array([i for i, label in enumerate(labels) if is_keyword(label)])
    counts = np.minimum(np.arange(1, n + 1), span)
    cumulative = np.concatenate([np.zeros((1, len(keywords))), np.cumsum(posteriors[:, keywords], axis=0, dtype=np.float64)])
    ends = np.arange(1, n + 1)
    averages = (cumulative[ends] - cumulative[ends - counts]) / counts[:, None]
    best = np.argmax(averages, axis=1)  # first maximum wins, as in the C++ loop
    return keywords[best], averages[np.arange(n), best].astype(np.float32), counts


def detect(best_label: np.ndarray, best_score: np.ndarray, counts: np.ndarray, times_ms: np.ndarray, threshold: float,
           streaming: dict) -> list[tuple[int, int, float]]:
    """New detections (time_ms, label, score) from `smoothed_scores` output at one threshold."""
    candidates = np.flatnonzero((counts >= int(streaming["minimum_count"])) & (best_score >= np.float32(threshold)))
    suppression = int(streaming["suppression_ms"])
    found, position = [], 0
    candidate_times = times_ms[candidates]
    while position < len(candidates):
        index = candidates[position]
        found.append((int(times_ms[index]), int(best_label[index]), float(best_score[index])))
        position = int(np.searchsorted(candidate_times, times_ms[index] + suppression, side="left"))
    return found
