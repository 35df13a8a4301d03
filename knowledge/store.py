"""The SQLite side of the knowledge base (sqlite-utils): documents, clauses, file hashes, amendments.

SQLite is the source of truth: a clause exists when it is here. Chroma holds vectors keyed to it, and the
lexical index is rebuilt from it, so a half-finished ingest never leaves a citation pointing nowhere.
Each document keeps its own clauses as parsed; the operations amending documents make and the clause
versions they produce live beside them (knowledge.versions); the versions a stored or removed document
can reach are recomputed in the same transaction.
"""

from __future__ import annotations

import json
from datetime import date

import sqlite_utils
from sqlite_utils.migrations import Migrations

from base.database import utc_now
from knowledge.consolidation import ABSENT
from knowledge.records import Clause, DocumentMeta
from knowledge.versions import IndexRow, Versions, create_tables

migrations = Migrations("cchc.knowledge")


@migrations()
def m001_documents_and_clauses(db: sqlite_utils.Database) -> None:
    db.table("documents").create(
        {
            "doc_id": str,
            "doc_type": str,
            "number": str,
            "issued": str,
            "issuer": str,
            "subject": str,
            "effect": str,
            "amends": str,
            "title": str,
            "source": str,
            "sha256": str,
            "has_articles": int,
            "clause_count": int,
            "ingested_at": str,
        },
        pk="doc_id",
    )
    db.table("clauses").create(
        {
            "clause_id": str,
            "doc_id": str,
            "loc": str,
            "label": str,
            "text": str,
            "heading": str,
            "context": str,
            "amends": str,
            "ord": int,
            "passage": str,
        },
        pk="clause_id",
        foreign_keys=[("doc_id", "documents", "doc_id")],
    )
    db.table("clauses").create_index(["doc_id", "ord"])


@migrations()
def m002_clause_division(db: sqlite_utils.Database) -> None:
    db.table("clauses").add_column("division", str, not_null_default="")


@migrations()
def m003_document_full_title(db: sqlite_utils.Database) -> None:
    """Documents keep their whole title beside the short name; until the next ingest the stored title
    (then the whole one) stands for both."""
    db.table("documents").add_column("full_title", str, not_null_default="")
    db.execute("UPDATE documents SET full_title = title")


@migrations()
def m004_amendments_and_versions(db: sqlite_utils.Database) -> None:
    """Operations and clause versions, read from the documents already stored."""
    create_tables(db)
    versions = Versions(db)
    for row in db.table("documents").rows:
        rows = db.table("clauses").rows_where("doc_id = ?", [row["doc_id"]], order_by="ord")
        clauses = [_clause_from_row(r) for r in rows]
        versions.store_operations(_meta_from_row(row), clauses)
    versions.refresh()


@migrations()
def m005_clause_passage_index(db: sqlite_utils.Database) -> None:
    """Which clauses use a passage, found without reading every clause."""
    db.table("clauses").create_index(["passage"])


def _meta_row(meta: DocumentMeta, sha256: str, has_articles: bool, clause_count: int) -> dict:
    row = meta.model_dump()
    row["amends"] = json.dumps(meta.amends, ensure_ascii=False)
    row.update(
        sha256=sha256,
        has_articles=int(has_articles),
        clause_count=clause_count,
        ingested_at=utc_now(),
    )
    return row


def _meta_from_row(row: dict) -> DocumentMeta:
    fields = {k: row[k] for k in DocumentMeta.model_fields if k in row}
    fields["amends"] = json.loads(row.get("amends") or "[]")
    return DocumentMeta(**fields)


def _clause_from_row(row: dict) -> Clause:
    fields = {name: row[name] for name in Clause.model_fields if name in row}
    return Clause(**fields, order=row["ord"])


def _clause_row(clause: Clause, passage: str) -> dict:
    row = clause.model_dump(exclude={"order"})
    row.update(clause_id=clause.clause_id, ord=clause.order, passage=passage)
    return row


