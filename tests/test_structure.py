"""Structure parsing: the sample directive, several laws, a decree, an amending decree, a plan."""

from __future__ import annotations

import re

import pytest

from ingest.structure import clean_lines, paragraphs, parse
from tests.conftest import DATA, LAWS, SAMPLE_DIRECTIVE


@pytest.fixture(scope="module")
def directive():
    return parse(SAMPLE_DIRECTIVE.read_text(encoding="utf-8"), "chi-thi-cchc-thi-xa")


def by_loc(parsed) -> dict:
    return {c.loc: c for c in parsed.clauses}


def test_directive_locs_in_order(directive) -> None:
    locs = [c.loc for c in directive.clauses]
    assert locs == [
        "preamble",
        "1",
        "1.a",
        "1.b",
        "1.c",
        "1.d",
        "1.đ",
        "1.e",
        "2",
        "2.a",
        "2.b",
        "2.c",
        "2.d",
        "2.đ",
        "2.e",
        "2.f",
        "3",
        "4",
        "5",
        "closing",
    ]


def test_directive_labels_follow_vietnamese_citation_order(directive) -> None:
    clauses = by_loc(directive)
    assert clauses["2.c"].label == "điểm c khoản 2"
    assert clauses["3"].label == "khoản 3"
    assert clauses["preamble"].label == "phần mở đầu"


def test_wrapped_lines_are_rejoined(directive) -> None:
    point = by_loc(directive)["1.a"].text
    assert "\n" not in point
    assert "văn bản triển khai thực hiện công tác cải cách hành chính" in point
    khoan3 = by_loc(directive)["3"].text
    assert 'xếp loại ở mức "Hoàn thành nhiệm vụ"' in khoan3  # a wrapped line that starts with a quote
    assert "trước ngày 15 tháng 4 năm 2023" in khoan3


def test_urls_and_signature_dropped(directive) -> None:
    everything = "\n".join(c.text for c in directive.clauses)
    assert "thuvienphapluat" not in everything and "http" not in everything
    assert "Nơi nhận" not in everything and "Trương Đức San" not in everything


def test_closing_text_is_its_own_clause(directive) -> None:
    clauses = by_loc(directive)
    assert clauses["closing"].text.startswith("Chủ tịch Ủy ban nhân dân thị xã yêu cầu")
    assert clauses["closing"].text.endswith("./.")
    assert "./." not in clauses["5"].text
    assert clauses["5"].text.startswith("5. Thủ trưởng các phòng chuyên môn")


def test_points_carry_their_khoan_lead_in(directive) -> None:
    assert by_loc(directive)["2.f"].context.startswith("2. Tập trung thực hiện các giải pháp")


def test_directive_header_facts(directive) -> None:
    assert directive.doc_type == "Chỉ thị"
    assert directive.subject.startswith("Về việc tiếp tục tăng cường")
    assert directive.subject.endswith("trên địa bàn thị xã")
    assert directive.issuer == "Chủ tịch Ủy ban nhân dân thị xã"


@pytest.mark.parametrize(
    "law", ["luat-vien-chuc-2010", "luat-dien-anh-2022", "hien-phap-2013", "luat-to-tung-hanh-chinh-2015"]
)
def test_laws_keep_every_article(law: str) -> None:
    text = (LAWS / f"{law}.txt").read_text(encoding="utf-8")
    parsed = parse(text, law)
    articles = {c.loc for c in parsed.clauses if c.label.startswith("Điều")}
    assert articles == set(re.findall(r"^Điều (\d+)", text, re.M))


def test_law_points_and_khoan_locs() -> None:
    parsed = by_loc(parse((LAWS / "luat-vien-chuc-2010.txt").read_text(encoding="utf-8"), "vc"))
    assert parsed["29"].label == "Điều 29"
    assert parsed["29.1"].label == "khoản 1 Điều 29"
    points = [loc for loc in parsed if loc.startswith("29.1.")]
    assert points and all(parsed[p].label.startswith("điểm") for p in points)
    assert parsed["29.1"].heading.startswith("Điều 29.")


def test_constitution_inline_khoan_and_article_without_dot() -> None:
    parsed = by_loc(parse((LAWS / "hien-phap-2013.txt").read_text(encoding="utf-8"), "hp"))
    assert parsed["2.1"].text.startswith("1. Nhà nước Cộng hòa xã hội chủ nghĩa Việt Nam")
    assert parsed["115.1"].text.startswith("1. Đại biểu Hội đồng nhân dân")


def test_law_closing_is_the_enactment_line() -> None:
    parsed = by_loc(parse((LAWS / "luat-vien-chuc-2010.txt").read_text(encoding="utf-8"), "vc"))
    assert "thông qua" in parsed["closing"].text


