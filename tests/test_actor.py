"""The actor signal: a question that names units prefers the clauses that oblige them.

A directive of our own gives the same topic (checking the electronic records) to two actors: khoản 1 to the
town's departments, khoản 2 to the communes and wards; khoản 3 obliges no one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from base.settings import RetrievalSettings
from ingest.pipeline import Ingester
from knowledge.index import ClauseIndex
from knowledge.register import ObligationRegister
from knowledge.units import UnitDirectory
from tests.conftest import DATA, make_settings

DIRECTIVE = DATA / "actor" / "chi-thi-luu-tru-mau.txt"
DOC = "chi-thi-luu-tru-mau"
COMMUNES = {"P1", "P2", "XAP", "XBH"}
DEPARTMENTS = {"VP", "NV", "TC", "TP", "VHTT", "KT"}


@pytest.fixture(scope="module")
def two_actors(tmp_path_factory: pytest.TempPathFactory, e5) -> ClauseIndex:
    corpus = tmp_path_factory.mktemp("actor-corpus")
    shutil.copy(DIRECTIVE, corpus)
    index = ClauseIndex(make_settings(tmp_path_factory.mktemp("actor") / "data"), embeddings=e5)
    assert Ingester(index, show_progress=False).run([corpus]).ok
    return index


@pytest.mark.parametrize(
    ("question", "units"),
    [
        ("Cấp xã phải làm gì?", COMMUNES),
        ("phuong co phai tu kiem tra khong", set()),  # the index restores the accents before it asks
        ("Phường tôi có phải tự kiểm tra không?", COMMUNES),
        ("UBND các xã, phường báo cáo khi nào?", COMMUNES),
        ("Các phòng chuyên môn kiểm tra gì?", DEPARTMENTS),
        ("Phòng Tư pháp có phải kiểm tra không?", {"TP"}),
        ("Phòng Tư pháp hướng dẫn các xã ra sao?", {"TP"} | COMMUNES),
        ("Chỉ số CCHC của thị xã năm nay?", set()),
        ("Điều tra xã hội học do ai làm?", set()),
        ("Văn phòng HĐND-UBND có nhiệm vụ gì?", {"VP"}),
        ("Công tác phòng, chống tham nhũng", set()),
        ("Trách nhiệm của Bộ Quốc phòng và Bộ đội Biên phòng", set()),
        ("Thủ tục đăng ký thành lập hợp tác xã gồm những giấy tờ gì?", set()),
        ("Xã viên hợp tác xã có quyền gì?", set()),
        ("Quy tắc ứng xử, xã giao của cán bộ công chức?", set()),
        ("Đề phòng lừa đảo qua mạng thì cần làm gì?", set()),
        ("Phòng khi mất điện thì hồ sơ điện tử lưu thế nào?", set()),
        ("Bố trí phòng làm việc của Bộ phận Một cửa thế nào?", set()),
        ("Phòng máy chủ cần đảm bảo an toàn thông tin gì?", set()),
        ("Phòng Cảnh sát giao thông tỉnh xử lý ra sao?", set()),
    ],
)
def test_the_units_a_question_asks_about(town: UnitDirectory, question: str, units: set[str]) -> None:
    assert town.asked(question) == units


def test_clauses_are_marked_by_whom_they_oblige(two_actors: ClauseIndex) -> None:
    register = ObligationRegister.of(two_actors.store, two_actors.settings)
    obliged = {o.loc: set() for o in register.obligations(doc_id=DOC)}
    for o in register.obligations(doc_id=DOC):
        obliged[o.loc].add(o.unit)
    assert obliged == {"1": DEPARTMENTS, "2": COMMUNES}

    def marks(question: str) -> dict[str, float]:
        found = two_actors.candidates(question)
        names = two_actors.lexical.passages(found.pids.tolist())
        groups = {pid: name.split(":")[1].split("#")[0] for pid, name in names.items()}
        return {groups[int(p)]: float(a) for p, a in zip(found.pids, found.actor, strict=True)}

    assert marks("Cấp xã phải kiểm tra việc lưu trữ hồ sơ thế nào?") == {"preamble": 0, "1": -1, "2": 1, "3": 0}
    assert marks("Phòng Tư pháp kiểm tra việc lưu trữ hồ sơ thế nào?") == {"preamble": 0, "1": 1, "2": -1, "3": 0}
    assert set(marks("Việc lưu trữ hồ sơ được kiểm tra thế nào?").values()) == {0}


@pytest.mark.parametrize(
    ("question", "loc"),
    [
        ("Cấp xã có trách nhiệm gì trong việc kiểm tra lưu trữ hồ sơ điện tử?", "2"),
        ("Các phòng chuyên môn có trách nhiệm gì trong việc kiểm tra lưu trữ hồ sơ điện tử?", "1"),
        ("Phường có phải kiểm tra lưu trữ hồ sơ điện tử không?", "2"),
        ("Phòng Tư pháp có phải kiểm tra lưu trữ hồ sơ điện tử không?", "1"),
        ("cap xa co trach nhiem gi trong viec kiem tra luu tru ho so dien tu?", "2"),
    ],
)
def test_the_asked_actors_clause_comes_first(two_actors: ClauseIndex, question: str, loc: str) -> None:
    """With the signal, each actor's own clause ranks first; each clause's score moves by exactly the
    weight times its mark, so nothing else in the ranking changes."""
    found = two_actors.candidates(question)
    day = two_actors.today()
    off = RetrievalSettings(actor_weight=0.0)
    on = RetrievalSettings(actor_weight=0.3)
    plain = {h.clause.loc: h.score for h in two_actors.ranked(found, 4, off, day)}
    signed = two_actors.ranked(found, 4, on, day)
    assert signed[0].clause.loc == loc
    mark = {"1": 1.0 if loc == "1" else -1.0, "2": 1.0 if loc == "2" else -1.0, "3": 0.0, "preamble": 0.0}
    assert {h.clause.loc: h.score - plain[h.clause.loc] for h in signed} == pytest.approx(
        {k: 0.3 * v for k, v in mark.items()}
    )


def test_without_a_register_the_signal_is_neutral(tmp_path: Path, hashing) -> None:
    """A knowledge base whose register was never built (or holds nothing for the clauses) ranks as before."""
    index = ClauseIndex(make_settings(tmp_path / "data"), embeddings=hashing)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DIRECTIVE, corpus)
    assert Ingester(index, show_progress=False).run([corpus]).ok
    index.store.db.execute("DELETE FROM obligations")
    assert not index.candidates("Cấp xã phải kiểm tra việc lưu trữ hồ sơ thế nào?").actor.any()