class ClauseStore:
    """Documents and their clauses in SQLite."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        migrations.apply(db)
        self.db = db
        self.versions = Versions(db)

    def replace_document(
        self, meta: DocumentMeta, clauses: list[Clause], passages: list[str], sha256: str, has_articles: bool
    ) -> None:
        """Swap in a document's clauses in one transaction (`passages[i]` is clause i's dense passage), its
        amendment operations with them, and recompute the clause versions it reaches."""
        rows = [_clause_row(c, p) for c, p in zip(clauses, passages, strict=True)]
        with self.db.atomic():
            reached = {meta.doc_id} | self.versions.targets_of(meta.doc_id)
            self.db.execute("DELETE FROM clauses WHERE doc_id = ?", [meta.doc_id])
            self.db.table("documents").upsert(_meta_row(meta, sha256, has_articles, len(clauses)), pk="doc_id")
            self.db.table("clauses").insert_all(rows, pk="clause_id")
            self.versions.store_operations(meta, clauses)
            self.versions.refresh(reached)

    def remove_document(self, doc_id: str) -> None:
        """Drop a document, its clauses and its operations; recompute the clause versions it reached."""
        with self.db.atomic():
            reached = {doc_id} | self.versions.targets_of(doc_id)
            self.db.execute("DELETE FROM clauses WHERE doc_id = ?", [doc_id])
            self.db.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])
            self.versions.forget(doc_id)
            self.versions.refresh(reached)

    def documents(self) -> list[DocumentMeta]:
        return [_meta_from_row(r) for r in self.db.table("documents").rows_where(order_by="doc_id")]

    def documents_of(self, doc_ids: set[str]) -> dict[str, DocumentMeta]:
        """These documents by doc_id (those not loaded are left out)."""
        ids = sorted(doc_ids)
        rows = self.db.table("documents").rows_where(f"doc_id IN ({','.join('?' * len(ids))})", ids) if ids else []
        return {row["doc_id"]: _meta_from_row(row) for row in rows}

    def document(self, doc_id: str) -> DocumentMeta | None:
        rows = list(self.db.table("documents").rows_where("doc_id = ?", [doc_id]))
        return _meta_from_row(rows[0]) if rows else None

    def document_rows(self) -> list[dict]:
        """Raw document rows (with sha256, clause_count, has_articles), ordered by doc_id."""
        return list(self.db.table("documents").rows_where(order_by="doc_id"))

    def clause(self, clause_id: str) -> Clause | None:
        """A clause as its document has it, else as the last amendment that added it has it; None if unknown."""
        rows = list(self.db.table("clauses").rows_where("clause_id = ?", [clause_id]))
        if rows:
            return _clause_from_row(rows[0])
        added = [v for v in self.versions.history(clause_id) if v.kind not in ABSENT]
        return added[-1].clause if added else None

    def clauses(self, doc_id: str | None = None) -> list[Clause]:
        where, args = ("doc_id = ?", [doc_id]) if doc_id else (None, None)
        return [_clause_from_row(r) for r in self.db.table("clauses").rows_where(where, args, order_by="doc_id, ord")]

    def clauses_in_force(self, doc_id: str, day: date) -> list[Clause]:
        """A document's clauses in force on `day`, each in its wording of that day, in document order; empty
        when the document itself is not in force that day (not yet effective, lapsed or replaced)."""
        return self.versions.clauses_in_force(doc_id, day)

    def index_rows(self, doc_ids: set[str] | None = None) -> list[IndexRow]:
        """Every wording that can be in force on some day (of these documents, when given), with its dense
        passage and validity."""
        return self.versions.index_rows(doc_ids)

    def wording(self, key: str) -> Clause | None:
        """The wording an index row names: a clause by its id, or one version of a changed clause."""
        return self.clause(key) if "@" not in key else self.versions.version(key)

    def passage_ids(self, doc_id: str | None = None) -> set[str]:
        sql = "SELECT DISTINCT passage FROM clauses" + (" WHERE doc_id = ?" if doc_id else "")
        return {row[0] for row in self.db.execute(sql, [doc_id] if doc_id else [])}

    def passages_in_use(self, passage_ids: set[str]) -> set[str]:
        """Which of these passages some clause still uses."""
        ids, found = sorted(passage_ids), set[str]()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = f"SELECT DISTINCT passage FROM clauses WHERE passage IN ({','.join('?' * len(chunk))})"
            found.update(row[0] for row in self.db.execute(sql, chunk))
        return found

    def state(self) -> str:
        """Changes whenever a document is added, replaced or removed (for caches)."""
        row = self.db.execute("SELECT group_concat(doc_id || sha256 || ingested_at) FROM documents").fetchone()
        return row[0] or ""
