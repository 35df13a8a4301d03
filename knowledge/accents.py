"""Accents put back on an unaccented question, from how the loaded texts spell each syllable and pair.

"han nop bao cao kiem diem" -> "hạn nộp báo cáo kiểm điểm": each folded pair of syllables, else syllable,
takes the accented form the loaded texts use most often. The counts live in SQLite (`accent`), added when
a document is stored and subtracted when it is removed, so nothing is rebuilt and a question reads only
the keys it needs. Ties go to the form whose syllables are more frequent on their own, then to the first
in alphabetical order, so the outcome never depends on the order documents were loaded in.

A pair or syllable the loaded texts never use takes the spelling of general legal Vietnamese instead
(the shipped background's accent table, knowledge/background.py), so that the encoder reads "giấy phép"
even in a knowledge base that only holds a directive. The loaded texts' pairs come first, then the
background's pairs over syllables still open, then single syllables (loaded first): pooling both tables
would let the laws' frequent spellings override the directive's own pairs. Between the two come the pairs
of a short list of everyday phrases (knowledge/data/everyday.yaml: question words, days and times), which
questions use and legal texts seldom do: "bao nhieu" would otherwise read "bảo nhiều" from the texts'
"bảo đảm" and "nhiều". A phrase never overrides the loaded texts' pairs ("chi dao nay" stays "chỉ đạo này",
not "dạo này"; the price: "nop bao nhieu" reads "nộp báo nhiều" beside the texts' "nộp báo cáo"), but it
may share a syllable they spelt the same way ("thi co phai": "thì có" and "có phải"), and the laws' pairs
may share one it spelt.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import cache
from importlib import resources

import sqlite_utils
import yaml
from sqlite_utils.migrations import Migrations

from knowledge.background import accent_forms
from knowledge.vietnamese import fold, has_diacritics, words

migrations = Migrations("cchc.accents")


@migrations()
def m001_accent(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE accent (folded TEXT NOT NULL, accented TEXT NOT NULL, n INTEGER NOT NULL, "
        "PRIMARY KEY (folded, accented)) WITHOUT ROWID"
    )


def accent_counts(texts: Iterable[str]) -> Counter[tuple[str, str]]:
    """(folded, accented) counts of the syllables and adjacent pairs of some texts."""
    counts: Counter[tuple[str, str]] = Counter()
    for text in texts:
        syllables = words(text)
        if not syllables:
            continue
        folded = fold(" ".join(syllables)).split(" ")
        counts.update(zip(folded, syllables, strict=True))
        pairs = [f"{a} {b}" for a, b in itertools.pairwise(syllables)]
        folded_pairs = [f"{a} {b}" for a, b in itertools.pairwise(folded)]
        counts.update(zip(folded_pairs, pairs, strict=True))
    return counts


def best_forms(rows: Iterable[tuple[str, str, int]]) -> dict[str, str]:
    """For each folded key, its most frequent accented form (ties broken as the module says)."""
    found: dict[str, list[tuple[str, int]]] = {}
    unigram: dict[str, int] = {}
    for folded, accented, n in rows:
        found.setdefault(folded, []).append((accented, n))
        if " " not in accented:
            unigram[accented] = unigram.get(accented, 0) + n

    def rank(form: tuple[str, int]) -> tuple[int, int, str]:
        accented, n = form
        return (-n, -sum(unigram.get(s, 0) for s in accented.split(" ")), accented)

    return {folded: min(forms, key=rank)[0] for folded, forms in found.items()}


NO_FALLBACK: Mapping[str, str] = {}


def restore_with(
    forms: Mapping[str, str],
    text: str,
    fallback: Mapping[str, str] = NO_FALLBACK,
    phrases: Mapping[str, str] = NO_FALLBACK,
) -> str:
    """Accented reading of `text` from `forms` (folded key -> accented form), keys `forms` lacks taken from
    `fallback`: first the pairs `forms` knows, left to right over syllables still open; then the pairs of
    everyday `phrases` ("bao nhieu": "bao nhiêu") that `forms` does not spell otherwise, over syllables
    still open or already spelt the same way ("thi co phai": "thì có" then "có phải"); then the fallback's
    pairs likewise; then each remaining syllable from `forms`, else `fallback`. Accented text is left alone."""
    if has_diacritics(text):
        return text
    typed = words(text)
    out: list[str | None] = [None] * len(typed)
    fill_pairs(forms, typed, out)
    shared = fill_phrases(phrases, forms, typed, out)
    fill_pairs(fallback, typed, out, shared)
    return " ".join(o or forms.get(t) or fallback.get(t) or t for o, t in zip(out, typed, strict=True))


def fill_phrases(
    phrases: Mapping[str, str], forms: Mapping[str, str], typed: list[str], out: list[str | None]
) -> set[int]:
    """Give each pair of syllables an everyday phrase holds its spelling where both are open or already spelt
    that way, unless the loaded texts (`forms`) spell that pair otherwise ("hinh chu nhat"); neighbouring
    pairs may chain ("như thế nào"). Returns the positions spelt."""
    spelt: set[int] = set()
    for i in range(len(typed) - 1):
        key = f"{typed[i]} {typed[i + 1]}"
        found = phrases.get(key)
        if not found or forms.get(key, found) != found:
            continue
        first, second = found.split(" ")
        if out[i] in (None, first) and out[i + 1] in (None, second):
            out[i], out[i + 1] = first, second
            spelt.update((i, i + 1))
    return spelt


def fill_pairs(forms: Mapping[str, str], typed: list[str], out: list[str | None], shared: Collection[int] = ()) -> None:
    """Left to right, give each pair of syllables that `forms` knows its accented form, where both are still
    open or, at `shared` positions, already spelt the same way."""
    i = 0
    while i + 1 < len(typed):
        found = forms.get(f"{typed[i]} {typed[i + 1]}")
        pair = found.split(" ") if found else []
        if pair and all(out[j] is None or (j in shared and out[j] == pair[j - i]) for j in (i, i + 1)):
            out[i], out[i + 1] = pair
            i += 2
        else:
            i += 1


@cache
def everyday_pairs() -> dict[str, str]:
    """Folded pair -> spelling, for every two neighbouring words of the phrases in knowledge/data/everyday.yaml
    (question words, days and times: what questions say and legal texts seldom do)."""
    phrases = yaml.safe_load((resources.files("knowledge") / "data" / "everyday.yaml").read_text(encoding="utf-8"))
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        raise ValueError("knowledge/data/everyday.yaml must be a list of phrases (strings)")
    pairs: dict[str, str] = {}
    for phrase in phrases:
        for a, b in itertools.pairwise(words(phrase)):
            pairs[fold(f"{a} {b}")] = f"{a} {b}"
    return pairs


class AccentTable:
    """The accent statistics of one knowledge database, over a fallback table for the keys it lacks
    (by default the shipped background's), and everyday phrases read between the two (both read on the
    first question)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        fallback: Callable[[], Mapping[str, str]] = accent_forms,
        phrases: Callable[[], Mapping[str, str]] = everyday_pairs,
    ) -> None:
        migrations.apply(db)
        self.db = db
        self.fallback = fallback
        self.phrases = phrases

    def add(self, texts: Iterable[str], sign: int = 1) -> None:
        """Count the texts' syllables and pairs in (sign -1: take them out again); call inside a transaction."""
        counts = accent_counts(texts)
        self.db.conn.executemany(
            "INSERT INTO accent VALUES (?, ?, ?) ON CONFLICT (folded, accented) DO UPDATE SET n = n + excluded.n",
            [(folded, accented, sign * n) for (folded, accented), n in counts.items()],
        )
        if sign < 0:
            self.db.execute("DELETE FROM accent WHERE n <= 0")

    def remove(self, texts: Iterable[str]) -> None:
        self.add(texts, sign=-1)

    def clear(self) -> None:
        self.db.execute("DELETE FROM accent")

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM accent LIMIT 1").fetchone() is None

    def restore(self, text: str) -> str:
        """Accented reading of an unaccented text, from the counts of its own syllables and pairs."""
        if has_diacritics(text):
            return text
        typed = words(text)
        keys = sorted(set(typed) | {f"{a} {b}" for a, b in itertools.pairwise(typed)})
        if not keys:
            return text
        rows: list[tuple[str, str, int]] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self.db.execute(f"SELECT folded, accented, n FROM accent WHERE folded IN ({marks})", chunk)
        # the pairs' syllables are among the keys
        return restore_with(best_forms(rows), text, self.fallback(), self.phrases())
