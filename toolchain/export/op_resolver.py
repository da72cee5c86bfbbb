"""Read a .tflite flatbuffer (its ops and I/O tensors) and write the TFLM op resolver header.

The op list always comes from the model bytes, never from a manifest: a resolver that misses one
op fails only on the device, at `AllocateTensors()`, with a message few people ever see.

Command line: `python -m toolchain.export.op_resolver model.tflite` prints the ops.
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

from toolchain.errors import KwsError

# TFLite builtin op name → `tflite::MicroMutableOpResolver` method that registers it.
TFLM_OPS: dict[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "ELU": "AddElu",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish",
    "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "MAX_POOL_2D": "AddMaxPool2D",
    "MAXIMUM": "AddMaximum",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize",
    "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "SVDF": "AddSvdf",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "UNPACK": "AddUnpack",
}

_TENSOR_TYPES = {0: "float32", 2: "int32", 3: "uint8", 7: "int16", 9: "int8"}


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output as the device sees it."""

    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema_fb

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


def _tensor(tensor) -> TensorInfo:
    quant = tensor.Quantization()
    scale = zero_point = None
    if quant is not None and quant.ScaleLength() == 1:
        scale, zero_point = float(quant.Scale(0)), int(quant.ZeroPoint(0))
    dtype = _TENSOR_TYPES.get(tensor.Type(), f"type{tensor.Type()}")
    return TensorInfo(tuple(int(d) for d in tensor.ShapeAsNumpy()), dtype, scale, zero_point)


def require_supported(ops: list[str], where: str = "model") -> None:
    """Raise KwsError naming every op the TFLM resolver cannot register."""
    missing = [op for op in ops if op not in TFLM_OPS]
    if missing:
        raise KwsError(
            f"{where}: ops not supported by the TFLM export: {', '.join(missing)} "
            "(change the architecture, or add the op to toolchain/export/op_resolver.py TFLM_OPS)"
        )


def resolver_header(ops: list[str]) -> str:
    """`op_resolver.h`: a resolver type sized to exactly `ops` and a function registering them."""
    require_supported(ops)
    calls = "\n".join(f"  if (resolver.{TFLM_OPS[op]}() != kTfLiteOk) return kTfLiteError;" for op in ops)
    return f"""\
// Generated by `kws export`; do not edit. Ops read from the model flatbuffer:
// {", ".join(ops)}
#ifndef KWS_OP_RESOLVER_H_
#define KWS_OP_RESOLVER_H_

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

constexpr unsigned int kOpCount = {len(ops)};
using KwsOpResolver = tflite::MicroMutableOpResolver<kOpCount>;

// Registers every op the model needs, and nothing else (each op costs flash).
inline TfLiteStatus RegisterKwsOps(KwsOpResolver& resolver) {{
{calls}
  return kTfLiteOk;
}}

#endif  // KWS_OP_RESOLVER_H_
"""


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as handle:
        print("\n".join(model_ops(handle.read())))
