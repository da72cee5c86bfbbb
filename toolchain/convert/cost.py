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


# Effective cycles per int8 MAC of TFLM on small DS-CNN KWS models, end to end (memory stalls and
# non-MAC ops included), from MLPerf Tiny results (the KWS DS-CNN: 49×10 input, 2,656,768 MACs).
# Cortex-M4F: the v0.5 reference submission, TFLM 2.3.1 on a NUCLEO-L4R5ZI at 120 MHz, 5.497 inf/s
# = 181.9 ms → 8.22 cycles/MAC (mlcommons/tiny_results_v0.5,
# closed/reference/results/Nucleo-L4R5ZI/kws/performance/results.txt). Whether that build used the
# CMSIS-NN kernels is not recorded; microTVM + CMSIS-NN on the same board reached 4.51 (v1.0, OctoML),
# so this is the cautious end. Cortex-M7: no TFLM result was submitted; the same stacks run at
# 0.52–0.55 × their Cortex-M4 cycles/MAC on Cortex-M7 boards (v1.0 X-CUBE-AI 1.77 vs 3.39; v1.1 Bosch
# HALE 1.50 vs 2.83), so 8.22 × 0.53 ≈ 4.4. Treat results as ±30 % and calibrate on a board (the
# exported sketch prints its measured inference time).
CYCLES_PER_MAC = {  # core → (cycles per MAC, where the figure comes from)
    "cortex-m4": (8.2, "MLPerf Tiny v0.5 reference KWS, TFLM 2.3.1 on STM32L4R5 @ 120 MHz: 181.9 ms / 2.66 M MACs"),
    "cortex-m7": (4.4, "the Cortex-M4F figure × 0.53, the M7/M4 ratio of MLPerf Tiny v1.0–1.1 KWS stacks"),
}


def core_model(cpu: str, clock_mhz: float, name: str | None = None) -> CoreModel | None:
    """The latency model of `cpu` at `clock_mhz`, or None for a core without published figures."""
    if cpu not in CYCLES_PER_MAC:
        return None
    cycles, source = CYCLES_PER_MAC[cpu]
    return CoreModel(name or f"{cpu} @ {clock_mhz:g} MHz", clock_mhz * 1e6, cycles, source)


CORE_MODELS = {  # the two reference boards every report quotes
    "cortex-m4@64MHz": core_model("cortex-m4", 64, "Cortex-M4F @ 64 MHz (nRF52840, Nano 33 BLE Sense)"),
    "cortex-m7@216MHz": core_model("cortex-m7", 216, "Cortex-M7 @ 216 MHz (STM32F746)"),
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


def core_latency_ms(macs: int, core: CoreModel) -> float:
    return round(macs * core.cycles_per_mac / core.clock_hz * 1000, 2)


def latency_ms(macs: int) -> dict:
    return {key: {"core": core.name, "cycles_per_mac": core.cycles_per_mac, "source": core.source,
                  "latency_ms": core_latency_ms(macs, core)}
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
