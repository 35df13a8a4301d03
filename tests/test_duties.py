"""Questions about a unit's duties, answered from the obligation register."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from base.database import open_database
from knowledge.duties import duty_answer, duty_list, duty_question, plain_lines, wordings_cited
from knowledge.register import ObligationRegister
from knowledge.store import ClauseStore
from tests.conftest import OBLIGATIONS, SAMPLE_DIRECTIVE
from tests.conftest import store_document as put

PHONG = {"VP", "NV", "TC", "TP", "VHTT", "KT"}
XA = {"P1", "P2", "XAP", "XBH"}


@pytest.fixture
def register(tmp_path: Path, town) -> ObligationRegister:
    store = ClauseStore(open_database(tmp_path / "cchc.db"))
    put(store, SAMPLE_DIRECTIVE, "chi-thi-cchc-thi-xa", "a")
    put(store, OBLIGATIONS / "nghi-dinh-bao-cao-mau.txt", "nd45", "b")
    store.db["documents"].update("chi-thi-cchc-thi-xa", {"doc_type": "Chỉ thị"})
    store.db["documents"].update("nd45", {"doc_type": "Nghị định", "number": "45/2099/NĐ-CP"})
    register = ObligationRegister(store, town)
    register.sync()
    return register


def ask(register: ObligationRegister, town, question: str, asker: str | None = "TP"):
    return duty_question(question, asker, town, register.store.documents())


@pytest.mark.parametrize(
    ("question", "units"),
    [
        ("Đơn vị tôi phải làm gì?", {"TP"}),
        ("phong minh co nhiem vu gi", {"TP"}),
        ("Chúng tôi có những việc gì phải nộp, hạn khi nào?", {"TP"}),
        ("Phòng Nội vụ có nhiệm vụ gì theo chỉ thị?", {"NV"}),
        ("UBND xã phải làm gì theo chỉ thị?", XA),
        ("Các phòng chuyên môn có trách nhiệm gì?", PHONG),
        ("Việc nào sắp đến hạn?", {"TP"}),
    ],
)
def test_questions_about_a_units_duties(register, town, question: str, units: set[str]) -> None:
    asked = ask(register, town, question)
    assert asked is not None and asked.units == units


@pytest.mark.parametrize(
    "question",
    ["Hạn nộp báo cáo kiểm điểm là ngày nào?", "Tôi phải làm gì khi hồ sơ thiếu giấy tờ?", "Báo cáo gửi về đâu?"],
)
def test_other_questions_are_left_to_clause_answers(register, town, question: str) -> None:
    assert ask(register, town, question) is None


def test_without_a_unit_a_question_about_tôi_is_not_read_as_one(register, town) -> None:
    assert ask(register, town, "Đơn vị tôi phải làm gì?", asker=None) is None


def test_the_list_is_grouped_and_cites_its_clauses(register, town) -> None:
    asked = ask(register, town, "Phòng Tư pháp có nhiệm vụ gì theo nghị định 45/2099?")
    assert asked.doc_ids == {"nd45"}
    found = duty_list(register, asked, date(2099, 3, 1))
    assert [(o.loc, o.role, o.deadline) for o in found.dated] == [
        ("4.2", "chu-tri", date(2099, 6, 30)),
        ("4.1.a", "thuc-hien", None),  # a relative term: "chậm nhất 01 ngày làm việc sau khi …"
    ]
    assert {o.loc for o in found.recurring} == {"4.1.b", "4.1.c"}
    assert {o.loc for o in found.standing} == {"4.1.a"}, "its sentence without a term"
    text = "\n".join(plain_lines(found))
    assert "Hạn 30/06/2099: Phòng Tư pháp chủ trì" in text and "[chủ trì]" in text
    assert "Hằng tháng: Định kỳ hằng tháng, tổng hợp số liệu" in text
    wordings = wordings_cited(register, found, date(2099, 3, 1))
    answer = duty_answer("q", found, wordings, soon=False)
    assert answer.answered and answer.citations[0].label == "khoản 2 Điều 4 Văn bản nd45"


def test_a_communes_list_leaves_out_what_only_departments_owe(register, town) -> None:
    found = duty_list(register, ask(register, town, "Xã tôi phải làm gì theo chỉ thị?", asker="XAP"), date(2023, 1, 1))
    locs = {o.loc for o in found.items}
    assert "4" in locs and "5" not in locs, "khoản 5 names five phòng; khoản 4 the communes"


def test_what_falls_due_soon(register, town) -> None:
    asked = ask(register, town, "Việc nào sắp đến hạn?")
    found = duty_list(register, asked, date(2099, 6, 10))
    assert [(o.loc, o.deadline) for o in found.dated] == [("4.2", date(2099, 6, 30))]
    assert found.standing == [] and found.recurring == [] and found.recurring_left > 0
    nothing = duty_list(register, asked, date(2100, 1, 1))
    assert "không có việc nào có hạn sắp tới" in plain_lines(nothing, soon=True)[0]
