"""Cortex-M4 cycles from QEMU's execution trace: the executed instruction mix priced with the TRM's timings.

QEMU counts instructions, not cycles (toolchain.firmware.qemu), yet the Nano's share of core time turns
on cycles per instruction. `trace_cycles` runs the image once more with `-d in_asm,exec,nochain` and the
CMSDK timer's read event, QEMU's log streamed through a pipe (~1 GB for five seconds of audio) into
counters: which translation block ran, how far (QEMU cuts a block short at an I/O access, `rewound`, or
before it starts when its instruction budget runs out, `Stopped`), and whether its last instruction
branched (the next block does not start at its fall-through). QEMU's own listing of each block gives the
instructions; every one executed is priced with the Cortex-M4 timings of the Technical Reference Manual
(Arm DDI 0439B, §3.3.1 "Cortex-M4 instructions" and §3.3.2 "Load/store timings"; the FPU chapter's
instruction table for the VFP):

- data processing, multiplies and DSP MACs 1 cycle; SDIV/UDIV 2..12 (data dependent);
- LDR/STR single 2, but 1 after a load whose destination the address does not use (pipelined), STR with an
  immediate offset always 1, nothing pipelines after a store; a load or store whose address the preceding
  data-processing instruction wrote stalls 1 more; LDRD/STRD 3; LDM/STM/PUSH/POP 1+N;
- a taken branch (B, BL, BX, BLX, CBZ/CBNZ, TBB/TBH 2+P, a load or POP into PC, PC as a destination)
  1+P, a conditional one not taken 1; IT 0 when folded onto a preceding 16-bit instruction, else 1;
- VFP: VLDR/VSTR 2 (3 double), VLDM/VSTM/VPUSH/VPOP 1+N, VMLA/VFMA families 3, VDIV/VSQRT 14, a VMOV of two
  core registers 2, others 1.

P, the pipeline refill, is 1..3 cycles (alignment and width of the target, early speculation); the three
totals take P = 1, 2, 3 (best, typical, worst), a divide 2, 7, 12 with them.

Not modelled, so the estimate is for zero-wait-state fetch and data: flash wait states and the nRF52840's
instruction cache (a miss adds cycles to any instruction), bus contention and write-buffer stalls,
interrupts and exception entry, an instruction that fails its IT condition (priced as executed), the
extra cycle `LDR Rx,[PC,#imm]` may take against the fetch unit, and FPU register hazards.

The trace's instruction count is checked against QEMU's `-icount` count of the same run: at every timer
read (the board's counter, 40 instructions a tick) the two must agree to within a tick. The firmware's
main() reads the timer in pairs around each stage it measures (firmware_export/boards/qemu-mps2-an386/
main.cc: the two calibration loops, then per audio step the frontend, the model and the recognizer), so
the cycles of those stages are priced apart from the printing around them.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from toolchain.errors import KwsError
from toolchain.firmware.qemu import INSTRUCTIONS_PER_TICK, output_lines, qemu_command
from toolchain.firmware.tools import require_tools

REFILL_CYCLES = (1, 2, 3)  # P after a taken branch: best, typical, worst
DIVIDE_CYCLES = (2, 7, 12)  # SDIV/UDIV: operand dependent
SCENARIOS = ("best", "typical", "worst")
LOG_ITEMS = "in_asm,exec,nochain,trace:cmsdk_apb_timer_read"
TIMER_VALUE_OFFSET = 0x4  # CMSDK APB timer VALUE register (KwsBoardTicks in board.c)
STAGE_CALLER = "main"  # main.cc reads the timer around each measured stage, in this order:
STAGE_NAMES = ("calibration", "frontend", "model", "recognizer")
TOP_FUNCTIONS = 15
NOT_MODELLED = ("zero-wait-state fetch and data assumed: flash wait states / nRF52840 instruction cache, bus contention, "
                "write-buffer stalls, interrupts, failed IT conditions (priced as executed), FPU hazards not modelled")
SOURCE = ("executed instruction mix from QEMU's trace (-d in_asm,exec,nochain) priced with the Cortex-M4 TRM "
          "(Arm DDI 0439B §3.3.1-3.3.2, FPU instruction table); P = 1, 2, 3")

_COND = "eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al"
_KINDS = [(kind, re.compile(rf"(?:{root})(?P<cond>{_COND})?")) for kind, root in (
    ("branch", "blx|bx|bl|b"),
    ("compare_branch", "cbn?z"),
    ("table_branch", "tb[bh]"),
    ("it", "it[te]{0,3}"),
    ("load_pair", "ldrd"),
    ("store_pair", "strd"),
    ("load", "ldr(?:b|h|sb|sh|ex|exb|exh|t|bt|ht|sbt|sht)?|strex[bh]?|pld|pli"),  # STREX pipelines as LDR (TRM)
    ("store", "str(?:b|h|t|bt|ht)?"),
    ("load_multiple", "ldm(?:ia|db|fd|ea)?|pop"),
    ("store_multiple", "stm(?:ia|db|fd|ea)?|push"),
    ("divide", "[su]div"),
    ("compare", "cmp|cmn|tst|teq"),
    ("long_multiply", "[su]mull|[su]mlal|umaal|smlal(?:bb|bt|tb|tt|dx?)|smlsldx?"),
    ("fp_load", "vldr"),
    ("fp_store", "vstr"),
    ("fp_multiple", "v(?:ldm|stm)(?:ia|db)?|vpush|vpop"),
    ("fp_mac", "vn?ml[as]|vfn?m[as]"),
    ("fp_divide", "vdiv|vsqrt"),
    ("fp_move", "vmov"),
    ("fp", "v[a-z0-9]+"),
    ("barrier", "dsb|dmb"),
    ("isb", "isb"),
)]
_MEMORY = {"load", "store", "load_pair", "store_pair", "load_multiple", "store_multiple", "table_branch", "fp_load",
           "fp_store", "fp_multiple"}
_CORE_REGISTERS = {f"r{i}" for i in range(13)} | {"sb", "sl", "fp", "ip", "sp", "lr", "pc"}
_LISTING = re.compile(rb"0x([0-9a-f]+):\s+([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s+(\S+)\s*(.*)")
_TIMER_READ = re.compile(rb"offset 0x([0-9a-f]+) data 0x([0-9a-f]+)")


@dataclass(frozen=True)
class Instruction:
    """One Thumb instruction of QEMU's listing, with what its timing depends on."""

    address: int
    size: int
    text: str
    kind: str
    conditional: bool
    writes_pc: bool
    registers: int  # N of a load/store multiple (a double VFP register counts 2)
    destinations: frozenset
    address_registers: frozenset
    register_offset: bool
    double: bool

    @property
    def fall_through(self) -> int:
        return self.address + self.size


