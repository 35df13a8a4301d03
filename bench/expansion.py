"""Query expansion from the best passages (pseudo-relevance feedback), cross-validated: is it worth keeping?

    .venv/bin/python -m bench.expansion      # builds the two knowledge bases if missing (as retrieval_quality)

Each question is ranked as configured; then its m best passages feed a second search in two ways, alone and
together: the dense side moves the question's vector towards their mean (Rocchio: q + beta * mean), and the
lexical side adds their T rarest terms (rarity in general legal text, knowledge/background.py) at gamma
times a question term's weight. The grid over (m, beta, gamma, T) includes "no expansion"; the point chosen
on the other folds (by MRR@10) is scored on the held-out fold, as for the fusion weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import product
from typing import NamedTuple

import numpy as np

from bench.retrieval_quality import (
    DIRECTIVE_SETS,
    LAWS,
    LAWS_SET,
    SHARED,
    both_forms,
    knowledge_base,
    quality_arguments,
)
from knowledge.background import term_rarity
from knowledge.evaluation import Question, cross_validate_ranking, is_gold, load_questions, rank_metrics
from knowledge.index import ClauseIndex, Hit


class Expansion(NamedTuple):
    passages: int  # m: best passages read
    beta: float  # weight of their mean vector added to the question's (0: dense side untouched)
    gamma: float  # weight of their terms against the question's own (0: lexical side untouched)
    terms: int  # T: how many of their terms join the query


NONE = Expansion(1, 0.0, 0.0, 10)
GRID = [NONE] + [
    Expansion(m, beta, gamma, t)
    for m, beta, gamma, t in product([1, 2, 3, 5], [0.0, 0.25, 0.5, 1.0], [0.0, 0.1, 0.2, 0.4], [10, 30])
    if (beta or gamma) and (gamma or t == 10)
]


def feedback_terms(index: ClauseIndex, hits: Sequence[Hit], m: int, own: set[str]) -> list[tuple[str, float]]:
    """Terms of the m best hits' clauses and articles, not in the question, by summed rarity (best first, ties
    in alphabetical order, scaled so the first is 1)."""
    rarity = term_rarity()
    score: Counter[str] = Counter()
    for hit in hits[:m]:
        for term in index.near_terms(hit) - own:
            score[term] += rarity.idf(term)
    top = max(score.values(), default=1.0)
    return [(term, value / top) for term, value in sorted(score.items(), key=lambda item: (-item[1], item[0]))]


def expanded_ranks(index: ClauseIndex, questions: Sequence[Question]) -> np.ndarray:
    """ranks[grid point, question]: rank of the first gold clause in the top 10 (0: absent or out of scope)."""
    weights, day = index.settings.retrieval, index.today()
    ranks = np.zeros((len(GRID), len(questions)), dtype=int)
    own_weights, own_vector = index.query_weights, index.query_vector
    for q, question in enumerate(questions):
        if not question.in_scope:
            continue
        text = index.query_text(question.text)
        with index._reading() as view:
            hits = index.ranked(index._candidates(view, text), 10, weights, day)
            vector = np.asarray(own_vector(text))
            query = own_weights(text)
            names = list(dict.fromkeys(h.passage for h in hits))
            got = view.vectors.collection.get(ids=names, include=["embeddings"])
            stored = dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
            feedback = {m: feedback_terms(index, hits, m, set(query)) for m in {point.passages for point in GRID}}
            for p, point in enumerate(GRID):
                near = [stored[n] for n in names[: point.passages] if n in stored]
                moved = vector + point.beta * np.mean(near, axis=0) if point.beta and near else vector
                terms = dict(query)
                if point.gamma:
                    for term, value in feedback[point.passages][: point.terms]:
                        terms[term] = point.gamma * value
                unit = (moved / np.linalg.norm(moved)).tolist()
                index.query_weights = lambda _t, terms=terms: terms  # type: ignore[method-assign]
                index.query_vector = lambda _t, unit=unit: unit  # type: ignore[method-assign]
                try:
                    found = index.ranked(index._candidates(view, text), 10, weights, day)
                finally:
                    del index.query_weights, index.query_vector
                gold = (i for i, h in enumerate(found, 1) if is_gold(h.clause.doc_id, h.clause.loc, question.gold))
                ranks[p, q] = next(gold, 0)
    return ranks


def report(title: str, questions: list[Question], ranks: np.ndarray, repeats: int) -> None:
    scope = np.array([q.in_scope for q in questions])
    inside = [q for q in questions if q.in_scope]
    ranks = ranks[:, scope]
    hit1, _, reciprocal = rank_metrics(ranks)
    best = int(np.argmax(reciprocal.mean(axis=1)))
    cv = cross_validate_ranking(ranks, inside, repeats=repeats)
    picks = ", ".join(f"{GRID[p]} x{n}" for p, n in cv.picks.most_common(2))
    print(f"\n{title} ({len(inside)} in scope): tuned at {GRID[best]}; CV picks {picks}")
    sources = np.array([q.source for q in inside])
    for source in [*dict.fromkeys(sources.tolist()), "all"]:
        rows = sources == source if source != "all" else np.ones(len(inside), dtype=bool)
        print(
            f"  {source:<44s} hit@1 none/tuned/CV {hit1[0, rows].mean():.3f}/{hit1[best, rows].mean():.3f}/"
            f"{cv.hit_at_1[rows].mean():.3f}  MRR@10 {reciprocal[0, rows].mean():.3f}/"
            f"{reciprocal[best, rows].mean():.3f}/{cv.reciprocal[rows].mean():.3f}"
        )


def main() -> None:
    args = quality_arguments(__doc__.split("\n")[0]).parse_args()
    directive = knowledge_base(args.work / "directive", SHARED / "corpus")
    questions = [q for path in DIRECTIVE_SETS for q in both_forms(load_questions(path))]
    report("Directive, four sets", questions, expanded_ranks(directive, questions), args.repeats)
    laws = knowledge_base(args.work / "laws", LAWS)
    statements = load_questions(LAWS_SET)
    report("Laws", statements, expanded_ranks(laws, statements), args.repeats)


if __name__ == "__main__":
    main()
