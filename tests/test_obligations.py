"""Obligations drawn from texts: units and groups found in wording, timing, roles, the hand annotations."""

from __future__ import annotations

from datetime import date

import pytest

from base.settings import Settings
from ingest.structure import parse
from knowledge.obligation_eval import load_gold, score
from knowledge.obligations import Obligation, extract
from knowledge.timing import read_when
from knowledge.units import UnitDirectory, tokenize
from tests.conftest import OBLIGATIONS

GOLD = load_gold(OBLIGATIONS / "gold.yaml")


def named(directory: UnitDirectory, text: str) -> list[set[str]]:
    return [set(m.units) for m in directory.mentions(tokenize(text))]


def obligations_of(text: str, directory: UnitDirectory, doc_id: str = "doc") -> list[Obligation]:
    return extract(parse(text, doc_id).clauses, directory, "Văn bản")


# ------------------------------------------------------------------------------ units and groups

PHONG = {"VP", "NV", "TC", "TP", "VHTT", "KT"}
XA = {"P1", "P2", "XAP", "XBH"}


def test_units_are_found_by_name_alias_and_list(town: UnitDirectory) -> None:
    assert named(town, "giao phòng Tư pháp") == [{"TP"}]
    assert named(town, "Văn phòng HĐND - UBND thị xã") == [{"VP"}]
    assert named(town, "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân cấp huyện") == [{"VP"}]
    assert named(town, "các phòng: Nội vụ, Tài chính và Văn hóa - Thông tin") == [{"NV", "TC", "VHTT"}]
    assert named(town, "Các phòng Kinh tế, Văn hóa và Thông tin") == [{"KT", "VHTT"}]
    assert named(town, "Phòng Tài chính, Phòng Kinh tế") == [{"TC", "KT"}]
    assert named(town, "Chủ tịch UBND xã An Phú và Ủy ban nhân dân Phường 2") == [{"XAP", "P2"}]
    assert named(town, "phong tu phap") == [{"TP"}], "typed without accents"


def test_groups_are_found_by_the_phrases_of_config(town: UnitDirectory) -> None:
    assert named(town, "Thủ trưởng các phòng, ban, ngành thị xã") == [PHONG]
    assert named(town, "Chủ tịch UBND các xã, phường") == [XA]
    assert named(town, "Ủy ban nhân dân cấp xã") == [XA]
    assert named(town, "các cơ quan, đơn vị, địa phương") == [PHONG | XA]
    assert named(town, "UBND thị xã") == [], "the town itself is no unit"


def test_a_bracket_narrows_a_group(town: UnitDirectory) -> None:
    listed = "Thủ trưởng các phòng chuyên môn (Văn phòng HĐND - UBND và các phòng: Nội vụ, Tài chính, Tư pháp)"
    assert named(town, listed) == [{"VP", "NV", "TC", "TP"}]
    assert named(town, "cơ quan chuyên môn cấp huyện (trừ Phòng Kinh tế)") == [PHONG - {"KT"}]


def test_another_town_maps_its_own_units_without_code() -> None:
    district = UnitDirectory.of(
        Settings.model_validate(
            {
                "units": [
                    {"code": "GD", "name": "Phòng Giáo dục và Đào tạo", "kind": "phong-ban"},
                    {"code": "YT", "name": "Phòng Y tế", "kind": "phong-ban"},
                    {"code": "CN", "name": "UBND thị trấn Cầu Ngang", "kind": "xa-phuong"},
                    {"code": "ML", "name": "UBND xã Mỹ Long", "kind": "xa-phuong"},
                ],
                "unit_groups": [
                    {"code": "phong", "name": "Các phòng", "kinds": ["phong-ban"], "phrases": ["các phòng chuyên môn"]},
                    {"code": "xa", "name": "Các xã", "kinds": ["xa-phuong"], "phrases": ["UBND các xã, thị trấn"]},
                ],
            }
        )
    )
    text = (
        "CHỈ THỊ\nVề việc mẫu\n\nChủ tịch UBND huyện yêu cầu các phòng chuyên môn huyện và UBND các xã, thị "
        "trấn thực hiện các nội dung sau:\n1. Phòng Giáo dục và Đào tạo chủ trì, phối hợp với Phòng Y tế "
        "kiểm tra y tế học đường trước ngày 30 tháng 9 năm 2099.\n2. UBND các xã, thị trấn báo cáo hằng tháng.\n"
        "3. Rà soát hồ sơ.\n"
    )
    found = {(o.loc, o.unit, o.role) for o in obligations_of(text, district)}
    assert found == {
        ("1", "GD", "chu-tri"),
        ("1", "YT", "phoi-hop"),
        ("2", "CN", "thuc-hien"),
        ("2", "ML", "thuc-hien"),
        *{("3", code, "thuc-hien") for code in ("GD", "YT", "CN", "ML")},
    }
    assert district.group_of({"CN", "ML"}) == "xa"


