"""The SQLite side of consolidation: amendment operations, clause versions, the wording in force.

Two tables beside `documents` and `clauses` (which keep each document's own clauses as parsed):
- `amendments`: each operation an amending clause makes (knowledge.amendments), its target document's
  number, the doc_id that number resolved to and the outcome ("" when applied);
- `clause_versions`: each version of every clause an operation touched, with its validity interval
  [since, until) as ISO days ("" = unbounded), the clause that made it and the dense passage it is
  retrieved with.
Operations are read when their document is stored; when a document is stored or removed, the versions of
every document that change can reach (the document itself, the targets of its operations before and after,
and any target an operation now resolves to differently) are recomputed in the same transaction, so the
load order never matters and unrelated documents are left as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from knowledge.amendments import Operation, Unit, number_key, operations, parse_day
from knowledge.consolidation import ABSENT, Version, consolidate, effective_date, in_force, lapsed_on, vn_day
from knowledge.labels import citation_label
from knowledge.records import Clause, DocumentMeta

TARGET_MISSING = "văn bản được sửa đổi chưa được nạp"
TARGET_UNKNOWN = "không rõ văn bản được sửa đổi"
CHANGES = ("amend", "repeal", "words")  # operations whose clause is then read through the target's versions


def create_tables(db: sqlite_utils.Database) -> None:
    """Schema of the two tables (a migration of the knowledge store)."""
    db.table("amendments").create(
        {
            "op_id": str,
            "doc_id": str,
            "made_by": str,
            "seq": int,
            "kind": str,
            "target": str,
            "locs": str,
            "units": str,
            "after": str,
            "scope": str,
            "old": str,
            "new": str,
            "since": str,
            "target_doc": str,
            "outcome": str,
        },
        pk="op_id",
    )
    db.table("amendments").create_index(["doc_id"])
    db.table("clause_versions").create(
        {
            "version_id": str,
            "clause_id": str,
            "doc_id": str,
            "loc": str,
            "label": str,
            "text": str,
            "heading": str,
            "context": str,
            "division": str,
            "position": float,
            "since": str,
            "until": str,
            "made_by": str,
            "kind": str,
            "passage": str,
        },
        pk="version_id",
    )
    db.table("clause_versions").create_index(["clause_id"])
    db.table("clause_versions").create_index(["doc_id"])


@dataclass(frozen=True)
class InForce:
    """A clause in its wording of one day, and the changes that shaped that wording (oldest first)."""

    clause: Clause
    since: date | None
    kind: str  # original | amended | added
    changes: tuple[Version, ...] = ()

    @property
    def amended_by(self) -> list[str]:
        """Ids of the amending clauses behind this wording, oldest first (empty: never amended)."""
        return list(dict.fromkeys(v.made_by for v in self.changes))


@dataclass(frozen=True)
class IndexRow:
    """One retrievable wording: a clause (or one version of it), its passage and its validity."""

    clause: Clause
    passage: str
    since: str  # ISO day or "" (from the start)
    until: str  # ISO day or "" (still in force)
    key: str  # the clause id, or the version id of one wording of a changed clause
    order: float  # position in its document


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _op_row(op: Operation, doc_id: str, seq: int) -> dict:
    return {
        "op_id": f"{op.made_by}#{seq}",
        "doc_id": doc_id,
        "made_by": op.made_by,
        "seq": seq,
        "kind": op.kind,
        "target": op.target,
        "locs": json.dumps(op.locs, ensure_ascii=False),
        "units": json.dumps([[u.loc, u.text] for u in op.units], ensure_ascii=False),
        "after": op.after,
        "scope": op.scope,
        "old": op.old,
        "new": op.new,
        "since": _iso(op.since),
        "target_doc": "",
        "outcome": "",
    }


def _op_from_row(row: dict) -> Operation:
    return Operation(
        made_by=row["made_by"],
        kind=row["kind"],
        target=row["target"],
        locs=tuple(json.loads(row["locs"])),
        units=tuple(Unit(loc, text) for loc, text in json.loads(row["units"])),
        after=row["after"],
        scope=row["scope"],
        old=row["old"],
        new=row["new"],
        since=_day(row["since"]),
    )


def _version_row(version: Version, seq: int, passage: str) -> dict:
    clause = version.clause
    return {
        "version_id": f"{clause.clause_id}@{seq}",
        "clause_id": clause.clause_id,
        "doc_id": clause.doc_id,
        "loc": clause.loc,
        "label": clause.label,
        "text": clause.text,
        "heading": clause.heading,
        "context": clause.context,
        "division": clause.division,
        "position": version.position,
        "since": _iso(version.since),
        "until": _iso(version.until),
        "made_by": version.made_by,
        "kind": version.kind,
        "passage": passage,
    }


def _version_from_row(row: dict) -> Version:
    clause = Clause(
        doc_id=row["doc_id"],
        loc=row["loc"],
        label=row["label"],
        text=row["text"],
        heading=row["heading"],
        context=row["context"],
        division=row["division"],
        order=int(row["position"]),
    )
    return Version(clause, _day(row["since"]), _day(row["until"]), row["made_by"], row["kind"], row["position"])


def _clause(row: dict) -> Clause:
    fields = {name: row[name] for name in Clause.model_fields if name in row}
    return Clause(**fields, order=row["ord"])


class Versions:
    """Amendment operations and clause versions of one knowledge database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    # ------------------------------------------------------------------------------------- writing

    def store_operations(self, meta: DocumentMeta, clauses: list[Clause]) -> None:
        """Read and keep the operations a document's clauses make (call inside the store's transaction)."""
        self.db.execute("DELETE FROM amendments WHERE doc_id = ?", [meta.doc_id])
        ops = operations(clauses, meta.amends, meta.number, effective_date(meta))
        self.db.table("amendments").insert_all([_op_row(op, meta.doc_id, i) for i, op in enumerate(ops)], pk="op_id")

    def forget(self, doc_id: str) -> None:
        self.db.execute("DELETE FROM amendments WHERE doc_id = ?", [doc_id])

    def targets_of(self, doc_id: str) -> set[str]:
        """The loaded documents this one's operations resolved onto at the last refresh."""
        sql = "SELECT DISTINCT target_doc FROM amendments WHERE doc_id = ? AND target_doc != ''"
        return {row[0] for row in self.db.execute(sql, [doc_id])}

    def refresh(self, changed: set[str] | None = None) -> None:
        """Recompute clause versions and operation outcomes from what is loaded now: of every document
        (`changed` None), or of those a change to the `changed` documents can reach. The caller names a
        stored or removed document together with its former targets (`targets_of` before the change)."""
        documents = {r["doc_id"]: r for r in self.db.table("documents").rows}
        by_number = {number_key(r["number"]): doc_id for doc_id, r in documents.items() if r["number"]}
        rows = sorted(self.db.table("amendments").rows, key=lambda r: _op_order(r, documents))
        outcomes: dict[str, tuple[str, str]] = {}
        targets: dict[str, list[dict]] = {}
        for row in rows:
            target = by_number.get(number_key(row["target"])) if row["target"] else None
            if target is None or target == row["doc_id"]:
                outcomes[row["op_id"]] = ("", TARGET_MISSING if row["target"] else TARGET_UNKNOWN)
            else:
                targets.setdefault(target, []).append(row)
        if changed is None:
            affected = set(targets)
            self.db.execute("DELETE FROM clause_versions")
        else:
            affected = _reached(changed, rows, targets)
            for doc_id in sorted(affected):
                self.db.execute("DELETE FROM clause_versions WHERE doc_id = ?", [doc_id])
        for doc_id in [d for d in targets if d in affected]:
            outcomes.update(self._consolidate(documents[doc_id], targets[doc_id]))
        stored = {row["op_id"]: (row["target_doc"], row["outcome"]) for row in rows}
        self.db.conn.executemany(
            "UPDATE amendments SET target_doc = ?, outcome = ? WHERE op_id = ?",
            [(doc, outcome, op_id) for op_id, (doc, outcome) in outcomes.items() if stored[op_id] != (doc, outcome)],
        )

    def _consolidate(self, document: dict, op_rows: list[dict]) -> dict[str, tuple[str, str]]:
        doc_id = document["doc_id"]
        rows = list(self.db.table("clauses").rows_where("doc_id = ?", [doc_id], order_by="ord"))
        clauses = [_clause(r) for r in rows]
        result = consolidate(doc_id, bool(document["has_articles"]), clauses, map(_op_from_row, op_rows))
        passages = {r["loc"]: r["passage"] for r in rows}
        made_by_passage = self._passages({op["made_by"] for op in op_rows})
        versions = []
        for seq, version in enumerate(result.versions):
            loc = version.clause.loc
            passage = passages.get(loc) or passages.get(loc.split(".")[0]) or made_by_passage.get(version.made_by, "")
            versions.append(_version_row(version, seq, passage))
        self.db.table("clause_versions").insert_all(versions, pk="version_id")
        return {op["op_id"]: (doc_id, outcome) for op, outcome in zip(op_rows, result.outcomes, strict=True)}

    def _passages(self, clause_ids: Iterable[str]) -> dict[str, str]:
        ids = list(clause_ids)
        marks = ",".join("?" * len(ids))
        sql = f"SELECT clause_id, passage FROM clauses WHERE clause_id IN ({marks})"
        return dict(self.db.execute(sql, ids).fetchall()) if ids else {}

    # ------------------------------------------------------------------------------------- reading

    def index_rows(self, doc_ids: set[str] | None = None) -> list[IndexRow]:
        """Every wording that can be in force on some day, for retrieval (with `doc_ids`, of those documents
        only): each clause nobody changed, each version of a changed one (markers of an end excluded), and no
        amending clause whose changes all resolved (its words live on in the target's versions)."""
        if doc_ids is not None and not doc_ids:
            return []
        docs = sorted(doc_ids) if doc_ids is not None else []
        of_docs = f" AND doc_id IN ({','.join('?' * len(docs))})" if docs else ""
        of_where = f" WHERE doc_id IN ({','.join('?' * len(docs))})" if docs else ""
        touched = {r[0] for r in self.db.execute("SELECT DISTINCT clause_id FROM clause_versions" + of_where, docs)}
        represented = self.represented(doc_ids)
        rows = [
            IndexRow(_clause(row), row["passage"], "", "", row["clause_id"], row["ord"])
            for row in self.db.table("clauses").rows_where("1 = 1" + of_docs, docs, order_by="doc_id, ord")
            if row["clause_id"] not in touched and row["clause_id"] not in represented
        ]
        marks = ",".join("?" * len(ABSENT))
        for row in self.db.table("clause_versions").rows_where(
            f"kind NOT IN ({marks}) AND (until = '' OR since = '' OR since < until)" + of_docs,
            [*ABSENT, *docs],
            order_by="doc_id, position",
        ):
            version = _version_from_row(row)
            rows.append(
                IndexRow(version.clause, row["passage"], row["since"], row["until"], row["version_id"], row["position"])
            )
        return rows

    def version(self, version_id: str) -> Clause | None:
        """The wording one version gives its clause (None when no version has that id)."""
        rows = list(self.db.table("clause_versions").rows_where("version_id = ?", [version_id]))
        return _version_from_row(rows[0]).clause if rows else None

    def linked(self, doc_ids: set[str]) -> set[str]:
        """These documents and every document linked to them through amendments, however indirectly (the
        versions of any of them may change when one of them does)."""
        edges = self.db.execute("SELECT doc_id, target_doc FROM amendments WHERE target_doc != ''").fetchall()
        found, frontier = set(doc_ids), set(doc_ids)
        while frontier:
            step = {b for a, b in edges if a in frontier} | {a for a, b in edges if b in frontier}
            frontier = step - found
            found |= frontier
        return found

    def represented(self, doc_ids: set[str] | None = None) -> set[str]:
        """Amending clauses whose every change resolved onto a loaded document (of these documents, when
        given)."""
        docs = sorted(doc_ids) if doc_ids else []
        where = f"WHERE doc_id IN ({','.join('?' * len(docs))}) " if docs else ""
        sql = (
            f"SELECT made_by FROM amendments {where}GROUP BY made_by "
            "HAVING SUM(kind IN ('amend', 'repeal', 'words')) > 0 AND SUM(outcome != '') = 0"
        )
        return {row[0] for row in self.db.execute(sql, docs)}

    def history(self, clause_id: str) -> list[Version]:
        """Every version of a clause, oldest first ([] when no operation touched it)."""
        rows = self.db.table("clause_versions").rows_where("clause_id = ?", [clause_id], order_by="since, version_id")
        return sorted((_version_from_row(r) for r in rows), key=lambda v: (v.since or date.min, v.kind in ABSENT))

    def clause_on(self, clause_id: str, day: date) -> InForce | None:
        """The clause in its wording of `day`; None when it does not exist on that day (or at all)."""
        versions = self.history(clause_id)
        if not versions:
            rows = list(self.db.table("clauses").rows_where("clause_id = ?", [clause_id]))
            return InForce(_clause(rows[0]), None, "original") if rows else None
        current = next((v for v in versions if v.valid_on(day)), None)
        if current is None:
            return None
        started = current.since or date.min
        changes = tuple(v for v in versions if v.made_by and (v.since or date.min) <= started)
        return InForce(current.clause, current.since, current.kind, changes)

    def upcoming(self, clause_id: str, day: date) -> Version | None:
        """The next change to a clause after `day`, if one is already loaded."""
        return next((v for v in self.history(clause_id) if v.since and v.since > day), None)

    def clauses_in_force(self, doc_id: str, day: date) -> list[Clause]:
        """The clauses of a document in force on `day`, each in its wording of that day, in document order.

        Empty when the document is not in force that day: not yet effective, lapsed by its own hiệu lực,
        or replaced by a loaded document.
        """
        rows = list(self.db.table("documents").rows_where("doc_id = ?", [doc_id]))
        if not rows:
            return []
        meta = _meta(rows[0])
        started = effective_date(meta)
        if (started and started > day) or lapsed_on(meta, day):
            return []
        return self.wording_on(doc_id, day)

    def wording_on(self, doc_id: str, day: date, under: str = "") -> list[Clause]:
        """A document's clauses as they read on `day` (whether or not the document itself is in force);
        with `under`, only that unit and its sub-clauses."""
        where, args = "doc_id = ?", [doc_id]
        if under:
            where, args = "doc_id = ? AND (loc = ? OR loc LIKE ?)", [doc_id, under, f"{under}.%"]
        clauses = [_clause(r) for r in self.db.table("clauses").rows_where(where, args, order_by="ord")]
        versions = [_version_from_row(r) for r in self.db.table("clause_versions").rows_where(where, args)]
        return in_force(clauses, versions, day)

    def change(self, version: Version) -> tuple[str, str, date | None]:
        """(kind, citation label of the amending clause, day it took effect) of one change, for notes."""
        rows = list(self.db.table("clauses").rows_where("clause_id = ?", [version.made_by]))
        titles = list(self.db.table("documents").rows_where("doc_id = ?", [version.made_by.split(":")[0]]))
        if not rows or not titles:
            return version.kind, version.made_by, version.since
        return version.kind, citation_label(rows[0]["label"], titles[0]["title"]), version.since

    def amends(self, meta: DocumentMeta) -> list[tuple[str, bool]]:
        """The numbers of the documents this one amends or replaces, each with whether it is loaded."""
        loaded = {number_key(r["number"]) for r in self.db.table("documents").rows if r["number"]}
        named = [row["target"] for row in self.operations_of(meta.doc_id) if row["target"]]
        numbers = {number_key(n): n for n in [*meta.amends, *named] if number_key(n) != number_key(meta.number)}
        return [(number, key in loaded) for key, number in numbers.items()]

    def amended_by_documents(self, doc_id: str, under: str = "", day: date | None = None) -> list[str]:
        """The loaded documents whose operations changed this one (with `under`, that unit or its
        sub-clauses; with `day`, only changes in force by then), in the order they took effect."""
        sql = "SELECT made_by, MIN(since) FROM clause_versions WHERE doc_id = ? AND made_by != '' AND kind != 'lapsed'"
        args: list[str] = [doc_id]
        if under:
            sql += " AND (loc = ? OR loc LIKE ?)"
            args += [under, f"{under}.%"]
        if day:
            sql += " AND since <= ?"
            args.append(day.isoformat())
        rows = self.db.execute(sql + " GROUP BY made_by ORDER BY MIN(since), made_by", args).fetchall()
        return list(dict.fromkeys(made_by.split(":")[0] for made_by, _ in rows))

    def missing_target(self, clause_id: str) -> str:
        """The number of the document an amending clause changes when that document is not loaded, else ''."""
        where = "made_by = ? AND outcome = ?"
        rows = list(self.db.table("amendments").rows_where(where, [clause_id, TARGET_MISSING], limit=1))
        return rows[0]["target"] if rows else ""

    def operations_of(self, doc_id: str) -> list[dict]:
        """The operations a document makes, with their target and outcome (for `cchc docs`)."""
        return list(self.db.table("amendments").rows_where("doc_id = ?", [doc_id], order_by="seq"))

    def replaced_by(self, doc_id: str) -> tuple[str, date | None] | None:
        """The clause of a loaded document that ends this one as a whole, and from when."""
        where = "kind = 'lapse' AND target_doc = ? AND outcome = ''"
        rows = list(self.db.table("amendments").rows_where(where, [doc_id], limit=1))
        return (rows[0]["made_by"], _day(rows[0]["since"])) if rows else None

    def document_note(self, meta: DocumentMeta, day: date) -> str:
        """Why a document is not in force on `day` ('' when it is), in Vietnamese."""
        replaced = self.replaced_by(meta.doc_id)
        if replaced and (replaced[1] is None or replaced[1] <= day):
            by = replaced[0].split(":")[0]
            title = next((r["title"] for r in self.db.table("documents").rows_where("doc_id = ?", [by])), by)
            since = f" từ ngày {vn_day(replaced[1])}" if replaced[1] else ""
            return f"{meta.title} đã được thay thế bởi {title}{since}"
        if lapsed_on(meta, day):
            return f"{meta.title} đã hết hiệu lực ({meta.effect})"
        started = effective_date(meta)
        if started and started > day:
            return f"{meta.title} chưa có hiệu lực (có hiệu lực từ ngày {vn_day(started)})"
        return ""


def _reached(changed: set[str], rows: list[dict], targets: dict[str, list[dict]]) -> set[str]:
    """Documents whose versions a change to `changed` can alter: those documents, the targets their
    operations resolve onto now, and both ends of any operation that resolves elsewhere than stored."""
    resolved = {row["op_id"]: target for target, op_rows in targets.items() for row in op_rows}
    reached = set(changed)
    for row in rows:
        now = resolved.get(row["op_id"], "")
        if now and row["doc_id"] in changed:
            reached.add(now)
        if row["target_doc"] != now:
            reached.update(doc for doc in (row["target_doc"], now) if doc)
    return reached


def _op_order(row: dict, documents: dict[str, dict]) -> tuple:
    """Operations by effective date, then by the issue date of the amending document, then as written."""
    issued = parse_day(documents.get(row["doc_id"], {}).get("issued") or "") or date.min
    return (row["since"] or "0000", issued.isoformat(), row["doc_id"], row["seq"])


def _meta(row: dict) -> DocumentMeta:
    fields = {k: row[k] for k in DocumentMeta.model_fields if k in row}
    fields["amends"] = json.loads(row.get("amends") or "[]")
    return DocumentMeta(**fields)
