"""The lexical index on disk: it ranks as a fresh build does, follows adds and removals document by document,
and is rebuilt from SQLite (with a message) when missing or damaged."""

from __future__ import annotations

import logging
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

from base.settings import Settings
from ingest.pipeline import Ingester
from knowledge.embeddings import HashEmbeddings
from knowledge.evaluation import load_questions
from knowledge.index import ClauseIndex
from knowledge.vietnamese import terms
from tests.conftest import DATA, SAMPLE_DIRECTIVE, SHARED, make_settings

QUESTIONS = [q.text for q in load_questions(SHARED / "eval" / "dev-chithi.yaml")] + [
    "Bộ phận Tiếp nhận mẫu báo cáo định kỳ hằng quý",
    "tiêu chuẩn công chức làm việc tại bộ phận tiếp nhận",
    "rà soát văn bản quy phạm pháp luật trước ngày 30 tháng 6",
    "số hóa hồ sơ",
]


def ranking(index: ClauseIndex, questions: list[str] = QUESTIONS) -> list[list[tuple[str, float]]]:
    return [[(h.clause.clause_id, round(h.score, 6)) for h in index.search(q, k=10)] for q in questions]


def rebuilt_copy(index: ClauseIndex, tmp_path: Path, embeddings) -> ClauseIndex:
    """A copy of the knowledge base whose lexical index and accent counts are built afresh from SQLite."""
    copy = tmp_path / "copy"
    shutil.copytree(index.settings.data_dir, copy)
    fresh = ClauseIndex(make_settings(copy), embeddings=embeddings)
    fresh.rebuild_lexical()
    return fresh


