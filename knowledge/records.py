"""Typed records passed between ingest, the index and the answer composer."""

from __future__ import annotations

from pydantic import Field

from base.records import Record


class DocumentMeta(Record):
    """What is known of one legal document, from its text and its optional sidecar `<file>.yaml`."""

    doc_id: str = Field(description="Sidecar `id`, else the file's stem; prefix of every clause id.")
    doc_type: str = Field("", description="Loại văn bản: Chỉ thị, Nghị định, Luật, ...")
    number: str = Field("", description="Số hiệu, e.g. 107/2021/NĐ-CP.")
    issued: str = Field("", description="Ngày ban hành as written, e.g. 06/12/2021.")
    issuer: str = Field("", description="Cơ quan ban hành.")
    subject: str = Field("", description="Trích yếu: what the document is about.")
    effect: str = Field("", description="Hiệu lực: from when, or whether it is still in force.")
    amends: list[str] = Field(default_factory=list, description="Numbers of the documents it amends.")
    title: str = Field("", description="Short name used in lists and citations, e.g. 'Nghị định 107/2021/NĐ-CP'.")
    full_title: str = Field("", description="The whole title, shown once per answer and in /nguon.")
    source: str = Field("", description="Path of the file it was read from.")


class Clause(Record):
    """One numbered unit of a document (Điều, khoản, điểm, roman part) or its preamble/closing text."""

    doc_id: str
    loc: str = Field(description="Dotted numbering path: '2.c', '7.2.a', 'III.1', 'preamble', 'closing'.")
    label: str = Field("", description="Citation label within the document: 'điểm c khoản 2'.")
    text: str = Field(description="The clause's own text, without its sub-clauses.")
    heading: str = Field("", description="Title of the enclosing Điều or part, for context.")
    context: str = Field("", description="Lead-in text of the parent clause, for context.")
    division: str = Field("", description="Enclosing Phần › Chương › Mục headings, where the text has them.")
    amends: str = Field("", description="What an amending clause changes, e.g. 'khoản 3 Điều 2'.")
    order: int = Field(0, description="Position in the document.")

    @property
    def clause_id(self) -> str:
        """Stable id `<doc_id>:<loc>`."""
        return f"{self.doc_id}:{self.loc}"


class Citation(Record):
    """A clause shown as the ground of an answer."""

    doc_id: str
    loc: str
    label: str = Field(description="Vietnamese citation by the document's short name: 'điểm c khoản 2 Chỉ thị ...'.")
    text: str = Field(description="The clause quoted in full, in its wording in force (a lead-in with its points).")
    score: float = Field(description="Retrieval score; higher is better.")
    document_title: str = Field("", description="The cited document's whole title (shown once per answer).")
    in_force: bool = Field(True, description="The wording is in force on the day asked (its document too).")
    amended_by: list[str] = Field(
        default_factory=list, description="Ids of the amending clauses that made this wording, oldest first."
    )


class Answer(Record):
    """The reply to one question: clause-cited, or an honest abstention with no citations."""

    question: str
    answered: bool
    answer: str = Field(description="Plain-text answer in Vietnamese.")
    highlight: str = Field("", description="The sentence of the best clause that answers the question.")
    direct: str = Field("", description="One short line drawn verbatim from the clause ('Hạn: …'), or ''.")
    notes: list[str] = Field(
        default_factory=list, description="Warnings: a cited document not in force, a change due later."
    )
    citations: list[Citation] = Field(default_factory=list, description="Best first; empty if not answered.")
    suggestions: list[Citation] = Field(
        default_factory=list,
        description="When no clause answers directly: the nearest clauses, offered as such, never as the answer.",
    )
