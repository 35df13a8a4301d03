"""Amendment formulas and consolidation, as pure functions over decrees written for the tests."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.structure import parse
from knowledge.amendments import Operation, Unit, number_key, operations, parse_day, parse_refs, quoted_units
from knowledge.consolidation import consolidate, effective_date, in_force, lapsed_on, loc_key, vn_day
from knowledge.provisions import amendment_note, provision_text
from knowledge.records import Clause, DocumentMeta
from tests.conftest import DATA

CASES = DATA / "hop-nhat"
BEFORE, TODAY, NEXT_YEAR = date(2026, 6, 1), date(2026, 11, 29), date(2027, 2, 1)


def parsed(name: str, doc_id: str):
    return parse((CASES / name).read_text(encoding="utf-8"), doc_id)


def ops_of(name: str, doc_id: str) -> list[Operation]:
    document = parsed(name, doc_id)
    return operations(document.clauses, document.amends, document.number, parse_day(document.effect))


@pytest.fixture(scope="module")
def base() -> list[Clause]:
    return parsed("nd-99-2026-goc.txt", "nd99").clauses


@pytest.fixture(scope="module")
def amending() -> list[Operation]:
    return ops_of("nd-100-2026-sua-doi.txt", "nd100") + ops_of("nd-101-2026-sua-doi.txt", "nd101")


def texts_on(base: list[Clause], amending: list[Operation], day: date) -> dict[str, str]:
    result = consolidate("nd99", True, base, amending)
    return {c.loc: c.text for c in in_force(base, result.versions, day)}


# ------------------------------------------------------------------------------------------ formulas


def test_every_formula_of_the_amending_decree_becomes_an_operation() -> None:
    ops = {op.made_by: op for op in ops_of("nd-100-2026-sua-doi.txt", "nd100")}
    assert all(op.target == "99/2026/NĐ-CP" and op.since == date(2026, 9, 1) for op in ops.values())
    khoan = ops["nd100:1.1"]
    assert (khoan.kind, khoan.locs, [u.loc for u in khoan.units]) == ("amend", ("3.1",), ["3.1"])
    assert "02 giờ làm việc" in khoan.units[0].text and not khoan.units[0].text.endswith("”")
    point = ops["nd100:1.2"]
    assert (point.kind, point.after, [u.loc for u in point.units]) == ("amend", "3.2.c", ["3.2.d"])
    assert (ops["nd100:1.3"].kind, ops["nd100:1.3"].locs) == ("repeal", ("4.3",))
    assert (ops["nd100:1.4"].after, [u.loc for u in ops["nd100:1.4"].units]) == ("5.3", ["5.4"])
    article = ops["nd100:1.5"]
    assert [u.loc for u in article.units] == ["7", "7.1", "7.2", "7.2.a", "7.2.b"]
    assert article.units[0].text == "Điều 7. Đánh giá công chức tiếp nhận"
    words = ops["nd100:1.6"]
    assert (words.kind, words.old, words.new) == ("words", "Bộ phận Tiếp nhận mẫu", "Bộ phận Một cửa")
    assert words.locs == ("1", "2.1", "4.1", "6")


def test_nested_formula_takes_its_article_from_the_lead_in() -> None:
    ops = {op.made_by: op for op in ops_of("nd-101-2026-sua-doi.txt", "nd101")}
    assert [u.loc for u in ops["nd101:1.1.a"].units] == ["3.1"]
    assert (ops["nd101:1.1.b"].after, [u.loc for u in ops["nd101:1.1.b"].units]) == ("3.3", ["3.4"])
    assert [u.loc for u in ops["nd101:1.2"].units] == ["4.2.b"]
    assert set(ops) == {"nd101:1.1.a", "nd101:1.1.b", "nd101:1.2"}  # the lead-in itself changes nothing


def test_a_replacing_decree_ends_the_old_one_from_its_own_effective_date() -> None:
    ops = ops_of("nd-120-2026-luu-tru.txt", "nd120")
    assert [(op.kind, op.target, op.since) for op in ops] == [("lapse", "45/2020/NĐ-CP", date(2026, 10, 15))]
    assert ops_of("nd-45-2020-luu-tru.txt", "nd45") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Luật Cư trú số 81/2006/QH11 hết hiệu lực kể từ ngày Luật này có hiệu lực thi hành.", None),
        ("Quyết định số 12/2020/QĐ-UBND hết hiệu lực kể từ ngày 01 tháng 7 năm 2026.", date(2026, 7, 1)),
    ],
)
def test_a_document_said_to_lapse_is_a_lapse_operation(text: str, expected: date | None) -> None:
    clause = Clause(doc_id="moi", loc="9.2", text=f"2. {text}")
    (op,) = operations([clause], [], "", since=date(2026, 1, 1))
    assert op.kind == "lapse" and op.since == (expected or date(2026, 1, 1))


def test_words_removed_and_several_pairs_in_one_sentence() -> None:
    text = (
        "3. Thay thế cụm từ “Sở Nội vụ” bằng cụm từ “Sở Nội vụ mẫu”, cụm từ “hằng năm” bằng cụm từ “hằng quý” "
        "tại khoản 2 Điều 5 Nghị định số 99/2026/NĐ-CP.\n"
    )
    clauses = [
        Clause(doc_id="x", loc="1.3", text=text.strip()),
        Clause(doc_id="x", loc="1.4", text="4. Bỏ cụm từ “bằng tiền mặt” tại điểm b khoản 2 Điều 4."),
    ]
    ops = operations(clauses, ["99/2026/NĐ-CP"])
    assert [(op.kind, op.old, op.new, op.locs) for op in ops] == [
        ("words", "Sở Nội vụ", "Sở Nội vụ mẫu", ("5.2",)),
        ("words", "hằng năm", "hằng quý", ("5.2",)),
        ("words", "bằng tiền mặt", "", ("4.2.b",)),
    ]
    assert all(op.target == "99/2026/NĐ-CP" for op in ops)


def test_quote_on_the_instruction_line_and_several_units_in_one_quote() -> None:
    text = (
        "5. Sửa đổi, bổ sung điểm c, bổ sung điểm đ vào khoản 1 Điều 9 như sau: “c) Nộp bản sao điện tử;\n"
        "đ) Nộp lệ phí trực tuyến.”"
    )
    (op,) = operations([Clause(doc_id="x", loc="1.5", text=text)], ["61/2018/NĐ-CP"])
    assert [(u.loc, u.text) for u in op.units] == [
        ("9.1.c", "c) Nộp bản sao điện tử;"),
        ("9.1.đ", "đ) Nộp lệ phí trực tuyến."),
    ]


def test_the_first_number_named_is_the_target_not_earlier_amending_laws() -> None:
    text = (
        "2. Sửa đổi, bổ sung khoản 7 Điều 2 của Luật Bảo hiểm y tế số 25/2008/QH12 đã được sửa đổi, bổ sung "
        "một số điều theo Luật số 32/2013/QH13 như sau:\n“7. Người giám hộ là người theo quy định.”"
    )
    (op,) = operations([Clause(doc_id="cu-tru", loc="37.2", text=text)], [])
    assert (op.target, op.units[0].loc) == ("25/2008/QH12", "2.7")


@pytest.mark.parametrize(
    ("locator", "locs"),
    [
        ("điểm b khoản 2 Điều 3", ["3.2.b"]),
        ("điểm a, điểm b khoản 2 Điều 3", ["3.2.a", "3.2.b"]),
        ("khoản 2 và khoản 3 Điều 4", ["4.2", "4.3"]),
        ("các khoản 2, 3 và 4 Điều 10", ["10.2", "10.3", "10.4"]),
        ("Điều 1, khoản 1 Điều 2, khoản 1 Điều 4 và Điều 6", ["1", "2.1", "4.1", "6"]),
        ("Điều 5a", ["5a"]),
    ],
)
def test_locators_in_vietnamese_citation_order(locator: str, locs: list[str]) -> None:
    assert [".".join(r[k] for k in sorted(r)) for r in parse_refs(locator)] == locs


def test_quoted_article_splits_into_its_khoan_and_diem() -> None:
    lines = ["Điều 4. Tiêu chuẩn", "1. Có phẩm chất tốt.", "2. Có kỹ năng:", "a) Quét hồ sơ;", "b) Ký số."]
    assert [u.loc for u in quoted_units(lines, {0: "4"})] == ["4", "4.1", "4.2", "4.2.a", "4.2.b"]
    assert [u.loc for u in quoted_units(["b) Ký số."], {0: "4", 1: "2", 2: "b"})] == ["4.2.b"]
    assert [u.loc for u in quoted_units(["Ký số trên hệ thống."], {0: "4", 1: "2"})] == ["4.2"]


def test_numbers_match_whatever_the_spelling() -> None:
    assert number_key("61/2018/NĐ-CP") == number_key("61/2018/nd-cp ")


# ------------------------------------------------------------------------------------- consolidation


def test_wording_in_force_before_between_and_after_the_amendments(base, amending) -> None:
    before, now, later = (texts_on(base, amending, day) for day in (BEFORE, TODAY, NEXT_YEAR))
    assert "04 giờ" in before["3.1"] and "02 giờ" in now["3.1"] and "01 giờ" in later["3.1"]
    assert "3.2.d" not in before and now["3.2.d"].startswith("d) Cập nhật tình trạng")
    assert "4.3" in before and "4.3" not in now  # repealed
    assert "5.4" in now and "3.4" not in now and "3.4" in later  # added, one of them next year
    assert "tiền mặt tại quầy" in now["4.2.b"] and "thanh toán trực tuyến" in later["4.2.b"]
    assert "Bộ phận Tiếp nhận mẫu" in before["6"] and "Bộ phận Tiếp nhận mẫu" not in now["6"]
    assert now["6"].count("Bộ phận Một cửa") == 2
    assert "Bộ phận Tiếp nhận mẫu" in now["5.1"]  # not among the places the phrase was replaced


def test_a_replaced_article_keeps_only_the_units_of_its_new_wording(base, amending) -> None:
    now = texts_on(base, amending, TODAY)
    assert now["7"] == "Điều 7. Đánh giá công chức tiếp nhận"
    assert [loc for loc in now if loc.startswith("7")] == ["7", "7.1", "7.2", "7.2.a", "7.2.b"]


def test_added_units_stand_in_document_order(base, amending) -> None:
    locs = list(texts_on(base, amending, NEXT_YEAR))
    assert locs.index("3.2.c") < locs.index("3.2.d") < locs.index("3.3") < locs.index("3.4") < locs.index("4")
    assert locs.index("5.3") < locs.index("5.4") < locs.index("6")


def test_each_version_says_who_made_it_and_when(base, amending) -> None:
    result = consolidate("nd99", True, base, amending)
    history = [(v.kind, v.since, v.until, v.made_by) for v in result.versions if v.clause.loc == "3.1"]
    assert history == [
        ("original", None, date(2026, 9, 1), ""),
        ("amended", date(2026, 9, 1), date(2027, 1, 1), "nd100:1.1"),
        ("amended", date(2027, 1, 1), None, "nd101:1.1.a"),
    ]
    repealed = [v for v in result.versions if v.clause.loc == "4.3"]
    assert [v.kind for v in repealed] == ["original", "repealed"] and repealed[1].made_by == "nd100:1.3"
    assert result.outcomes == [""] * len(amending)


def test_the_order_operations_are_given_in_does_not_matter(base, amending) -> None:
    forward = consolidate("nd99", True, base, amending).versions
    backward = consolidate("nd99", True, base, list(reversed(amending))).versions
    key = lambda vs: sorted((v.clause.loc, v.since or date.min, v.clause.text) for v in vs)  # noqa: E731
    assert key(forward) == key(backward)


def test_operations_that_find_nothing_say_so(base) -> None:
    ops = [
        Operation("x:1", "repeal", "99/2026/NĐ-CP", ("9.9",), since=TODAY),
        Operation("x:2", "words", "99/2026/NĐ-CP", ("3.1",), old="không có cụm này", new="b", since=TODAY),
    ]
    result = consolidate("nd99", True, base, ops)
    assert result.outcomes == ["không có khoản 9 Điều 9", "không thấy cụm từ “không có cụm này”"]


def test_a_new_article_title_keeps_its_khoan(base) -> None:
    op = Operation("x:1", "amend", "", ("3",), (Unit("3", "Điều 3. Tiếp nhận hồ sơ"),), scope="title", since=TODAY)
    now = {c.loc: c.text for c in in_force(base, consolidate("nd99", True, base, [op]).versions, TODAY)}
    assert now["3"] == "Điều 3. Tiếp nhận hồ sơ" and "3.2.a" in now


def test_a_replaced_document_has_nothing_in_force_after_the_date() -> None:
    old = parsed("nd-45-2020-luu-tru.txt", "nd45").clauses
    result = consolidate("nd45", True, old, ops_of("nd-120-2026-luu-tru.txt", "nd120"))
    assert in_force(old, result.versions, date(2026, 10, 14)) and not in_force(old, result.versions, TODAY)
    assert {v.kind for v in result.versions if v.until is None} == {"lapsed"}


def test_effective_date_lapse_and_day_format() -> None:
    meta = DocumentMeta(doc_id="d", issued="15/07/2026", effect="Có hiệu lực từ ngày 01/09/2026")
    assert effective_date(meta) == date(2026, 9, 1)
    assert effective_date(meta.model_copy(update={"effect": ""})) == date(2026, 7, 15)
    signed = meta.model_copy(update={"effect": "Có hiệu lực từ ngày ký (15/07/2026)"})
    assert effective_date(signed) == date(2026, 7, 15)
    lapsed = meta.model_copy(update={"effect": "Có hiệu lực từ ngày 01/09/2020; hết hiệu lực từ ngày 01/01/2025"})
    assert effective_date(lapsed) == date(2020, 9, 1)
    assert not lapsed_on(lapsed, date(2024, 12, 31)) and lapsed_on(lapsed, date(2025, 1, 1))
    assert lapsed_on(meta.model_copy(update={"effect": "Đã bị thay thế"}), TODAY) and not lapsed_on(meta, TODAY)
    assert vn_day(date(2026, 9, 1)) == "01/9/2026"


def test_locs_sort_by_their_numbers() -> None:
    assert sorted(["3.10", "3.2", "3.2.đ", "3.2.d", "4a", "4"], key=loc_key) == [
        "3.2",
        "3.2.d",
        "3.2.đ",
        "3.10",
        "4",
        "4a",
    ]


def test_the_sample_amending_decree_applies_cleanly() -> None:
    base = parse((DATA / "nghi-dinh-goc-mau.txt").read_text(encoding="utf-8"), "nd12").clauses
    amending = parse((DATA / "nghi-dinh-sua-doi-mau.txt").read_text(encoding="utf-8"), "nd34")
    ops = operations(amending.clauses, amending.amends, amending.number, parse_day(amending.effect))
    result = consolidate("nd12", True, base, ops)
    assert result.outcomes == ["", "", ""]
    after = {c.loc: c.text for c in in_force(base, result.versions, date(2100, 2, 1))}
    assert "02 năm" in after["4.2"] and after["4.3.b"] == "b) Ký số trên hệ thống." and "3.4" in after


def test_parse_day_reads_both_spellings() -> None:
    assert parse_day("ngày 22 tháng 01 năm 2022") == parse_day("22/01/2022") == date(2022, 1, 22)
    assert parse_day("không có ngày") is None and parse_day("31/02/2026") is None


# ---------------------------------------------------------------------------------------- provisions


def test_a_lead_in_is_quoted_with_its_points_in_force(base, amending) -> None:
    wording = in_force(base, consolidate("nd99", True, base, amending).versions, TODAY)
    lead = next(c for c in wording if c.loc == "3.2")
    text = provision_text(lead, wording)
    assert text.splitlines() == [
        "2. Trường hợp hồ sơ chưa đầy đủ, công chức tiếp nhận phải:",
        "a) Hướng dẫn người nộp bổ sung hồ sơ một lần bằng phiếu hướng dẫn;",
        "b) Ghi rõ các giấy tờ còn thiếu vào sổ theo dõi hồ sơ;",
        "c) Không được yêu cầu nộp giấy tờ ngoài thành phần hồ sơ đã công bố.",
        "d) Cập nhật tình trạng hồ sơ lên Hệ thống thông tin giải quyết thủ tục hành chính trong ngày.",
    ]


def test_a_point_that_names_no_actor_comes_after_its_lead_in(base) -> None:
    by_loc = {c.loc: c for c in base}
    assert provision_text(by_loc["4.2.b"], base).splitlines() == [
        "2. Khi trả kết quả, công chức phải:",
        "…",
        "b) Thu phí, lệ phí bằng tiền mặt tại quầy;",
    ]
    assert provision_text(by_loc["3.2.a"], base).splitlines()[0].startswith("2. Trường hợp hồ sơ chưa đầy đủ")
    item = Clause(doc_id="ct", loc="2", text="2. Tập trung thực hiện các giải pháp nâng cao chất lượng")
    point = Clause(doc_id="ct", loc="2.a", text="a) Thường xuyên tuyên truyền về cải cách hành chính.")
    assert provision_text(point, [item, point]) == point.text  # a heading, not a lead-in: the point stands alone
    actor = Clause(doc_id="ct", loc="2.b", text="b) Phòng Nội vụ tổng hợp báo cáo.")
    assert provision_text(actor, base) == actor.text


def test_amendment_note_names_each_change_and_its_day() -> None:
    note = amendment_note(
        [
            ("amended", "khoản 1 Điều 1 Nghị định 100/2026/NĐ-CP", date(2026, 9, 1)),
            ("amended", "điểm a khoản 1 Điều 1 Nghị định 101/2026/NĐ-CP", date(2027, 1, 1)),
        ]
    )
    assert note == (
        "(được sửa đổi bởi khoản 1 Điều 1 Nghị định 100/2026/NĐ-CP, có hiệu lực từ 01/9/2026; "
        "điểm a khoản 1 Điều 1 Nghị định 101/2026/NĐ-CP, có hiệu lực từ 01/1/2027)"
    )
    assert amendment_note([("added", "khoản 2 Điều 1 Nghị định 100/2026/NĐ-CP", None)]) == (
        "(được bổ sung bởi khoản 2 Điều 1 Nghị định 100/2026/NĐ-CP)"
    )
    assert amendment_note([]) == ""
