"""How long an inference takes on a microcontroller: latency estimated from a cycles-per-MAC model.

MACs per layer come from the flatbuffer (`toolchain.tflite.flatbuffer.layer_costs`); the arena is
measured on TFLM itself (`toolchain.tflite.micro.measure_arena`).
"""
from __future__ import annotations

from dataclasses import dataclass


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


def core_latency_ms(macs: int, core: CoreModel) -> float:
    return round(macs * core.cycles_per_mac / core.clock_hz * 1000, 2)


def latency_ms(macs: int) -> dict:
    return {key: {"core": core.name, "cycles_per_mac": core.cycles_per_mac, "source": core.source,
                  "latency_ms": core_latency_ms(macs, core)}
            for key, core in CORE_MODELS.items()}
