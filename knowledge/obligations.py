"""Obligations drawn from a document's clauses: who must act, in what role, doing what, by when.

Reading follows how Vietnamese directives and decrees say who acts:
- once for what follows: the lead-in that ends the opening text ("yêu cầu Thủ trưởng các phòng … và Chủ
  tịch UBND các xã, phường thực hiện tốt một số nội dung sau:"), an article's title ("Điều 5. Trách nhiệm
  của Chủ tịch Ủy ban nhân dân cấp xã"), a clause that introduces points ("1. Ủy ban nhân dân cấp xã có
  trách nhiệm:", "1. Đối với Ủy ban nhân dân cấp xã:");
- in the sentence itself: its subject ("Chủ tịch UBND các xã, phường tăng cường …"), whom it assigns ("Giao
  phòng Nội vụ chủ trì, đôn đốc, tổng hợp", "yêu cầu …"), and the units named to coordinate with a lead
  ("chủ trì, phối hợp với Văn phòng …"). A sentence without a subject continues the previous one's.
A unit named otherwise (a recipient "gửi về Phòng Nội vụ", a possessor "của UBND cấp xã", an object
"hướng dẫn UBND cấp xã", a partner of a duty without a lead) owes nothing by that mention. A sentence whose
subject "là" (defines), "được" (is entitled), "đã" (did) or "có quyền" states no duty.

Each sentence (or part between semicolons) that obliges units becomes one duty with its timing; a unit's
standing duties in one clause are merged into one. Pure functions: clauses and units in, obligations out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import Field

from base.records import Record
from knowledge.labels import citation_label
from knowledge.records import Clause
from knowledge.timing import When, read_when
from knowledge.units import Mention, Token, UnitDirectory, joined, starts_with, tokenize, words_of

Role = Literal["chu-tri", "phoi-hop", "thuc-hien"]

_TITLES = [
    words_of(t)
    for t in (
        "phó trưởng phòng",
        "trưởng phòng",
        "chánh văn phòng",
        "phó chủ tịch",
        "chủ tịch",
        "thủ trưởng",
        "người đứng đầu",
        "tập thể lãnh đạo",
        "lãnh đạo",
        "giám đốc",
        "phó trưởng",
        "trưởng",
    )
]
_ASSIGN = [words_of(w) for w in ("giao", "giao cho")]
_INTRODUCE = [words_of(w) for w in ("yêu cầu", "đề nghị", "chỉ đạo", "phân công", "chỉ thị", "thì")]
_TOPIC = [words_of(w) for w in ("đối với", "riêng", "đồng thời", "ngoài ra", "trong đó", "bên cạnh đó")]
_PARTNER = [words_of(w) for w in ("phối hợp chặt chẽ với", "phối hợp với", "phối hợp cùng")]
_LEADS = [
    words_of(w)
    for w in (
        "chủ trì",
        "làm đầu mối",
        "là đầu mối",
        "là cơ quan đầu mối",
        "là cơ quan chủ trì",
        "là cơ quan thường trực",
        "chịu trách nhiệm chính",
    )
]
_ASSIGNED_LEADS = _LEADS + [words_of(w) for w in ("đôn đốc", "tổng hợp", "theo dõi")]
_COORDINATES = [words_of("phối hợp")]
_NO_DUTY = [words_of(w) for w in ("là", "đã", "có quyền", "có thẩm quyền")]
_OPENERS = [
    words_of(w)
    for w in (
        "trên cơ sở",
        "căn cứ",
        "để",
        "sau khi",
        "khi",
        "trong",
        "chậm nhất",
        "năm",
        "hằng năm",
        "hàng năm",
        "định kỳ",
        "ngoài ra",
        "đồng thời",
        "riêng",
        "trường hợp",
        "nếu",
        "theo",
        "trước",
        "sau",
        "mỗi",
        "bên cạnh",
        "từ",
        "qua",
        "nhằm",
    )
]
_ENUMERATION = re.compile(r"(?:trường hợp|điều kiện|căn cứ|hình thức)(?: \w+)? (?:sau|dưới đây)|(?:bao gồm|gồm)\s*:$")
_ENTITLED = words_of("được")
_LIST_GLUE = {",", ";", "(", ")", "va", "cung", "hoac"}
_TITLE_PREFIXES = [words_of(w) for w in ("trách nhiệm của", "nhiệm vụ của", "nhiệm vụ, quyền hạn của")]
_ARTICLE_TITLE = re.compile(r"^Điều\s+\d+[a-zđ]?\s*[.:]\s*")
_MARKER = re.compile(r"^(?:\d+(?:\.\d+)*\s*\.|[a-zđ]\s*\)|[IVXLC]+\s*[.:/])\s*")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[A-ZĐÀ-Ỹ0-9“\"(])|;\s*")
_FINISHED = (".", ";", ":", "!", "?", "…", "./.")
_ACTION_LIMIT = 1200


class Obligation(Record):
    """One duty of one unit, from one clause (the register's row; `cchc obligations --json` prints it)."""

    doc_id: str
    loc: str
    label: str = Field(description="Citation: 'điểm c khoản 2 Chỉ thị …'.")
    unit: str = Field(description="Unit code of config.yaml.")
    role: Role
    action: str = Field(description="What must be done, verbatim from the clause.")
    deadline: date | None = None
    recurrence: list[str] = Field(default_factory=list, description="hang-tuan … hang-nam, in that order.")
    term: str | None = Field(None, description="A relative term as written: 'trong thời hạn 05 ngày …'.")
    order: int = Field(0, description="Position in the document, for sorting.")

    def public(self) -> dict:
        """The JSON contract: doc_id, loc, label, unit, role, action, deadline, recurrence, term."""
        row = self.model_dump(exclude={"order"})
        row["deadline"] = self.deadline.isoformat() if self.deadline else None
        return row


@dataclass(frozen=True)
class Assignee:
    units: frozenset[str]
    role: Role


@dataclass
class Duty:
    """A duty of several units before it is written out per unit."""

    loc: str
    assignees: list[Assignee]
    action: str
    when: When


@dataclass
class _Reading:
    """What one sentence says: its assignees (None: it names no subject) and whether it states a duty."""

    assignees: list[Assignee] | None
    duty: bool = True
    partners: list[frozenset[str]] = field(default_factory=list)


# ------------------------------------------------------------------------------------- sentences


def _preceding(tokens: Sequence[Token], at: int) -> int:
    """Index just after the word before `at`, titles such as 'Chủ tịch' skipped."""
    i = at
    while i > 0:
        for title in _TITLES:
            if i >= len(title) and tuple(t.text for t in tokens[i - len(title) : i]) == title:
                i -= len(title)
                break
        else:
            return i
    return i


def _ends_with(tokens: Sequence[Token], end: int, phrases: list[tuple[str, ...]]) -> bool:
    return any(end >= len(p) and tuple(t.text for t in tokens[end - len(p) : end]) == p for p in phrases)


def _chains(tokens: Sequence[Token], mentions: list[Mention]) -> list[list[Mention]]:
    """Mentions joined by ',', 'và', 'cùng' (titles between them allowed) form one chain."""
    chains: list[list[Mention]] = []
    for mention in mentions:
        if chains and joined(tokens, chains[-1][-1], mention, _TITLES):
            chains[-1].append(mention)
        else:
            chains.append([mention])
    return chains


def _position(tokens: Sequence[Token], chain: list[Mention], first: bool) -> str:
    """How a chain stands: subject, assigned, partner or other.

    After a comma a chain is a subject when it is the sentence's first and follows an opening adverbial
    ("Trên cơ sở …, Thủ trưởng các phòng … khẩn trương …", "Trong thời hạn 03 ngày …, Chủ tịch …"), not
    when it continues a list ("tại trụ sở Tòa án, Ủy ban nhân dân cấp xã", "của UBND thị xã, UBND các xã và").
    """
    end = _preceding(tokens, chain[0].first)
    if end == 0:
        return "subject"
    if tokens[end - 1].text in {",", ":"}:
        after = chain[-1].last
        continues = after < len(tokens) and tokens[after].text not in _LIST_GLUE
        return "subject" if continues and first and starts_with(tokens, 0, _OPENERS) else "other"
    if _ends_with(tokens, end, _ASSIGN):
        return "assigned"
    if _ends_with(tokens, end, _INTRODUCE) or _opens_with_topic(tokens, end):
        return "subject"
    if _ends_with(tokens, end, _PARTNER):
        return "partner"
    return "other"


def _opens_with_topic(tokens: Sequence[Token], end: int) -> bool:
    """'Đối với X', 'Riêng X', 'Đồng thời X' at the start of a sentence put X as its topic."""
    return any(end == len(t) and _ends_with(tokens, end, [t]) for t in _TOPIC)


def _predicate_role(tokens: Sequence[Token], after: int, leads: list[tuple[str, ...]]) -> Role | None:
    """The role the words after a subject give it; None when they state no duty."""
    if starts_with(tokens, after, leads):
        return "chu-tri"
    if starts_with(tokens, after, _COORDINATES):
        return "phoi-hop"
    if starts_with(tokens, after, _NO_DUTY):
        return None
    if starts_with(tokens, after, [_ENTITLED]) and not starts_with(tokens, after + 1, _ASSIGN):
        return None
    return "thuc-hien"


def read_sentence(tokens: Sequence[Token], directory: UnitDirectory) -> _Reading:
    """Who a sentence obliges, from how each naming of units stands in it."""
    assignees: list[Assignee] = []
    partners: list[frozenset[str]] = []
    named_subject = False
    for number, chain in enumerate(_chains(tokens, directory.mentions(tokens))):
        units = frozenset().union(*(m.units for m in chain))
        where = _position(tokens, chain, number == 0)
        if where == "partner":
            partners.append(units)
        elif where in {"subject", "assigned"}:
            named_subject = True
            leads = _ASSIGNED_LEADS if where == "assigned" else _LEADS
            role = _predicate_role(tokens, chain[-1].last, leads)
            if role is not None:
                assignees.append(Assignee(units, role))
    if named_subject and not assignees:
        return _Reading([], duty=False)
    return _Reading(assignees if named_subject else None, partners=partners)


def _with_partners(reading: _Reading, assignees: list[Assignee]) -> list[Assignee]:
    """Units named to coordinate with a lead ('chủ trì, phối hợp với …') take the role phoi-hop."""
    if not any(a.role == "chu-tri" for a in assignees):
        return assignees
    return assignees + [Assignee(units, "phoi-hop") for units in reading.partners]


def _inherited(tokens: Sequence[Token], assignees: list[Assignee]) -> list[Assignee]:
    """A sentence without a subject continues the last one's; its own first verb may set the role."""
    role = _predicate_role(tokens, 0, _LEADS)
    if role is None:
        return []
    if role == "thuc-hien":
        return list(assignees)
    return [Assignee(a.units, role) for a in assignees]


# --------------------------------------------------------------------------------------- clauses


def _parent(loc: str) -> str | None:
    return loc.rsplit(".", 1)[0] if "." in loc else None


def _is_title(paragraph: str, index: int, count: int, has_children: bool) -> bool:
    """An article's title, or an item's heading line (no final punctuation) before its text or points."""
    if index != 0:
        return False
    if _ARTICLE_TITLE.match(paragraph):
        return True
    return (count > 1 or has_children) and not paragraph.rstrip(" ”\"'").endswith(_FINISHED)


def sentences(paragraph: str) -> list[str]:
    """Sentences and semicolon parts of a paragraph, list markers removed."""
    body = _MARKER.sub("", _ARTICLE_TITLE.sub("", paragraph.strip()), count=1)
    return [s.strip() for s in _SENTENCE.split(body) if s and len(s.split()) >= 2]


def _title_scope(title: str, directory: UnitDirectory) -> list[Assignee]:
    """Who an article or item title charges: 'Trách nhiệm của X', 'Nhiệm vụ của X', or a subject X."""
    text = _MARKER.sub("", _ARTICLE_TITLE.sub("", title.strip()), count=1)
    tokens = tokenize(text)
    tokens = tokens[starts_with(tokens, 0, _TITLE_PREFIXES) :]
    mentions = directory.mentions(tokens)
    if not mentions or _preceding(tokens, mentions[0].first) != 0:
        return []
    return read_sentence(tokens, directory).assignees or []


@dataclass
class _Document:
    """What is being read: the clauses, who they are addressed to, and the duties found so far."""

    directory: UnitDirectory
    clauses: list[Clause]
    parents: set[str] = field(default_factory=set)
    scopes: dict[str, list[Assignee] | None] = field(default_factory=dict)
    duties: list[Duty] = field(default_factory=list)


def _opening_scope(clause: Clause, directory: UnitDirectory) -> list[Assignee]:
    """The opening text's lead-in ('… yêu cầu X thực hiện một số nội dung sau:') addresses all that follows."""
    paragraphs = [p for p in clause.text.split("\n") if p.strip()]
    if not paragraphs or not paragraphs[-1].rstrip().endswith(":"):
        return []
    last = sentences(paragraphs[-1])
    return read_sentence(tokenize(last[-1]), directory).assignees or [] if last else []


def _read_clause(doc: _Document, clause: Clause, inherited: list[Assignee]) -> list[Assignee] | None:
    """Record the duties of one clause; return who its points are addressed to (None: they enumerate
    cases or conditions, "trong các trường hợp sau đây:", and oblige nobody)."""
    has_children = clause.loc in doc.parents
    paragraphs = [p for p in clause.text.split("\n") if p.strip()]
    current = list(inherited)
    for_children: list[Assignee] | None = list(inherited)
    for index, paragraph in enumerate(paragraphs):
        if _is_title(paragraph, index, len(paragraphs), has_children):
            current = _title_scope(paragraph, doc.directory) or current
            for_children = list(current)
            continue
        parts = sentences(paragraph)
        for number, sentence in enumerate(parts):
            tokens = tokenize(sentence)
            reading = read_sentence(tokens, doc.directory)
            if reading.assignees is None:
                assignees = _inherited(tokens, current)
            else:
                assignees = current = reading.assignees
            assignees = _with_partners(reading, assignees)
            if sentence.endswith(":") and number == len(parts) - 1:
                for_children = None if _ENUMERATION.search(sentence) else list(current)
            elif reading.duty and assignees and clause.loc != "preamble":
                doc.duties.append(Duty(clause.loc, assignees, sentence, read_when(sentence, clause.context)))
    return for_children


def duties(clauses: Sequence[Clause], directory: UnitDirectory) -> list[Duty]:
    """Every duty of a document's clauses (in document order), before it is written out per unit."""
    doc = _Document(directory, sorted(clauses, key=lambda c: c.order))
    doc.parents = {p for c in doc.clauses if (p := _parent(c.loc))}
    opening: list[Assignee] = []
    for clause in doc.clauses:
        parent = _parent(clause.loc)
        if clause.loc == "preamble":
            opening = _opening_scope(clause, directory)
            doc.scopes[clause.loc] = _read_clause(doc, clause, [])
            continue
        inherited = doc.scopes.get(parent, opening) if parent else opening
        doc.scopes[clause.loc] = None if inherited is None else _read_clause(doc, clause, inherited)
    return doc.duties


# ---------------------------------------------------------------------------------------- output


def _trimmed(action: str) -> str:
    action = action.strip().rstrip(";,. /")
    return action if len(action) <= _ACTION_LIMIT else action[: _ACTION_LIMIT - 1].rsplit(" ", 1)[0] + "…"


def _obligation(clause: Clause, duty: Duty, unit: str, role: Role, label: str) -> Obligation:
    return Obligation(
        doc_id=clause.doc_id,
        loc=duty.loc,
        label=label,
        unit=unit,
        role=role,
        action=_trimmed(duty.action),
        deadline=duty.when.deadline,
        recurrence=list(duty.when.recurrence),
        term=duty.when.term,
        order=clause.order,
    )


def extract(clauses: Sequence[Clause], directory: UnitDirectory, title: str = "") -> list[Obligation]:
    """The obligations of one document (`title` names it in citations), one per unit and duty; a unit's
    standing duties in one clause are merged into one, their sentences joined."""
    by_loc = {c.loc: c for c in clauses}
    found: dict[tuple, Obligation] = {}
    for duty in duties(clauses, directory):
        clause = by_loc[duty.loc]
        label = citation_label(clause.label, title)
        for assignee in duty.assignees:
            for unit in sorted(assignee.units):
                standing = duty.when.standing
                key = (duty.loc, unit, assignee.role) + (() if standing else (duty.action,))
                if key in found and standing:
                    merged = _trimmed(f"{found[key].action}; {_trimmed(duty.action)}")
                    found[key] = found[key].model_copy(update={"action": merged})
                else:
                    found.setdefault(key, _obligation(clause, duty, unit, assignee.role, label))
    return list(found.values())
