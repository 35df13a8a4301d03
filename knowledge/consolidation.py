"""Consolidation ("hợp nhất"): the versions of a document's clauses once the operations on it are applied.

Pure functions, no I/O. A document's own clauses stay as parsed; each clause an operation touches gets a
list of versions, each with its validity interval [since, until) and the amending clause that made it:
the original wording until the first change, then each amended wording, a new clause from the day it
was added, and a "repealed" or "lapsed" marker from the day it ended. Operations apply in the order of
their effective dates (then in the order given), so the result does not depend on which document was
loaded first.
"""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from knowledge.amendments import Operation, parse_day
from knowledge.labels import clause_label
from knowledge.records import Clause, DocumentMeta

ABSENT = ("repealed", "lapsed")  # kinds of version that mark the end of a clause, not a wording
POINT_ORDER = "abcdđeghiklmnopqrstuvxyfjwz"
_DAY = r"(?P<day>\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{4}|\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4})"
_TAKES_EFFECT = re.compile(
    rf"(?<!hết )(?<!ngưng )hiệu lực(?: thi hành)?(?: kể)? từ (?:ngày )?(?:ký\s*\(?)?{_DAY}", re.I
)
_LAPSED = re.compile(
    r"hết hiệu lực|ngưng hiệu lực|không còn hiệu lực|bị thay thế|được thay thế|bị bãi bỏ|đã bãi bỏ", re.I
)
_LAPSED_FROM = re.compile(rf"(?:hết|ngưng) hiệu lực(?: thi hành)?(?: kể)? từ (?:ngày )?{_DAY}", re.I)


@dataclass(frozen=True)
class Version:
    """One wording of a clause and the days it is in force: since <= day < until (None: unbounded)."""

    clause: Clause
    since: date | None
    until: date | None
    made_by: str = ""  # clause id of the amending clause ("" for the document's own wording)
    kind: str = "original"  # original | amended | added | repealed | lapsed
    position: float = 0.0  # order within the document

    @property
    def clause_id(self) -> str:
        return self.clause.clause_id

    def valid_on(self, day: date) -> bool:
        """True when this wording is the one in force on `day`."""
        started = self.since is None or self.since <= day
        return self.kind not in ABSENT and started and (self.until is None or day < self.until)


@dataclass(frozen=True)
class Result:
    """The versions of every clause the operations touched, and what each operation did."""

    versions: list[Version]
    outcomes: list[str]  # per operation: "" when applied, else why not (in Vietnamese)


def effective_date(meta: DocumentMeta) -> date | None:
    """When a document takes effect: the date its hiệu lực states, else its issue date."""
    if match := _TAKES_EFFECT.search(meta.effect):
        return parse_day(match.group("day"))
    if not _LAPSED.search(meta.effect) and (said := parse_day(meta.effect)):
        return said
    return parse_day(meta.issued)


def lapsed_on(meta: DocumentMeta, day: date) -> bool:
    """True when a document's own hiệu lực says it has lapsed or was replaced by `day`."""
    if not _LAPSED.search(meta.effect):
        return False
    match = _LAPSED_FROM.search(meta.effect)
    since = parse_day(match.group("day")) if match else None
    return since is None or since <= day


def vn_day(day: date) -> str:
    """'01/9/2026': the day as Vietnamese legal texts write it."""
    return f"{day.day:02d}/{day.month}/{day.year}"


# ------------------------------------------------------------------------------------------ ordering


def _part_key(part: str) -> tuple[int, int, str]:
    digits = "".join(ch for ch in part if ch.isdigit())
    if digits:
        return (0, int(digits), part[len(digits) :])
    return (1, POINT_ORDER.find(part) if part in POINT_ORDER else len(POINT_ORDER), part)


