"""Compose a clause-cited answer without a language model, offer the nearest clauses, or abstain honestly.

Three outcomes (knowledge/decision.py decides): an answer; "Không thấy quy định trả lời trực tiếp; gần
nhất là …" with up to `answer.suggestions` nearest clauses offered as suggestions (never as the answer:
`answered` is false, `citations` empty, `suggestions` holds them); or plain "not found" when nothing loaded
is about the question.

The best clause is quoted under its Vietnamese citation label in its wording in force on the day asked
(today by default), cited with the amendments that made that wording; a lead-in clause comes with its
points. A direct line answers a narrow question first ("Hạn: …"), the sentence that answers is picked
out, warnings follow (a document lapsed, replaced or not yet in force; a change due later), then a few
related clauses. Every citation is looked up again in SQLite before it is shown; one that does not
resolve on that day is dropped.

`AnswerLayout` is the one order of an answer's parts, drawn from the Answer record; the console
(`compose_text`) and Telegram (`bot.render.answer_messages`) only choose how each part looks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from knowledge.consolidation import vn_day
from knowledge.decision import Outcome, signals
from knowledge.direct import asks, direct_line
from knowledge.index import ClauseIndex, Hit
from knowledge.labels import citation_label, shorten
from knowledge.provisions import amendment_note, is_lead_in, is_point, provision_text
from knowledge.records import Answer, Citation, Clause, DocumentMeta
from knowledge.vietnamese import normalize, terms

NOT_FOUND = "Không tìm thấy quy định liên quan trong các văn bản đã nạp."
NEAREST = "Không thấy quy định trả lời trực tiếp; gần nhất là:"
TOO_LONG = "Câu hỏi quá dài ({length} ký tự). Xin hỏi ngắn gọn hơn, tối đa {limit} ký tự."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ0-9“\"(])|(?<=;)\s+|\n")
_UPCOMING = {"repealed": "bị bãi bỏ bởi", "lapsed": "hết hiệu lực theo", "added": "được bổ sung bởi"}


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def best_sentence(question: str, clause: Clause) -> str:
    """The sentence of the clause that answers: for a narrow question (when, how often, who ...) one the
    direct line can be drawn from, if any; of those, the one sharing most terms with the question."""
    sentences = split_sentences(clause.text)
    if not sentences:
        return ""
    wanted = set(terms(question, drop_stopwords=True))
    if asks(question):
        sentences = [s for s in sentences if direct_line(question, s)] or sentences
    return max(sentences, key=lambda s: (len(wanted & set(terms(s, expand=True))), -len(s)))


@dataclass(frozen=True)
class _Cited:
    """A citation with the clause wording it quotes and the warnings that go with it."""

    citation: Citation
    clause: Clause
    notes: tuple[str, ...]


def _citation(index: ClauseIndex, hit: Hit, documents: dict[str, DocumentMeta], day: date) -> _Cited | None:
    """A citation for a hit in its wording of `day`, only if its clause and document still resolve in SQLite."""
    versions = index.store.versions
    found = versions.clause_on(hit.clause.clause_id, day)
    document = documents.get(hit.clause.doc_id)
    if found is None or document is None:
        return None
    clause = found.clause
    note = amendment_note([versions.change(v) for v in found.changes])
    label = citation_label(clause.label, document.title) + (f" {note}" if note else "")
    text = clause.text
    if is_lead_in(text) or is_point(clause.loc):
        parent = clause.loc if is_lead_in(text) else clause.loc.rsplit(".", 1)[0]
        text = provision_text(clause, versions.wording_on(clause.doc_id, day, under=parent))
    notes = tuple(n for n in (versions.document_note(document, day),) if n)
    citation = Citation(
        doc_id=clause.doc_id,
        loc=clause.loc,
        label=label,
        text=text,
        score=round(hit.score, 4),
        document_title=document.full_title or document.title,
        in_force=not notes,
        amended_by=found.amended_by,
    )
    return _Cited(citation, clause, notes)


def _upcoming(index: ClauseIndex, clause_id: str, day: date) -> str:
    """'Lưu ý: từ ngày …, quy định này được sửa đổi bởi …' for a change already loaded but not yet in force."""
    version = index.store.versions.upcoming(clause_id, day)
    if version is None or version.since is None:
        return ""
    _, label, _ = index.store.versions.change(version)
    verb = _UPCOMING.get(version.kind, "được sửa đổi bởi")
    return f"Lưu ý: từ ngày {vn_day(version.since)}, quy định này {verb} {label}."


def _notes(index: ClauseIndex, shown: list[_Cited], day: date) -> list[str]:
    """Warnings for the answer: an amendment whose original is not loaded, a change due later, and each
    cited document that is not in force on the day."""
    best = shown[0].clause
    notes: list[str] = []
    if missing := index.store.versions.missing_target(best.clause_id):
        notes.append(f"Quy định này sửa đổi, bổ sung {best.amends or missing}; văn bản đó chưa được nạp.")
    elif best.amends:
        notes.append(f"Quy định này sửa đổi, bổ sung {best.amends}.")
    if upcoming := _upcoming(index, best.clause_id, day):
        notes.append(upcoming)
    notes += [n for cited in shown for n in cited.notes]
    return list(dict.fromkeys(notes))


class PartRenderer(Protocol):
    """How one medium shows each part of an answer; every method returns that part's blocks."""

    def direct(self, line: str) -> list[str]: ...
    def citation(self, label: str, document: str) -> list[str]: ...
    def notes(self, notes: list[str]) -> list[str]: ...
    def quote(self, text: str, marked: str) -> list[str]: ...
    def related(self, items: list[tuple[str, str]]) -> list[str]: ...


