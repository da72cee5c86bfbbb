"""Cycles from counted instructions: a cycles-per-instruction range for the Cortex-M4, and the
latency range it gives at a clock.

Cortex-M4 Technical Reference Manual (Arm DDI 0439B, §3.3.1 "Cortex-M4 instructions" timing
table): data processing, multiply and the DSP MACs (SMLAD, SMLABB, ...) take 1 cycle; LDR 2
(N+1 for N pipelined loads); LDM/STM 1+N; taken branches 1+P with P = 1..3 pipeline refill; SDIV
2..12. TFLM kernels are load- and branch-heavy around MAC inner loops, and flash wait states on a
real part (nRF52840: instruction cache) add stalls, so we take 1.0 (every instruction single-cycle)
to 2.0 cycles per instruction. That range is derived from the TRM's per-instruction timings, not
measured on silicon: calibrate with the sketch's printed inference time on a board.
"""
from __future__ import annotations

import json
from pathlib import Path

from toolchain.errors import bad_input

CPI_RANGE = (1.0, 2.0)
STAGES = ("frontend", "model", "recognizer")
CPI_SOURCE = ("Cortex-M4 TRM (Arm DDI 0439B) §3.3.1 instruction timings: ALU/MAC 1 cycle, LDR 2, branch 1+P (P 1-3); "
              "1.0-2.0 assumed for TFLM kernels with flash wait states, not measured on silicon")


def latency_ms_range(instructions: float, clock_hz: float, cpi_range: tuple[float, float] = CPI_RANGE) -> tuple[float, float]:
    """(fastest, slowest) milliseconds for `instructions` at `clock_hz`, over `cpi_range` (default CPI_RANGE)."""
    low, high = cpi_range
    return round(instructions * low / clock_hz * 1000, 2), round(instructions * high / clock_hz * 1000, 2)


def measured_load(report_path: Path, model_sha256: str, kernels: str = "cmsis-nn") -> dict:
    """Counted instructions of `model_sha256` from a `kws run-emulated` report.json: per inference
    (model + recognizer) and per second of audio for the frontend, which runs whatever the stride."""
    report_path = Path(report_path)
    try:
        runs = json.loads(report_path.read_text(encoding="utf-8"))["runs"]
        run = runs[kernels]
        counts = run["instructions"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise bad_input(report_path, f"no {kernels} run of `kws run-emulated` ({type(exc).__name__})") from exc
    if run.get("model_sha256") != model_sha256:
        raise bad_input(report_path, f"measured model {str(run.get('model_sha256'))[:12]} is not this model {model_sha256[:12]}")
    exact = run["bit_exact"]
    if not all(exact.get(key) for key in ("features_vs_tflm_c", "features_vs_toolchain_frontend", "outputs", "decisions")):
        raise bad_input(report_path, "that emulated run was not bit-exact with the host; its figures are not trusted")
    return {"kernels": kernels, "instructions_per_inference": counts["model_per_inference"]["mean"] + counts["recognizer_per_inference"],
            "frontend_instructions_per_second": counts["per_second_of_audio"]["frontend"], "cpi": traced_cpi(run)}


def traced_cpi(run: dict) -> dict | None:
    """CPI (P = 1, 2, 3) of the frontend, model and recognizer from a `kws run-emulated --cycles` run. A stage
    the trace did not tell apart gets the whole run's CPI (measured, which CPI_RANGE is not) and is listed
    in "whole_run_for"; None only without a trace."""
    cycles = run.get("cycles")
    if not cycles:
        return None
    stages = cycles.get("stages") or {}
    told_apart = {stage: (stages.get(stage) or {}).get("cpi") for stage in STAGES}
    whole = cycles["whole_run"]["cpi"]
    return dict({stage: cpi or whole for stage, cpi in told_apart.items()},
                whole_run_for=[stage for stage, cpi in told_apart.items() if not cpi])


def measured_latency(load: dict, clock_hz: float, unit: str) -> tuple[tuple[float, float], float, str]:
    """(latency range in ms, the frontend's share of the core, where they come from) for `measured_load`'s
    counts: × the traced CPI where the report has it (range P = 1..3), else × CPI_RANGE. Pacing takes
    the slow end of both, so a board is never planned on its best case."""
    cpi = load.get("cpi")
    model_cpi = (cpi["model"][0], cpi["model"][2]) if cpi else CPI_RANGE
    frontend_cpi = cpi["frontend"][2] if cpi else CPI_RANGE[1]
    how = ("cycles per instruction estimated from the executed instructions (`kws run-emulated --cycles`: Cortex-M4 "
           "TRM timings, zero wait states)" if cpi else "cycles per instruction (assumed range)")
    whole_run_for = [stage for stage in (cpi or {}).get("whole_run_for", ()) if stage in ("model", "frontend")]
    if whole_run_for:
        how += f"; whole-run CPI for the {' and the '.join(whole_run_for)} (not told apart in the trace)"
    source = (f"{load['instructions_per_inference']:,} instructions per {unit} counted on an emulated Cortex-M4 "
              f"({load['kernels']}) × {model_cpi[0]:g}–{model_cpi[1]:g} {how}")
    return (latency_ms_range(load["instructions_per_inference"], clock_hz, model_cpi),
            load["frontend_instructions_per_second"] * frontend_cpi / clock_hz, source)
