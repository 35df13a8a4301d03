"""Three outcomes for a question: an answer, the nearest clauses offered as suggestions, or "not found".

Three signals, cheap at question time (thresholds in config.yaml `answer.decision`, chosen by
cross-validation with knowledge/evaluation.py):

- coverage: the share of the question's terms found in the best clause or its article, each term weighted
  by its rarity in general legal text (the background's document frequencies, not the loaded texts': a
  rare word of the question that the clause lacks weighs as much whatever the knowledge base holds);
- vocabulary: the same share over everything loaded (gold prices and football use words no text has);
- margin: the cosine of the best passage minus the best cosine over the background's passages (laws the
  knowledge base does not hold); negative when the question sits closer to another law than to anything
  loaded. Only for an embedding model that has background vectors and while some background remains
  unloaded; otherwise the `_alone` thresholds decide on coverage and vocabulary.

It answers when coverage and margin both reach their answer thresholds; says "not found" when the
vocabulary is too thin, or when the margin is too low and the best clause does not cover the question
either; and otherwise offers the nearest clauses. A question whose terms the best clause holds is thus
never told "not found" for sitting a little nearer another law: its nearest clauses are offered.

Stop-words are left out of the question's terms here (they carry no topic), whatever ranking does, and so
are word pairs no background article contains (two of the question's words side by side, not a term).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from base.settings import DecisionSettings
from knowledge.background import background_passages, term_rarity
from knowledge.embeddings import embedding_name
from knowledge.index import ClauseIndex, Hit
from knowledge.vietnamese import terms


class Outcome(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Signals:
    """How far the loaded texts, and the best clause, are about the question."""

    coverage: float
    vocabulary: float
    margin: float | None  # None without background vectors for the model

    def outcome(self, thresholds: DecisionSettings) -> Outcome:
        """Answer, suggest or say nothing was found, by the configured thresholds."""
        t = thresholds
        if self.margin is None:
            if self.coverage >= t.answer_coverage_alone:
                return Outcome.ANSWER
            return Outcome.NOT_FOUND if self.vocabulary < t.suggest_vocabulary_alone else Outcome.SUGGEST
        covered = self.coverage >= t.answer_coverage
        if covered and self.margin >= t.answer_margin:
            return Outcome.ANSWER
        if self.vocabulary < t.suggest_vocabulary or (self.margin < t.suggest_margin and not covered):
            return Outcome.NOT_FOUND
        return Outcome.SUGGEST


def question_terms(text: str) -> list[str]:
    """The question's distinct folded syllables and bigrams, stop-words left out, and bigrams no article of
    general legal text contains ("cao_cchc", "ky_may": two words of the question side by side, not a term
    a text could hold)."""
    known = term_rarity().df
    return [t for t in dict.fromkeys(terms(text, drop_stopwords=True)) if "_" not in t or t in known]


def weighted_share(query_terms: list[str], present: set[str]) -> float:
    """Share of the terms present in `present`, each weighted by its rarity in general legal text."""
    rarity = term_rarity()
    weights = [rarity.idf(t) for t in query_terms]
    total = sum(weights)
    return sum(w for t, w in zip(query_terms, weights, strict=True) if t in present) / total if total else 0.0


_remaining: dict[tuple[str, str], np.ndarray | None] = {}


def unloaded_background(index: ClauseIndex) -> np.ndarray | None:
    """Background vectors of the index's model minus what the index holds; None when nothing is left."""
    model = embedding_name(index.embeddings)
    key = (model, index.store.state())
    if key not in _remaining:
        shipped = background_passages(model)
        vectors = None
        if shipped is not None:
            digests = {p.rsplit("#", 1)[-1] for p in index.store.passage_ids()}
            doc_ids = {d.doc_id for d in index.store.documents()}
            kept = shipped.without(doc_ids, digests)
            vectors = kept if len(kept) else None
        if len(_remaining) >= 8:
            _remaining.clear()
        _remaining[key] = vectors
    return _remaining[key]


def background_margin(index: ClauseIndex, text: str, hit: Hit) -> float | None:
    """Cosine of the hit's passage minus the best cosine of the question to the unloaded background."""
    background = unloaded_background(index)
    if background is None:
        return None
    vector = np.asarray(index.query_vector(text), dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    best = float((background @ vector).max()) / norm if norm else 0.0
    return hit.dense - best


def signals(index: ClauseIndex, text: str, hit: Hit) -> Signals:
    """The decision's signals for a question's retrieval text and its best hit."""
    wanted = question_terms(text)
    return Signals(
        coverage=weighted_share(wanted, index.near_terms(hit)),
        vocabulary=weighted_share(wanted, index.loaded_terms(wanted)),
        margin=background_margin(index, text, hit),
    )