def decode(address: int, size: int, mnemonic: str, operands: str) -> Instruction:
    """An instruction from QEMU's (capstone's) text: `decode(0x10f0, 2, "push", "{r3, lr}")`."""
    base = mnemonic.split(".")[0].lower()
    for kind, pattern in _KINDS:
        match = pattern.fullmatch(base)
        if match:
            conditional = bool(match.group("cond")) or kind == "compare_branch"
            break
    else:
        # a suffix that reads as a condition (`movs`) only matters for an ALU op writing PC, which has none
        kind, conditional = "alu", len(base) > 3 and bool(re.fullmatch(_COND, base[-2:]))
    parts = _split(operands)
    first = parts[0].rstrip("!") if parts else ""
    listed = _register_list(operands)
    inside = re.findall(r"\[([^\]]*)\]", operands)
    addressed = {token.strip() for token in inside[0].split(",")} & _CORE_REGISTERS if inside else set()
    if kind in ("load_multiple", "store_multiple", "fp_multiple"):
        addressed = {"sp"} if base in ("pop", "push", "vpop", "vpush") else {first} & _CORE_REGISTERS
    destinations = set()
    if kind in ("alu", "divide", "load") and first in _CORE_REGISTERS:
        destinations = {first}
    elif kind == "long_multiply":
        destinations = {p for p in parts[:2]} & _CORE_REGISTERS
    writes_pc = (kind in ("branch", "compare_branch", "table_branch") or (kind in ("alu", "load") and first == "pc")
                 or (kind == "load_multiple" and "pc" in listed))
    double = any(r.startswith("d") for r in listed) or (kind in ("fp_load", "fp_store") and first.startswith("d"))
    registers = len(listed) * (2 if double and kind == "fp_multiple" else 1)
    offset = len(inside[0].split(",")) > 1 and inside[0].split(",")[1].strip() in _CORE_REGISTERS if inside else False
    if kind == "fp_move" and sum(p in _CORE_REGISTERS for p in parts) >= 2:
        double = True  # two core registers: 2 cycles
    return Instruction(address, size, f"{mnemonic} {operands}".strip(), kind, conditional, writes_pc, registers,
                       frozenset(destinations), frozenset(addressed), offset, double)


