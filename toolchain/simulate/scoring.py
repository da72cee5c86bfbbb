"""Every window of a long stream scored fast, with TFLM's outputs wherever they can change a detection.

TFLM (the device's interpreter and kernels) runs ~160 windows/s here: an hour at a 20 ms stride
would take 19 minutes. LiteRT's builtin int8 kernels (without the XNNPACK delegate) run ~10×
faster and agree with TFLM on almost every window, but not all: on the demo model 7 of 14,951
windows of a stream differed, by up to 23 output steps; where traced, one of the head's logits
(the softmax input) was rounded one step apart. XNNPACK is worse (10 % of windows, up to 72).

So `CheckedScorer` scores every window on the builtin kernels and bounds what TFLM could have
output for it: logits one rounding step apart (± the logit scale each) change a softmax output's
odds by at most e^(±2·scale); with the output's own rounding that gives an interval per window
(`output_interval`). A step whose keyword averages of those upper bounds stay below the threshold
cannot detect on either runtime; one whose averages of the lower bounds reach it detects on both.
Every step in between has its smoothing span re-run on TFLM, outputs substituted, and so has every
step that fires a new detection (for its exact score and label). Steps within the suppression
time of a new detection cannot fire another, whatever they average. The recognizer then makes the
decisions and reports the detections of a run with every window on TFLM. The interval is checked on every
re-run window and on one in TFLM_CHECK_EVERY at random; a window outside it stops the run with
an error.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from toolchain.convert.artifact import ConvertedModel
from toolchain.errors import KwsError, bad_input
from toolchain.export.settings_header import tensor_arena_size
from toolchain.quiet import quiet_native_output
from toolchain.simulate.recognizer import keyword_indices, span_averages
from toolchain.simulate.runtimes import dequantize
from toolchain.tflite.flatbuffer import flatbuffer_model, operator_name

RUNTIME_NAME = "litert_builtin_int8 + tflm where a detection can change"
TFLM_CHECK_EVERY = 500
# A worker answers a block in seconds; silence this long means it died (e.g. started from a script
# whose body is not under `if __name__ == "__main__":`, which `spawn` runs again in every worker).
WORKER_TIMEOUT_S = 600
_worker: dict = {}


def _builtin_interpreter(tflite: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=tflite, num_threads=1,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    return interpreter


def _tflm_interpreter(tflite: bytes, arena: int):
    from toolchain.tflite.micro import tflm_interpreter

    with quiet_native_output():
        return tflm_interpreter(tflite, arena)


def _builtin_outputs(interpreter, windows: np.ndarray) -> np.ndarray:
    """int8 outputs of int8 windows, one invoke per window (the model's batch is 1, as on the device)."""
    input_index = interpreter.get_input_details()[0]["index"]
    output = interpreter.get_output_details()[0]
    out = np.empty((len(windows), int(np.prod(output["shape"]))), np.int8)
    for i in range(len(windows)):
        interpreter.set_tensor(input_index, windows[i:i + 1])
        interpreter.invoke()
        out[i] = interpreter.get_tensor(output["index"]).reshape(-1)
    return out


def _tflm_outputs(interpreter, windows: np.ndarray) -> np.ndarray:
    out = np.empty((len(windows), int(np.prod(interpreter.get_output_details(0)["shape"]))), np.int8)
    for i in range(len(windows)):
        interpreter.set_input(windows[i:i + 1], 0)
        interpreter.invoke()
        out[i] = interpreter.get_output(0).reshape(-1)
    return out


def _start_worker(tflite: bytes, arena: int) -> None:
    _worker["builtin"] = _builtin_interpreter(tflite)
    _worker["tflm"] = (tflite, arena)


def _in_worker(kind: str, windows: np.ndarray) -> np.ndarray:
    if kind == "builtin":
        return _builtin_outputs(_worker["builtin"], windows)
    if not isinstance(_worker["tflm"], tuple):
        return _tflm_outputs(_worker["tflm"], windows)
    _worker["tflm"] = _tflm_interpreter(*_worker["tflm"])
    return _tflm_outputs(_worker["tflm"], windows)


def default_workers() -> int:
    """One process per core this process may use, at most two (the CI machine's cores)."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


def logit_scale(tflite: bytes) -> float | None:
    """Quantization scale of the softmax input (the logits), or None when the model does not end in an int8 softmax."""
    _, model = flatbuffer_model(tflite)
    graph = model.Subgraphs(0)
    last = graph.Operators(graph.OperatorsLength() - 1)
    if operator_name(model, last) != "SOFTMAX":
        return None
    quantization = graph.Tensors(last.Inputs(0)).Quantization()
    return float(quantization.Scale(0)) if quantization is not None and quantization.ScaleLength() == 1 else None


def output_interval(posteriors: np.ndarray, logit_step: float | None, output_step: float) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) output TFLM can give where the builtin kernels gave `posteriors`: odds within
    e^(±2·logit_step), two output steps of rounding on each side. Without a softmax: anything in [0, 1]."""
    if logit_step is None:
        return np.zeros_like(posteriors), np.ones_like(posteriors)
    slack = 2 * output_step
    tiny = np.float64(output_step) / 4

    def shifted(p: np.ndarray, shift: float) -> np.ndarray:
        p = np.clip(p.astype(np.float64), tiny, 1 - tiny)
        return 1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift)))

    low = shifted(posteriors - slack, -2 * logit_step) - slack
    high = shifted(posteriors + slack, 2 * logit_step) + slack
    return np.clip(low, 0, 1).astype(np.float32), np.clip(high, 0, 1).astype(np.float32)


