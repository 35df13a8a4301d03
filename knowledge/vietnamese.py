"""Vietnamese text handling: NFC and tone-mark normalisation, diacritic folding, terms, abbreviations.

Everything here is applied alike to documents and to questions, so that "hoà" meets "hòa", "UBND" meets
"Ủy ban nhân dân" and "han nop bao cao" meets "hạn nộp báo cáo".
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng
_WORD = re.compile(r"\w+", re.UNICODE)
# Open syllables whose tone sits on the first vowel in the form used by the national legal database:
# hòa, khỏe, thủy (not hoà, khoẻ, thuỷ). "qu" + y keeps the tone on y (quý), so it is excluded.
_OPEN_DIPHTHONG = re.compile(r"(?<![qQ])([oOuU])([aAeEyY])$")
_TONED_AEY = "àáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴ"
# The words _place_tone may change: ending in o/u + a toned plain a, e or y.
_TONE_ON_SECOND = re.compile(rf"(?<!\w)\w*?(?<![qQ])[oOuU][{_TONED_AEY}](?!\w)")
_SPACES = re.compile(r"[ \t\u200b]+")
# Blocks whose letters carry marks folding removes (Latin, Greek, Cyrillic); combining marks are dropped.
_FOLDED_BLOCKS = [(0x00C0, 0x0250), (0x0370, 0x0530), (0x1E00, 0x2000)]


def _slow_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fold_table() -> dict[int, str | None]:
    """Each marked letter of the folded blocks to its bare lower-case letter, combining marks to nothing."""
    table: dict[int, str | None] = {cp: None for cp in range(0x0300, 0x0370)}
    for start, end in _FOLDED_BLOCKS:
        for cp in range(start, end):
            bare = _slow_fold(chr(cp))
            if bare != chr(cp) and len(bare) == 1:
                table[cp] = bare
    table[ord("đ")] = "d"
    return table


_FOLD = _fold_table()


def _place_tone(word: str) -> str:
    """Move the tone of an open oa/oe/uy syllable from the second vowel to the first (hoà -> hòa)."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [ch for ch in decomposed if ch in TONE_MARKS]
    if len(tones) != 1:
        return word
    bare = "".join(ch for ch in decomposed if ch not in TONE_MARKS)
    bare_nfc = unicodedata.normalize("NFC", bare)
    match = _OPEN_DIPHTHONG.search(bare_nfc)
    if match is None:
        return word
    start = match.start(1)
    toned = bare_nfc[: start + 1] + tones[0] + bare_nfc[start + 1 :]
    return unicodedata.normalize("NFC", toned)


def normalize(text: str) -> str:
    """NFC, one spelling of Đ, tone marks placed one way (hoà -> hòa, thuỷ -> thủy), tidy spaces."""
    text = unicodedata.normalize("NFC", text).replace("\u00d0", "\u0110").replace("\u00a0", " ")
    text = _TONE_ON_SECOND.sub(lambda m: _place_tone(m.group(0)), text)
    return _SPACES.sub(" ", text)


def fold(text: str) -> str:
    """Lower-case and strip every diacritic (đ -> d): the form officials type on a phone."""
    return unicodedata.normalize("NFC", text.lower()).translate(_FOLD)


def has_diacritics(text: str) -> bool:
    """True when any letter carries a Vietnamese mark (so the text was typed with accents)."""
    return fold(text) != text.lower()


def words(text: str) -> list[str]:
    """The syllables of a text, lower-cased, accents kept."""
    return _WORD.findall(normalize(text).lower())


def _padded(text: str) -> str:
    """Folded words with a space on each side, for whole-word phrase matching."""
    return " " + fold(" ".join(_WORD.findall(normalize(text)))) + " "