def _split(operands: str) -> list[str]:
    """Top-level comma-separated operands (`r0, [r1, #4]` → two)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(operands):
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(operands[start:i].strip())
            start = i + 1
    tail = operands[start:].strip()
    return parts + [tail] if tail else parts


def _register_list(operands: str) -> list[str]:
    """The registers of `{r4, r5, lr}` or `{s16-s19}`, ranges expanded."""
    braces = re.search(r"\{([^}]*)\}", operands)
    if not braces:
        return []
    names = []
    for item in (part.strip() for part in braces.group(1).split(",")):
        span = re.fullmatch(r"([a-z]+)(\d+)-[a-z]+(\d+)", item)
        names += [f"{span.group(1)}{i}" for i in range(int(span.group(2)), int(span.group(3)) + 1)] if span else [item]
    return names


@dataclass(frozen=True)
class Context:
    """What the previous executed instruction leaves the next one: a load's or a data-processing result
    register (pipelining, address stall) and whether an IT could fold onto it."""

    tag: str  # "load", "alu", "store" or "other"
    registers: frozenset = frozenset()
    foldable: bool = False


START = Context("other")


def price(instruction: Instruction, previous: Context, taken: bool) -> tuple[int, int, int, str | None, Context]:
    """(fixed cycles, pipeline refills, divides, mix event, context after) of one executed instruction.

    Cycles are `fixed + refills * P + divides * D` for each scenario's P and D."""
    kind = instruction.kind
    stall = int(kind in _MEMORY and previous.tag == "alu" and bool(previous.registers & instruction.address_registers))
    pipelined = previous.tag == "load" and not previous.registers & instruction.address_registers
    refills = divides = 0
    event = "address_stalls" if stall else None
    if kind == "load" or (kind == "store" and instruction.register_offset):
        fixed = (1 if pipelined else 2) + stall
        event = "pipelined_loads_stores" if pipelined else event
    elif kind == "store":
        fixed = 1 + stall
    elif kind in ("load_pair", "store_pair"):
        fixed = 3 + stall
    elif kind in ("load_multiple", "store_multiple", "fp_multiple"):
        fixed = 1 + instruction.registers + stall
    elif kind == "table_branch":
        fixed = 2 + stall
    elif kind == "it":
        fixed = 0 if previous.foldable else 1
        event = "it_folded" if previous.foldable else None
    elif kind in ("fp_load", "fp_store"):
        fixed = (3 if instruction.double else 2) + stall
    elif kind == "fp_mac":
        fixed = 3
    elif kind == "fp_divide":
        fixed = 14
    elif kind == "fp_move":
        fixed = 2 if instruction.double else 1
    elif kind == "divide":
        fixed, divides = 0, 1
    else:
        fixed = 1
    if kind == "isb":
        refills = 1
    if instruction.writes_pc:
        if taken:
            refills, event = refills + 1, "branches_taken"
            return fixed, refills, divides, event, START
        if instruction.conditional:
            fixed, divides, event = 1, 0, "branches_not_taken"  # a failed condition: one cycle
    foldable = instruction.size == 2
    if kind == "load":
        after = Context("load", instruction.destinations, foldable)
    elif kind in ("store", "store_pair", "store_multiple"):
        after = Context("store", frozenset(), foldable)
    elif kind in ("alu", "long_multiply", "divide"):
        after = Context("alu", instruction.destinations, foldable)
    else:
        after = Context("other", frozenset(), foldable)
    return fixed, refills, divides, event, after


class _Block:
    """A translation block: QEMU's listing of it and where it is in the ELF."""

    __slots__ = ("index", "pc", "function", "instructions")

    def __init__(self, index: int, pc: int, function: str, instructions: list[Instruction]):
        self.index, self.pc, self.function, self.instructions = index, pc, function, instructions