# ------------------------------------------------------------------------------------------ timing


@pytest.mark.parametrize(
    ("sentence", "deadline", "recurrence", "term"),
    [
        ("gửi báo cáo trước ngày 15 tháng 4 năm 2023", date(2023, 4, 15), (), None),
        ("Năm 2023, hoàn thành đăng ký xong trước ngày 15 tháng 4", date(2023, 4, 15), (), None),
        ("trình phê duyệt chậm nhất ngày 15/11/2099", date(2099, 11, 15), (), None),
        ("hoàn thành trong tháng 6 năm 2099", date(2099, 6, 30), (), None),
        ("theo Nghị định số 107/2021/NĐ-CP ngày 06 tháng 12 năm 2021", None, (), None),
        ("chế độ báo cáo định kỳ hàng quý, 6 tháng, hàng năm", None, ("hang-quy", "6-thang", "hang-nam"), None),
        ("báo cáo hàng quý, 6 tháng và cả năm", None, ("hang-quy", "6-thang", "hang-nam"), None),
        ("tổ chức đối thoại ít nhất 06 tháng một lần", None, ("6-thang",), None),
        ("Định kỳ 6 tháng, báo cáo kết quả", None, ("6-thang",), None),
        ("hằng tuần cập nhật dữ liệu", None, ("hang-tuan",), None),
        ("xác định kết quả hằng năm là một tiêu chí thi đua", None, (), None),
        ("giải quyết trong thời hạn 6 tháng kể từ ngày nhận hồ sơ", None, (), "trong thời hạn 6 tháng kể từ ngày"),
        ("trả lời chậm nhất 01 ngày làm việc sau khi có kết quả, cập nhật", None, (), "chậm nhất 01 ngày làm việc"),
        ("gửi về Phòng Nội vụ trước ngày 20 của tháng cuối quý.", None, (), "trước ngày 20 của tháng cuối quý"),
        ("báo cáo trước ngày 15 tháng 12 hằng năm.", None, ("hang-nam",), "trước ngày 15 tháng 12 hằng năm"),
        ("Chủ động rà soát các quy định", None, (), None),
    ],
)
def test_when(sentence: str, deadline: date | None, recurrence: tuple[str, ...], term: str | None) -> None:
    when = read_when(sentence)
    assert when.deadline == deadline
    assert when.recurrence == recurrence
    assert (when.term or "").startswith(term or "") and (when.term is None) == (term is None)


# ------------------------------------------------------------------------------------ extraction


@pytest.mark.parametrize("document", GOLD, ids=[g.doc_id for g in GOLD])
def test_extraction_matches_the_hand_annotation(document, town: UnitDirectory) -> None:
    found = obligations_of(document.path.read_text(encoding="utf-8"), town, document.doc_id)
    scores = score(document.doc_id, document.pairs, found)
    assert scores.pair_precision >= 0.9 and scores.pair_recall >= 0.9, scores.lines()
    assert scores.all_stated_right, scores.lines()
    assert scores.left_out == [], scores.lines()


def test_a_list_excludes_the_units_it_does_not_name(town: UnitDirectory) -> None:
    text = next(g for g in GOLD if g.doc_id == "chi-thi-cchc-thi-xa").path.read_text(encoding="utf-8")
    found = obligations_of(text, town, "chi-thi-cchc-thi-xa")
    assert {o.unit for o in found if o.loc == "5"} == PHONG - {"KT"}
    assert {o.unit for o in found if o.loc == "4"} == XA
    assert {o.unit for o in found if o.loc == "1.a"} == PHONG | XA, "the directive's opening addresses all"
    lead = [o for o in found if o.loc == "closing" and o.role == "chu-tri"]
    assert [o.unit for o in lead] == ["NV"] and lead[0].recurrence == ["hang-nam"]


def test_recipients_objects_and_partners_without_a_lead_owe_nothing(town: UnitDirectory) -> None:
    text = (
        "NGHỊ ĐỊNH\nMẫu\n\nĐiều 1. Trách nhiệm của Ủy ban nhân dân cấp xã\n"
        "1. Gửi báo cáo về Phòng Nội vụ trước ngày 20 tháng 6 năm 2099.\n"
        "2. Phối hợp với Phòng Tư pháp kiểm tra dữ liệu hộ tịch.\n"
        "Điều 2. Trách nhiệm của Phòng Kinh tế\nPhòng Kinh tế hướng dẫn Ủy ban nhân dân cấp xã lập hồ sơ.\n"
        "Điều 3. Giải thích\nBộ phận một cửa là nơi tiếp nhận hồ sơ của Ủy ban nhân dân cấp xã.\n"
    )
    found = {(o.loc, o.unit, o.role) for o in obligations_of(text, town)}
    assert found == {("1.1", x, "thuc-hien") for x in XA} | {("1.2", x, "phoi-hop") for x in XA} | {
        ("2", "KT", "thuc-hien")
    }