@dataclass(frozen=True)
class Lexicon:
    """Abbreviations, stop-words and the thesaurus, read from `knowledge/data/*.yaml`."""

    abbreviations: dict[str, str]
    stopwords: frozenset[str]
    thesaurus: tuple[tuple[str, ...], ...] = ()
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _alternatives: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = field(
        init=False, repr=False, compare=False
    )
    _groups: tuple[tuple[tuple[str, str], ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = sorted((re.escape(fold(k)) for k in self.abbreviations), key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(" + "|".join(keys) + r")(?!\w)") if keys else re.compile(r"(?!)")
        object.__setattr__(self, "_pattern", pattern)
        alternatives: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for short, full in self.abbreviations.items():
            short_syllables = tuple(fold(w) for w in words(short))
            full_syllables = tuple(fold(w) for w in words(full))
            for seen, other in ((short_syllables, full_syllables), (full_syllables, short_syllables)):
                alternatives.setdefault(seen[0], []).append((seen, other))
        object.__setattr__(self, "_alternatives", alternatives)
        groups = tuple(tuple((phrase, _padded(phrase)) for phrase in group) for group in self.thesaurus)
        object.__setattr__(self, "_groups", groups)

    def expand(self, text: str) -> str:
        """Append the full form after each abbreviation: "UBND xã" -> "UBND (Ủy ban nhân dân) xã"."""
        text = normalize(text)
        folded = fold(text)
        if len(folded) != len(text):  # folding is one-to-one on NFC text; be safe otherwise
            return text
        pieces, last = [], 0
        for match in self._pattern.finditer(folded):
            full = self.abbreviations[match.group(1)]
            pieces.append(text[last : match.end()] + f" ({full})")
            last = match.end()
        pieces.append(text[last:])
        return "".join(pieces)

    def related(self, text: str) -> list[str]:
        """The other phrases of every thesaurus group one of whose phrases the text names."""
        words_of_text = _padded(text)
        found: list[str] = []
        for group in self._groups:
            named = {phrase for phrase, padded in group if padded in words_of_text}
            if named:
                found += [phrase for phrase, _ in group if phrase not in named]
        return list(dict.fromkeys(found))

    def alternatives(self, syllables: list[str]) -> list[list[str]]:
        """For folded syllables, the other spelling of each abbreviation or full form found in them."""
        found: list[list[str]] = []
        for i, syllable in enumerate(syllables):
            for seen, other in self._alternatives.get(syllable, ()):
                if tuple(syllables[i : i + len(seen)]) == seen:
                    found.append(list(other))
        return found


@cache
def lexicon() -> Lexicon:
    """The shipped abbreviation and stop-word lists and thesaurus."""
    data = resources.files("knowledge") / "data"
    abbreviations = yaml.safe_load((data / "abbreviations.yaml").read_text(encoding="utf-8"))
    stopwords = yaml.safe_load((data / "stopwords.yaml").read_text(encoding="utf-8"))
    thesaurus = yaml.safe_load((data / "thesaurus.yaml").read_text(encoding="utf-8"))
    return Lexicon(
        abbreviations={fold(k): normalize(v) for k, v in abbreviations.items()},
        stopwords=frozenset(normalize(w).lower() for w in stopwords),
        thesaurus=tuple(tuple(normalize(str(p)) for p in group) for group in thesaurus),
    )


def _grams(syllables: list[str | None]) -> list[str]:
    """Unigrams and adjacent bigrams ("hanh_chinh"); None marks a dropped stop-word."""
    unigrams = [s for s in syllables if s is not None]
    bigrams = [f"{a}_{b}" for a, b in itertools.pairwise(syllables) if a is not None and b is not None]
    return unigrams + bigrams


def terms(text: str, *, drop_stopwords: bool = False, expand: bool = False) -> list[str]:
    """Lexical terms: folded syllables plus folded syllable bigrams ("hanh_chinh").

    Folding makes accented and unaccented spellings identical; bigrams restore most of the precision
    that folding loses, since Vietnamese words are mostly two syllables. With `expand` (documents), each
    abbreviation also yields its full form's terms and each full form its abbreviation, so a question in
    either spelling matches; questions are not expanded, so an abbreviation does not weigh five times.
    """
    syllables = words(text)
    stop = lexicon().stopwords if drop_stopwords else frozenset()
    folded = fold(" ".join(syllables)).split(" ") if syllables else []
    grams = _grams([None if s in stop else f for s, f in zip(syllables, folded, strict=True)])
    if expand:
        for other in lexicon().alternatives(folded):
            grams.extend(_grams(list(other)))
    return grams
