"""Numbers written in words become digits where a unit or a fraction makes them numbers."""

from __future__ import annotations

import pytest

from knowledge.index import ClauseIndex
from knowledge.numbers import numbers_in_words, parse_number


@pytest.mark.parametrize(
    ("words", "value"),
    [("bảy mươi lăm", 75), ("mười lăm", 15), ("hai mươi mốt", 21), ("một trăm linh năm", 105), ("ba nghìn", 3000)],
)
def test_parse_number(words: str, value: int) -> None:
    assert parse_number(words) == value


def test_a_range_or_a_word_is_no_number() -> None:
    assert parse_number("hai ba") is None and parse_number("ba con") is None


@pytest.mark.parametrize(
    ("question", "normalised"),
    [
        ("Điểm thấp hơn chín mươi phần trăm thì sao?", "Điểm thấp hơn 90% thì sao?"),
        ("đạt hai phần năm số điểm", "đạt 40% số điểm"),
        ("gửi trong vòng mười lăm ngày làm việc", "gửi trong vòng 15 ngày làm việc"),
        ("giảm một nửa thời gian", "giảm 50% thời gian"),
        ("nộp mấy lần trong năm năm", "nộp mấy lần trong 5 năm"),
    ],
)
def test_numbers_in_words_become_digits(question: str, normalised: str) -> None:
    assert numbers_in_words(question) == normalised


def test_words_without_a_unit_stay() -> None:
    for text in ("Năm 2023 hoàn thành", "ông Ba phụ trách", "từ ngày 15/4", "mỗi năm một lần"):
        assert numbers_in_words(text) == text


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("diem thap hon bay muoi lam phan tram thi sao", "diem thap hon 75% thi sao"),
        ("gui trong vong hai muoi ngay lam viec", "gui trong vong 20 ngay lam viec"),
        ("mot tram linh nam nguoi", "105 nguoi"),
    ],
)
def test_numbers_typed_without_accents_become_digits(typed: str, normalised: str) -> None:
    assert numbers_in_words(typed) == normalised


def test_a_lone_syllable_typed_without_accents_stays() -> None:
    """'tu ngay' is mostly 'từ ngày', 'sau ngay' 'sau ngày', 'nam nay' 'năm nay': only runs with mươi, trăm or
    nghìn are numbers for sure."""
    for text in ("tu ngay 15/4", "sau ngay cong bo", "ba ngay", "nam nay nop may lan"):
        assert numbers_in_words(text) == text


def test_a_number_typed_without_accents_reaches_retrieval_as_digits(sample_index: ClauseIndex) -> None:
    """Read before the accents are put back: from the directive's spellings "bay muoi lam" came back as
    "bày mười lăm", and then read "15%"."""
    text = sample_index.query_text("diem chinh quyen dien tu thap hon bay muoi lam phan tram thi xu ly ra sao")
    assert "75" in text.split() and "15" not in text and "thấp hơn" in text
