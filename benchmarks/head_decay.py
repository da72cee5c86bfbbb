"""The few-shot head's weight decay, compared on dev voices of the families the embedding knows.

The value in toolchain/fewshot/head.py (HEAD_L2) is chosen here, never on Pico (benchmarks/pico_voices.py)
or on a stream: five-shot enrolment with the shipped embedding on espeak-ng and Kokoro test voices
(the protocol of benchmarks/voices.py: new words where there are any, shots from training voices,
positives from other test voices, every same-language test clip and 100 other-language clips and
silence as negatives), one run per decay, same targets, shots and negatives. The pooled EER (one
threshold over every target, as a device has) is the figure that moved.

    python benchmarks/head_decay.py [--decays 0.0001,0.001,0.01,0.03,0.1] [--targets-per-group 16]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from record import write_results
from toolchain.embedding.artifact import DEFAULT_EMBEDDING, load_embedding
from toolchain.fewshot.head import HEAD_L2, head_settings
from toolchain.fewshot.voices import GROUPS, VoicesConfig, evaluate_voices

DEV_CORPORA = {"espeak": [Path("work/corpus")],  # `make corpus`, `make corpus-kokoro`
               "kokoro": [Path("work/corpus-kokoro"), Path("work/corpus-kokoro-heldout-v24")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding", type=Path, default=DEFAULT_EMBEDDING)
    parser.add_argument("--decays", default="0.0001,0.001,0.01,0.03,0.1", help="comma-separated weight decays")
    parser.add_argument("--targets-per-group", type=int, default=16)
    args = parser.parse_args()
    decays = [float(d) for d in args.decays.split(",")]
    embedding = load_embedding(args.embedding)
    figures = {**head_settings(),  # how the head was made (the README names it), only its decay swept below
               "embedding_hash": embedding.hash, "shipped_head_l2": HEAD_L2, "targets_per_group": args.targets_per_group}
    print(f"{'voices':7s} {'decay':>7s}  " + "  ".join(f"{g + ' pooled / mean EER':>36s}" for g in GROUPS))
    for family, corpora in DEV_CORPORA.items():
        for decay in decays:
            config = VoicesConfig(targets_per_group=args.targets_per_group, peer=False, head_l2=decay)
            head = evaluate_voices(embedding, corpora, config, progress=False)["summary"]["head"]
            cells = []
            for group in GROUPS:
                s = head[group]
                for key in ("eer_pooled", "eer_mean", "f1"):
                    figures[f"{family}_l2_{decay:g}_{group}_{key}"] = s[key]
                cells.append(f"{100 * s['eer_pooled']:17.2f} % / {100 * s['eer_mean']:.2f} %")
            print(f"{family:7s} {decay:7g}  " + "  ".join(f"{c:>36s}" for c in cells), flush=True)
    write_results("head_decay", figures)


if __name__ == "__main__":
    main()