class _Pricer:
    """Prices (block, instructions executed, entry context, taken) once; contexts are numbered."""

    def __init__(self):
        self.contexts: list[Context] = [START]
        self._context_ids = {START: 0}
        self._memo: dict[tuple, tuple] = {}

    def block(self, block: _Block, executed: int, context: int, taken: bool) -> tuple:
        """(fixed, refills, divides, context after, kinds, events) of the block's first `executed` instructions."""
        key = (block.index, executed, context, taken)
        found = self._memo.get(key)
        if found is None:
            fixed = refills = divides = 0
            kinds, events = Counter(), Counter()
            previous = self.contexts[context]
            last = executed - 1
            for i, instruction in enumerate(block.instructions[:executed]):
                f, r, d, event, previous = price(instruction, previous, taken and i == last)
                fixed, refills, divides = fixed + f, refills + r, divides + d
                kinds[instruction.kind] += 1
                if event:
                    events[event] += 1
            after = self._context_ids.setdefault(previous, len(self.contexts))
            if after == len(self.contexts):
                self.contexts.append(previous)
            found = self._memo[key] = (fixed, refills, divides, after, kinds, events)
        return found


@dataclass
class TraceCounts:
    """What one streamed log leaves: executions per (block, executed, context, taken) and the timer reads
    as [instructions, fixed, refills, divides so far, timer value, function and pc the read returned to]."""

    blocks: list
    pricer: _Pricer
    executions: Counter
    reads: list
    discontinuities: int


def parse_log(lines: Iterable[bytes]) -> TraceCounts:
    """Counters from a QEMU log of LOG_ITEMS, read line by line (never held whole)."""
    blocks: list[_Block] = []
    by_key: dict[bytes, _Block] = {}
    listed: dict[int, tuple[str, list[bytes]]] = {}  # translated, not yet executed
    pricer = _Pricer()
    executions: Counter = Counter()
    reads: list[list] = []
    instructions = fixed = refills = divides = discontinuities = 0
    pending = None  # (block, executed, entry context, its not-taken price) of the block running
    context = 0
    listing_function, listing = None, None
    awaiting_return = None  # (read, function of the block that read the timer)
    for line in lines:
        if line.startswith(b"Trace "):
            listing = None
            key = line[line.index(b"[") + 1:line.index(b"]")]
            block = by_key.get(key)
            if block is None:
                block = by_key[key] = _bind(key, listed, blocks)
            if pending is not None:
                previous, executed, entry, cost = pending
                last = previous.instructions[executed - 1]
                taken = last.writes_pc and (not last.conditional or block.pc != last.fall_through)
                if taken:
                    taken_cost = pricer.block(previous, executed, entry, True)
                    fixed += taken_cost[0] - cost[0]
                    refills += taken_cost[1] - cost[1]
                    divides += taken_cost[2] - cost[2]
                    context = taken_cost[3]
                else:
                    discontinuities += block.pc != last.fall_through
                    context = cost[3]
                executions[(previous.index, executed, entry, taken)] += 1
            if awaiting_return is not None and block.function != awaiting_return[1]:
                awaiting_return[0][5:] = [block.function, block.pc]
                awaiting_return = None
            executed = len(block.instructions)
            cost = pricer.block(block, executed, context, False)
            instructions += executed
            fixed, refills, divides = fixed + cost[0], refills + cost[1], divides + cost[2]
            pending = (block, executed, context, cost)
        elif line.startswith(b"0x") and listing is not None:
            listing.append(line)
        elif line.startswith(b"IN:"):
            listing_function, listing = line[3:].strip().decode("utf-8", "replace"), []
        elif line.startswith(b"cpu_io_recompile: rewound execution of TB to "):
            block, executed, entry, cost = pending
            stop = int(line.rsplit(b" ", 1)[1], 16)
            kept = next((i for i, ins in enumerate(block.instructions) if ins.address == stop), None)
            if kept is None:
                raise KwsError(f"QEMU trace: rewound to {stop:#x}, not an instruction of the block at {block.pc:#x}")
            instructions -= executed - kept
            fixed, refills, divides = fixed - cost[0], refills - cost[1], divides - cost[2]
            if kept:
                cost = pricer.block(block, kept, entry, False)
                fixed, refills, divides = fixed + cost[0], refills + cost[1], divides + cost[2]
                pending = (block, kept, entry, cost)
            else:
                pending, context = None, entry
        elif line.startswith(b"Stopped execution of TB chain before"):
            block, executed, entry, cost = pending  # its Trace line was printed, none of it ran
            instructions -= executed
            fixed, refills, divides = fixed - cost[0], refills - cost[1], divides - cost[2]
            pending, context = None, entry
        elif b"cmsdk_apb_timer_read" in line:
            offset, value = (int(v, 16) for v in _TIMER_READ.search(line).groups())
            if offset == TIMER_VALUE_OFFSET:
                reads.append([instructions, fixed, refills, divides, value, None, None])
                awaiting_return = (reads[-1], pending[0].function)
        else:
            if listing:
                first = _LISTING.match(listing[0])
                listed[int(first.group(1), 16)] = (listing_function, listing)
            listing = None
    if pending is not None:
        block, executed, entry, _ = pending
        executions[(block.index, executed, entry, False)] += 1
    return TraceCounts(blocks, pricer, executions, reads, discontinuities)