@dataclass(frozen=True)
class AnswerLayout:
    """The parts of an answer in the one order every medium shows them: the direct line (when the
    question asks something narrow), the citation by short name with the document's whole title, notes,
    the clause quoted with the answering sentence marked, related clauses by short name."""

    direct: str
    citation: str
    document: str  # the whole title, when it says more than the short name in `citation`
    notes: list[str]
    quote: str
    marked: str  # the answering sentence within `quote` ('' when it is the whole clause)
    related: list[tuple[str, str]]  # (citation label, the clause on one line)

    def blocks(self, renderer: PartRenderer) -> list[str]:
        """The answer as `renderer` shows it, part after part."""
        found = renderer.direct(self.direct) if self.direct else []
        found += renderer.citation(self.citation, self.document)
        found += renderer.notes(self.notes) if self.notes else []
        found += renderer.quote(self.quote, self.marked)
        return found + (renderer.related(self.related) if self.related else [])


def answer_layout(answer: Answer) -> AnswerLayout | None:
    """The layout of an answer that cites something; None for an abstention."""
    if not answer.answered or not answer.citations:
        return None
    best, others = answer.citations[0], answer.citations[1:]
    marked = answer.highlight.strip()
    document = best.document_title if best.document_title and not best.label.endswith(best.document_title) else ""
    return AnswerLayout(
        direct=answer.direct,
        citation=best.label,
        document=document,
        notes=answer.notes,
        quote=best.text,
        marked=marked if marked and marked != best.text.strip() and marked in best.text else "",
        related=[(c.label, shorten(c.text)) for c in others],
    )


class PlainText:
    """The console's look: plain lines, the quote as '> ' lines with the answering sentence in **…**."""

    def direct(self, line: str) -> list[str]:
        return [line]

    def citation(self, label: str, document: str) -> list[str]:
        return [f"Theo {label}:" + (f"\n({document})" if document else "")]

    def notes(self, notes: list[str]) -> list[str]:
        return ["\n".join(f"⚠ {note}" for note in notes)]

    def quote(self, text: str, marked: str) -> list[str]:
        shown = text.replace(marked, f"**{marked}**", 1) if marked else text
        return ["\n".join(f"> {line}" for line in shown.splitlines())]

    def related(self, items: list[tuple[str, str]]) -> list[str]:
        return ["Điều khoản liên quan:\n" + "\n".join(f"- {label}: {text}" for label, text in items)]


