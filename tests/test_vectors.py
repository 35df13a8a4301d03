"""Passage vectors in embedded Chroma: the same data gives the same, exact nearest passages on every process
start, in a new store and in one made before."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaClientSettings

from base.settings import ChromaSettings
from knowledge.vectors import EF_SEARCH, HNSW, SYNC_THRESHOLD, VectorStore, _modify_when_free, locked

ROOT = Path(__file__).resolve().parent.parent
NAME = "clauses-test"
VECTORS, QUERIES, DIMENSIONS, K = 900, 40, 48, 60

# Each step runs in a process of its own, as `cchc ingest` and a starting bot do.
WRITE_NEW = """
import sys, numpy as np
from pathlib import Path
from base.settings import ChromaSettings
from knowledge.vectors import VectorStore
vectors = np.random.default_rng(7).normal(size=(int(sys.argv[3]), int(sys.argv[4])))
store = VectorStore(ChromaSettings(), Path(sys.argv[1]), sys.argv[2])
for start in range(0, len(vectors), 64):
    ids = [f"p{n}" for n in range(start, min(start + 64, len(vectors)))]
    store.add(ids, vectors[start : start + 64], ids, [{"n": n} for n in range(len(ids))])
"""
WRITE_OLD = """
import sys, chromadb, numpy as np
from chromadb.config import Settings
vectors = np.random.default_rng(7).normal(size=(int(sys.argv[3]), int(sys.argv[4])))
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
cosine = {"hnsw": {"space": "cosine"}}
collection = client.get_or_create_collection(sys.argv[2], embedding_function=None, configuration=cosine)
for start in range(0, len(vectors), 64):
    ids = [f"p{n}" for n in range(start, min(start + 64, len(vectors)))]
    collection.add(ids=ids, embeddings=vectors[start : start + 64].astype(np.float32), documents=ids)
"""
ASK = """
import json, sys, numpy as np
from pathlib import Path
from base.settings import ChromaSettings
from knowledge.vectors import VectorStore
queries = np.random.default_rng(11).normal(size=(int(sys.argv[3]), int(sys.argv[4])))
store = VectorStore(ChromaSettings(), Path(sys.argv[1]), sys.argv[2])
print(json.dumps([store.nearest(list(query), int(sys.argv[5])) for query in queries]))
"""


def run(code: str, path: Path, *numbers: int) -> str:
    """Run one step in a fresh Python process from the project root; its standard output."""
    command = [sys.executable, "-c", code, str(path), NAME, *map(str, numbers)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=120).stdout


def ask(path: Path) -> list[list[list]]:
    return json.loads(run(ASK, path, QUERIES, DIMENSIONS, K))


def exact_nearest() -> list[set[str]]:
    """The K stored vectors of highest cosine to each query, by numpy over all of them."""
    vectors = np.random.default_rng(7).normal(size=(VECTORS, DIMENSIONS))
    queries = np.random.default_rng(11).normal(size=(QUERIES, DIMENSIONS))
    cosines = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (
        vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    ).T
    return [{f"p{n}" for n in np.argsort(-row)[:K]} for row in cosines]


def settings_of(collection: chromadb.Collection) -> tuple[int, int]:
    hnsw = collection.configuration_json["hnsw"] or {}
    return hnsw.get("sync_threshold"), hnsw.get("ef_search")


@pytest.mark.parametrize("made", [WRITE_NEW, WRITE_OLD], ids=["new-store", "store-made-before"])
def test_same_nearest_passages_on_every_process_start(tmp_path: Path, made: str) -> None:
    path = tmp_path / "chroma"
    run(made, path, VECTORS, DIMENSIONS)
    first, second, third = ask(path), ask(path), ask(path)
    assert len(first) == QUERIES and all(len(found) == K for found in first)
    assert first == second == third  # ids, order and cosines
    assert [{passage for passage, _ in found} for found in first] == exact_nearest()
    collection = chromadb.PersistentClient(path=str(path), settings=ChromaClientSettings(anonymized_telemetry=False))
    stored = collection.get_collection(NAME)
    assert stored.count() == VECTORS  # a store made before keeps its vectors: nothing to re-ingest
    assert settings_of(stored) == (SYNC_THRESHOLD, EF_SEARCH)


def test_a_store_made_before_is_brought_to_the_settings_with_a_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "chroma"
    run(WRITE_OLD, path, 30, 8)
    with caplog.at_level(logging.INFO, logger="knowledge.vectors"):
        store = VectorStore(ChromaSettings(), path, NAME)
    assert "nothing to re-ingest" in caplog.text
    assert settings_of(store.collection) == (SYNC_THRESHOLD, EF_SEARCH)
    assert store.count() == 30
    query = np.random.default_rng(7).normal(size=(30, 8))[4]  # a stored vector finds itself
    assert store.nearest(list(query), 1)[0][0] == "p4"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="knowledge.vectors"):
        VectorStore(ChromaSettings(), path, NAME, fresh=True)
    assert "re-ingest" not in caplog.text  # said once, when the settings change


COUNT = """
import sys
from pathlib import Path
from base.settings import ChromaSettings
from knowledge.vectors import VectorStore
print(VectorStore(ChromaSettings(), Path(sys.argv[1]), sys.argv[2]).count())
"""


def test_a_process_opening_the_store_waits_for_a_write_in_progress(tmp_path: Path) -> None:
    path = tmp_path / "chroma"
    run(WRITE_NEW, path, 100, 8)
    command = [sys.executable, "-c", COUNT, str(path), NAME]
    with locked(path):  # as a writer holds it while Chroma logs, applies and saves a batch
        reader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            reader.wait(timeout=5)  # it has started, opened the client and waits on the lock
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0 and out.strip() == "100"


def test_readers_of_the_store_do_not_wait_for_one_another(tmp_path: Path) -> None:
    path = tmp_path / "chroma"
    run(WRITE_NEW, path, 100, 8)
    store = VectorStore(ChromaSettings(), path, NAME)
    try:
        with locked(path, shared=True):  # as another reader holds it (a question's nearest passages)
            assert store.count() == 100 and len(store.nearest([1.0] + [0.0] * 7, 5)) == 5
    finally:
        store.close()


def test_the_settings_wait_out_chroma_s_database_while_it_is_busy() -> None:
    tried: list[dict] = []

    class BusyAtFirst:  # Chroma's answer while its own background work holds the database
        def modify(self, configuration: dict) -> None:
            tried.append(configuration)
            if len(tried) < 3:
                raise chromadb.errors.InternalError("Database error: (code: 5) database is locked")

    _modify_when_free(BusyAtFirst())  # type: ignore[arg-type]
    assert len(tried) == 3 and tried[-1] == {"hnsw": HNSW}
