"""One entry point for the three corpus kinds."""
from __future__ import annotations

from pathlib import Path

from toolchain.corpus.mswc import read_mswc
from toolchain.corpus.speech_commands import read_speech_commands
from toolchain.corpus.user_folder import read_user_folder


def read_corpus(corpus: Path, corpus_format: str, strict: bool = False, label: str | None = None):
    """Any of the three corpus kinds → ScanResult."""
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
