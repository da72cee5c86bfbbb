"""Read a .tflite flatbuffer: its ops, its input and output tensors, and what each layer costs.

The op list always comes from the model bytes, never from a manifest: a resolver that misses one
op fails only on the device, at `AllocateTensors()`, with a message few people ever see.

Command line: `python -m toolchain.tflite.flatbuffer model.tflite` prints the ops.
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

import numpy as np

from toolchain.errors import KwsError

_TENSOR_TYPES = {0: "float32", 2: "int32", 3: "uint8", 7: "int16", 9: "int8"}


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output as the device sees it."""

    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None


def _schema():
    # LiteRT's copy of the schema (a superset of TensorFlow's): importing TensorFlow's would load all of
    # TensorFlow (~600 MiB) into `kws stream`, which reads models but never builds one
    from ai_edge_litert import schema_py_generated as schema_fb

    return schema_fb


def flatbuffer_model(tflite_bytes: bytes):
    schema_fb = _schema()
    if len(tflite_bytes) < 8 or tflite_bytes[4:8] != b"TFL3":
        raise KwsError("model: not a TFLite flatbuffer (missing the 'TFL3' identifier)")
    return schema_fb, schema_fb.Model.GetRootAsModel(tflite_bytes, 0)


def model_ops(tflite_bytes: bytes) -> list[str]:
    """Sorted unique names of the ops the model's operators use, e.g. ["CONV_2D", "SOFTMAX"].

    Custom ops come back as "CUSTOM:<name>" so an error can name them.

    >>> model_ops(Path("model_int8.tflite").read_bytes())
    ['CONV_2D', 'FULLY_CONNECTED', 'MEAN', 'RESHAPE', 'SOFTMAX']
    """
    _, model = flatbuffer_model(tflite_bytes)
    ops: set[str] = set()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        ops.update(operator_name(model, subgraph.Operators(o)) for o in range(subgraph.OperatorsLength()))
    return sorted(ops)


def operator_name(model, operator) -> str:
    """Op name of one flatbuffer operator ("CONV_2D", or "CUSTOM:<name>")."""
    schema_fb = _schema()
    opcode = model.OperatorCodes(operator.OpcodeIndex())
    # Codes above 127 live only in BuiltinCode; older files only fill DeprecatedBuiltinCode.
    code = max(opcode.DeprecatedBuiltinCode(), opcode.BuiltinCode())
    if code == schema_fb.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{(opcode.CustomCode() or b'?').decode('utf-8', 'replace')}"
    return _builtin_names().get(code, f"BUILTIN_{code}")


@functools.cache
def _builtin_names() -> dict[int, str]:
    operators = _schema().BuiltinOperator
    return {getattr(operators, n): n for n in dir(operators) if not n.startswith("_")}


def model_io(tflite_bytes: bytes) -> tuple[TensorInfo, TensorInfo]:
    """(input, output) tensors of the main subgraph; a keyword model has exactly one of each."""
    _, model = flatbuffer_model(tflite_bytes)
    graph = model.Subgraphs(0)
    if graph.InputsLength() != 1 or graph.OutputsLength() != 1:
        raise KwsError(f"model: expected 1 input and 1 output, found {graph.InputsLength()} and {graph.OutputsLength()}")
    return _tensor(graph.Tensors(graph.Inputs(0))), _tensor(graph.Tensors(graph.Outputs(0)))


def subgraph_io(tflite_bytes: bytes) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """(inputs, outputs) of the main subgraph in its own order, for models with several (a streaming twin)."""
    _, model = flatbuffer_model(tflite_bytes)
    graph = model.Subgraphs(0)
    return ([_tensor(graph.Tensors(graph.Inputs(i))) for i in range(graph.InputsLength())],
            [_tensor(graph.Tensors(graph.Outputs(i))) for i in range(graph.OutputsLength())])


def _tensor(tensor) -> TensorInfo:
    quant = tensor.Quantization()
    scale = zero_point = None
    if quant is not None and quant.ScaleLength() == 1:
        scale, zero_point = float(quant.Scale(0)), int(quant.ZeroPoint(0))
    dtype = _TENSOR_TYPES.get(tensor.Type(), f"type{tensor.Type()}")
    return TensorInfo(tuple(int(d) for d in tensor.ShapeAsNumpy()), dtype, scale, zero_point)


def layer_costs(tflite: bytes) -> list[dict]:
    """One row per operator: op, output tensor name and shape, weight count, MACs."""
    _, model = flatbuffer_model(tflite)
    graph = model.Subgraphs(0)
    rows = []
    for o in range(graph.OperatorsLength()):
        operator = graph.Operators(o)
        name = operator_name(model, operator)
        inputs = [graph.Tensors(int(i)) for i in operator.InputsAsNumpy() if i >= 0]
        output = graph.Tensors(int(operator.Outputs(0)))
        out_shape = [int(d) for d in output.ShapeAsNumpy()] if output.ShapeLength() else []
        out_elems = int(np.prod(out_shape)) if out_shape else 0
        macs, weights = 0, 0
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(inputs) >= 2:
            kernel = [int(d) for d in inputs[1].ShapeAsNumpy()]
            weights = int(np.prod(kernel))
            if name == "CONV_2D":
                macs = out_elems * kernel[1] * kernel[2] * kernel[3]
            elif name == "DEPTHWISE_CONV_2D":
                macs = out_elems * kernel[1] * kernel[2]
            else:
                macs = out_elems * kernel[1]
        rows.append({"op": name, "output": output.Name().decode(), "output_shape": out_shape,
                     "weights": weights, "macs": int(macs)})
    return rows


def total_macs(tflite: bytes) -> int:
    return sum(row["macs"] for row in layer_costs(tflite))


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as handle:
        print("\n".join(model_ops(handle.read())))
