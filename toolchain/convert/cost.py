"""What a .tflite costs on a microcontroller: multiply-accumulates per layer, arena bytes, latency.

Latency is an estimate from a cycles-per-MAC model (see `CORE_MODELS`); the arena is *measured* by
asking the TFLM interpreter itself for the smallest arena it can allocate and invoke with.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.errors import KwsError
from toolchain.export.op_resolver import flatbuffer_model, operator_name
from toolchain.quiet import quiet_native_output


@dataclass(frozen=True)
class CoreModel:
    name: str
    clock_hz: float
    cycles_per_mac: float
    source: str


# Effective cycles per int8 MAC for CMSIS-NN kernels on small DS-CNN KWS models. Derived from
# MLPerf Tiny v1.0 keyword-spotting results (DS-CNN, 2.66 M MACs): ~181 ms on an STM32L4R5
# (Cortex-M4F, 120 MHz) ≈ 8.2 cycles/MAC, and ~53 ms on a NUCLEO-H7A3ZI (Cortex-M7, 280 MHz) ≈ 5.6
# cycles/MAC. Both include memory stalls and non-MAC ops. These are recalled figures, not checked
# against the published results tables (no network access to them here): treat the result as ±30 %
# and calibrate on a board.
CORE_MODELS = {
    "cortex-m4@64MHz": CoreModel("Cortex-M4F @ 64 MHz (nRF52840, Nano 33 BLE Sense)", 64e6, 8.2, "recalled MLPerf Tiny v1.0 KWS result, STM32L4R5; unverified"),
    "cortex-m7@216MHz": CoreModel("Cortex-M7 @ 216 MHz (STM32F746)", 216e6, 5.6, "recalled MLPerf Tiny v1.0 KWS result, NUCLEO-H7A3ZI; unverified"),
}


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


def latency_ms(macs: int) -> dict:
    return {key: {"core": core.name, "cycles_per_mac": core.cycles_per_mac, "source": core.source,
                  "latency_ms": round(macs * core.cycles_per_mac / core.clock_hz * 1000, 2)}
            for key, core in CORE_MODELS.items()}


def tflm_interpreter(tflite: bytes, arena_size: int | None = None):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(tflite, arena_size=arena_size)


def _fits(tflite: bytes, arena: int) -> bool:
    try:
        with quiet_native_output():
            interpreter = tflm_interpreter(tflite, arena)
            details = interpreter.get_input_details(0)
            interpreter.set_input(np.zeros(details["shape"], details["dtype"]), 0)
            interpreter.invoke()
        return True
    except Exception:
        return False


def measure_arena(tflite: bytes, upper: int = 1 << 20, granularity: int = 16) -> int:
    """Smallest arena (bytes) with which the TFLM interpreter allocates and invokes the model."""
    if not _fits(tflite, upper):
        raise KwsError(f"arena: the model does not run on TFLM even with {upper} bytes (unsupported op or too large)")
    low, high = 0, upper
    while high - low > granularity:
        mid = (low + high) // 2
        if _fits(tflite, mid):
            high = mid
        else:
            low = mid
    return high
