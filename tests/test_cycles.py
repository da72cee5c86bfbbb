"""Cortex-M4 cycles from QEMU's execution trace (toolchain/firmware/cycles.py).

A hand-written log in QEMU 7.2's format (`-d in_asm,exec,nochain,trace:cmsdk_apb_timer_read`; the
listing is arm-none-eabi-as output at 0x1000, as capstone prints it) runs main → ticks → main three
times: a load pipelined behind a load, one that is not (its address is the previous load's result), one
stalled on the `adds` before it, a PUSH and a POP into PC, a BL, a B, a BEQ not taken twice and taken
once; QEMU cuts the timer-reading block short at the I/O load (`rewound`) and once stops before a block
(`Stopped`). Then one real run of a tiny exported model, whose trace must count what `-icount` counts.
"""
from __future__ import annotations

import json

import pytest

from toolchain.firmware.cycles import START, Context, decode, parse_log, price, summarise

_A = ["0x00001000:  6808       ldr      r0, [r1]",
      "0x00001002:  684a       ldr      r2, [r1, #4]",  # pipelined behind the first load: 1
      "0x00001004:  6813       ldr      r3, [r2]",  # its address is the load before: 2
      "0x00001006:  3301       adds     r3, #1",
      "0x00001008:  6819       ldr      r1, [r3]",  # address from the adds: 2 + 1 stall
      "0x0000100a:  2b00       cmp      r3, #0",
      "0x0000100c:  d008       beq      #0x1020"]  # 1 not taken, 1 + P taken
_TRACE = {"A": "Trace 0: 0x7f0000000100 [00800400/00001000/00000110/ff020200] main",
          "B": "Trace 0: 0x7f0000000200 [00800400/0000100e/00000110/ff020200] main",
          "C": "Trace 0: 0x7f0000000300 [00800400/00001030/00000110/ff020200] ticks",
          "C_io": "Trace 0: 0x7f0000000400 [00800400/00001032/00000110/ff038201] ticks",
          "C_rest": "Trace 0: 0x7f0000000500 [00800400/00001034/00000110/ff020200] ticks",
          "D": "Trace 0: 0x7f0000000600 [00800400/00001012/00000110/ff020200] main",
          "G": "Trace 0: 0x7f0000000700 [00800400/00001020/00000110/ff020200] main"}
_REWOUND = "cpu_io_recompile: rewound execution of TB to 00001032"
_FIRST_READ = 0xFFFFFFF0


def _log(second_read: int) -> list[bytes]:
    """The run: A B C(rewound) C_io [read] C_rest D | A(stopped) A B C(rewound) C_io [read] C_rest D | A G."""
    def read(value):
        return f"cmsdk_apb_timer_read CMSDK APB timer read: offset 0x4 data {value:#010x} size 4"

    lines = ["----------------", "IN: main", *_A, "", _TRACE["A"],
             "----------------", "IN: main", "0x0000100e:  f000 f80f  bl       #0x1030", "", _TRACE["B"],
             "----------------", "IN: ticks", "0x00001030:  b510       push     {r4, lr}",
             "0x00001032:  6860       ldr      r0, [r4, #4]", "0x00001034:  43c0       mvns     r0, r0",
             "0x00001036:  bd10       pop      {r4, pc}", "", _TRACE["C"], _REWOUND,
             "----------------", "IN: ticks", "0x00001032:  6860       ldr      r0, [r4, #4]", "", _TRACE["C_io"],
             read(_FIRST_READ),
             "----------------", "IN: ticks", "0x00001034:  43c0       mvns     r0, r0",
             "0x00001036:  bd10       pop      {r4, pc}", "", _TRACE["C_rest"],
             "----------------", "IN: main", "0x00001012:  1c05       adds     r5, r0, #0",
             "0x00001014:  e7f4       b        #0x1000", "", _TRACE["D"],
             _TRACE["A"], "Stopped execution of TB chain before 0x7f0000000100 [00001000] main",
             _TRACE["A"], _TRACE["B"], _TRACE["C"], _REWOUND, _TRACE["C_io"], read(second_read), _TRACE["C_rest"], _TRACE["D"],
             _TRACE["A"], "----------------", "IN: main", "0x00001020:  2000       movs     r0, #0", "", _TRACE["G"]]
    return [f"{line}\n".encode() for line in lines]


