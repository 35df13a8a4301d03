"""The lexical side of retrieval: BM25 over folded syllables and bigrams, kept on disk beside the database.

Two tantivy indexes live in the data directory: `clauses`, one entry per retrievable wording (a clause, or
one version of an amended clause, with its validity), and `articles`, one entry per dense passage (an
article of a law, a clause of a directive) holding the terms of all its wordings. Terms are made in
Python (knowledge.vietnamese.terms) and indexed as whitespace-separated tokens; tantivy scores them with
BM25 (k1 1.2, b 0.75). SQLite mirrors what the indexes hold under the integer ids tantivy returns (row and
passage ids, validity, a digest of each row), so a document's change rewrites only its own entries, and
counts a generation that readers in other processes watch.

Writers (ingest) take a file lock; a reader keeps the snapshot it opened until it reloads. A missing,
unreadable or half-written index is rebuilt from the database, with a message saying so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import sqlite_utils
import tantivy
from sqlite_utils.migrations import Migrations

from base.serving import file_lock
from knowledge.vietnamese import terms

log = logging.getLogger(__name__)
migrations = Migrations("cchc.lexical")
FOREVER = 10**7  # an `until` past every day (date.max.toordinal() is 3,652,059)
WRITER_HEAP = 50_000_000
CHUNK = 500  # ids per SQL IN (...)


@migrations()
def m001_mirror(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE lexical_state (id INTEGER PRIMARY KEY CHECK (id = 1), directory TEXT NOT NULL, "
        "generation INTEGER NOT NULL, writer_pid INTEGER NOT NULL, dirty INTEGER NOT NULL)"
    )
    db.execute("CREATE TABLE lexical_passages (pid INTEGER PRIMARY KEY AUTOINCREMENT, passage TEXT NOT NULL UNIQUE)")
    db.execute(
        "CREATE TABLE lexical_rows (rid INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, "
        "doc_id TEXT NOT NULL, pid INTEGER NOT NULL, ord REAL NOT NULL, since INTEGER NOT NULL, "
        "until INTEGER NOT NULL, digest TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX lexical_rows_doc ON lexical_rows (doc_id)")
    db.execute("CREATE INDEX lexical_rows_pid ON lexical_rows (pid)")
    db.execute("CREATE TABLE lexical_docs (doc_id TEXT PRIMARY KEY, stamp TEXT NOT NULL)")


@migrations()
def m002_deleted(db: sqlite_utils.Database) -> None:
    """Entries deleted since the last build: tantivy counts them in BM25's statistics until it merges."""
    db.execute("ALTER TABLE lexical_state ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0")


@dataclass(frozen=True)
class Row:
    """One retrievable wording as the lexical index takes it."""

    key: str  # clause id, or version id of an amended clause
    doc_id: str
    passage: str  # id of the dense passage it is retrieved with
    text: str
    order: float  # position in its document
    since: int = 0  # first day in force (date ordinal; 0: from the start)
    until: int = FOREVER  # first day no longer in force
    lead: str = ""  # read with the text in the clause index only (a point's lead-in)

    @property
    def digest(self) -> str:
        content = f"{self.passage}|{self.order}|{self.since}|{self.until}|{self.lead}|{self.text}"
        return hashlib.sha1(content.encode("utf-8")).hexdigest()

    def clause_terms(self) -> list[str]:
        """The terms the clause index holds for this wording (its article holds those of `text` only)."""
        return terms(f"{self.lead}\n{self.text}" if self.lead else self.text, expand=True)


@dataclass(frozen=True)
class Hits:
    """The best entries of one index for a query: ids and BM25 scores, best first."""

    ids: np.ndarray  # rid (clauses) or pid (articles)
    scores: np.ndarray
    size: int  # entries in the index: with fewer hits than asked, every other entry scored 0

    def zscores(self, limit: int) -> tuple[np.ndarray, float]:
        """z-scores of the hits and the z every other entry gets.

        When the index returned every entry that matches, the others score exactly 0 and z is exact over the
        whole index; when the hits were cut at `limit`, z is taken over the hits and the rest sit at the
        lowest hit's value (an approximation that loses ranking quality when `limit` is small).
        """
        if not len(self.scores):
            return self.scores, 0.0
        if len(self.scores) < limit and self.size > len(self.scores):
            n = self.size
            mean = self.scores.sum() / n
            spread = float(np.sqrt(max((self.scores**2).sum() / n - mean**2, 0.0)))
            floor = -mean / spread if spread > 0 else 0.0
        else:
            mean, spread = float(self.scores.mean()), float(self.scores.std())
            floor = float(((self.scores.min() - mean) / spread) if spread > 0 else 0.0)
        z = (self.scores - mean) / spread if spread > 0 else np.zeros_like(self.scores)
        return z, floor


