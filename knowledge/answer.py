"""Compose a clause-cited answer without a language model, or abstain honestly.

The best clause is quoted under its Vietnamese citation label, the sentence that answers is picked out (a
deadline when the question asks when, a unit when it asks who), and a few related clauses follow. Every
citation is looked up again in SQLite before it is shown; one that does not resolve is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.index import ClauseIndex, Hit
from knowledge.labels import citation_label, shorten
from knowledge.records import Answer, Citation, Clause, DocumentMeta
from knowledge.vietnamese import fold, normalize, terms

NOT_FOUND = "Không tìm thấy quy định liên quan trong các văn bản đã nạp."
TOO_LONG = "Câu hỏi quá dài ({length} ký tự). Xin hỏi ngắn gọn hơn, tối đa {limit} ký tự."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ0-9“\"(])|(?<=;)\s+|\n")
_ASKS_WHEN = re.compile(r"\b(khi nao|bao gio|han|thoi han|han chot|ngay nao|truoc ngay|luc nao|dinh ky|thoi gian)\b")
_ASKS_WHO = re.compile(r"\b(ai|don vi nao|co quan nao|phong nao|trach nhiem|chu tri|giao cho|nhung ai)\b")
_DEADLINE = re.compile(
    r"(trước ngày|ngày \d{1,2}|tháng \d{1,2}|hàng quý|hằng quý|6 tháng|hàng năm|hằng năm|định kỳ|"
    r"thời hạn|chậm nhất|kể từ ngày|trong thời gian|\d{1,2}/\d{1,2})"
)
_RESPONSIBLE = re.compile(r"(giao|chủ trì|phối hợp|chịu trách nhiệm|có trách nhiệm|Thủ trưởng|Chủ tịch|phòng \w+)")


@dataclass(frozen=True)
class Confidence:
    """How well the loaded texts support an answer; calibrated on tests/data/calibration-chithi.yaml.

    - coverage: IDF-weighted share of the question's terms found in the best clause or its article;
    - vocabulary: the same share over everything loaded (a question about gold prices or football
      names things no text mentions);
    - dense: cosine of the best passage (multilingual-e5 lives in about 0.75..0.90, hence the rescale).
    """

    coverage: float
    vocabulary: float
    dense: float

    @property
    def value(self) -> float:
        dense = min(max((self.dense - 0.75) / 0.15, 0.0), 1.0)
        return 0.45 * self.coverage + 0.25 * self.vocabulary + 0.3 * dense


def _share(index: ClauseIndex, question_terms: list[str], found: Callable[[str], bool]) -> float:
    """IDF-weighted share of the question's terms for which `found` holds."""
    unique = list(dict.fromkeys(question_terms))
    weights = [index.lexical.idf(t) for t in unique]
    total = sum(weights)
    return sum(w for t, w in zip(unique, weights, strict=True) if found(t)) / total if total else 0.0


def confidence(index: ClauseIndex, question_terms: list[str], hit: Hit) -> Confidence:
    """How far the best hit, and the loaded texts at all, cover the question."""
    lexical = index.lexical
    near = lexical.clause_terms[hit.position] | lexical.passage_terms[lexical.passage_of_clause[hit.position]]
    return Confidence(
        coverage=_share(index, question_terms, near.__contains__),
        vocabulary=_share(index, question_terms, lexical.known),
        dense=hit.dense,
    )


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def best_sentence(question: str, clause: Clause) -> str:
    """The sentence of the clause that answers: a deadline when asked when, a unit when asked who,
    then the one sharing most terms with the question."""
    sentences = split_sentences(clause.text)
    if not sentences:
        return ""
    wanted = set(terms(question, drop_stopwords=True))
    folded_question = fold(normalize(question))
    for asks, kind in ((_ASKS_WHEN, _DEADLINE), (_ASKS_WHO, _RESPONSIBLE)):
        if asks.search(folded_question):
            fitting = [s for s in sentences if kind.search(s)]
            sentences = fitting or sentences
    return max(sentences, key=lambda s: (len(wanted & set(terms(s, expand=True))), -len(s)))


