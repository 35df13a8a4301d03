"""A unit's duties from the obligation register: questions about them, and the list that answers.

"Đơn vị tôi / xã tôi phải làm gì?", "Phòng Tư pháp có nhiệm vụ gì theo chỉ thị?", "Việc nào sắp đến hạn?"
ask about a unit, not about one clause: they are answered with the unit's obligations, grouped (có hạn by
date, định kỳ, thường xuyên), each under its citation. The unit is the one the question names, else the
asker's when the question says tôi / chúng tôi / mình (or asks what falls due soon).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from knowledge.answer import answer
from knowledge.index import ClauseIndex
from knowledge.labels import shorten
from knowledge.obligations import Obligation
from knowledge.records import Answer, Citation, DocumentMeta
from knowledge.register import ObligationRegister
from knowledge.timing import RECURRENCE_NAMES
from knowledge.units import UnitDirectory, tokenize
from knowledge.versions import InForce
from knowledge.vietnamese import fold, normalize

ROLE_NAMES = {"chu-tri": "chủ trì", "phoi-hop": "phối hợp", "thuc-hien": "thực hiện"}
SOON_DAYS = 30
_ASKS_DUTIES = re.compile(
    r"\b(phai lam (gi|nhung gi|nhung viec gi|viec gi)|co (nhung )?(nhiem vu|viec|trach nhiem) (gi|nao)|"
    r"(nhiem vu|trach nhiem|nghia vu) (gi|nao|cua)|(nhung|cac) viec (gi|nao|phai)|viec gi|viec nao|"
    r"phai (thuc hien|nop|bao cao|lam) (nhung )?(gi|viec gi|nhung gi)|can (lam|thuc hien) (gi|nhung gi))\b"
)
_ASKS_SOON = re.compile(r"\b(sap (den|toi|het) han|den han|han nao|han sap|sap toi han|con bao lau)\b")
_ASKER = re.compile(r"\b((don vi|phong|xa|phuong|co quan|ban) (toi|minh|chung toi|cua toi|cua minh)|chung toi)\b")
_ASKER_ALONE = re.compile(r"\b(toi|minh)\b")
_ENDS_ASKING = re.compile(rf"(?:{_ASKS_DUTIES.pattern})(?:\s+theo\b[^?]*)?\s*\??\s*$")
_NUMBER = re.compile(r"\b\d{1,4}/\d{4}(?:/[\w-]+)?", re.UNICODE)
_DOC_TYPES = ["chỉ thị", "nghị định", "kế hoạch", "quyết định", "thông tư", "luật", "nghị quyết", "công văn"]


@dataclass(frozen=True)
class DutyQuestion:
    """What a question about duties asks: whose, in which documents, and whether only what falls due soon."""

    units: frozenset[str]
    unit_label: str
    doc_ids: frozenset[str] | None = None  # None: every loaded document
    soon: bool = False


@dataclass
class DutyList:
    """A unit's obligations sorted for reading: dated (by day), relative terms, recurring, standing."""

    unit_label: str
    dated: list[Obligation] = field(default_factory=list)
    recurring: list[Obligation] = field(default_factory=list)
    standing: list[Obligation] = field(default_factory=list)
    recurring_left: int = 0  # recurring duties not listed (when only what falls due soon is asked)
    today: date | None = None

    @property
    def items(self) -> list[Obligation]:
        return self.dated + self.recurring + self.standing

    def group_of(self, obligation: Obligation) -> str:
        if obligation in self.dated:
            return "Có hạn"
        return "Định kỳ" if obligation in self.recurring else "Thường xuyên"


def unit_label(units: Iterable[str], directory: UnitDirectory) -> str:
    """'Phòng Tư pháp', or a group's name, or the unit names joined."""
    codes = frozenset(units)
    if group := directory.group_of(codes):
        return directory.group_names[group]
    return ", ".join(directory.units[c].name for c in sorted(codes) if c in directory.units)


