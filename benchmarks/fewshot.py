"""Few-shot F1/FAR/FRR of the shipped embedding against both baselines, and enrolment time."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import write_results
from toolchain.corpus.mswc import read_mswc
from toolchain.embedding.artifact import load_embedding
from toolchain.fewshot.enroll import enroll
from toolchain.fewshot.evaluate import EvalConfig, evaluate_fewshot

CORPUS = Path("work/corpus")  # `make corpus`: what the shipped embedding was trained on
SHOTS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the full synthetic corpus (synthesised here when absent)")
    corpus = parser.parse_args().corpus
    if not (corpus / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "toolchain.cli", "synth", "--languages", "all", "--variants", "40", "--out", str(corpus)], check=True)
    embedding = load_embedding()
    clips = [c for c in read_mswc(corpus, languages=["pt"]).clips if c.split == "train"]
    word = clips[0].label
    with tempfile.TemporaryDirectory() as tmp:
        shots = Path(tmp) / word
        shots.mkdir()
        for clip in [c for c in clips if c.label == word][:SHOTS]:
            shutil.copy(clip.path, shots / clip.path.name)
        started = time.perf_counter()
        enroll([(word, shots)], Path(tmp) / "kw")
        enroll_s = time.perf_counter() - started
    report = evaluate_fewshot(embedding, corpus, Path("work/bench_fewshot"), EvalConfig(targets_per_group=8), progress=True)
    print(f"enrol 1 keyword from {SHOTS} shots: {enroll_s:.1f} s (includes loading the embedding)")
    for group in ("in_embedding", "out_of_embedding"):
        s = report[group]
        b = {name: report["baselines"][name][group]["f1"] for name in report["baselines"]}
        print(f"{group:17s} words {s['words']:3d}  F1@0.8 {s['f1']:.3f}  FRR {s['frr']:.3f}  FAR {s['far']:.3f}  "
              f"| from-scratch F1 {b['from_scratch']:.3f}  DTW F1 {b['dtw']:.3f}")
    print(json.dumps({g: report[g] for g in ("in_embedding", "out_of_embedding")}))
    figures = {"enrol_shots": SHOTS, "enrol_s": round(enroll_s, 1), "threshold": report["config"]["threshold"]}
    for group in ("in_embedding", "out_of_embedding"):
        figures |= {f"{group}_{key}": report[group][key] for key in ("words", "f1", "frr", "far")}
        figures |= {f"{group}_{name}_f1": report["baselines"][name][group]["f1"] for name in report["baselines"]}
    write_results("fewshot", figures)


if __name__ == "__main__":
    main()
