"""Any word as a Japanese loanword: espeak-ng's IPA → katakana, so Japanese voices can say it.

Japanese borrows a foreign word by fitting it to its morae: each consonant takes the following vowel,
a consonant with none gets an epenthetic one (`u`, `o` after t/d, `i` after ch/j), a nasal before a
consonant or at the end becomes the moraic ン, a long vowel takes ー and a long consonant the small ッ.
Vowels collapse onto a i u e o, and sounds Japanese lacks onto their usual stand-ins (θ → s, v → b,
l → r). "seven" (sˈɛvən) becomes セバン, "Fenster" (fˈɛnstɜ) フェンスタ.
"""
from __future__ import annotations

from toolchain.errors import KwsError

JAPANESE_VOWELS = "aiueo"
VOWELS = {
    "a": "a", "ɑ": "a", "ä": "a", "æ": "a", "ʌ": "a", "ɐ": "a", "ə": "a", "ɜ": "a", "ɚ": "a", "ɒ": "o",
    "e": "e", "ɛ": "e", "ɘ": "e", "ø": "e", "œ": "e", "ɶ": "e",
    "i": "i", "ɪ": "i", "y": "i", "ɨ": "i", "ʏ": "i",
    "u": "u", "ʊ": "u", "ɯ": "u", "ʉ": "u",
    "o": "o", "ɔ": "o", "ɵ": "o",
}
# IPA consonant → Japanese consonant ("" is dropped; "N" is the moraic nasal). C, J, T stand for tʃ, dʒ, ts.
CONSONANTS = {
    "p": "p", "b": "b", "β": "b", "t": "t", "d": "d", "k": "k", "q": "k", "g": "g", "ɡ": "g", "ɣ": "g",
    "c": "ky", "ɟ": "j", "m": "m", "ɱ": "m", "n": "n", "ɲ": "ny", "ŋ": "N",
    "f": "f", "v": "b", "ʋ": "w", "θ": "s", "ð": "z", "s": "s", "z": "z", "ʃ": "sh", "ʒ": "j",
    "ç": "hy", "x": "h", "χ": "h", "h": "h", "ɦ": "h", "ʔ": "",
    "r": "r", "ɾ": "r", "ɹ": "r", "ʁ": "r", "ʀ": "r", "l": "r", "ɫ": "r", "ɬ": "r", "ʎ": "ry",
    "j": "y", "ʝ": "y", "w": "w", "C": "ch", "J": "j", "T": "ts",
    "ɕ": "sh", "ʂ": "sh", "ʑ": "j", "ʐ": "j", "ʈ": "t", "ɖ": "d", "ɳ": "n", "ɭ": "r", "ɻ": "r",
}
AFFRICATES = {"tʃ": "C", "dʒ": "J", "ts": "T", "dz": "z"}
IGNORED = set("ˈˌ -1?ʲˑ") | {"\u0361", "\u032f", "\u0329", "\u031d", "\u0325", "\u0306"}
NASALISED, LONG = "\u0303", "ː"
# Japanese consonant → its katakana before a, i, u, e, o
KANA = {
    "": "ア イ ウ エ オ", "k": "カ キ ク ケ コ", "g": "ガ ギ グ ゲ ゴ", "s": "サ スィ ス セ ソ", "z": "ザ ズィ ズ ゼ ゾ",
    "t": "タ ティ トゥ テ ト", "d": "ダ ディ ドゥ デ ド", "n": "ナ ニ ヌ ネ ノ", "h": "ハ ヒ フ ヘ ホ", "b": "バ ビ ブ ベ ボ",
    "p": "パ ピ プ ペ ポ", "m": "マ ミ ム メ モ", "y": "ヤ イ ユ イェ ヨ", "r": "ラ リ ル レ ロ", "w": "ワ ウィ ウ ウェ ウォ",
    "f": "ファ フィ フ フェ フォ", "sh": "シャ シ シュ シェ ショ", "j": "ジャ ジ ジュ ジェ ジョ", "ch": "チャ チ チュ チェ チョ",
    "ts": "ツァ ツィ ツ ツェ ツォ", "ny": "ニャ ニ ニュ ニェ ニョ", "hy": "ヒャ ヒ ヒュ ヒェ ヒョ", "ky": "キャ キ キュ キェ キョ",
    "ry": "リャ リ リュ リェ リョ",
}
KANA = {consonant: row.split() for consonant, row in KANA.items()}
PALATALISED = {"k": "ky", "g": "ky", "n": "ny", "h": "hy", "r": "ry", "s": "sh", "z": "j", "t": "ch", "d": "j",
               "b": "b", "p": "p", "m": "m", "f": "f"}
EPENTHETIC = {"t": "o", "d": "o", "ch": "i", "j": "i", "ny": "i"}  # otherwise u


def _segments(ipa: str) -> list[tuple[str, str]]:
    """(kind, Japanese sound): V vowel, C consonant, L long vowel, G long consonant, N nasalised vowel."""
    for pair, stand_in in AFFRICATES.items():
        ipa = ipa.replace(pair, stand_in)
    segments: list[tuple[str, str]] = []
    for symbol in ipa:
        if symbol in VOWELS:
            segments.append(("V", VOWELS[symbol]))
        elif symbol in CONSONANTS:
            if CONSONANTS[symbol]:
                segments.append(("C", CONSONANTS[symbol]))
        elif symbol == LONG:
            if segments and segments[-1][0] in "VC":
                segments.append(("L" if segments[-1][0] == "V" else "G", ""))
        elif symbol == NASALISED:
            segments.append(("N", ""))
        elif symbol not in IGNORED:
            raise KwsError(f"loanword: IPA symbol {symbol!r} in {ipa!r} has no Japanese stand-in; add it to loanword.py")
    return segments


def katakana(ipa: str) -> str:
    """The katakana a Japanese speaker would write for a word pronounced `ipa`."""
    segments = _segments(ipa)
    out: list[str] = []
    i = 0
    while i < len(segments):
        kind, sound = segments[i]
        following = segments[i + 1] if i + 1 < len(segments) else ("", "")
        i += 1
        if kind == "V":
            out.append(KANA[""][JAPANESE_VOWELS.index(sound)])
        elif kind == "L":
            out.append("ー")
        elif kind == "N" or sound == "N":
            out.append("ン")
        elif following[0] == "G":
            out.append("ッ")  # a long consonant: the pause, then the consonant with what follows
            segments[i] = ("C", sound)
        elif following == ("C", "y") and i + 1 < len(segments) and segments[i + 1][0] == "V" and sound in PALATALISED:
            out.append(KANA[PALATALISED[sound]][JAPANESE_VOWELS.index(segments[i + 1][1])])
            i += 2
        elif sound in ("n", "m") and following[0] in ("C", ""):
            out.append("ン")
        elif kind == "C" and following[0] == "V":
            out.append(KANA[sound][JAPANESE_VOWELS.index(following[1])])
            i += 1
        elif kind == "C":
            out.append(KANA[sound][JAPANESE_VOWELS.index(EPENTHETIC.get(sound, "u"))])
    if not out:
        raise KwsError(f"loanword: no sound in {ipa!r}")
    return "".join(out)