# 14 instructions from one timer read to the next: C_rest 2 + D 2 + A 7 + B 1 + C (to the load) 1 + C_io 1
BETWEEN_READS = 14


def test_a_hand_written_trace_is_priced_with_the_trm_timings():
    section = summarise(parse_log(_log(_FIRST_READ - BETWEEN_READS)), instructions_per_tick=1)
    # per pass: A 11 (+P when its beq is taken), B 1+P, C 3 (push; the rest rewound), C_io 2, C_rest 1 + 3+P, D 1 + 1+P
    # two passes of 14 instructions, 23 cycles + 3 refills; then A taken (11 + P) and G (1): 36 instructions, 58 + 7P
    assert section["whole_run"] == {"instructions": 36, "cycles": [65, 72, 79], "cpi": [round(65 / 36, 4), 2.0, round(79 / 36, 4)]}
    events = section["timing_events"]
    assert events["branches_taken"] == 7 and events["branches_not_taken"] == 2
    assert events["pipelined_loads_stores"] == 3 and events["address_stalls"] == 3
    functions = {row["function"]: row for row in section["functions"]}
    assert functions["ticks"]["instructions"] == 8 and functions["ticks"]["cycles"] == [20, 22, 24]
    assert functions["main"]["instructions"] == 28 and functions["main"]["cycles"] == [45, 50, 55]
    check = section["instruction_check"]
    assert check["trace_instructions_between_first_and_last_read"] == BETWEEN_READS == check["icount_instructions_between_first_and_last_read"]
    assert check["ok"] and check["before_first_read"] == 10 and check["after_last_read"] == 36 - 24
    assert check["branchless_discontinuities"] == 0
    assert section["stages"] is None  # main's one pair of reads is not calibration, frontend, model and recognizer


def test_a_trace_that_misses_an_instruction_fails_the_check():
    check = summarise(parse_log(_log(_FIRST_READ - BETWEEN_READS - 1)), instructions_per_tick=1)["instruction_check"]
    assert check["difference"] == -1 and not check["ok"]


def test_a_stage_the_trace_did_not_tell_apart_gets_the_whole_run_cpi():
    from toolchain.export.measured_latency import measured_latency, traced_cpi

    whole, model = [1.1, 1.3, 1.5], [1.2, 1.25, 1.4]
    cpi = traced_cpi({"cycles": {"whole_run": {"cpi": whole}, "stages": {"model": {"cpi": model}}}})
    assert cpi == {"frontend": whole, "model": model, "recognizer": whole, "whole_run_for": ["frontend", "recognizer"]}
    load = {"kernels": "cmsis-nn", "instructions_per_inference": 1000, "frontend_instructions_per_second": 64_000, "cpi": cpi}
    _, frontend_share, source = measured_latency(load, 64e6, "inference")
    assert frontend_share == pytest.approx(64_000 * 1.5 / 64e6) and "whole-run CPI for the frontend" in source
    assert traced_cpi({"cycles": {"whole_run": {"cpi": whole}, "stages": None}})["whole_run_for"] == ["frontend", "model", "recognizer"]
    assert traced_cpi({"instructions": {}}) is None  # no trace: export-firmware --measured takes CPI_RANGE


