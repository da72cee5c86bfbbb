"""Run a firmware image on QEMU's mps2-an386 (Cortex-M4F) and count the instructions it executes.

QEMU models no cycles. With `-icount shift=0` its virtual clock advances exactly 1 ns per executed
instruction, and the board's CMSDK timer 0 ticks at 25 MHz of that clock: one tick is 40
instructions. The board layer (firmware_export/boards/qemu-mps2-an386/board.c) reads the timer and
prints through Arm semihosting; the program's return value becomes QEMU's exit status. Every run
first times a loop of known length, so a change in QEMU's clocking shows up as a failed calibration
instead of as wrong figures.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from toolchain.errors import KwsError
from toolchain.firmware.tools import require_tools

MACHINE = "mps2-an386"
INSTRUCTIONS_PER_TICK = 40  # 1 ns per instruction (icount shift 0) / 25 MHz timer clock (kws_board.h)
QEMU_ARGS = ("-M", MACHINE, "-cpu", "cortex-m4", "-nographic", "-monitor", "none", "-serial", "none",
             "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,align=off,sleep=off")


@dataclass(frozen=True)
class EmulatorRun:
    lines: list[str]
    exit_code: int
    wall_s: float


def qemu_command(elf: Path, *extra: str) -> list[str]:
    """The command that runs `elf`; `extra` adds options (toolchain.firmware.cycles adds its trace log)."""
    return ["qemu-system-arm", *QEMU_ARGS, *extra, "-kernel", str(elf)]


def run_elf(elf: Path, timeout_s: float = 600) -> EmulatorRun:
    """Run `elf` to its exit; its semihosting output split into lines."""
    require_tools()
    started = time.time()
    try:
        result = subprocess.run(qemu_command(Path(elf)), capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise KwsError(f"{elf}: still running on QEMU after {timeout_s:g} s; the firmware hangs or its test audio is too long") from exc
    return EmulatorRun(output_lines(result.stdout + result.stderr), result.returncode, round(time.time() - started, 2))


def output_lines(raw: bytes) -> list[str]:
    """The program's semihosting output as lines (a traced run's must equal the counted run's, so one decoding)."""
    return raw.decode("utf-8", "replace").replace("\r\n", "\n").splitlines()


def check_calibration(lines: list[str], where: Path) -> dict:
    """Both `calibrate N TICKS` loops (2N instructions each) agree with INSTRUCTIONS_PER_TICK to within a tick."""
    loops = [tuple(int(v) for v in line.split()[1:3]) for line in lines if line.startswith("calibrate ")]
    if len(loops) != 2:
        raise KwsError(f"{where}: the firmware printed no instruction-counter calibration")
    (short_n, short_ticks), (long_n, long_ticks) = loops
    measured = (long_ticks - short_ticks) * INSTRUCTIONS_PER_TICK
    expected = 2 * (long_n - short_n)
    if abs(measured - expected) > 2 * INSTRUCTIONS_PER_TICK:
        raise KwsError(f"{where}: a loop of {expected} instructions counted {measured}: QEMU is not counting instructions "
                       f"(needs -icount shift=0 and a 25 MHz timer)")
    return {"loop_instructions": expected, "counted_instructions": measured, "resolution_instructions": INSTRUCTIONS_PER_TICK}