def _bind(key: bytes, listed: dict, blocks: list) -> _Block:
    """The block QEMU just translated for `key` (its listing came before its first Trace line)."""
    pc = int(key.split(b"/")[1], 16)
    if pc not in listed:
        raise KwsError(f"QEMU trace: a block at {pc:#x} ran without its in_asm listing (is `in_asm` logged?)")
    function, lines = listed.pop(pc)
    instructions = []
    for line in lines:
        match = _LISTING.match(line)
        if not match:
            raise KwsError(f"QEMU trace: cannot read the listing line {line[:80]!r}")
        address, _, second, mnemonic, operands = match.groups()
        instructions.append(decode(int(address, 16), 4 if second else 2, mnemonic.decode(), operands.decode().strip()))
    block = _Block(len(blocks), pc, function, instructions)
    blocks.append(block)
    return block


def _cycles(fixed: float, refills: float, divides: float) -> list[float]:
    return [fixed + refills * p + divides * d for p, d in zip(REFILL_CYCLES, DIVIDE_CYCLES)]


def _typical(row: list) -> float:
    """Cycles at P = 2 of [instructions, fixed, refills, divides]."""
    return _cycles(*row[1:])[1]


def _figures(instructions: int, fixed: float, refills: float, divides: float) -> dict:
    cycles = _cycles(fixed, refills, divides)
    return {"instructions": int(instructions), "cycles": [int(c) for c in cycles],
            "cpi": [round(c / instructions, 4) if instructions else None for c in cycles]}


def summarise(counts: TraceCounts, instructions_per_tick: int = INSTRUCTIONS_PER_TICK) -> dict:
    """The `cycles` section of a report: whole run, measured stages, top functions, instruction mix, and
    the trace's instruction count against the timer's (`-icount`) at every read."""
    totals = [0, 0, 0, 0]
    functions: dict[str, list] = {}
    kinds: Counter = Counter()
    events: Counter = Counter()
    for (index, executed, entry, taken), runs in counts.executions.items():
        block = counts.blocks[index]
        fixed, refills, divides, _, block_kinds, block_events = counts.pricer.block(block, executed, entry, taken)
        row = functions.setdefault(block.function, [0, 0, 0, 0])
        for target in (row, totals):
            target[0] += executed * runs
            target[1] += fixed * runs
            target[2] += refills * runs
            target[3] += divides * runs
        for counter, found in ((kinds, block_kinds), (events, block_events)):
            for name, n in found.items():
                counter[name] += n * runs
    top = sorted(functions.items(), key=lambda item: -_typical(item[1]))[:TOP_FUNCTIONS]
    names = _demangle([name for name, _ in top])
    whole = _typical(totals) or 1
    return {
        "refill_cycles": list(REFILL_CYCLES), "divide_cycles": list(DIVIDE_CYCLES), "scenarios": list(SCENARIOS),
        "whole_run": _figures(*totals),
        "stages": _stages(counts.reads),
        "instruction_check": _check(counts, totals[0], instructions_per_tick),
        "functions": [dict(function=names[name], **_figures(*row), share_of_cycles=round(_typical(row) / whole, 4))
                      for name, row in top],
        "instruction_kinds": dict(kinds.most_common()), "timing_events": dict(events.most_common()),
        "not_modelled": NOT_MODELLED, "source": SOURCE,
    }


