"""Voices the embedding never heard: leave one voice family out, with EfficientWord-Net beside us.

For each family: an embedding trained on that family alone (given with --family-embedding, else
trained here, at most --epochs) is enrolled and tested on the other family's test voices. Then the
given embeddings (default: the shipped two) on each family's test voices, plus their `kws
eval-fewshot` F1 on the espeak corpus (the same function and settings as benchmarks/fewshot.py, so
the same measurement). The peer runs on exactly the same clips and shots. Festival and Flite voices
are reserved for an independent check and are never used here.

    python benchmarks/voices.py --corpus-espeak DIR --corpus-kokoro DIR [--corpus-kokoro DIR2 …]
        [--family-embedding espeak=DIR] [--family-embedding kokoro=DIR] [--embedding DIR …]
        [--family-embedding espeak+mbrola=DIR …] [--ablation NAME=DIR …]

An embedding given as espeak+mbrola=DIR (trained on espeak-ng and MBROLA) is tested on Kokoro voices,
kokoro+mbrola=DIR on espeak-ng voices: what a further training family buys on the family left out,
beside the one-family run and the peer on the same clips and shots.

An ablation (--ablation plain=DIR) is a one-family embedding trained with part of the recipe (no
teacher, no room augmentation, …). It is tested on the other family's voices with the same targets,
shots and negatives as that family's recipe run above it, whose peer figures it shares: what each
part of the recipe buys, measured in one run.

A family's several corpora (e.g. Kokoro's embedding languages and its held-out languages) are read
together; the first one trains that family's embedding when none is given. Needs the peer
(`make distill-setup`).
"""
from __future__ import annotations

import argparse
import dataclasses
import resource
from pathlib import Path

from record import RESULTS_DIR, write_results
from toolchain.artifacts import write_json_atomic
from toolchain.embedding.artifact import DEFAULT_EMBEDDING, Embedding, load_embedding
from toolchain.fewshot.evaluate import EvalConfig, evaluate_fewshot
from toolchain.fewshot.head import head_settings
from toolchain.fewshot.voices import GROUPS, SCORERS, VoicesConfig, embedding_record, evaluate_voices

WORK = Path("work/bench_voices")
FAMILIES = ("espeak", "kokoro")
# families an embedding may also be trained on here, never tested on (their corpora are not read)
TRAINING_ONLY_FAMILIES = ("mbrola",)
SHIPPED = (DEFAULT_EMBEDDING, DEFAULT_EMBEDDING.parent / "embedding-small")
FEWSHOT_CONFIG = EvalConfig(targets_per_group=8, baselines=False)  # benchmarks/fewshot.py's, without the baselines' figures


def _family_embedding(name: str, corpus: Path, epochs: int, architecture: str, teacher: str | None) -> Path:
    from toolchain.embedding.train import TrainConfig, train_embedding

    out = WORK / (f"embedding-{name}-only-{architecture}" + ("" if teacher is None else "-distilled"))
    if not (out / "manifest.json").is_file():
        train_embedding(TrainConfig(corpus, out, epochs=epochs, seed=0, architecture=architecture, teacher=teacher,
                                    command=f"benchmarks/voices.py ({name} only, {epochs} epochs)"))
    return out


def _ci(values: list[float]) -> str:
    return f"[{100 * values[0]:.2f}, {100 * values[1]:.2f}]"


def print_report(title: str, report: dict) -> None:
    """One table: per scorer and group, sample sizes, mean and pooled EER with 95 % intervals, FAR@95 % TPR, F1."""
    print(f"\n{title}  (unseen family: {report['unseen_family']}; EER in %, [95 % bootstrap interval over targets])")
    for group in GROUPS:
        t = report["targets"][group]
        if t["words"]:
            print(f"  {group}: {t['words']} targets of {t['candidates']} words"
                  f"{' (words the embedding was trained on)' if t['trained_words'] else ''}")
    print(f"{'scorer':10s} {'group':17s} {'words':>5s} {'pos':>5s} {'neg':>6s} {'EER mean':>8s} {'interval':>15s} "
          f"{'EER pool':>8s} {'interval':>15s} {'FAR@95':>7s} {'thr':>5s} {'F1':>6s} {'TPR':>6s} {'FAR':>6s}")
    for scorer in SCORERS:
        for group in GROUPS:
            s = report["summary"][scorer][group]
            if s.get("words"):
                threshold = report["thresholds"][scorer]
                print(f"{scorer:10s} {group:17s} {s['words']:5d} {s['positives']:5d} {s['negatives']:6d} "
                      f"{100 * s['eer_mean']:8.2f} {_ci(s['eer_mean_ci95']):>15s} {100 * s['eer_pooled']:8.2f} "
                      f"{_ci(s['eer_pooled_ci95']):>15s} {s['far_at_95_tpr_pooled']:7.3f} "
                      f"{threshold if isinstance(threshold, float) else 'cal':>5} {s['f1']:6.3f} {s['tpr']:6.3f} {s['far']:6.3f}")