def corpus_with(tmp_path: Path, *files: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for file in files:
        shutil.copy(file, folder)
    return folder


def test_persisted_index_ranks_as_a_fresh_build(sample_index: ClauseIndex, tmp_path: Path, e5) -> None:
    reopened = ClauseIndex(sample_index.settings, embeddings=e5)  # opened from disk, nothing rebuilt
    fresh = rebuilt_copy(sample_index, tmp_path, e5)
    assert ranking(reopened) == ranking(fresh)
    assert ranking(reopened)[0][0][0] == "chi-thi-cchc-thi-xa:3"


def test_adds_and_removals_match_a_full_rebuild(index: ClauseIndex, tmp_path: Path, hashing: HashEmbeddings) -> None:
    ingester = Ingester(index, show_progress=False)
    ingester.run([corpus_with(tmp_path, SAMPLE_DIRECTIVE, DATA / "nghi-dinh-goc-mau.txt")])
    ingester.run([corpus_with(tmp_path, SAMPLE_DIRECTIVE, DATA / "nghi-dinh-goc-mau.txt", DATA / "ke-hoach-mau.txt")])
    assert ranking(index) == ranking(rebuilt_copy(index, tmp_path / "added", hashing))
    report = ingester.run([corpus_with(tmp_path, SAMPLE_DIRECTIVE, DATA / "ke-hoach-mau.txt")], prune=True)
    assert report.removed == ["nghi-dinh-goc-mau"]
    after = ranking(index)
    assert after == ranking(rebuilt_copy(index, tmp_path / "removed", hashing))
    assert not any(key.startswith("nghi-dinh-goc-mau") for hits in after for key, _ in hits)
    assert any(hits and hits[0][0].startswith("ke-hoach-mau") for hits in after)


def test_a_changed_document_is_replaced_in_the_index(index: ClauseIndex, tmp_path: Path, hashing) -> None:
    folder = corpus_with(tmp_path, DATA / "nghi-dinh-goc-mau.txt")
    Ingester(index, show_progress=False).run([folder])
    decree = folder / "nghi-dinh-goc-mau.txt"
    decree.write_text(decree.read_text(encoding="utf-8").replace("hằng quý", "hằng tháng"), encoding="utf-8")
    Ingester(index, show_progress=False).run([folder])
    top = index.search("báo cáo định kỳ hằng tháng", k=1)[0]
    assert top.clause.clause_id == "nghi-dinh-goc-mau:3.3" and "hằng tháng" in top.clause.text
    assert ranking(index) == ranking(rebuilt_copy(index, tmp_path / "changed", hashing))
    assert index.accents.restore("hang thang") == "hằng tháng"  # the old wording's counts went with it


def sample_base(settings: Settings, tmp_path: Path, hashing: HashEmbeddings) -> tuple[ClauseIndex, list]:
    index = ClauseIndex(settings, embeddings=hashing)
    Ingester(index, show_progress=False).run([corpus_with(tmp_path, SAMPLE_DIRECTIVE, DATA / "ke-hoach-mau.txt")])
    return index, ranking(index)


def lexical_directory(settings: Settings) -> Path:
    (found,) = settings.data_dir.glob("lexical-*")
    return found


@pytest.mark.parametrize("damage", ["missing", "unreadable meta", "lost segment", "half-written update"])
def test_a_missing_or_damaged_index_is_rebuilt_with_a_message(
    settings: Settings, tmp_path: Path, hashing: HashEmbeddings, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    _, before = sample_base(settings, tmp_path, hashing)
    directory = lexical_directory(settings)
    if damage == "missing":
        shutil.rmtree(directory)
    elif damage == "unreadable meta":
        (directory / "clauses" / "meta.json").write_text("{not json", encoding="utf-8")
    elif damage == "lost segment":
        for segment in (directory / "articles").glob("*.idx"):
            segment.unlink()
    else:
        ClauseIndex(settings, embeddings=hashing).store.db.execute("UPDATE lexical_state SET dirty = 1")
    with caplog.at_level(logging.WARNING, logger="knowledge.lexical"):
        reopened = ClauseIndex(settings, embeddings=hashing)
        assert ranking(reopened) == before  # nothing lost
    assert "rebuilding it from the database (2 documents)" in caplog.text
    assert lexical_directory(settings) != directory


def test_an_ingest_that_stopped_before_the_lexical_update_is_caught_up(
    settings: Settings, tmp_path: Path, hashing: HashEmbeddings, caplog: pytest.LogCaptureFixture
) -> None:
    index, before = sample_base(settings, tmp_path, hashing)
    index.store.db.execute("DELETE FROM lexical_docs WHERE doc_id = 'ke-hoach-mau'")
    index.store.db.conn.commit()
    with caplog.at_level(logging.WARNING, logger="knowledge.lexical"):
        assert ranking(ClauseIndex(settings, embeddings=hashing)) == before
    assert "bringing the lexical index up to date for 1 document(s)" in caplog.text


def test_an_old_database_gets_its_accent_counts_and_index(
    settings: Settings, tmp_path: Path, hashing: HashEmbeddings
) -> None:
    index, before = sample_base(settings, tmp_path, hashing)
    for table in ("accent", "lexical_rows", "lexical_passages", "lexical_docs", "lexical_state"):
        index.store.db.execute(f"DELETE FROM {table}")
    index.store.db.conn.commit()
    shutil.rmtree(lexical_directory(settings))
    reopened = ClauseIndex(settings, embeddings=hashing)
    assert ranking(reopened) == before
    assert reopened.query_text("gui bao cao kiem diem") == "gửi báo cáo kiểm điểm"


def test_a_removal_updates_in_place_then_the_ingest_compacts(
    index: ClauseIndex, tmp_path: Path, hashing: HashEmbeddings
) -> None:
    Ingester(index, show_progress=False).run([corpus_with(tmp_path, SAMPLE_DIRECTIVE, DATA / "ke-hoach-mau.txt")])
    directory = lexical_directory(index.settings)
    index.remove_document("ke-hoach-mau")  # in place: same directory, the plan's entries deleted
    assert lexical_directory(index.settings) == directory
    fresh = rebuilt_copy(index, tmp_path / "fresh", hashing)
    keys = lambda i: [[key for key, _ in hits] for hits in ranking(i)]  # noqa: E731
    assert keys(index) == keys(fresh)
    index.compact_lexical()  # what the ingest command does at its end: BM25 statistics as a fresh build's
    assert lexical_directory(index.settings) != directory
    assert ranking(index) == ranking(fresh)


def test_the_index_follows_the_wording_in_force_as_a_fresh_build_does(
    index: ClauseIndex, tmp_path: Path, hashing: HashEmbeddings
) -> None:
    cases = DATA / "hop-nhat"
    base, amending = cases / "nd-99-2026-goc.txt", cases / "nd-100-2026-sua-doi.txt"
    Ingester(index, show_progress=False).run([corpus_with(tmp_path, base)])
    Ingester(index, show_progress=False).run([corpus_with(tmp_path, base, amending)])  # rewrites 99's wordings
    fresh = rebuilt_copy(index, tmp_path / "fresh", hashing)
    questions = ["Thời hạn kiểm tra tính đầy đủ của hồ sơ là bao lâu?", "công chức thu phí, lệ phí như thế nào"]
    for day in (date(2026, 6, 1), date(2026, 11, 29)):
        held = [
            [(h.clause.clause_id, h.clause.text, round(h.score, 6)) for h in index.search(q, as_of=day)]
            for q in questions
        ]
        assert held == [
            [(h.clause.clause_id, h.clause.text, round(h.score, 6)) for h in fresh.search(q, as_of=day)]
            for q in questions
        ]
    before, after = (index.search(questions[0], k=1, as_of=date(2026, d[0], d[1]))[0] for d in ((6, 1), (11, 29)))
    assert before.clause.clause_id == after.clause.clause_id == "nd-99-2026-goc:3.1"
    assert before.clause.text != after.clause.text and "02 giờ" in after.clause.text


def test_a_term_only_deleted_wordings_held_is_not_loaded(index: ClauseIndex, tmp_path: Path) -> None:
    Ingester(index, show_progress=False).run([corpus_with(tmp_path, SAMPLE_DIRECTIVE, DATA / "ke-hoach-mau.txt")])
    held = {
        doc: {t for c in index.store.clauses(doc) for t in terms(c.text, expand=True)}
        for doc in (m.doc_id for m in index.store.documents())
    }
    plan = held.pop("ke-hoach-mau")
    directive = set().union(*held.values())
    assert plan - directive and plan & directive
    index.rebuild_lexical()  # one segment for both documents
    assert index.loaded_terms(plan) == plan
    index.remove_document("ke-hoach-mau")  # in place: tantivy still counts the plan's entries until it merges
    assert index.loaded_terms(plan) == plan & directive
    index.compact_lexical()
    assert index.loaded_terms(plan) == plan & directive


def test_a_reader_of_a_replaced_build_searches_every_term_it_checks(index: ClauseIndex, tmp_path: Path) -> None:
    Ingester(index, show_progress=False).run([corpus_with(tmp_path, SAMPLE_DIRECTIVE)])
    directory = lexical_directory(index.settings).name
    assert index.lexical._deleted_bound(directory) == 0  # a fresh build: document frequencies are exact
    index.rebuild_lexical()  # another build replaced it while a reader was opening the old one
    assert index.lexical._deleted_bound(directory) == sys.maxsize
