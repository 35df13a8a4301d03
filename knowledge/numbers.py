"""Numbers written in words, as digits: "bảy mươi lăm phần trăm" -> "75%", "ba phần tư" -> "75%".

Officials type numbers as they say them; the texts write digits. Only a run of number words followed by a
unit (ngày, tháng, lần, phần trăm ...) or read as a fraction is rewritten, so "năm" (year) and "ba" in a
name stay as they are. Typed without accents, only a run holding "mươi", "trăm" or "nghìn" is read
("bay muoi lam phan tram" -> "75%"): a lone "tu", "sau" or "nam" is as likely "từ", "sau" or "năm" (year),
and the accents put back later may misread the run ("bày mười lăm"), so it is read before they are.
"""

from __future__ import annotations

import re

from knowledge.vietnamese import fold, has_diacritics, normalize

_DIGITS = {"khong": 0, "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5}
_DIGITS |= {"sau": 6, "bay": 7, "tam": 8, "chin": 9}
_SYLLABLES = "không|một|mốt|hai|ba|bốn|tư|năm|lăm|sáu|bảy|tám|chín|mười|mươi|linh|lẻ|trăm|nghìn|ngàn"
_RUN = rf"(?:(?:{_SYLLABLES})\s+)*(?:{_SYLLABLES})"
_UNIT = r"phần trăm|ngày làm việc|ngày|tháng|năm|lần|kỳ|người|giờ|phút|tuần|quý|đợt|tuổi"
_WITH_UNIT = re.compile(rf"(?<!\w)({_RUN})\s+({_UNIT})(?!\w)", re.IGNORECASE)
_FRACTION = re.compile(rf"(?<!\w)({_RUN})\s+phần\s+(tư|ba|hai|năm|mười)(?!\w)", re.IGNORECASE)
_HALF = re.compile(r"(?<!\w)(một nửa|phân nửa)(?!\w)", re.IGNORECASE)
_TYPED = "khong|mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi|linh|le|tram|nghin|ngan"
_TYPED_RUN = rf"(?:(?:{_TYPED})\s+)*(?:muoi|tram|nghin|ngan)(?:\s+(?:{_TYPED}))*"
_TYPED_WITH_UNIT = re.compile(rf"(?<!\w)({_TYPED_RUN})\s+({fold(_UNIT)})(?!\w)", re.IGNORECASE)


def parse_number(text: str) -> int | None:
    """The value of Vietnamese number words ("bảy mươi lăm" -> 75, "một trăm linh năm" -> 105), else None."""
    total = group = 0
    pending: int | None = None
    for syllable in fold(text).split():
        if syllable in _DIGITS:
            if pending is not None:
                return None  # "hai ba" is a range, not a number
            pending = _DIGITS[syllable]
        elif syllable == "muoi":
            group += 10 if pending is None else pending * 10
            pending = None
        elif syllable == "tram":
            group += (1 if pending is None else pending) * 100
            pending = None
        elif syllable in {"nghin", "ngan"}:
            total += (group + (pending or 0) or 1) * 1000
            group, pending = 0, None
        elif syllable not in {"linh", "le"}:
            return None
    return total + group + (pending or 0)


def _fraction(match: re.Match[str]) -> str:
    numerator, denominator = parse_number(match.group(1)), parse_number(match.group(2))
    return f"{100 * numerator / denominator:g}%" if numerator is not None and denominator else match.group(0)


def _with_unit(match: re.Match[str]) -> str:
    value = parse_number(match.group(1))
    if value is None:
        return match.group(0)
    unit = match.group(2)
    return f"{value}%" if fold(unit) == "phan tram" else f"{value} {unit}"


def numbers_in_words(text: str) -> str:
    """Number words followed by a unit, or read as a fraction, become digits.

    "bảy mươi lăm phần trăm" -> "75%", "ba phần tư" -> "75%", "một nửa" -> "50%", "mười lăm ngày" -> "15 ngày";
    typed without accents, "hai muoi ngay" -> "20 ngay" (see the module's note).
    """
    text = normalize(text)
    if not has_diacritics(text):
        return _TYPED_WITH_UNIT.sub(_with_unit, text)
    text = _FRACTION.sub(_fraction, text)
    text = _HALF.sub("50%", text)
    return _WITH_UNIT.sub(_with_unit, text)