@dataclass(frozen=True)
class ClauseHits(Hits):
    passages: np.ndarray  # pid of each hit
    since: np.ndarray
    until: np.ndarray


def _schema(kind: str) -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("terms", stored=False, tokenizer_name="ws", index_option="freq")
    builder.add_integer_field("pid", stored=False, fast=True, indexed=True)
    if kind == "clauses":
        builder.add_integer_field("rid", stored=False, fast=True, indexed=True)
        builder.add_integer_field("since", stored=False, fast=True)
        builder.add_integer_field("until", stored=False, fast=True)
    return builder.build()


def _open_tantivy(path: Path, kind: str) -> tantivy.Index:
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(_schema(kind), path=str(path))
    index.register_tokenizer("ws", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    index.config_reader(reload_policy="manual")
    return index


def _query(schema: tantivy.Schema, weights: dict[str, float]) -> tantivy.Query:
    """OR of the terms, each weighted (1: a term of the question itself)."""
    clauses = []
    for term, weight in weights.items():
        query = tantivy.Query.term_query(schema, "terms", term)
        clauses.append((tantivy.Occur.Should, query if weight == 1 else tantivy.Query.boost_query(query, weight)))
    return tantivy.Query.boolean_query(clauses)


class Source(Protocol):
    """Where the indexes are built from: the knowledge database."""

    def rows(self, doc_ids: set[str] | None) -> list[Row]:
        """The retrievable wordings of these documents (None: of every document)."""
        ...

    def stamps(self) -> dict[str, str]:
        """doc_id -> a stamp that changes whenever the document does (its content hash)."""
        ...

    def related(self, doc_ids: set[str]) -> set[str]:
        """These documents and those whose wordings a change to them may change (amended, amending)."""
        ...


class LexicalReader(Protocol):
    """What a question reads from the lexical side: a snapshot in this process, or a search server."""

    @property
    def clause_count(self) -> int: ...

    @property
    def article_count(self) -> int: ...

    def search(self, weights: dict[str, float], limit: int) -> tuple[ClauseHits, Hits]:
        """The best `limit` wordings and the best `limit` passages (articles) for weighted query terms."""
        ...

    def present(self, terms: Iterable[str]) -> set[str]:
        """The terms some wording held now contains."""
        ...


class LexicalSnapshot:
    """A point-in-time view of both indexes: what one question is answered from."""

    def __init__(
        self, clauses: tantivy.Index, articles: tantivy.Index, generation: int, deleted: int, build: str
    ) -> None:
        self._clauses, self._articles = clauses.searcher(), articles.searcher()
        self._clause_schema, self._article_schema = clauses.schema, articles.schema
        self.generation = generation
        self.build = build  # the lexical-* directory: which data directory's index, and which build of it
        self._deleted = deleted  # at least as many entries as these searchers still count though deleted

    @property
    def clause_count(self) -> int:
        return self._clauses.num_docs

    @property
    def article_count(self) -> int:
        return self._articles.num_docs

    def search(self, weights: dict[str, float], limit: int) -> tuple[ClauseHits, Hits]:
        """The best `limit` wordings and the best `limit` passages (articles) for weighted query terms."""
        return self.clauses(weights, limit), self.articles(weights, limit)

    def clauses(self, weights: dict[str, float], limit: int) -> ClauseHits:
        """The best `limit` wordings for weighted query terms."""
        if not weights or not self.clause_count:
            empty = np.zeros(0, dtype=np.int64)
            return ClauseHits(empty, np.zeros(0), self.clause_count, empty, empty, empty)
        found = self._clauses.search(_query(self._clause_schema, weights), limit, count=False).hits
        addresses = [address for _, address in found]

        def field(name: str) -> np.ndarray:
            return np.asarray(self._clauses.fast_field_values(name, addresses), dtype=np.int64)

        scores = np.array([score for score, _ in found], dtype=np.float64)
        return ClauseHits(field("rid"), scores, self.clause_count, field("pid"), field("since"), field("until"))

    def articles(self, weights: dict[str, float], limit: int) -> Hits:
        """The best `limit` passages (articles) for weighted query terms."""
        if not weights or not self.article_count:
            return Hits(np.zeros(0, dtype=np.int64), np.zeros(0), self.article_count)
        found = self._articles.search(_query(self._article_schema, weights), limit, count=False).hits
        pids = self._articles.fast_field_values("pid", [address for _, address in found])
        scores = np.array([score for score, _ in found], dtype=np.float64)
        return Hits(np.asarray(pids, dtype=np.int64), scores, self.article_count)

    def present(self, terms: Iterable[str]) -> set[str]:
        """The terms some wording held now contains: read from their document frequency, unless so few
        wordings hold a term that they could all be deleted ones (then searched for, a short list)."""
        found = set()
        for term in terms:
            frequency = int(self._clauses.doc_freq("terms", term))
            if frequency > self._deleted:
                found.add(term)
            elif frequency:
                query = tantivy.Query.term_query(self._clause_schema, "terms", term)
                if self._clauses.search(query, 1, count=False).hits:
                    found.add(term)
        return found


class LexicalIndex:
    """The two on-disk indexes of a data directory, their SQLite mirror, and how both are kept in step."""

    def __init__(self, db: sqlite_utils.Database, data_dir: Path) -> None:
        migrations.apply(db)
        self.db = db
        self.data_dir = data_dir
        self._lock_path = data_dir / "lexical.lock"
        self._indexes: tuple[str, tantivy.Index, tantivy.Index] | None = None

    # ------------------------------------------------------------------------------------ state

    def _state(self) -> tuple[str, int, int, int] | None:
        row = self.db.execute("SELECT directory, generation, writer_pid, dirty FROM lexical_state").fetchone()
        return (row[0], row[1], row[2], row[3]) if row else None

    def generation(self) -> tuple[int, int]:
        """(generation, pid of the process that wrote it): changes whenever the index does."""
        state = self._state()
        return (state[1], state[2]) if state else (0, 0)

    def _locked(self) -> AbstractContextManager[None]:
        """Only one process writes the indexes at a time (tantivy also refuses a second writer)."""
        return file_lock(self._lock_path)

    def _open(self, directory: str) -> tuple[tantivy.Index, tantivy.Index]:
        if self._indexes and self._indexes[0] == directory:
            return self._indexes[1], self._indexes[2]
        root = self.data_dir / directory
        if not (root / "clauses" / "meta.json").is_file() or not (root / "articles" / "meta.json").is_file():
            raise FileNotFoundError(f"{root} holds no index")
        clauses, articles = _open_tantivy(root / "clauses", "clauses"), _open_tantivy(root / "articles", "articles")
        self._indexes = (directory, clauses, articles)
        return clauses, articles

    def snapshot(self) -> LexicalSnapshot:
        """The indexes as last committed (opened, or reloaded, without any rebuild)."""
        state = self._state()
        if state is None:
            raise FileNotFoundError("no lexical index yet")
        clauses, articles = self._open(state[0])
        clauses.reload()
        articles.reload()
        return LexicalSnapshot(clauses, articles, state[1], self._deleted_bound(state[0]), state[0])

    def _deleted_bound(self, directory: str) -> int:
        """At least as many deleted entries as a reader of `directory` reloaded just now can still count: the
        writer adds its deletions before it commits them. Once the build was replaced nothing is known, and
        every presence check searches."""
        now = self.db.execute("SELECT directory, deleted FROM lexical_state").fetchone()
        return int(now[1]) if now and now[0] == directory else sys.maxsize

    def problem(self) -> str:
        """Why the indexes cannot be used as they are ('' when they can)."""
        state = self._state()
        if state is None:
            return "there is no lexical index yet"
        if state[3]:
            return "a process stopped while it was updating the lexical index"
        try:
            snap = self.snapshot()
            held = self.db.execute("SELECT count(*) FROM lexical_rows").fetchone()[0]
            passages = self.db.execute("SELECT count(*) FROM lexical_passages").fetchone()[0]
            if (snap.clause_count, snap.article_count) != (held, passages):
                return f"the lexical index holds {snap.clause_count} wordings where the database lists {held}"
            snap.clauses({"a": 1.0}, 1)
            snap.articles({"a": 1.0}, 1)
        except (OSError, ValueError, RuntimeError) as exc:
            self._indexes = None
            return f"the lexical index in {self.data_dir / state[0]} cannot be read ({exc})"
        return ""

    # ------------------------------------------------------------------------------------ writing

    def ensure(self, source: Source) -> None:
        """Make the indexes usable and current: rebuild them when missing or damaged, else bring the
        documents whose stamp changed up to date (after an ingest that stopped half-way)."""
        with self._locked():
            stamps = source.stamps()
            if reason := self.problem():
                if self._state() is not None or stamps:
                    log.warning("%s; rebuilding it from the database (%d documents)", reason, len(stamps))
                self._rebuild(source.rows(None), stamps)
            elif stale := self._stale(stamps):
                log.warning("bringing the lexical index up to date for %d document(s)", len(stale))
                self._sync(source.related(stale), source, stamps)

    def sync(self, doc_ids: Iterable[str], source: Source) -> None:
        """Make the indexes hold exactly what `source` has for these documents (and any sharing a passage)."""
        with self._locked():
            stamps = source.stamps()
            if self.problem():
                self._rebuild(source.rows(None), stamps)
            else:
                self._sync(set(doc_ids), source, stamps)

    def compact(self, source: Source) -> bool:
        """Rebuild the indexes when entries were deleted or rewritten since the last build, so that BM25's
        statistics are those of a fresh build (tantivy keeps counting deleted entries until it merges
        their segment); True when it rebuilt."""
        with self._locked():
            row = self.db.execute("SELECT deleted FROM lexical_state").fetchone()
            if not row or not row[0]:
                return False
            self._rebuild(source.rows(None), source.stamps())
            return True

    def rebuild(self, source: Source) -> None:
        """Build both indexes afresh from `source`, in a new directory the readers then move to."""
        with self._locked():
            self._rebuild(source.rows(None), source.stamps())

    def _stale(self, stamps: dict[str, str]) -> set[str]:
        held = dict(self.db.execute("SELECT doc_id, stamp FROM lexical_docs").fetchall())
        return {d for d in set(held) | set(stamps) if held.get(d) != stamps.get(d)}

    def _rebuild(self, rows: list[Row], stamps: dict[str, str]) -> None:
        old = self._state()
        directory = f"lexical-{uuid.uuid4().hex[:12]}"
        root = self.data_dir / directory
        first_pid, first_rid = self._next_id("lexical_passages"), self._next_id("lexical_rows")
        pids = {passage: first_pid + i for i, passage in enumerate(dict.fromkeys(r.passage for r in rows))}
        rids = {row.key: first_rid + i for i, row in enumerate(rows)}
        tokens = [terms(row.text, expand=True) for row in rows]
        clauses, articles = _open_tantivy(root / "clauses", "clauses"), _open_tantivy(root / "articles", "articles")
        _write(
            clauses,
            [],
            [
                (rids[r.key], pids[r.passage], r, r.clause_terms() if r.lead else t)
                for r, t in zip(rows, tokens, strict=True)
            ],
        )
        by_passage: dict[int, list[str]] = {}
        for row, row_tokens in zip(rows, tokens, strict=True):
            by_passage.setdefault(pids[row.passage], []).extend(row_tokens)
        _write_articles(articles, [], by_passage)
        with self.db.atomic():
            for table in ("lexical_rows", "lexical_passages", "lexical_docs", "lexical_state"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.conn.executemany(
                "INSERT INTO lexical_passages (pid, passage) VALUES (?, ?)", [(p, s) for s, p in pids.items()]
            )
            self.db.conn.executemany(
                "INSERT INTO lexical_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(rids[r.key], r.key, r.doc_id, pids[r.passage], r.order, r.since, r.until, r.digest) for r in rows],
            )
            self.db.conn.executemany("INSERT INTO lexical_docs VALUES (?, ?)", list(stamps.items()))
            generation = (old[1] if old else 0) + 1
            self.db.execute(
                "INSERT INTO lexical_state (id, directory, generation, writer_pid, dirty, deleted) "
                "VALUES (1, ?, ?, ?, 0, 0)",
                [directory, generation, os.getpid()],
            )
        self._indexes = None
        self._remove_old(keep=directory)

    def _next_id(self, table: str) -> int:
        """The first id never used in a mirror table (a reader of an older build never meets it reused)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table]).fetchone()
        return (row[0] if row else 0) + 1

    def _remove_old(self, keep: str) -> None:
        """Directories of earlier builds (readers that still have them open keep their files until they let go)."""
        for path in self.data_dir.glob("lexical-*"):
            if path.name != keep and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)

    def _sync(self, docs: set[str], source: Source, stamps: dict[str, str]) -> None:
        desired = {row.key: row for row in source.rows(set(docs))}
        while more := self._sharing_passages(desired.values(), docs) - docs:
            docs |= more
            desired.update((row.key, row) for row in source.rows(more))
        held = self._held(docs)
        renewed = self._stale(stamps) & docs  # a changed document is written whole: its old segment can go
        gone = [
            key
            for key, (_, _, digest) in held.items()
            if key not in desired or desired[key].digest != digest or desired[key].doc_id in renewed
        ]
        new = [row for key, row in desired.items() if key in gone or key not in held]
        if gone or new:
            self._apply(docs, desired, held, gone, new)
        with self.db.atomic():
            self._stamp(docs, stamps)

    def _sharing_passages(self, rows: Iterable[Row], docs: set[str]) -> set[str]:
        """Documents with a wording in a passage these rows or these documents use (articles span them)."""
        passages = sorted({row.passage for row in rows})
        found: set[str] = set()
        for chunk in _chunks(passages):
            sql = (
                "SELECT DISTINCT r.doc_id FROM lexical_rows r JOIN lexical_passages p USING (pid) "
                f"WHERE p.passage IN ({_marks(chunk)})"
            )
            found.update(row[0] for row in self.db.execute(sql, chunk))
        for chunk in _chunks(sorted(docs)):
            sql = (
                "SELECT DISTINCT r2.doc_id FROM lexical_rows r1 JOIN lexical_rows r2 ON r1.pid = r2.pid "
                f"WHERE r1.doc_id IN ({_marks(chunk)})"
            )
            found.update(row[0] for row in self.db.execute(sql, chunk))
        return found

    def _held(self, docs: set[str]) -> dict[str, tuple[int, int, str]]:
        """key -> (rid, pid, digest) of the wordings the index holds for these documents."""
        held: dict[str, tuple[int, int, str]] = {}
        for chunk in _chunks(sorted(docs)):
            sql = f"SELECT key, rid, pid, digest FROM lexical_rows WHERE doc_id IN ({_marks(chunk)})"
            held.update((key, (rid, pid, digest)) for key, rid, pid, digest in self.db.execute(sql, chunk))
        return held

    def _apply(
        self,
        docs: set[str],
        desired: dict[str, Row],
        held: dict[str, tuple[int, int, str]],
        gone: list[str],
        new: list[Row],
    ) -> None:
        """Mirror first (marked dirty), then both indexes, then the new generation."""
        state = self._state()
        assert state is not None
        with self.db.atomic():
            self.db.execute("UPDATE lexical_state SET dirty = 1")
            gone_rids = [held[key][0] for key in gone]
            touched = {held[key][1] for key in gone}
            for chunk in _chunks(gone_rids):
                self.db.execute(f"DELETE FROM lexical_rows WHERE rid IN ({_marks(chunk)})", chunk)
            before = self.passage_ids(row.passage for row in desired.values())
            pids = self._passage_ids({row.passage for row in desired.values()})
            added = []
            for row in new:
                cursor = self.db.execute(
                    "INSERT INTO lexical_rows (key, doc_id, pid, ord, since, until, digest) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [row.key, row.doc_id, pids[row.passage], row.order, row.since, row.until, row.digest],
                )
                added.append((int(cursor.lastrowid or 0), pids[row.passage], row, row.clause_terms()))
                touched.add(pids[row.passage])
            rewritten = len(gone_rids) + len(touched & set(before.values()))
            self.db.execute("UPDATE lexical_state SET deleted = deleted + ?", [rewritten])
        clauses, articles = self._open(state[0])
        _write(clauses, gone_rids, added)
        by_passage = self._article_terms(touched, desired, pids)
        _write_articles(articles, sorted(touched), by_passage)
        with self.db.atomic():
            for chunk in _chunks(sorted(touched)):
                self.db.execute(
                    f"DELETE FROM lexical_passages WHERE pid IN ({_marks(chunk)}) "
                    f"AND pid NOT IN (SELECT pid FROM lexical_rows WHERE pid IN ({_marks(chunk)}))",
                    chunk + chunk,
                )
            self.db.execute(
                "UPDATE lexical_state SET dirty = 0, generation = generation + 1, writer_pid = ?",
                [os.getpid()],
            )

    def _passage_ids(self, passages: set[str]) -> dict[str, int]:
        for passage in sorted(passages):
            self.db.execute("INSERT OR IGNORE INTO lexical_passages (passage) VALUES (?)", [passage])
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(passages)):
            sql = f"SELECT passage, pid FROM lexical_passages WHERE passage IN ({_marks(chunk)})"
            found.update(self.db.execute(sql, chunk).fetchall())
        return found

    @staticmethod
    def _article_terms(touched: set[int], desired: dict[str, Row], pids: dict[str, int]) -> dict[int, list[str]]:
        """The terms of each touched passage: those of all its wordings (every one is among `desired`)."""
        by_passage: dict[int, list[str]] = {}
        for row in sorted(desired.values(), key=lambda r: (r.doc_id, r.order, r.key)):
            pid = pids[row.passage]
            if pid in touched:
                by_passage.setdefault(pid, []).extend(terms(row.text, expand=True))
        return by_passage

    def _stamp(self, docs: set[str], stamps: dict[str, str]) -> None:
        for doc_id in docs:
            if doc_id in stamps:
                self.db.execute("INSERT OR REPLACE INTO lexical_docs VALUES (?, ?)", [doc_id, stamps[doc_id]])
            else:
                self.db.execute("DELETE FROM lexical_docs WHERE doc_id = ?", [doc_id])

    # ------------------------------------------------------------------------------------ reading

    def passage_ids(self, passages: Iterable[str]) -> dict[str, int]:
        """pid of each passage the index holds (others are left out)."""
        return dict(self._select_in("SELECT passage, pid FROM lexical_passages WHERE passage IN ({})", passages))

    def pids_of_clauses(self, clause_ids: Iterable[str]) -> list[tuple[str, int]]:
        """(clause id, passage) of every row of these clauses: their own wording ('doc:loc') and each
        amended wording ('doc:loc@version')."""
        found: list[tuple[str, int]] = []
        sql = "SELECT pid FROM lexical_rows WHERE key = ? OR (key > ? AND key < ?)"  # "@" sorts just before "A"
        for clause_id in sorted(set(clause_ids)):
            found += [
                (clause_id, pid) for (pid,) in self.db.execute(sql, [clause_id, f"{clause_id}@", f"{clause_id}A"])
            ]
        return found

    def passages(self, pids: Iterable[int]) -> dict[int, str]:
        """Name of each passage the index holds (others are left out)."""
        return dict(self._select_in("SELECT pid, passage FROM lexical_passages WHERE pid IN ({})", pids))

    def rows(self, rids: Iterable[int]) -> dict[int, tuple[str, int, float, int, int]]:
        """rid -> (key, pid, order, since, until) for the rows still held."""
        sql = "SELECT rid, key, pid, ord, since, until FROM lexical_rows WHERE rid IN ({})"
        return {rid: (key, pid, order, s, u) for rid, key, pid, order, s, u in self._select_in(sql, rids)}

    def rows_of_passages(self, pids: Iterable[int]) -> list[tuple[int, str, int, float, int, int]]:
        """(rid, key, pid, order, since, until) of every wording of these passages, in document order."""
        sql = "SELECT rid, key, pid, ord, since, until FROM lexical_rows WHERE pid IN ({}) ORDER BY pid, ord, key"
        return list(self._select_in(sql, pids))

    def _select_in(self, sql: str, values: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        """The rows of `sql` whose "IN ({})" takes these values (distinct, sorted), a chunk of them at a time
        (SQLite limits the parameters of one statement); each chunk's rows in the order the query gives."""
        for chunk in _chunks(sorted(set(values))):
            yield from self.db.execute(sql.format(_marks(chunk)), chunk)

    def keys_of_passage(self, passage: str) -> list[str]:
        sql = (
            "SELECT r.key FROM lexical_rows r JOIN lexical_passages p USING (pid) "
            "WHERE p.passage = ? ORDER BY r.ord, r.key"
        )
        return [row[0] for row in self.db.execute(sql, [passage])]


def _write(index: tantivy.Index, gone: list[int], added: list[tuple[int, int, Row, list[str]]]) -> None:
    writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
    for rid in gone:
        writer.delete_documents_by_term("rid", rid)
    for rid, pid, row, row_terms in added:
        writer.add_document(
            tantivy.Document(terms=" ".join(row_terms), rid=rid, pid=pid, since=row.since, until=row.until)
        )
    writer.commit()
    writer.wait_merging_threads()


def _write_articles(index: tantivy.Index, gone: list[int], by_passage: dict[int, list[str]]) -> None:
    writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
    for pid in gone:
        writer.delete_documents_by_term("pid", pid)
    for pid, passage_terms in by_passage.items():
        writer.add_document(tantivy.Document(terms=" ".join(passage_terms), pid=pid))
    writer.commit()
    writer.wait_merging_threads()


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(chunk: list) -> str:
    return ",".join("?" * len(chunk))