def flat_figures(prefix: str, report: dict) -> dict:
    """`report`'s group summaries as flat `<prefix>_<scorer>_<group>_<figure>` numbers, and what was measured."""
    e = report["embedding"]
    figures = {f"{prefix}_embedding_hash": e["embedding_hash"], f"{prefix}_manifest_sha256": e["manifest_sha256"][:16],
               f"{prefix}_architecture": e["architecture"], f"{prefix}_voice_families": ",".join(e["voice_families"]),
               f"{prefix}_teacher_name": (e["teacher"] or {}).get("name"),
               f"{prefix}_distill_weight": (e["teacher"] or {}).get("distill_weight", 0.0),
               f"{prefix}_room_augment": e.get("room_augment"), f"{prefix}_word_loss": e.get("word_loss"),
               f"{prefix}_unseen_family": report["unseen_family"]}
    for group in GROUPS:
        figures[f"{prefix}_{group}_trained_words"] = report["targets"][group]["trained_words"]
    for scorer in SCORERS:
        for group in GROUPS:
            for key, value in report["summary"][scorer][group].items():
                if isinstance(value, list):
                    figures |= {f"{prefix}_{scorer}_{group}_{key}_low": value[0], f"{prefix}_{scorer}_{group}_{key}_high": value[1]}
                else:
                    figures[f"{prefix}_{scorer}_{group}_{key}"] = value
    return figures