def _citation(index: ClauseIndex, hit: Hit, documents: dict[str, DocumentMeta]) -> Citation | None:
    """A citation for a hit, only if its clause and document still resolve in SQLite."""
    clause = index.store.clause(hit.clause.clause_id)
    document = documents.get(hit.clause.doc_id)
    if clause is None or document is None:
        return None
    return Citation(
        doc_id=clause.doc_id,
        loc=clause.loc,
        label=citation_label(clause.label, document.title),
        text=clause.text,
        score=round(hit.score, 4),
    )


def compose_text(best: Clause, citations: list[Citation], highlight: str, title: str) -> str:
    """Plain-text answer: where it is written, the answering sentence, the clause, related clauses.

    Related clauses of the same document (`title`) are named without repeating the document's name.
    """
    head = citations[0]
    lines = [f"Theo {head.label}:"]
    if highlight and highlight != best.text.strip():
        lines.append(f"» {highlight}")
    if best.amends:
        lines.append(f"(Quy định này sửa đổi, bổ sung {best.amends}.)")
    lines += ["", f"Nguyên văn {best.label}:", best.text]
    if len(citations) > 1:
        lines += ["", "Điều khoản liên quan:"]
        for c in citations[1:]:
            label = c.label.removesuffix(f" {title}") if c.doc_id == head.doc_id else c.label
            lines.append(f"- {label}: {shorten(c.text)}")
    return "\n".join(lines)


def answer(index: ClauseIndex, question: str, top_k: int | None = None) -> Answer:
    """Answer a question from the loaded texts; `top_k` returns that many clauses as citations."""
    question = normalize(question).strip()
    settings = index.settings.answer
    if len(question) > settings.max_question_chars:
        message = TOO_LONG.format(length=len(question), limit=settings.max_question_chars)
        return Answer(question=question, answered=False, answer=message)
    hits = index.search(question, k=max(top_k or 0, settings.related + 1)) if question else []
    if not hits:
        return Answer(question=question, answered=False, answer=NOT_FOUND)
    text = index.query_text(question)
    sure = confidence(index, terms(text, drop_stopwords=True), hits[0])
    documents = {d.doc_id: d for d in index.store.documents()}
    citations = [c for hit in hits if (c := _citation(index, hit, documents)) is not None]
    if sure.value < settings.min_confidence or not citations:
        return Answer(question=question, answered=False, answer=NOT_FOUND)
    shown = citations[: top_k or settings.related + 1]
    best = next(h.clause for h in hits if h.clause.clause_id == f"{shown[0].doc_id}:{shown[0].loc}")
    highlight = best_sentence(text, best)
    return Answer(
        question=question,
        answered=True,
        answer=compose_text(best, shown, highlight, documents[best.doc_id].title),
        highlight=highlight,
        citations=shown,
    )


def whole_unit(loc: str, has_articles: bool) -> str:
    """The article or item a clause belongs to: '7.2.a' -> '7' in a law, '2.c' -> '2', 'III.1.a' -> 'III.1'."""
    parts = loc.split(".")
    if not has_articles and parts[0].isupper() and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def full_text(index: ClauseIndex, doc_id: str, loc: str) -> tuple[str, str] | None:
    """Label and text of the whole article or item holding a clause ("Toàn văn"), or None if gone."""
    rows = {row["doc_id"]: row for row in index.store.document_rows()}
    if doc_id not in rows:
        return None
    unit = whole_unit(loc, bool(rows[doc_id]["has_articles"]))
    members = [c for c in index.store.clauses(doc_id) if c.loc == unit or c.loc.startswith(unit + ".")]
    if not members:
        return None
    head = next((c for c in members if c.loc == unit), members[0])
    label = citation_label(head.label, rows[doc_id]["title"])
    return label, "\n".join(c.text for c in members)
