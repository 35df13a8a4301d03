"""The obligation register: every loaded document's obligations, per unit, in the project's SQLite database.

Kept in step with the clauses incrementally: each document's rows carry the signature they were built from
(its content hash, the units and groups of config.yaml, the extractor's version), and `sync()` rebuilds only
the documents whose signature changed and drops those no longer loaded. Clauses are read through
`clauses_in_force`, the one place that decides which wording a document has today.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date

import sqlite_utils
from sqlite_utils.migrations import Migrations

from base.settings import Settings
from knowledge.consolidation import effective_date
from knowledge.obligations import Obligation, extract
from knowledge.records import Clause, DocumentMeta
from knowledge.store import ClauseStore
from knowledge.units import UnitDirectory

EXTRACTOR_VERSION = "1"  # bump when extraction changes, so every document is read again
migrations = Migrations("cchc.register")


@migrations()
def m001_obligations(db: sqlite_utils.Database) -> None:
    db.table("obligations").create(
        {
            "id": int,
            "doc_id": str,
            "loc": str,
            "label": str,
            "unit": str,
            "role": str,
            "action": str,
            "deadline": str,
            "recurrence": str,
            "term": str,
            "ord": int,
        },
        pk="id",
    )
    db.table("obligations").create_index(["unit", "doc_id"])
    db.table("obligations").create_index(["doc_id", "ord"])
    db.table("register_state").create({"doc_id": str, "signature": str}, pk="doc_id")


def clauses_in_force(store: ClauseStore, doc_id: str, day: date) -> list[Clause]:
    """A document's clauses in their wording of `day` (the register reads nothing else): none once the
    document has lapsed or was replaced; a document not yet in force keeps its duties, they are coming."""
    meta = store.document(doc_id)
    if meta is None or (store.versions.document_note(meta, day) and not _not_yet_in_force(meta, day)):
        return []
    return store.versions.wording_on(doc_id, day)


def _not_yet_in_force(meta: DocumentMeta, day: date) -> bool:
    started = effective_date(meta)
    return started is not None and started > day


def _wording_mark(store: ClauseStore, doc_id: str, day: date) -> str:
    """What the wording of `day` depends on: the versions of the document's clauses valid that day."""
    iso = day.isoformat()
    rows = store.db.execute(
        "SELECT version_id FROM clause_versions WHERE doc_id = ? AND (since = '' OR since <= ?) "
        "AND (until = '' OR until > ?) ORDER BY version_id",
        [doc_id, iso, iso],
    ).fetchall()
    meta = store.document(doc_id)
    note = store.versions.document_note(meta, day) if meta else ""
    return ",".join(r[0] for r in rows) + "|" + note


def _row(o: Obligation) -> dict:
    return {
        "doc_id": o.doc_id,
        "loc": o.loc,
        "label": o.label,
        "unit": o.unit,
        "role": o.role,
        "action": o.action,
        "deadline": o.deadline.isoformat() if o.deadline else None,
        "recurrence": json.dumps(o.recurrence),
        "term": o.term,
        "ord": o.order,
    }


def _obligation(row: dict) -> Obligation:
    return Obligation(
        doc_id=row["doc_id"],
        loc=row["loc"],
        label=row["label"],
        unit=row["unit"],
        role=row["role"],
        action=row["action"],
        deadline=date.fromisoformat(row["deadline"]) if row["deadline"] else None,
        recurrence=json.loads(row["recurrence"]),
        term=row["term"],
        order=row["ord"],
    )


def obligated_units(db: sqlite_utils.Database) -> dict[str, set[str]]:
    """'doc_id:loc' of every clause that obliges units, with those units (none before the register exists)."""
    if not db.table("obligations").exists():
        return {}
    found: dict[str, set[str]] = {}
    for doc_id, loc, unit in db.execute("SELECT DISTINCT doc_id, loc, unit FROM obligations"):
        found.setdefault(f"{doc_id}:{loc}", set()).add(unit)
    return found


class ObligationRegister:
    """Obligations by document and unit, rebuilt from the clause store when a document changes."""

    def __init__(self, store: ClauseStore, directory: UnitDirectory) -> None:
        migrations.apply(store.db)
        self.store = store
        self.db = store.db
        self.directory = directory
        self._units_signature = directory.signature()

    @classmethod
    def of(cls, store: ClauseStore, settings: Settings) -> ObligationRegister:
        """The register of a knowledge base, read with config.yaml's units and groups."""
        return cls(store, UnitDirectory.of(settings))

    def _signature(self, document_row: dict, day: date) -> str:
        wording = _wording_mark(self.store, document_row["doc_id"], day)
        text = f"{EXTRACTOR_VERSION}|{self._units_signature}|{document_row['sha256']}|{wording}"
        return hashlib.sha256(text.encode()).hexdigest()

    def sync(self, day: date | None = None) -> list[str]:
        """Rebuild the documents whose clauses, wording in force on `day` (today) or units changed, drop
        removed ones; returns the rebuilt ids."""
        day = day or date.today()
        built = {r["doc_id"]: r["signature"] for r in self.db.table("register_state").rows}
        documents = {row["doc_id"]: row for row in self.store.document_rows()}
        for gone in set(built) - set(documents):
            self._replace(gone, [], None)
        rebuilt = []
        for doc_id, row in documents.items():
            signature = self._signature(row, day)
            if built.get(doc_id) != signature:
                found = extract(clauses_in_force(self.store, doc_id, day), self.directory, row["title"])
                self._replace(doc_id, found, signature)
                rebuilt.append(doc_id)
        return rebuilt

    def _replace(self, doc_id: str, obligations: list[Obligation], signature: str | None) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM obligations WHERE doc_id = ?", [doc_id])
            self.db.execute("DELETE FROM register_state WHERE doc_id = ?", [doc_id])
            if obligations:
                self.db.table("obligations").insert_all((_row(o) for o in obligations), batch_size=500)
            if signature is not None:
                self.db.table("register_state").insert({"doc_id": doc_id, "signature": signature})

    def obligations(self, units: Iterable[str] | None = None, doc_id: str | None = None) -> list[Obligation]:
        """The register, optionally for some units and one document, in document order."""
        where, args = [], []
        if units is not None:
            codes = list(units)
            where.append(f"unit IN ({', '.join('?' for _ in codes)})")
            args += codes
        if doc_id is not None:
            where.append("doc_id = ?")
            args.append(doc_id)
        rows = self.db.table("obligations").rows_where(" AND ".join(where) or None, args, order_by="doc_id, ord, id")
        return [_obligation(r) for r in rows]

    def count(self) -> int:
        return self.db.table("obligations").count
