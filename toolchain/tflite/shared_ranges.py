"""A streaming twin quantized with its whole-window model's activation ranges.

Calibrated on its own, the twin sees other activations than the window model (its reset state, hops
whose layers straddle two calibration windows; the window model's pinned-range map, which it never
sees whole), so its ranges, scales and rounding differ and a trained model's outputs drift apart
(56 LSB on the shipped embedding). Both are chains of the same layers, so the layers that compute
(everything but reshapes, state joins and state slices) pair up in order; each twin tensor on that
path takes its partner's calibrated (min, max), and each join, slice and state input the range of
the tensor it continues. The quantizer then derives the same scales, zero points and int32 biases.
"""
from __future__ import annotations

from tensorflow.lite.tools import flatbuffer_utils

from toolchain.errors import KwsError

# Ops that move values without computing new ones: each output continues its first activation input.
_CONTINUING = frozenset({"RESHAPE", "CONCATENATION", "STRIDED_SLICE", "SLICE"})


def _ops(model) -> list[tuple[str, list[int], list[int]]]:
    graph = model.subgraphs[0]
    return [(flatbuffer_utils.opcode_to_name(model, op.opcodeIndex), list(op.inputs), list(op.outputs))
            for op in graph.operators]


def _computing(model) -> list[tuple[str, int]]:
    return [(name, outputs[0]) for name, _, outputs in _ops(model) if name not in _CONTINUING]


def computing_outputs(tflite_bytes: bytes) -> list[tuple[str, int]]:
    """(op name, output tensor index) of each op that computes, in graph order."""
    return _computing(flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes)))


def with_window_ranges(twin_calibrated: bytes, window_calibrated: bytes) -> bytes:
    """The twin's calibrated float .tflite with every activation range taken from the window model's
    (both from tflite.converter.calibrated_tflite). Every range is replaced (a tensor left with its own
    raises), so the twin's own calibration only has to give the quantizer its tensors: one feed will do."""
    window = flatbuffer_utils.convert_bytearray_to_object(bytearray(window_calibrated))
    twin = flatbuffer_utils.convert_bytearray_to_object(bytearray(twin_calibrated))
    window_tensors, twin_tensors = window.subgraphs[0].tensors, twin.subgraphs[0].tensors
    partners = _computing(window)
    if len(window.subgraphs[0].inputs) != 1:
        raise KwsError("streaming model: the window model must have one input to share its ranges")

    def window_range(index):
        q = window_tensors[index].quantization
        return list(q.min), list(q.max)

    twin_ops = _ops(twin)
    twin_inputs = set(twin.subgraphs[0].inputs)
    states = {i for name, inputs, _ in twin_ops if name == "CONCATENATION" for i in inputs if i in twin_inputs}
    frames = twin_inputs - states
    if len(frames) != 1:
        raise KwsError(f"streaming model: {len(frames)} inputs are not joined states; expected only the frames")
    ranges = {frames.pop(): window_range(window.subgraphs[0].inputs[0])}
    for name, inputs, outputs in twin_ops:
        if name in _CONTINUING:
            sources = [i for i in inputs if i in ranges and i not in states]
            if len(sources) != 1:
                raise KwsError(f"streaming model: {name} reads {len(sources)} computed tensors, cannot tell which it continues")
            for i in set(inputs) & states:  # a state carries the scale of the tensor it is joined to
                ranges[i] = ranges[sources[0]]
            ranges[outputs[0]] = ranges[sources[0]]
            continue
        if not partners:
            raise KwsError(f"streaming model: its {name} has no counterpart in the window model")
        partner, index = partners.pop(0)
        if partner != name or twin_tensors[outputs[0]].shape[-1] != window_tensors[index].shape[-1]:
            raise KwsError(f"streaming model: its {name} pairs with the window model's {partner}; the layers differ")
        ranges[outputs[0]] = window_range(index)
    if partners:
        raise KwsError(f"streaming model: the window model's {partners[0][0]} has no counterpart in the twin")
    for index, tensor in enumerate(twin_tensors):
        calibrated = tensor.quantization is not None and tensor.quantization.min is not None and len(tensor.quantization.min)
        if calibrated and index not in ranges:  # it would keep the twin's own calibration: refuse, as the scales would drift
            name = tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name
            raise KwsError(f"streaming model: tensor {name} has no counterpart range in the window model")
    for index, (low, high) in ranges.items():
        twin_tensors[index].quantization.min, twin_tensors[index].quantization.max = low, high
    return bytes(flatbuffer_utils.convert_object_to_bytearray(twin))
