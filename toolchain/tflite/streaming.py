"""A streaming twin (embedding/streaming_form.py) as int8 TFLite, and the device's loop over it.

The converter orders a model's inputs and outputs as it likes; the SignatureDef keeps their names.
`StreamingIo` turns those names into the positions the firmware and the TFLM interpreter use, and
pairs each state output with the state input it is copied back to after every invoke.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import numpy as np

from toolchain.errors import KwsError
from toolchain.quiet import quiet_native_output
from toolchain.tflite.flatbuffer import flatbuffer_model

if TYPE_CHECKING:  # the simulator runs twins without loading TensorFlow; only conversion needs it
    import keras


@dataclass(frozen=True)
class StreamingIo:
    """Positions in the main subgraph's input and output lists."""

    frames_input: int
    probabilities_output: int
    states: tuple[tuple[str, int, int], ...]  # (name, input position, output position)


def streaming_io(tflite_bytes: bytes, frames_name: str, probabilities_name: str, state_names: Iterable[str]) -> StreamingIo:
    _, model = flatbuffer_model(tflite_bytes)
    if model.SignatureDefsLength() != 1:
        raise KwsError(f"streaming model: expected one signature, found {model.SignatureDefsLength()}")
    signature = model.SignatureDefs(0)
    graph = model.Subgraphs(signature.SubgraphIndex())
    graph_inputs = [graph.Inputs(i) for i in range(graph.InputsLength())]
    graph_outputs = [graph.Outputs(i) for i in range(graph.OutputsLength())]
    inputs = {signature.Inputs(i).Name().decode(): graph_inputs.index(signature.Inputs(i).TensorIndex())
              for i in range(signature.InputsLength())}
    outputs = {signature.Outputs(i).Name().decode(): graph_outputs.index(signature.Outputs(i).TensorIndex())
               for i in range(signature.OutputsLength())}
    names = list(state_names)
    missing = [n for n in [frames_name, *names] if n not in inputs] + [n for n in [probabilities_name, *names] if n not in outputs]
    if missing:
        raise KwsError(f"streaming model: signature lacks {missing}")
    return StreamingIo(inputs[frames_name], outputs[probabilities_name], tuple((n, inputs[n], outputs[n]) for n in names))


def calibration_feeds(twin: keras.Model, state_shapes: dict[str, tuple[int, ...]], windows: np.ndarray,
                      frames_name: str, hop_frames: int) -> list[dict[str, np.ndarray]]:
    """Inputs the twin really sees: the windows played back to back as one stream, from reset state,
    after one feed pinning the frames input to [-128, 127] (scale 1, zero point 0, as the frontend feeds it)."""
    zeros = {name: np.zeros((1, *shape), np.float32) for name, shape in state_shapes.items()}
    from toolchain.tflite.converter import pinned_range_sample

    feeds = [{frames_name: pinned_range_sample((hop_frames, windows.shape[-1])), **zeros}]
    stream = windows.reshape(-1, windows.shape[-1]).astype(np.float32)
    states = zeros
    for start in range(0, len(stream) - hop_frames + 1, hop_frames):
        feed = {frames_name: stream[None, start:start + hop_frames], **states}
        feeds.append(feed)
        result = twin(feed, training=False)
        states = {name: np.asarray(result[name]) for name in state_shapes}
    return feeds


class TflmStream:
    """The firmware's loop on the TFLM interpreter: frames in, probabilities out, states copied back."""

    def __init__(self, tflite_bytes: bytes, io: StreamingIo, arena_size: int | None = None):
        from toolchain.tflite.micro import tflm_interpreter

        with quiet_native_output():
            self._interpreter = tflm_interpreter(tflite_bytes, arena_size)
        self._io = io
        self._states = {}
        self.reset()

    @property
    def output_quantization(self) -> tuple[float, int]:
        """(scale, zero point) of the probabilities output."""
        q = self._interpreter.get_output_details(self._io.probabilities_output)["quantization_parameters"]
        return float(q["scales"][0]), int(q["zero_points"][0])

    def reset(self) -> None:
        """Zero-filled state, as after power-up: the quantized zero of each state tensor."""
        for name, position, _ in self._io.states:
            details = self._interpreter.get_input_details(position)
            zero_point = int(details["quantization_parameters"]["zero_points"][0])
            self._states[name] = np.full(details["shape"], zero_point, np.int8)

    def step(self, frames_int8: np.ndarray) -> np.ndarray:
        """int8 probabilities after one hop of int8 frames (hop, channels)."""
        self._interpreter.set_input(np.ascontiguousarray(frames_int8[None], np.int8), self._io.frames_input)
        for name, position, _ in self._io.states:
            self._interpreter.set_input(self._states[name], position)
        self._interpreter.invoke()
        for name, _, output in self._io.states:
            self._states[name] = self._interpreter.get_output(output).astype(np.int8)
        return self._interpreter.get_output(self._io.probabilities_output).reshape(-1).astype(np.int8)