@pytest.mark.parametrize("text, size, previous, taken, expected", [
    ("it eq", 2, Context("alu", frozenset({"r3"}), True), False, (0, 0, 0)),  # folded onto a 16-bit instruction
    ("it eq", 2, Context("alu", frozenset({"r3"}), False), False, (1, 0, 0)),
    ("ldr.w pc, [sp], #4", 4, START, True, (2, 1, 0)),
    ("tbb [pc, r3]", 4, Context("alu", frozenset({"r3"}), False), True, (3, 1, 0)),  # 2+P, + the stall on r3
    ("popne {r4, r5, pc}", 2, START, False, (1, 0, 0)),  # condition failed: one cycle
    ("popne {r4, r5, pc}", 2, START, True, (4, 1, 0)),
    ("str r0, [r1, r2]", 2, Context("load", frozenset({"r0"})), False, (1, 0, 0)),  # register offset, pipelined behind a load
    ("str r0, [r1, r2]", 2, Context("store"), False, (2, 0, 0)),  # nothing pipelines after a store
    ("str r0, [r1, #4]", 2, Context("store"), False, (1, 0, 0)),  # immediate offset: always 1
    ("strd r2, r3, [sp, #8]", 4, START, False, (3, 0, 0)),
    ("sdiv r0, r1, r2", 4, START, False, (0, 0, 1)),
    ("smlad r3, r0, sb, r3", 4, START, False, (1, 0, 0)),
    ("vldr d0, [r0]", 4, START, False, (3, 0, 0)),
    ("vmla.f32 s0, s1, s2", 4, START, False, (3, 0, 0)),
    ("vdiv.f32 s0, s1, s2", 4, START, False, (14, 0, 0)),
    ("vpush {d8, d9}", 4, START, False, (5, 0, 0)),
    ("cbz r0, #0x1040", 2, START, False, (1, 0, 0)),
])
def test_single_instructions_take_the_trm_cycles(text, size, previous, taken, expected):
    mnemonic, _, operands = text.partition(" ")
    fixed, refills, divides, _, _ = price(decode(0x2000, size, mnemonic, operands), previous, taken)
    assert (fixed, refills, divides) == expected


@pytest.mark.slow  # a tiny keyword model converted, exported and run twice on QEMU (~1 min)
def test_the_trace_of_a_real_run_counts_what_icount_counts(keyword_model, tflm_tree, tmp_path):
    """tflm_tree skips with what to install where arm-none-eabi-gcc, CMake or QEMU is missing."""
    from toolchain.convert.keyword_model import convert_keyword_model
    from toolchain.export.firmware import export_firmware
    from toolchain.firmware.selftest import run_emulated

    convert_keyword_model(keyword_model, tmp_path / "converted")
    # an inference every 480 ms, not 20: the trace costs ~100x the counted run, and a few inferences check it
    export_firmware(tmp_path / "converted", "qemu-mps2-an386", tmp_path / "firmware", inference_stride_ms=480)
    report = run_emulated(tmp_path / "firmware", "cmsis-nn", cycles=True)
    cycles = report["cycles"]
    check = cycles["instruction_check"]
    assert check["same_output_as_counted_run"] and check["timer_reads"] > 100
    traced, counted = (check[f"{what}_instructions_between_first_and_last_read"] for what in ("trace", "icount"))
    assert abs(traced - counted) < check["resolution_instructions"], check
    assert check["trace_instructions"] == traced + check["before_first_read"] + check["after_last_read"]
    stages = cycles["stages"]
    counts = report["instructions"]
    # the stages are main.cc's: the frontend's timer ticks are the ones the firmware printed
    assert stages["frontend"]["timer_ticks"] * 40 // report["frames"] == counts["frontend_per_frame"]
    assert stages["calibration"]["runs"] == 2 and stages["recognizer"]["runs"] == report["inferences"]
    for stage in ("frontend", "model", "recognizer"):
        low, typical, high = stages[stage]["cpi"]
        assert 1.0 <= low < typical < high < 3.0
    pace = report["nano33ble_pace"]
    per_second = counts["per_second_of_audio"]
    expected = sum(per_second[stage] * stages[stage]["cpi"][1] for stage in ("frontend", "model", "recognizer")) / 64e6
    assert pace["core_share_estimate"] == pytest.approx(expected, abs=1e-4)
    assert pace["core_share_range"][0] < pace["core_share_estimate"] < pace["core_share_range"][1]
    assert report["cycles_per_instruction"]["estimate"] == stages["measured"]["cpi"][1]
    assert json.loads((tmp_path / "firmware" / "report.json").read_text())["runs"]["cmsis-nn"]["cycles"] == cycles