def test_decree_header_chapters_and_sections() -> None:
    parsed = parse((DATA / "nghi-dinh-goc-mau.txt").read_text(encoding="utf-8"), "nd12")
    clauses = by_loc(parsed)
    assert (parsed.doc_type, parsed.number, parsed.issued) == ("Nghị định", "12/2099/NĐ-CP", "05/03/2099")
    assert parsed.issuer == "Chính phủ"
    assert parsed.effect == "Có hiệu lực từ ngày 01/05/2099"
    assert clauses["3.2.b"].label == "điểm b khoản 2 Điều 3"
    assert clauses["2.3"].text.endswith("tính từ ngày tiếp nhận hồ sơ đến ngày trả kết quả.")
    assert "ĐIỀU KHOẢN THI HÀNH" not in clauses["4.2"].text  # a chapter title is not clause text
    assert clauses["2.1"].division == "Chương I NHỮNG QUY ĐỊNH CHUNG"
    assert clauses["3.2.a"].division == "Chương II TỔ CHỨC THỰC HIỆN › Mục 1. BỘ PHẬN TIẾP NHẬN"
    assert clauses["5"].division == "Chương III ĐIỀU KHOẢN THI HÀNH"  # a new Chương closes the Mục
    assert clauses["preamble"].text.count("Căn cứ") == 1


def test_amending_decree_keeps_quoted_wording_inside_its_clause() -> None:
    parsed = parse((DATA / "nghi-dinh-sua-doi-mau.txt").read_text(encoding="utf-8"), "nd34")
    clauses = by_loc(parsed)
    assert parsed.amends == ["12/2099/NĐ-CP"]
    # The quoted "Điều 4" with its khoản and điểm is new wording, not this decree's own Điều 4.
    assert sorted(c.loc for c in parsed.clauses if c.label.startswith("Điều")) == ["1", "2", "3"]
    assert "4" not in clauses and "1.2.a" not in clauses
    assert "“Điều 4. Tiêu chuẩn công chức" in clauses["1.2"].text
    assert "b) Ký số trên hệ thống.”" in clauses["1.2"].text
    assert clauses["1.1"].amends == "khoản 2 Điều 2 Nghị định số 12/2099/NĐ-CP"
    assert clauses["1.3"].amends == "khoản 4 vào sau khoản 3 Điều 3 Nghị định số 12/2099/NĐ-CP"
    assert clauses["3"].text.endswith("./.")


def test_plan_with_roman_parts() -> None:
    parsed = parse((DATA / "ke-hoach-mau.txt").read_text(encoding="utf-8"), "kh")
    clauses = by_loc(parsed)
    assert [c.loc for c in parsed.clauses][:4] == ["I", "I.1", "I.1.a", "I.1.b"]
    assert clauses["II.2.b"].label == "điểm b khoản 2 mục II"
    assert clauses["closing"].text.startswith("Giao phòng Nội vụ")
    assert parsed.number == "7/KH-UBND"


def test_page_furniture_and_stray_letters() -> None:
    points = "a) một\nb) hai\nc) ba\nd) bốn\nđ) năm\n- 2 -\nhttps://example.org/x\ne) sáu\nf) bảy, chữ lạc\n"
    parsed = by_loc(parse(f"CHỈ THỊ\nVề việc thử\n\n1. Việc một\n{points}2. Việc hai\n", "t"))
    assert [loc for loc in parsed if loc.startswith("1.")] == ["1.a", "1.b", "1.c", "1.d", "1.đ", "1.e", "1.f"]
    assert "example.org" not in parsed["1.đ"].text and "- 2 -" not in parsed["1.đ"].text


def test_unbelievable_numbers_stay_text() -> None:
    text = "CHỈ THỊ\nVề việc thử\n\n1. Việc một có số liệu\n7. không phải khoản bảy\n2. Việc hai\n"
    parsed = by_loc(parse(text, "t"))
    assert "7" not in parsed and "7. không phải khoản bảy" in parsed["1"].text


def test_tone_marks_normalised_in_documents() -> None:
    lines = clean_lines("Hoà giải ở cơ sở; thuỷ lợi; khoẻ mạnh; quý; hoàn thành")
    assert lines == ["Hòa giải ở cơ sở; thủy lợi; khỏe mạnh; quý; hoàn thành"]


def test_paragraphs_unwrap_only_hard_wrapped_text() -> None:
    law_like = ["Điều 1. Phạm vi", "Luật này quy định về việc A.", "Điều 2. Đối tượng", "1. Cơ quan nhà nước."]
    assert paragraphs(law_like) == law_like