def compose_text(answer: Answer) -> str:
    """The answer as plain text (the console, `cchc ask`): its layout, the nearest clauses offered as
    suggestions, or the abstention's sentence."""
    layout = answer_layout(answer)
    if layout is not None:
        return "\n\n".join(layout.blocks(PlainText()))
    if answer.suggestions:
        lines = [f"{i}. {c.label}: {shorten(c.text)}" for i, c in enumerate(answer.suggestions, 1)]
        return "\n".join([NEAREST, *lines])
    return answer.answer


def answer(index: ClauseIndex, question: str, top_k: int | None = None, as_of: date | None = None) -> Answer:
    """Answer a question from the loaded texts in their wording in force on `as_of` (today by default);
    `top_k` returns that many clauses as citations. When no clause answers directly but the texts are
    about the question, the nearest clauses come as suggestions instead."""
    question = normalize(question).strip()
    settings = index.settings.answer
    if len(question) > settings.max_question_chars:
        message = TOO_LONG.format(length=len(question), limit=settings.max_question_chars)
        return Answer(question=question, answered=False, answer=message)
    day = as_of or index.today()
    wanted = max(top_k or 0, settings.related + 1, settings.suggestions)
    hits = index.search(question, k=wanted, as_of=day) if question else []
    if not hits:
        return Answer(question=question, answered=False, answer=NOT_FOUND)
    text = index.query_text(question)
    outcome = signals(index, text, hits[0]).outcome(settings.decision)
    if outcome is Outcome.NOT_FOUND:
        return Answer(question=question, answered=False, answer=NOT_FOUND)
    documents = index.store.documents_of({hit.clause.doc_id for hit in hits})
    cited = [c for hit in hits if (c := _citation(index, hit, documents, day)) is not None]
    if not cited:
        return Answer(question=question, answered=False, answer=NOT_FOUND)
    if outcome is Outcome.SUGGEST:
        offered = Answer(
            question=question,
            answered=False,
            answer="",
            suggestions=[c.citation for c in cited[: settings.suggestions]],
        )
        return offered.model_copy(update={"answer": compose_text(offered)})
    shown = cited[: top_k or settings.related + 1]
    best = shown[0]
    highlight = best_sentence(text, best.clause)
    result = Answer(
        question=question,
        answered=True,
        answer="",
        highlight=highlight,
        direct=direct_line(text, best.citation.text, highlight, documents[best.clause.doc_id].title),
        notes=_notes(index, shown, day),
        citations=[c.citation for c in shown],
    )
    return result.model_copy(update={"answer": compose_text(result)})


def whole_unit(loc: str, has_articles: bool) -> str:
    """The article or item a clause belongs to: '7.2.a' -> '7' in a law, '2.c' -> '2', 'III.1.a' -> 'III.1'."""
    parts = loc.split(".")
    if not has_articles and parts[0].isupper() and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def full_text(index: ClauseIndex, doc_id: str, loc: str, as_of: date | None = None) -> tuple[str, str] | None:
    """Label and text of the whole article or item holding a clause ("Toàn văn") in its wording in force
    on `as_of` (today by default), or None if gone. The label names the documents that amended it."""
    rows = {row["doc_id"]: row for row in index.store.document_rows()}
    if doc_id not in rows:
        return None
    day = as_of or index.today()
    unit = whole_unit(loc, bool(rows[doc_id]["has_articles"]))
    members = index.store.versions.wording_on(doc_id, day, under=unit)
    if not members:
        return None
    head = next((c for c in members if c.loc == unit), members[0])
    label = citation_label(head.label, rows[doc_id]["title"])
    amending = index.store.versions.amended_by_documents(doc_id, under=unit, day=day)
    if amending:
        titles = ", ".join(rows[d]["title"] for d in amending if d in rows)
        label += f" (đã được sửa đổi, bổ sung bởi {titles})"
    return label, "\n".join(c.text for c in members)
