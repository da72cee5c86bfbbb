"""`make demo`: the whole path on the shipped embedding, from five recordings to a firmware project.

A Portuguese word (a language the embedding never saw) is enrolled from five synthetic recordings,
converted to int8, exported for both boards and checked float vs TFLM vs LiteRT on other voices.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import click

from toolchain.convert.keyword_model import convert_keyword_model, report_markdown
from toolchain.corpus.mswc import read_mswc
from toolchain.corpus.synth import SynthConfig, synthesise
from toolchain.export.firmware import export_firmware
from toolchain.fewshot.enroll import enroll
from toolchain.simulate.clips import simulate

DEMO_LANGUAGE = "pt"
DEMO_SEED = 7


def run_demo(work: Path, keyword_index: int = 0, shots: int = 5, force: bool = False) -> dict:
    """Run the whole path in `work`; `force` lets it replace what an earlier demo left there."""
    work = Path(work)
    corpus = work / "demo_corpus"
    click.secho("1/6 synthesising a Portuguese test corpus (espeak-ng, MSWC layout)", bold=True)
    synthesise(SynthConfig((DEMO_LANGUAGE,), None, 60, DEMO_SEED), corpus)
    clips = read_mswc(corpus).clips
    keyword = sorted({c.label for c in clips}, key=[c.label for c in clips].index)[keyword_index]
    shot_dir = work / "shots" / keyword
    shutil.rmtree(shot_dir, ignore_errors=True)
    shot_dir.mkdir(parents=True)
    for clip in [c for c in clips if c.label == keyword and c.split == "train"][:shots]:
        shutil.copy(clip.path, shot_dir / clip.path.name)
    click.secho(f"2/6 enrolling '{keyword}' from {shots} recordings with the shipped embedding", bold=True)
    manifest = enroll([(keyword, shot_dir)], work / "keyword_model", force=force)
    click.echo(f"    labels {manifest['labels']}, {manifest['training']['wall_time_s']} s")
    click.secho("3/6 converting to full-integer int8", bold=True)
    report = convert_keyword_model(work / "keyword_model", work / "converted", force=force)
    click.echo(report_markdown(report).split("| op |")[0])
    click.secho("4/6 exporting C arrays and firmware projects", bold=True)
    for board in ("nano33ble", "cortex-m"):
        summary = export_firmware(work / "converted", board, work / "firmware" / board,
                                  pyocd_target="nrf52840" if board == "cortex-m" else None, force=force)
        realtime = summary["realtime"]
        pace = (f", inference every {realtime['inference_stride_ms']} ms (estimated {realtime['latency_ms_estimate']} ms "
                f"per inference on {realtime['core']})" if realtime["slowed_down"] else "")
        click.echo(f"    {board}: {summary['project_dir']}{pace}")
    click.secho("5/6 simulating float vs int8 (TFLM) vs int8 (LiteRT) on voices the shots never used", bold=True)
    result = simulate(work / "converted", corpus, work / "simulate" / "report.json", progress=True, force=force)
    click.echo(result["table"])
    click.secho("6/6 done: flash with `kws flash " + str(work / "firmware" / "nano33ble") + " --board nano33ble`", bold=True)
    return result
