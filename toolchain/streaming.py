"""How a keyword model listens to a stream: one frozen set of settings shared by host and device.

`StreamingParams` is what `kws enroll` stores under the manifest's "streaming" key, what
`model_settings.h` turns into `kSmoothingWindowMs`…, and what the host simulation and the tests
run the recognizer with. It sits below fewshot/, export/ and simulate/ so that all of them read
the same rules (ranges, retiming for a slow board, the microphone ring, which labels are keywords).

    params = StreamingParams()                      # the defaults every new keyword model gets
    slow = params.at_stride(760, FrontendParams())  # what a board inferring every 760 ms runs
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from toolchain.corpus.records import SILENCE, UNKNOWN
from toolchain.errors import KwsError
from toolchain.frontend import FrontendParams

# The firmware's microphone ring holds the audio that arrives while it waits for the next inference
# (the longer of the stride and the inference itself) plus this much slack, as int16 samples.
RING_SLACK_MS = 256
RING_MINIMUM_MS = 512
# The ring must leave a small board its RAM: 64 KiB is a quarter of the Nano 33 BLE Sense's 256 KiB
# SRAM, beside mbed OS, the frontend state and the tensor arena. At 16 kHz that allows a stride of
# up to 1.78 s, far slower than any model here infers.
MAX_AUDIO_RING_BYTES = 64 * 1024
MAX_SMOOTHING_WINDOW_MS = 10_000
MAX_SUPPRESSION_MS = 60_000


def is_keyword(label: str) -> bool:
    """The silence and unknown classes are never reported as detections."""
    return label not in (SILENCE, UNKNOWN)


def audio_ring_samples(sample_rate: int, busy_ms: int) -> int:
    """Microphone ring length: a power of two (cheap wrap) holding ≥ 512 ms and `busy_ms` + 256 ms,
    where `busy_ms` is the longer of the inference stride and the inference itself."""
    needed = sample_rate * max(RING_MINIMUM_MS, int(busy_ms) + RING_SLACK_MS) // 1000
    return 1 << (needed - 1).bit_length()


def max_inference_stride_ms(frontend: FrontendParams) -> int:
    """The longest stride, in whole frontend steps, whose microphone ring fits MAX_AUDIO_RING_BYTES."""
    ring_ms = MAX_AUDIO_RING_BYTES // 2 * 1000 // frontend.sample_rate
    return (ring_ms - RING_SLACK_MS) // frontend.window_step_ms * frontend.window_step_ms


@dataclass(frozen=True)
class StreamingParams:
    """The recognizer's settings (firmware_export/common/recognizer.h) and how often the model runs.

    A keyword is detected when, over the last `smoothing_window_ms`, at least `minimum_count`
    inferences were seen and its average posterior reaches the threshold; a detection within
    `suppression_ms` of the previous new one is not new. The model runs every `inference_stride_ms`.
    """

    # A keyword's posterior stays high for ~0.3–0.5 s as the 1 s window slides past it; averaging over
    # longer dilutes it (1000 ms: 4 % of keywords found at threshold 0.8 on the 1 h benchmark stream).
    smoothing_window_ms: int = 300
    suppression_ms: int = 1500
    minimum_count: int = 3
    inference_stride_ms: int = 20

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise KwsError(f"streaming.{field.name} must be a whole number, got {value!r}")
        if not 1 <= self.smoothing_window_ms <= MAX_SMOOTHING_WINDOW_MS:
            raise KwsError(f"streaming.smoothing_window_ms {self.smoothing_window_ms}: must be 1–{MAX_SMOOTHING_WINDOW_MS} ms")
        if not 0 <= self.suppression_ms <= MAX_SUPPRESSION_MS:
            raise KwsError(f"streaming.suppression_ms {self.suppression_ms}: must be 0–{MAX_SUPPRESSION_MS} ms")
        if self.inference_stride_ms < 1:
            raise KwsError(f"streaming.inference_stride_ms {self.inference_stride_ms}: must be positive")
        if not 1 <= self.minimum_count <= self.inferences_per_window:
            raise KwsError(f"streaming.minimum_count {self.minimum_count}: must be 1–{self.inferences_per_window}, the "
                           f"inferences every {self.inference_stride_ms} ms that fit the {self.smoothing_window_ms} ms window")

    @property
    def inferences_per_window(self) -> int:
        """How many inferences, one stride apart, lie inside the smoothing window."""
        return math.ceil(self.smoothing_window_ms / self.inference_stride_ms)

    @property
    def capacity(self) -> int:
        """Posterior history slots of the recognizer (`kRecognizerCapacity`): the window's inferences, plus one."""
        return self.inferences_per_window + 1

    def stride_frames(self, frontend: FrontendParams) -> int:
        """Frontend frames between two inferences."""
        return self.inference_stride_ms // frontend.window_step_ms

    def check_for(self, frontend: FrontendParams) -> "StreamingParams":
        """Refuse a stride the device cannot keep: not whole frontend steps, or a microphone ring too large."""
        stride, step = self.inference_stride_ms, frontend.window_step_ms
        if stride % step:
            raise KwsError(f"inference stride {stride} ms: must be a positive multiple of the frontend step ({step} ms)")
        longest = max_inference_stride_ms(frontend)
        if stride > longest:
            ring = audio_ring_samples(frontend.sample_rate, stride)
            raise KwsError(f"inference stride {stride} ms: at most {longest} ms; the microphone ring must hold the stride "
                           f"+ {RING_SLACK_MS} ms of audio ({ring * 2:,} B at {frontend.sample_rate} Hz), and a small board "
                           f"can spare {MAX_AUDIO_RING_BYTES:,} B for it")
        return self

    def at_stride(self, stride_ms: int, frontend: FrontendParams) -> "StreamingParams":
        """The settings for a device that runs the model only every `stride_ms`.

        The averaging window then holds only ceil(window / stride) inferences, so `minimum_count`
        is capped at that, or no keyword could ever be detected. The host simulation and the
        exported firmware both take their settings from here, so they stay the same."""
        if isinstance(stride_ms, bool) or not isinstance(stride_ms, int) or stride_ms < 1:
            raise KwsError(f"inference stride {stride_ms!r} ms: must be a positive multiple of the frontend step "
                           f"({frontend.window_step_ms} ms)")
        fits = math.ceil(self.smoothing_window_ms / stride_ms)
        retimed = dataclasses.replace(self, inference_stride_ms=stride_ms, minimum_count=max(1, min(self.minimum_count, fits)))
        return retimed.check_for(frontend)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data, where: str = "streaming") -> "StreamingParams":
        """The settings stored in a manifest; a missing, unknown or out-of-range one is refused naming `where`."""
        if not isinstance(data, dict):
            raise KwsError(f"{where}: streaming settings are not a mapping")
        names = [field.name for field in dataclasses.fields(cls)]
        missing, unknown = [n for n in names if n not in data], sorted(set(data) - set(names))
        if missing or unknown:
            raise KwsError(f"{where}: streaming settings lack {missing}" if missing else f"{where}: unknown streaming settings {unknown}")
        try:
            return cls(**data)
        except KwsError as exc:
            raise KwsError(f"{where}: {exc}") from exc
