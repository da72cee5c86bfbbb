"""A voice family no embedding here was trained on: SVOX Pico, with EfficientWord-Net beside us.

benchmarks/voices.py leaves one of the two training families out; the shipped embeddings have heard
both, so there they are only tested on voices of families they know. Pico (corpus/pico.py) is a third
family that nothing trains or tunes on: here every embedding given — the shipped two (espeak-ng +
Kokoro) and the one-family embeddings of `make bench-voices` — is enrolled five-shot and tested on
Pico's test voices, all on the same target words (none in any of their vocabularies), shots and
negatives, the peer on the same clips. Pico speaks en, de, es, fr and it, all embedding languages, so
there is one language group: new words in the embedding's languages.

    python benchmarks/pico_voices.py --corpus work/corpus-pico [--embedding DIR …] [--targets N]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from record import RESULTS_DIR
from toolchain.embedding.artifact import DEFAULT_EMBEDDING, load_embedding
from toolchain.fewshot.voices import VoicesConfig, evaluate_voices
from voices import flat_figures, print_report, write_voices_results

WORK = Path("work/bench_pico")
DEFAULT_EMBEDDINGS = (DEFAULT_EMBEDDING, DEFAULT_EMBEDDING.parent / "embedding-small",
                      Path("work/bench_voices/embedding-espeak-only-recipe"), Path("work/bench_voices/embedding-kokoro-only-recipe"))
GROUP = "in_embedding"


def _name(path: Path) -> str:
    return path.name.replace("-", "_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("work/corpus-pico"), help="`kws synth --engine pico` corpus")
    parser.add_argument("--embedding", type=Path, action="append",
                        help="embeddings to test (default: the shipped two and bench-voices' espeak-only and kokoro-only recipe runs)")
    parser.add_argument("--targets", type=int, default=0, help="target words, spread over Pico's five languages (default 0: every new word)")
    parser.add_argument("--threshold", type=float, default=VoicesConfig.threshold)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where pico_voices.json goes")
    parser.add_argument("--work", type=Path, default=WORK, help="where reports.json goes")
    args = parser.parse_args()
    paths = args.embedding or list(DEFAULT_EMBEDDINGS)
    embeddings = [load_embedding(path) for path in paths]
    if len({_name(Path(p)) for p in paths}) != len(paths):
        raise SystemExit("error: two --embedding folders share a name; their figures would collide")
    avoid = tuple(sorted({f"{lang}/{word}" for e in embeddings for lang, words in e.manifest["vocabulary"].items() for word in words}))
    config = VoicesConfig(targets_per_group=args.targets or None, threshold=args.threshold, avoid_words=avoid)
    figures, reports, targets = {"threshold": config.threshold, "targets": args.targets}, {}, None
    for path, embedding in zip(paths, embeddings):
        report = evaluate_voices(embedding, [args.corpus], config)
        if report["corpus_voice_families"] != ["pico"]:
            raise SystemExit(f"error: {args.corpus}: voices of {report['corpus_voice_families']}, not Pico's alone")
        if not report["unseen_family"]:
            raise SystemExit(f"error: {path} was trained on Pico voices; this benchmark is for a family it never heard")
        chosen = [f"{row['language']}/{row['word']}" for row in report["per_word"]]
        if targets is not None and chosen != targets:
            raise SystemExit(f"error: {path}: other targets than the first embedding's; the rows would not be comparable")
        targets = chosen
        print_report(f"{path} (trained on {', '.join(report['embedding_voice_families'])}) on Pico test voices", report)
        figures |= flat_figures(f"{_name(Path(path))}_on_pico", report)
        reports[f"{_name(Path(path))}_on_pico"] = report
    figures["target_words"] = len(targets or [])
    write_voices_results("pico_voices", figures, reports, args.work, args.results_dir)


if __name__ == "__main__":
    main()