def write_voices_results(name: str, figures: dict, reports: dict, work: Path, results_dir: Path) -> None:
    """The run's CPU time into `figures`, the full reports under `work`, the figures as results/<name>.json."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures.update(head_settings())  # how the head was made: its figures move with it
    figures["cpu_s"] = round(usage.ru_utime + usage.ru_stime)
    print(f"\nCPU time {figures['cpu_s']} s")
    write_json_atomic(work / "reports.json", reports)
    write_results(name, figures, results_dir)


def _ablation_of(spec: str) -> tuple[str, Path]:
    name, _, path = spec.partition("=")
    if not name.replace("-", "").isalnum() or not path:
        raise SystemExit(f"error: --ablation {spec!r}: expected NAME=DIR, NAME letters, digits and dashes")
    return name.replace("-", "_"), Path(path)


def _targets(report: dict) -> list[str]:
    return [f"{row['language']}/{row['word']}" for row in report["per_word"]]


def _family_of(spec: str) -> tuple[str, Path]:
    """FAMILY=DIR, or FAMILY+EXTRA…=DIR: an embedding trained on those families, tested on the one of
    FAMILIES it left out (e.g. espeak+mbrola=DIR is tested on Kokoro voices)."""
    families, _, path = spec.partition("=")
    trained = families.split("+")
    left_out = [f for f in FAMILIES if f not in trained]
    if not path or len(left_out) != 1 or not set(trained) <= set(FAMILIES + TRAINING_ONLY_FAMILIES) or len(set(trained)) != len(trained):
        raise SystemExit(f"error: --family-embedding {spec!r}: expected FAMILY=DIR or FAMILY+{'|'.join(TRAINING_ONLY_FAMILIES)}=DIR "
                         f"with FAMILY one of {', '.join(FAMILIES)}")
    return families, Path(path)


def _left_out(families: str) -> str:
    return next(f for f in FAMILIES if f not in families.split("+"))


def _same_targets(config: VoicesConfig, embeddings: dict[str, Embedding]) -> dict[str, VoicesConfig]:
    """Per tested family, `config` with targets outside every compared embedding's vocabulary: a run with
    MBROLA has a larger vocabulary than the one-family run beside it, and without this the two (and
    their peer figures) would enrol different words."""
    for trained, embedding in embeddings.items():
        recorded = embedding_record(embedding)["voice_families"]
        if recorded and sorted(recorded) != sorted(trained.split("+")):  # before any evaluation, not after
            raise SystemExit(f"error: --family-embedding {trained}={embedding.path}: that embedding was trained on {','.join(recorded)}")
    configs = {}
    for tested in {_left_out(trained) for trained in embeddings}:
        vocabulary = {f"{language}/{word}" for trained, embedding in embeddings.items() if _left_out(trained) == tested
                      for language, words in embedding.manifest["vocabulary"].items() for word in words}
        configs[tested] = dataclasses.replace(config, avoid_words=tuple(sorted(vocabulary)))
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-espeak", type=Path, action="append", help="espeak-ng corpus (repeatable; default work/corpus)")
    parser.add_argument("--corpus-kokoro", type=Path, action="append", help="Kokoro corpus (repeatable; default work/corpus-kokoro)")
    parser.add_argument("--family-embedding", action="append", default=[], metavar="FAMILY=DIR",
                        help="an embedding trained on FAMILY alone (else trained here), or on FAMILY+mbrola (tested on the family it left out)")
    parser.add_argument("--lofo", action="append", choices=FAMILIES, help="families whose family-only embedding to test (default: both)")
    parser.add_argument("--epochs", type=int, default=40, help="at most this many epochs for a family-only embedding trained here")
    parser.add_argument("--architecture", default=None, help="of a family-only embedding trained here (default: the first --embedding's)")
    parser.add_argument("--teacher", default=None, help="distil a family-only embedding trained here")
    parser.add_argument("--embedding", type=Path, action="append", help="embeddings trained on every family (default: the shipped two)")
    parser.add_argument("--no-shipped", action="store_true", help="only the leave-one-family-out runs")
    parser.add_argument("--no-lofo", action="store_true", help="only the runs of --embedding")
    parser.add_argument("--ablation", action="append", default=[], metavar="NAME=DIR",
                        help="a one-family embedding with part of the recipe, beside that family's run (repeatable)")
    parser.add_argument("--targets-per-group", type=int, default=VoicesConfig.targets_per_group, help="0: every word")
    parser.add_argument("--threshold", type=float, default=VoicesConfig.threshold)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where voices.json goes")
    parser.add_argument("--work", type=Path, default=WORK, help="where reports.json and the eval-fewshot runs go")
    args = parser.parse_args()
    config = VoicesConfig(targets_per_group=args.targets_per_group or None, threshold=args.threshold)
    corpora = {"espeak": args.corpus_espeak or [Path("work/corpus")], "kokoro": args.corpus_kokoro or [Path("work/corpus-kokoro")]}
    given = dict(_family_of(spec) for spec in args.family_embedding)
    shipped = [] if args.no_shipped else (args.embedding or list(SHIPPED))
    figures, reports = {"threshold": config.threshold, "targets_per_group": config.targets_per_group or 0}, {}
    runs = [] if args.no_lofo else [*(args.lofo or FAMILIES), *(families for families in given if "+" in families)]
    for trained in runs:
        if trained not in given:
            architecture = args.architecture or load_embedding(shipped[0] if shipped else None).manifest["architecture"]
            given[trained] = _family_embedding(trained, corpora[trained][0], args.epochs, architecture, args.teacher)
    lofo_embeddings = {trained: load_embedding(given[trained]) for trained in runs}
    same_targets = _same_targets(config, lofo_embeddings)
    for trained in runs:
        tested = _left_out(trained)
        report = evaluate_voices(lofo_embeddings[trained], corpora[tested], same_targets[tested])
        print_report(f"trained on {trained.replace('+', ' + ')}{'' if '+' in trained else ' only'} ({given[trained]}), enrolled and tested on {tested} voices", report)
        figures |= flat_figures(f"lofo_{trained}_to_{tested}", report)
        reports[f"lofo_{trained}_to_{tested}"] = report
    for name, path in map(_ablation_of, args.ablation):
        embedding = load_embedding(path)
        trained = embedding_record(embedding)["voice_families"]
        tested = next((f for f in FAMILIES if trained != [f]), None) if len(trained) == 1 else None
        recipe = reports.get(f"lofo_{trained[0]}_to_{tested}") if tested else None
        if recipe is None:
            raise SystemExit(f"error: --ablation {name}={path}: trained on {trained or 'no recorded family'}; an ablation "
                             "needs one voice family whose leave-one-family-out run is in this run")
        report = evaluate_voices(embedding, corpora[tested], dataclasses.replace(same_targets[tested], peer=False))
        if _targets(report) != _targets(recipe):
            raise SystemExit(f"error: --ablation {name}: its targets differ from the {trained[0]}-only run's "
                             "(another vocabulary?); the rows would not be comparable")
        print_report(f"ablation {name}: {path}, trained on {trained[0]} only, tested on {tested} voices", report)
        figures |= flat_figures(f"ablation_{name}_{trained[0]}_to_{tested}", report)
        reports[f"ablation_{name}_{trained[0]}_to_{tested}"] = report
    for path in shipped:
        embedding = load_embedding(path)
        for family in FAMILIES:
            report = evaluate_voices(embedding, corpora[family], config)
            print_report(f"{path} on {family} test voices", report)
            figures |= flat_figures(f"{Path(path).name}_on_{family}", report)
            reports[f"{Path(path).name}_on_{family}"] = report
        fewshot = evaluate_fewshot(embedding, corpora["espeak"][0], args.work / f"eval-fewshot-{Path(path).name}", FEWSHOT_CONFIG,
                                   progress=False)
        for group in GROUPS:
            print(f"{path} eval-fewshot on espeak test voices, {group}: F1@{FEWSHOT_CONFIG.threshold:g} {fewshot[group]['f1']:.3f} "
                  f"({fewshot[group]['words']} words)")
            figures |= {f"{Path(path).name}_eval_fewshot_{group}_{key}": fewshot[group][key] for key in ("words", "f1", "frr", "far")}
    write_voices_results("voices", figures, reports, args.work, args.results_dir)


if __name__ == "__main__":
    main()