def _documents(folded: str, documents: Sequence[DocumentMeta]) -> frozenset[str] | None:
    """The documents a question points at: by number ('45/2099'), else by type ('theo chỉ thị'), else all."""
    for number in _NUMBER.findall(folded):
        chosen = frozenset(d.doc_id for d in documents if fold(d.number).startswith(number))
        if chosen:
            return chosen
    for kind in _DOC_TYPES:
        if re.search(rf"\b{fold(kind)}\b", folded):
            chosen = frozenset(d.doc_id for d in documents if fold(d.doc_type) == fold(kind))
            if chosen:
                return chosen
    return None


def _about_asker(folded: str) -> bool:
    """'đơn vị tôi', 'xã mình', 'chúng tôi' anywhere; a bare 'tôi' only in 'tôi phải làm gì (theo …)?'."""
    return bool(_ASKER.search(folded) or (_ASKER_ALONE.search(folded) and _ENDS_ASKING.search(folded)))


def duty_question(
    question: str, asker_unit: str | None, directory: UnitDirectory, documents: Sequence[DocumentMeta]
) -> DutyQuestion | None:
    """The question read as one about a unit's duties, or None when it asks something else."""
    folded = fold(normalize(question))
    soon = bool(_ASKS_SOON.search(folded))
    if not (_ASKS_DUTIES.search(folded) or soon):
        return None
    named = frozenset().union(*(m.units for m in directory.mentions(tokenize(question))))
    if named:
        units = named
    elif asker_unit and (soon or _about_asker(folded)):
        units = frozenset([asker_unit])
    else:
        return None
    return DutyQuestion(units, unit_label(units, directory), _documents(folded, documents), soon)


def duty_list(register: ObligationRegister, asked: DutyQuestion, today: date) -> DutyList:
    """The asked units' obligations, one entry per duty (a duty several of them owe is listed once)."""
    seen: dict[tuple, Obligation] = {}
    for o in register.obligations(units=sorted(asked.units)):
        if asked.doc_ids is None or o.doc_id in asked.doc_ids:
            seen.setdefault((o.doc_id, o.loc, o.role, o.action, o.deadline, tuple(o.recurrence), o.term), o)
    found = DutyList(asked.unit_label)
    for o in seen.values():
        if o.deadline or (o.term and not o.recurrence):
            found.dated.append(o)
        elif o.recurrence:
            found.recurring.append(o)
        else:
            found.standing.append(o)
    found.today = today
    found.dated.sort(key=lambda o: _dated_order(o, today))
    if asked.soon:
        horizon = today + timedelta(days=SOON_DAYS)
        upcoming = [o for o in found.dated if o.deadline and today <= o.deadline]
        found.dated = [o for o in upcoming if o.deadline <= horizon] or upcoming[:3]  # type: ignore[operator]
        found.recurring_left, found.recurring, found.standing = len(found.recurring), [], []
    return found


def _dated_order(o: Obligation, today: date) -> tuple:
    """Deadlines to come first (soonest first), then relative terms, then deadlines past (latest first)."""
    if o.deadline is None:
        return (1, 0, o.doc_id, o.order)
    if o.deadline >= today:
        return (0, o.deadline.toordinal(), o.doc_id, o.order)
    return (2, -o.deadline.toordinal(), o.doc_id, o.order)


def when_text(o: Obligation, today: date | None = None) -> str:
    """'Hạn 15/04/2023 (đã qua)', 'Hằng quý, 6 tháng — trước ngày 20 của tháng cuối quý', 'Trong thời hạn …'."""
    parts = []
    if o.deadline:
        parts.append(f"Hạn {o.deadline:%d/%m/%Y}" + (" (đã qua)" if today and o.deadline < today else ""))
    if o.recurrence:
        parts.append(", ".join(RECURRENCE_NAMES[r] for r in o.recurrence))
    if o.term:
        parts.append(o.term)
    text = " — ".join(parts)
    return text[:1].upper() + text[1:]


