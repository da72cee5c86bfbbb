"""`kws`: parse arguments, call one library function, print. No logic lives here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from toolchain.errors import KwsError


class _Group(click.Group):
    """Turn a KwsError into its one line on stderr and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KwsError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="kws-toolchain")
def main() -> None:
    """Few-shot keyword spotting for microcontrollers."""


def _print_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@main.command()
@click.option("--languages", default="embedding", show_default=True, help="Comma list; 'embedding', 'heldout', 'all' name groups.")
@click.option("--words-per-language", type=int, default=None, help="First N words of each list (default: all).")
@click.option("--variants", type=int, default=24, show_default=True, help="Utterances per word (voices × speed × pitch × amplitude).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=int, default=None, help="Processes (default: all cores, at most 2).")
@click.option("--out", type=click.Path(path_type=Path), required=True)
def synth(languages, words_per_language, variants, seed, workers, out):
    """Synthesise an MSWC-layout corpus with espeak-ng (resumes if interrupted)."""
    from toolchain.corpus.languages import parse_languages
    from toolchain.corpus.synth import SynthConfig, synthesise

    config = SynthConfig(tuple(parse_languages(languages)), words_per_language, variants, seed)
    summary = synthesise(config, out, workers)
    click.echo(f"wrote {summary['clips']} clips in {len(config.languages)} languages to {out}")


def read_corpus(corpus: Path, corpus_format: str, strict: bool = False, label: str | None = None):
    """Any of the three corpus kinds → ScanResult."""
    from toolchain.corpus.mswc import read_mswc
    from toolchain.corpus.speech_commands import read_speech_commands
    from toolchain.corpus.user_folder import read_user_folder

    if corpus_format == "auto":
        if any(Path(corpus).glob("*/clips")):
            corpus_format = "mswc"
        elif (Path(corpus) / "validation_list.txt").exists():
            corpus_format = "speech-commands"
        else:
            corpus_format = "folder"
    if corpus_format == "mswc":
        return read_mswc(corpus, strict=strict)
    if corpus_format == "speech-commands":
        return read_speech_commands(corpus)
    return read_user_folder(corpus, label=label)


@main.command()
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--format", "corpus_format", type=click.Choice(["auto", "mswc", "speech-commands", "folder"]), default="auto", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output .npz (int8 features, labels, splits, frontend).")
@click.option("--strict", is_flag=True, help="Fail on the first bad file instead of skipping and listing it.")
@click.option("--cache", type=click.Path(path_type=Path), default=None, help="Feature cache folder (default ~/.cache/kws/features or $KWS_CACHE).")
def features(corpus, corpus_format, out, strict, cache):
    """Turn a corpus (MSWC, Speech Commands or a folder) into cached int8 49×40 features."""
    from toolchain.features import DEFAULT_CACHE, featurise, save_feature_set

    scan = read_corpus(corpus, corpus_format, strict)
    feature_set = featurise(scan.clips, cache_dir=cache or DEFAULT_CACHE, strict=strict)
    feature_set.skipped = scan.skipped + feature_set.skipped
    save_feature_set(feature_set, out)
    for path, reason in feature_set.skipped:
        click.echo(f"skipped: {reason}", err=True)
    click.echo(f"wrote {len(feature_set.records)} feature maps {feature_set.features.shape[1:]} int8 to {out}; skipped {len(feature_set.skipped)}")
