"""Which languages train the embedding and which are kept out of it, and their word lists."""
from __future__ import annotations

from pathlib import Path

from toolchain.errors import KwsError

# The nine languages of Mazumder et al. 2021; Kinyarwanda (rw) has no espeak-ng voice, so Swahili
# (sw), a Bantu language of the same East African area with a similar open-syllable structure, stands in.
EMBEDDING_LANGUAGES = ("ca", "de", "en", "es", "fa", "fr", "it", "nl", "sw")
# Never used to train the embedding: the "languages it never saw" of the few-shot experiment.
HELDOUT_LANGUAGES = ("pt", "pl", "cs", "sv", "tr", "id", "fi", "hu", "ro", "da")

WORDLIST_DIR = Path(__file__).parent / "wordlists"


def word_list(language: str) -> list[str]:
    path = WORDLIST_DIR / f"{language}.txt"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in WORDLIST_DIR.glob("*.txt")))
        raise KwsError(f"{path}: no word list for language {language!r} (have: {known})")
    return [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]


def parse_languages(text: str) -> list[str]:
    """'en,de' → ['en', 'de']; 'embedding' and 'heldout' name the two groups."""
    groups = {"embedding": EMBEDDING_LANGUAGES, "heldout": HELDOUT_LANGUAGES, "all": EMBEDDING_LANGUAGES + HELDOUT_LANGUAGES}
    out: list[str] = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        out += list(groups.get(item, (item,)))
    return list(dict.fromkeys(out))
