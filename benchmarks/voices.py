"""Voices the embedding never heard: leave one voice family out, with EfficientWord-Net beside us.

Trains (or reuses) an embedding on each family alone and tests five-shot enrolment on the other
family; then the given embeddings (default: the shipped one, trained on every family) on each
family's test voices. The peer runs on exactly the same clips and shots. Festival and Flite voices
are reserved for an independent check and are never used here.

    python benchmarks/voices.py [--corpus-espeak DIR] [--corpus-kokoro DIR] [--epochs N] [--teacher efficientword-net]

Needs both corpora (`make corpus corpus-kokoro`) and the peer (`make distill-setup`).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from record import write_results
from toolchain.embedding.artifact import load_embedding
from toolchain.embedding.train import TrainConfig, train_embedding
from toolchain.fewshot.voices import SCORERS, VoicesConfig, evaluate_voices

WORK = Path("work/bench_voices")
GROUPS = ("in_embedding", "out_of_embedding")


def _family_embedding(name: str, corpus: Path, epochs: int, teacher: str | None) -> Path:
    out = WORK / (f"embedding-{name}-only" + ("" if teacher is None else "-distilled"))
    if not (out / "manifest.json").is_file():
        train_embedding(TrainConfig(corpus, out, epochs=epochs, seed=0, teacher=teacher,
                                    command=f"benchmarks/voices.py ({name} only, {epochs} epochs)"))
    return out


def _print(title: str, report: dict) -> None:
    print(f"\n{title}  (unseen family: {report['unseen_family']})")
    print(f"{'scorer':10s} {'group':17s} {'words':>5s} {'EER':>7s} {'FAR@95':>7s} {'F1':>6s} {'TPR':>6s} {'FAR':>6s}")
    for scorer in SCORERS:
        for group in GROUPS:
            s = report["summary"][scorer][group]
            if s.get("words"):
                print(f"{scorer:10s} {group:17s} {s['words']:5d} {s['eer']:7.3f} {s['far_at_95_tpr']:7.3f} {s['f1']:6.3f} "
                      f"{s['tpr']:6.3f} {s['far']:6.3f}")


def _flat(prefix: str, report: dict) -> dict:
    return {f"{prefix}_{scorer}_{group}_{key}": value for scorer in SCORERS for group in GROUPS
            for key, value in report["summary"][scorer][group].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-espeak", type=Path, default=Path("work/corpus"))
    parser.add_argument("--corpus-kokoro", type=Path, default=Path("work/corpus-kokoro"))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--teacher", default=None, help="Distil the family-only embeddings too.")
    parser.add_argument("--embedding", type=Path, action="append", default=None,
                        help="Embeddings trained on every family, tested on each family's test voices (default: shipped).")
    parser.add_argument("--targets-per-group", type=int, default=12)
    args = parser.parse_args()
    config = VoicesConfig(targets_per_group=args.targets_per_group)
    corpora = {"espeak": args.corpus_espeak, "kokoro": args.corpus_kokoro}
    figures, reports = {}, {}
    for trained, tested in (("espeak", "kokoro"), ("kokoro", "espeak")):
        embedding = load_embedding(_family_embedding(trained, corpora[trained], args.epochs, args.teacher))
        report = evaluate_voices(embedding, corpora[tested], config)
        _print(f"trained on {trained} only, enrolled and tested on {tested} voices", report)
        figures |= _flat(f"lofo_{trained}_to_{tested}", report)
        reports[f"{trained}_to_{tested}"] = report
    for path in args.embedding or [None]:
        embedding = load_embedding(path)
        for family, corpus in corpora.items():
            report = evaluate_voices(embedding, corpus, config)
            _print(f"{embedding.path} on {family} test voices", report)
            figures |= _flat(f"shipped_on_{family}", report)
            reports[f"shipped_on_{family}"] = report
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "reports.json").write_text(json.dumps(reports, indent=1))
    write_results("voices", figures)


if __name__ == "__main__":
    main()
