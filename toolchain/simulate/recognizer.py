"""The firmware's streaming keyword decision (firmware_export/common/recognizer.h), in Python.

`Recognizer` is a line-by-line port, float32 arithmetic and ring buffer included, so host and
device agree on every decision (tests/test_recognizer_host_device.py compiles the header and
compares). `smoothed_scores` + `detect` are the same rules vectorised for a regularly spaced
stream, in the same float32 order, used to sweep thresholds over hours of audio.

Rules: each inference adds one row of posteriors. A keyword is detected when, over the last
`smoothing_window_ms`, at least `minimum_count` inferences were seen and the keyword's average
posterior is >= `threshold`. A detection within `suppression_ms` of the previous *new* one is
reported but not marked new, so one utterance fires once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.streaming import StreamingParams, is_keyword


@dataclass(frozen=True)
class Recognition:
    label: int  # index into the labels, or -1 when nothing is detected
    score: float  # averaged posterior of `label` (of the best keyword when label is -1)
    is_new: bool  # true once per utterance


def keyword_indices(labels: list[str]) -> np.ndarray:
    return np.array([i for i, label in enumerate(labels) if is_keyword(label)], np.int64)


class Recognizer:
    """`Recognizer<kLabels, kCapacity>` of recognizer.h, built from a model's labels, threshold and settings."""

    def __init__(self, labels: list[str], threshold: float, streaming: StreamingParams):
        self._keywords = keyword_indices(labels)
        self.threshold = np.float32(threshold)
        self.window_ms = streaming.smoothing_window_ms
        self.suppression_ms = streaming.suppression_ms
        self.minimum_count = streaming.minimum_count
        self.capacity = streaming.capacity
        self._scores = np.zeros((self.capacity, len(labels)), np.float32)
        self._times = np.zeros(self.capacity, np.int64)
        self.reset()

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

        if len(self._keywords) == 0:
            return Recognition(-1, 0.0, False)
        rows = (self._oldest() + np.arange(self.count)) % self.capacity
        # cumsum adds oldest to newest, in float32, like the C++ loop (np.sum would add pairwise)
        totals = np.cumsum(self._scores[np.ix_(rows, self._keywords)], axis=0, dtype=np.float32)[-1]
        averages = totals / np.float32(self.count)
        position = int(np.argmax(averages))  # the first maximum wins, as `average > best_score` in C++
        best, best_score = int(self._keywords[position]), averages[position]
        if self.count < self.minimum_count or best_score < self.threshold:
            return Recognition(-1, float(best_score), False)
        is_new = False
        if not self._has_detection or now_ms - self._last_detection_ms >= self.suppression_ms:
            is_new = True
            self._has_detection = True
            self._last_detection_ms = now_ms
        return Recognition(best, float(best_score), is_new)


def span_averages(rows: np.ndarray, last: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For each step, the float32 average of `rows[last - count + 1 .. last]`, summed oldest first as
    recognizer.h does (so a comparison with the threshold decides as the device does)."""
    totals = np.zeros((len(last), rows.shape[1]), np.float32)
    first = last - counts + 1
    for offset in range(int(counts.max()) if len(counts) else 0):
        taking = offset < counts
        totals[taking] += rows[first[taking] + offset]
    return totals / counts[:, None].astype(np.float32)


def smoothed_scores(posteriors: np.ndarray, labels: list[str], streaming: StreamingParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For posteriors one inference stride apart from the stream's start: the recognizer's best
    keyword (label index), its averaged score, and the averaging count at every step.

    Equal to `Recognizer.process` step by step: the same float32 sums, oldest row first."""
    n = len(posteriors)
    keywords = keyword_indices(labels)
    counts = np.minimum(np.arange(1, n + 1), streaming.inferences_per_window)
    averages = span_averages(posteriors[:, keywords].astype(np.float32), np.arange(n), counts)
    best = np.argmax(averages, axis=1)
    return keywords[best], averages[np.arange(n), best], counts


def detect(best_label: np.ndarray, best_score: np.ndarray, counts: np.ndarray, times_ms: np.ndarray, threshold: float,
           streaming: StreamingParams) -> list[tuple[int, int, float]]:
    """New detections (time_ms, label, score) from `smoothed_scores` output at one threshold."""
    candidates = np.flatnonzero((counts >= streaming.minimum_count) & (best_score >= np.float32(threshold)))
    found, position = [], 0
    candidate_times = times_ms[candidates]
    while position < len(candidates):
        index = candidates[position]
        found.append((int(times_ms[index]), int(best_label[index]), float(best_score[index])))
        position = int(np.searchsorted(candidate_times, times_ms[index] + streaming.suppression_ms, side="left"))
    return found