class CheckedScorer:
    """Posteriors of a stream's windows, block by block, equal to TFLM's wherever a step at `threshold`
    could detect (see the module docstring). Windows come out `lag` windows late: a later step may
    still re-run them on TFLM. Use as a context manager (it owns worker processes):

        with CheckedScorer(model, model.threshold) as scorer:
            for block in blocks:
                posteriors = scorer.push(windows_of(block))   # final posteriors of earlier windows
            posteriors = scorer.flush()
        scorer.summary()
    """

    def __init__(self, model: ConvertedModel, threshold: float, workers: int | None = None, seed: int = 0):
        tflite = model.int8_path.read_bytes()
        arena = tensor_arena_size(int(model.manifest["arena_bytes"]))
        self._scale, self._zero_point = model.model_output.scale, model.model_output.zero_point
        self._logit_step = logit_scale(tflite)
        self._threshold = np.float32(threshold)
        self._minimum_count = model.streaming.minimum_count
        self._suppression_steps = -(-model.streaming.suppression_ms // model.streaming.inference_stride_ms)
        self._last_new: int | None = None  # step of the last new detection
        self._pending: tuple | None = None  # windows the workers are scoring
        self._keywords = keyword_indices(model.labels)
        self._span = model.streaming.inferences_per_window
        self.lag = self._span - 1
        self.workers = workers or default_workers()
        try:
            self._builtin = _builtin_interpreter(tflite)
            self._tflm = _tflm_interpreter(tflite, arena)
        except Exception as exc:
            raise bad_input(model.int8_path, f"cannot load it ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
        self._pool = (ProcessPoolExecutor(self.workers, multiprocessing.get_context("spawn"), initializer=_start_worker,
                                          initargs=(tflite, arena)) if self.workers > 1 else None)
        self._rng = np.random.default_rng(seed)
        self._where = model.int8_path
        frames, channels = model.frontend.feature_shape
        self._windows = np.zeros((0, frames, channels), np.int8)  # the last `lag` windows, still open to a re-run
        self._fast = np.zeros((0, len(model.labels)), np.float32)
        self._low = np.zeros((0, len(model.labels)), np.float32)  # the least and most TFLM can give; its output once re-run
        self._high = np.zeros((0, len(model.labels)), np.float32)
        self._final = np.zeros((0, len(model.labels)), np.float32)
        self._rerun = np.zeros(0, bool)
        self._steps = 0
        self.windows = self.rerun_on_tflm = self.differing = 0
        self.largest_difference = 0.0
        self.outside_interval = 0

    def __enter__(self) -> "CheckedScorer":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def _run(self, kind: str, windows: np.ndarray) -> np.ndarray:
        return self._collect(self._submit(kind, windows))

    def _submit(self, kind: str, windows: np.ndarray) -> list:
        """Start scoring `windows` in the workers (or here, for few windows or one worker)."""
        windows = np.ascontiguousarray(windows, np.int8)
        if self._pool is None or len(windows) < 4 * self.workers:
            return [_builtin_outputs(self._builtin, windows) if kind == "builtin" else _tflm_outputs(self._tflm, windows)]
        try:
            return [self._pool.submit(_in_worker, kind, part) for part in np.array_split(windows, self.workers)]
        except (BrokenProcessPool, OSError) as exc:
            raise KwsError(f"cannot start scoring workers ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                           "run with workers=1") from exc

    def _collect(self, parts: list) -> np.ndarray:
        try:
            quantized = np.concatenate([part if isinstance(part, np.ndarray) else part.result(WORKER_TIMEOUT_S) for part in parts])
        except (TimeoutError, BrokenProcessPool) as exc:
            raise KwsError(f"scoring workers stopped answering ({type(exc).__name__}); call from under "
                           "`if __name__ == \"__main__\":` or with workers=1") from exc
        return dequantize(quantized, self._scale, self._zero_point)

    def push(self, windows: np.ndarray) -> np.ndarray:
        """Score the next windows of the stream; return the final posteriors of the windows no later
        step can re-run. The workers score these windows while this process settles the previous
        ones (re-runs on TFLM), so the output trails by one push and `lag` windows."""
        pending, self._pending = self._pending, (windows, self._submit("builtin", windows))
        return self._settle(*pending) if pending else np.zeros((0, self._final.shape[1]), np.float32)

    def flush(self) -> np.ndarray:
        settled = self._settle(*self._pending) if self._pending else np.zeros((0, self._final.shape[1]), np.float32)
        self._pending = None
        return np.concatenate([settled, self._release(len(self._windows))])

    def _settle(self, windows: np.ndarray, parts: list) -> np.ndarray:
        fast = self._collect(parts)
        carried = len(self._windows)
        self._windows = np.concatenate([self._windows, windows])
        self._fast = np.concatenate([self._fast, fast])
        self._final = np.concatenate([self._final, fast])
        low, high = output_interval(fast, self._logit_step, self._scale)
        self._low, self._high = np.concatenate([self._low, low]), np.concatenate([self._high, high])
        self._rerun = np.concatenate([self._rerun, np.zeros(len(windows), bool)])
        self.windows += len(windows)

        steps = self._steps + np.arange(len(windows))
        counts = np.minimum(steps + 1, self._span)
        last = carried + np.arange(len(windows))  # each step's newest window in the buffer
        margin = np.float32(1e-5)  # float32 rounding of a span's sum stays far below this
        countable = counts >= self._minimum_count
        certain = countable & (self._best(self._low, last, counts) >= self._threshold + margin)
        possible = countable & (self._best(self._high, last, counts) >= self._threshold - margin)
        for step in np.flatnonzero(possible):
            if self._last_new is not None and steps[step] - self._last_new < self._suppression_steps:
                continue  # cannot fire a new detection, whatever it averages
            span = np.arange(last[step] - counts[step] + 1, last[step] + 1)
            self._rerun_windows(span[~self._rerun[span]])  # a new detection's score, or an undecided step
            if certain[step] or self._best(self._final, last[step:step + 1], counts[step:step + 1])[0] >= self._threshold:
                self._last_new = int(steps[step])
        sample = carried + np.flatnonzero(self._rng.random(len(windows)) < 1 / TFLM_CHECK_EVERY)
        self._rerun_windows(sample[~self._rerun[sample]])
        self._steps += len(windows)
        return self._release(len(self._windows) - self.lag)

    def _best(self, rows: np.ndarray, last: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Each step's highest keyword average over `rows`, as the recognizer computes it."""
        if len(last) == 0 or len(self._keywords) == 0:
            return np.zeros(len(last), np.float32)
        return span_averages(rows[:, self._keywords], last, counts).max(axis=1)

    def _release(self, count: int) -> np.ndarray:
        count = max(0, count)
        out = self._final[:count]
        self._windows, self._fast, self._final, self._low, self._high, self._rerun = (
            self._windows[count:], self._fast[count:], self._final[count:], self._low[count:], self._high[count:],
            self._rerun[count:])
        return out

    def _rerun_windows(self, chosen: np.ndarray) -> None:
        if len(chosen) == 0:
            return
        exact = self._run("tflm", self._windows[chosen])
        low, high = output_interval(self._fast[chosen], self._logit_step, self._scale)
        difference = np.abs(exact - self._fast[chosen]).max(axis=1)
        self._final[chosen] = self._low[chosen] = self._high[chosen] = exact
        self._rerun[chosen] = True
        self.rerun_on_tflm += len(chosen)
        self.differing += int(np.sum(difference > 0))
        self.largest_difference = max(self.largest_difference, float(difference.max()))
        self.outside_interval += int(np.sum(np.any((exact < low) | (exact > high), axis=1)))
        if self.outside_interval:
            raise KwsError(f"{self._where}: on {self.outside_interval} window(s) TFLM's output lies outside the interval this check "
                           "derives from LiteRT's builtin int8 kernels; rerun with --runtime tflm (every window on TFLM)")

    def summary(self) -> dict:
        return {"runtime": RUNTIME_NAME, "workers": self.workers, "windows_rerun_on_tflm": self.rerun_on_tflm,
                "windows_differing_from_tflm": self.differing, "largest_window_difference": round(self.largest_difference, 6),
                "windows_outside_interval": self.outside_interval}
