"""The demo keyword (`kws demo`'s word, shots and test corpus in work/demo) on any embedding, converted.

Benchmarks that compare embeddings enrol the demo's own shots on the embedding under test, so their
figures are of the same keyword, the same shots and the same test stream whichever embedding runs.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from toolchain.convert.keyword_model import convert_keyword_model
from toolchain.embedding.artifact import DEFAULT_EMBEDDING
from toolchain.fewshot.enroll import enroll

DEMO = Path("work/demo")
DEMO_CORPUS = DEMO / "demo_corpus"


def ensure_demo() -> None:
    """work/demo, built by `kws demo` (on the shipped embedding) when an earlier run has not left it."""
    if not (DEMO / "keyword_model" / "manifest.json").is_file() or not DEMO_CORPUS.is_dir():
        subprocess.run([sys.executable, "-m", "toolchain.cli", "demo", "--work", str(DEMO), "--force"], check=True)


def demo_keyword_on(embedding: Path, out: Path) -> dict:
    """Enrol the demo keyword from the demo's shots on `embedding` into `out`/keyword_model and convert it
    to `out`/converted (both replaced: the figures are of today's code); returns the conversion report."""
    ensure_demo()
    keyword_manifest = json.loads((DEMO / "keyword_model" / "manifest.json").read_text())
    (keyword, info), = keyword_manifest["keywords"].items()
    shots = Path(info["source"][0]).parent
    enroll([(keyword, shots)], out / "keyword_model", embedding, force=True)
    return convert_keyword_model(out / "keyword_model", out / "converted", force=True)


def embedding_figures(embedding: Path) -> dict:
    """Which embedding the figures are of: its path (relative to the repository when inside), hash and architecture."""
    manifest = json.loads((Path(embedding) / "manifest.json").read_text())
    path = Path(embedding).resolve()
    try:
        path = path.relative_to(Path.cwd())
    except ValueError:
        pass
    return {"embedding": str(path), "embedding_hash": manifest["embedding_hash"], "embedding_architecture": manifest["architecture"],
            "embedding_is_shipped": path.resolve() == Path(DEFAULT_EMBEDDING).resolve()}


def embedding_argument(parser) -> None:
    """The `--embedding` option every embedding-selectable benchmark takes."""
    parser.add_argument("--embedding", type=Path, default=Path(DEFAULT_EMBEDDING),
                        help="embedding to enrol the demo keyword on (default: the shipped models/embedding)")