def _stages(reads: list) -> dict | None:
    """Cycles of the stages main() times between a pair of its timer reads, grouped by the pair's call
    site and named in main.cc's order; None when main's reads do not pair up into those stages."""
    marks = [read for read in reads if read[5] == STAGE_CALLER]
    groups: dict[int, list] = {}  # call site → instructions, fixed, refills, divides, runs, timer ticks
    for start, end in zip(marks[0::2], marks[1::2]):
        group = groups.setdefault(start[6], [0] * 6)
        for i in range(4):
            group[i] += end[i] - start[i]
        group[4] += 1
        group[5] += (start[4] - end[4]) % 2 ** 32  # the timer counts down
    if len(marks) % 2 or len(groups) != len(STAGE_NAMES):
        return None
    stages = {name: dict(_figures(*group[:4]), runs=group[4], timer_ticks=group[5])
              for name, group in zip(STAGE_NAMES, groups.values())}
    measured = [sum(group[i] for group in list(groups.values())[1:]) for i in range(4)]
    stages["measured"] = _figures(*measured)  # frontend + model + recognizer: what the Nano's pace counts
    return stages


def _check(counts: TraceCounts, traced: int, instructions_per_tick: int) -> dict:
    """The trace's instructions against `-icount`'s between timer reads: whole span and worst interval,
    each within one tick when the trace is complete."""
    reads = counts.reads
    if len(reads) < 2:
        return {"trace_instructions": traced, "timer_reads": len(reads), "ok": False}
    spans = [(end[0] - start[0], ((start[4] - end[4]) % 2 ** 32) * instructions_per_tick)
             for start, end in zip(reads, reads[1:])]
    traced_span = reads[-1][0] - reads[0][0]
    icount_span = sum(counted for _, counted in spans)
    worst = max((traced_interval - counted for traced_interval, counted in spans), key=abs)
    return {"trace_instructions": traced, "timer_reads": len(reads),
            "trace_instructions_between_first_and_last_read": traced_span,
            "icount_instructions_between_first_and_last_read": icount_span,
            "difference": traced_span - icount_span, "worst_interval_difference": worst,
            "before_first_read": reads[0][0], "after_last_read": traced - reads[-1][0],
            "resolution_instructions": instructions_per_tick, "branchless_discontinuities": counts.discontinuities,
            "ok": abs(traced_span - icount_span) < instructions_per_tick and abs(worst) < instructions_per_tick}


def _demangle(names: list[str]) -> dict[str, str]:
    tool = shutil.which("arm-none-eabi-c++filt") or shutil.which("c++filt")
    if not tool or not names:
        return {name: name for name in names}
    out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    return dict(zip(names, out)) if len(out) == len(names) else {name: name for name in names}


def trace_cycles(elf: Path, timeout_s: float = 1800) -> tuple[dict, list[str]]:
    """Run `elf` on QEMU with its execution trace and price it (module docstring).

    Returns:
        the `cycles` section (`summarise`) and the program's semihosting output lines, which must equal
        those of the counted run (QEMU is deterministic under -icount).
    """
    require_tools()
    # the log goes to stdout, a pipe read as it comes; semihosting prints on stderr, kept in a file
    command = qemu_command(Path(elf), "-d", LOG_ITEMS, "-D", "/dev/stdout")
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=output, bufsize=1 << 20)
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            counts = parse_log(process.stdout)
        except Exception:
            if timer.is_alive():
                raise
            counts = None  # killed mid-line: the timeout below is the reason
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            timer.cancel()
            process.stdout.close()
        output.seek(0)
        lines = output_lines(output.read())
    if counts is None or process.returncode != 0:
        why = f"still running after {timeout_s:g} s" if process.returncode < 0 else f"exit {process.returncode}"
        raise KwsError(f"{elf}: the traced QEMU run failed ({why}): {lines[-1][:200] if lines else 'no output'}")
    return summarise(counts), lines