def plain_lines(found: DutyList, soon: bool = False) -> list[str]:
    """The list as plain text, for the console and `cchc ask`."""
    if not found.items:
        return [empty_message(found, soon)] + ([note] if (note := recurring_note(found)) else [])
    lines = [f"Việc của {found.unit_label} theo các văn bản đã nạp ({len(found.items)} việc):"]
    for title, items in (("Có hạn", found.dated), ("Định kỳ", found.recurring), ("Thường xuyên", found.standing)):
        if items:
            lines.append(f"{title}:")
        for o in items:
            role = f" [{ROLE_NAMES[o.role]}]" if o.role != "thuc-hien" else ""
            when = f"{when_text(o, found.today)}: " if title != "Thường xuyên" else ""
            lines.append(f"- {when}{shorten(o.action, 220)}{role} ({o.label})")
    return lines + ([note] if (note := recurring_note(found)) else [])


def empty_message(found: DutyList, soon: bool) -> str:
    if soon:
        return f"{found.unit_label}: không có việc nào có hạn sắp tới trong các văn bản đã nạp."
    return f"Chưa thấy văn bản đã nạp nào giao việc cho {found.unit_label}."


def recurring_note(found: DutyList) -> str:
    """What a 'sắp đến hạn' list leaves out: the recurring duties, whose days are in the task table."""
    if not found.recurring_left:
        return ""
    return f"Ngoài ra có {found.recurring_left} việc định kỳ; hạn từng kỳ xem bằng lệnh /nhiemvu."


def citations(
    found: DutyList, wordings: dict[tuple[str, str], InForce], titles: dict[str, str] | None = None
) -> list[Citation]:
    """One citation per clause listed, in the order shown, in its wording in force (wordings: (doc_id, loc)
    -> that wording; titles: doc_id -> the document's whole title)."""
    cited: dict[tuple[str, str], Citation] = {}
    for o in found.items:
        key = (o.doc_id, o.loc)
        if key not in cited and key in wordings:
            cited[key] = Citation(
                doc_id=o.doc_id,
                loc=o.loc,
                label=o.label,
                text=wordings[key].clause.text,
                score=1.0,
                document_title=(titles or {}).get(o.doc_id, ""),
                amended_by=wordings[key].amended_by,
            )
    return list(cited.values())


def duty_answer(
    question: str,
    found: DutyList,
    wordings: dict[tuple[str, str], InForce],
    soon: bool,
    titles: dict[str, str] | None = None,
) -> Answer:
    """The duty list as an Answer (same contract as any answer: plain text and the clauses cited)."""
    cited = citations(found, wordings, titles)
    return Answer(question=question, answered=bool(cited), answer="\n".join(plain_lines(found, soon)), citations=cited)


def wordings_cited(register: ObligationRegister, found: DutyList, day: date) -> dict[tuple[str, str], InForce]:
    """Every clause the list cites in its wording of `day`, looked up again (one gone is not cited)."""
    wordings = {}
    for o in found.items:
        key = (o.doc_id, o.loc)
        if key not in wordings and (wording := register.store.versions.clause_on(f"{o.doc_id}:{o.loc}", day)):
            wordings[key] = wording
    return wordings


@dataclass(frozen=True)
class Reply:
    """An answer for an official: a list of duties when the question asks about a unit's, else a clause."""

    answer: Answer
    duties: DutyList | None = None
    asked: DutyQuestion | None = None


def answer_for(
    index: ClauseIndex,
    register: ObligationRegister,
    question: str,
    asker_unit: str | None,
    today: date,
    top_k: int | None = None,
    as_of: date | None = None,
) -> Reply:
    """Answer as for an official of `asker_unit`: from the register when the question is about duties,
    else from the clauses in their wording of `as_of` (today)."""
    asked = duty_question(question, asker_unit, register.directory, register.store.documents())
    if asked is None:
        return Reply(answer(index, question, top_k=top_k, as_of=as_of))
    found = duty_list(register, asked, today)
    text = normalize(question).strip()
    titles = {d.doc_id: d.full_title or d.title for d in register.store.documents()}
    return Reply(duty_answer(text, found, wordings_cited(register, found, today), asked.soon, titles), found, asked)