def loc_key(loc: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key of a loc by its numbers: '3.2.đ' after '3.2.d', '4a' after '4'."""
    return tuple(_part_key(p) for p in loc.split("."))


def parent_loc(loc: str) -> str:
    return loc.rsplit(".", 1)[0] if "." in loc else ""


def _within(loc: str, root: str) -> bool:
    return loc == root or loc.startswith(root + ".")


# ---------------------------------------------------------------------------------------- the state


@dataclass
class _Open:
    """The version of a clause in force from `since` on, not closed yet."""

    clause: Clause
    since: date | None
    made_by: str
    kind: str
    position: float


class _Consolidation:
    """Applies operations to one document, keeping each touched clause's closed versions."""

    def __init__(self, has_articles: bool, clauses: list[Clause]) -> None:
        self.has_articles = has_articles
        self.open = {c.loc: _Open(c, None, "", "original", float(c.order)) for c in clauses}
        self.closed: dict[str, list[Version]] = {}
        self.touched: set[str] = set()
        self.positions = sorted(o.position for o in self.open.values())

    def exists(self, loc: str) -> bool:
        return loc in self.open and self.open[loc].kind not in ABSENT

    def live_under(self, root: str) -> list[str]:
        """The root and its sub-clauses currently in force, in document order."""
        locs = [loc for loc in self.open if _within(loc, root) and self.exists(loc)]
        return sorted(locs, key=lambda loc: self.open[loc].position)

    def text(self, loc: str) -> str:
        return self.open[loc].clause.text if self.exists(loc) else ""

    def close(self, loc: str, day: date | None) -> None:
        current = self.open[loc]
        version = Version(current.clause, current.since, day, current.made_by, current.kind, current.position)
        self.closed.setdefault(loc, []).append(version)
        self.touched.add(loc)

    def change(self, loc: str, text: str, day: date | None, made_by: str, kind: str) -> None:
        """Close the clause's current version at `day` and open a new one (a marker when kind is ABSENT)."""
        current = self.open[loc]
        self.close(loc, day)
        clause = current.clause.model_copy(update={"text": text})
        self.open[loc] = _Open(clause, day, made_by, kind, current.position)

    def add(self, loc: str, text: str, day: date | None, made_by: str, position: float, doc_id: str) -> None:
        """A clause the document did not have (or had repealed) comes into force at `day`."""
        if loc in self.open:
            self.close(loc, day)
        clause = Clause(
            doc_id=doc_id,
            loc=loc,
            label=clause_label(loc, self.has_articles),
            text=text,
            heading=self._heading(loc),
            context=self._lead_in(loc),
            division=self._division(loc),
            order=0,
        )
        self.open[loc] = _Open(clause, day, made_by, "added", position)
        self.touched.add(loc)
        insort(self.positions, position)

    def _heading(self, loc: str) -> str:
        article = loc.split(".")[0]
        if not self.has_articles or article == loc or not self.exists(article):
            return ""
        return self.text(article).split("\n")[0]

    def _lead_in(self, loc: str) -> str:
        parent = parent_loc(loc)
        if not loc.split(".")[-1].isalpha() or not parent or not self.exists(parent):
            return ""
        return self.text(parent).split("\n")[0]

    def _division(self, loc: str) -> str:
        article = loc.split(".")[0]
        return self.open[article].clause.division if article in self.open else ""

    def position_after(self, anchor: str | None, subtree: bool = True) -> float:
        """A position just after the anchor (with its sub-clauses), or at the document's start for None."""
        if anchor is None:
            low = -1.0
        elif not subtree:
            low = self.open[anchor].position
        else:
            low = max(self.open[loc].position for loc in self.live_under(anchor))
        at = bisect_right(self.positions, low)
        high = self.positions[at] if at < len(self.positions) else low + 2.0
        return (low + high) / 2

    def place(self, loc: str) -> float:
        """Where a new clause goes: after its previous sibling by number, else right after its parent."""
        parent = parent_loc(loc)
        siblings = [
            other
            for other in self.open
            if parent_loc(other) == parent and loc_key(other) < loc_key(loc) and self.exists(other)
        ]
        if siblings:
            return self.position_after(max(siblings, key=loc_key))
        if parent and self.exists(parent):
            return self.position_after(parent, subtree=False)
        return self.position_after(None)

    def versions(self) -> list[Version]:
        """Every version of every touched clause, the open ones last, in document order."""
        result: list[Version] = []
        for loc in sorted(self.touched, key=lambda loc: self.open[loc].position):
            current = self.open[loc]
            last = Version(current.clause, current.since, None, current.made_by, current.kind, current.position)
            result += [*self.closed.get(loc, []), last]
        return result


# ------------------------------------------------------------------------------------- operations


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _amend(state: _Consolidation, op: Operation, doc_id: str) -> str:
    """New wording: replace the units that exist (ending their sub-clauses the quote leaves out), add
    the others after their anchor or previous sibling."""
    quoted = {unit.loc for unit in op.units}
    previous: str | None = None
    for index, unit in enumerate(op.units):
        if state.exists(unit.loc):
            if op.scope == "unit" and parent_loc(unit.loc) not in quoted:
                for loc in state.live_under(unit.loc):
                    if loc not in quoted:
                        state.change(loc, "", op.since, op.made_by, "repealed")
            text = unit.text
            if op.scope == "title":
                text = "\n".join([unit.text.split("\n")[0], *state.text(unit.loc).split("\n")[1:]])
            if not _same(text, state.text(unit.loc)):
                state.change(unit.loc, text, op.since, op.made_by, "amended")
        else:
            if index == 0 and op.after and state.exists(op.after):
                position = state.position_after(op.after)
            elif previous is not None and parent_loc(unit.loc) == parent_loc(previous):
                position = state.position_after(previous)
            elif previous is not None and parent_loc(unit.loc) == previous:
                position = state.position_after(previous, subtree=False)
            else:
                position = state.place(unit.loc)
            state.add(unit.loc, unit.text, op.since, op.made_by, position, doc_id)
        previous = unit.loc
    return ""


def _repeal(state: _Consolidation, op: Operation) -> str:
    missing = [loc for loc in op.locs if not state.exists(loc)]
    for loc in op.locs:
        for inner in state.live_under(loc):
            state.change(inner, "", op.since, op.made_by, "repealed")
    return _missing(state, missing)


def _words(state: _Consolidation, op: Operation) -> str:
    """Replace a phrase wherever it stands in the named units and their sub-clauses."""
    roots = list(op.locs) or [loc for loc in state.open if "." not in loc]
    missing = [loc for loc in roots if not state.exists(loc)]
    changed = 0
    for loc in [inner for root in roots for inner in state.live_under(root)]:
        text = state.text(loc)
        new_text = _replace_phrase(text, op.old, op.new)
        if new_text != text:
            state.change(loc, new_text, op.since, op.made_by, "amended")
            changed += 1
    if missing:
        return _missing(state, missing)
    return "" if changed else f"không thấy cụm từ “{op.old}”"


def _replace_phrase(text: str, old: str, new: str) -> str:
    """Every occurrence of the phrase, also where it opens a sentence with a capital letter."""
    text = text.replace(old, new)
    capital_old = old[:1].upper() + old[1:]
    if capital_old != old:
        text = text.replace(capital_old, new[:1].upper() + new[1:])
    if "  " in text and not new:
        text = re.sub(r" {2,}", " ", text)
    return text


def _lapse(state: _Consolidation, op: Operation) -> str:
    for loc in list(state.open):
        if state.exists(loc):
            state.change(loc, "", op.since, op.made_by, "lapsed")
    return ""


def _missing(state: _Consolidation, locs: list[str]) -> str:
    if not locs:
        return ""
    return "không có " + ", ".join(clause_label(loc, state.has_articles) for loc in locs)


def consolidate(doc_id: str, has_articles: bool, clauses: list[Clause], operations: Iterable[Operation]) -> Result:
    """Apply the operations on one document in order of their effective dates."""
    ops = list(operations)
    state = _Consolidation(has_articles, clauses)
    outcomes = [""] * len(ops)
    order = sorted(range(len(ops)), key=lambda i: (ops[i].since or date.min, i))
    for i in order:
        op = ops[i]
        if op.kind == "amend":
            outcomes[i] = _amend(state, op, doc_id)
        elif op.kind == "repeal":
            outcomes[i] = _repeal(state, op)
        elif op.kind == "words":
            outcomes[i] = _words(state, op)
        else:
            outcomes[i] = _lapse(state, op)
    return Result(state.versions(), outcomes)


def in_force(clauses: list[Clause], versions: list[Version], day: date) -> list[Clause]:
    """The clauses of a document in force on `day`, in document order, each in its wording of that day."""
    touched = {v.clause.loc for v in versions}
    rows = [(float(c.order), c) for c in clauses if c.loc not in touched]
    rows += [(v.position, v.clause) for v in versions if v.valid_on(day)]
    rows.sort(key=lambda row: row[0])
    return [replace_order(clause, i) for i, (_, clause) in enumerate(rows)]


def replace_order(clause: Clause, order: int) -> Clause:
    return clause if clause.order == order else clause.model_copy(update={"order": order})
