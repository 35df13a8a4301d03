"""When a duty falls due, as a sentence states it: a date, a recurrence, a relative term, or nothing.

- a date after a deadline word: "trước ngày 15 tháng 4 năm 2023", "chậm nhất ngày 15/11/2099"; a date
  without its year takes the year the same sentence names ("Năm 2023, hoàn thành … trước ngày 15 tháng 4");
- a recurrence: hằng/hàng/mỗi tuần, tháng, quý, năm; "định kỳ 6 tháng"; "06 tháng một lần"; lists such as
  "hàng quý, 6 tháng và cả năm". A frequency followed by "là" names a thing ("kết quả hằng năm là …"), not
  how often to act;
- a relative term, kept as written: "trong thời hạn 05 ngày làm việc kể từ …", "chậm nhất 01 ngày làm việc
  sau khi …", "trước ngày 20 của tháng cuối quý", "ngay sau …", and a day with no year
  ("trước ngày 15 tháng 12 hằng năm").
Matching runs on the folded text, which has the same length as the normalised text, so what is kept as
written is cut from the original. Pure functions.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from knowledge.vietnamese import fold, normalize

RECURRENCE_NAMES = {  # each recurrence the texts state, by its code, with how officials read it
    "hang-tuan": "hằng tuần",
    "hang-thang": "hằng tháng",
    "hang-quy": "hằng quý",
    "6-thang": "6 tháng",
    "hang-nam": "hằng năm",
}
RECURRENCES = tuple(RECURRENCE_NAMES)
_BY_MONTHS = {1: "hang-thang", 3: "hang-quy", 6: "6-thang", 12: "hang-nam"}
_NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "sau": 6, "muoi hai": 12}
_N = r"(\d{1,2}|mot|hai|ba|bon|sau|muoi hai)"
_EVERY = r"(?:hang|moi)"
_KEY = (
    r"(?:truoc|cham nhat(?: la)?(?: vao)?|han chot(?: la)?|han cuoi(?: la)?|khong (?:muon|cham) hon|"
    r"muon nhat(?: la)?|(?:den|toi) het|trong|han (?:nop|gui)(?: la)?)"
)
_DATE = re.compile(
    rf"\b{_KEY}\s+(?:ngay\s+(\d{{1,2}})\s+thang\s+(\d{{1,2}})(?:\s+nam\s+(\d{{4}}))?"
    r"|(?:ngay\s+)?(\d{1,2})/(\d{1,2})(?:/(\d{4}))?)(?!\d)"
)
_MONTH = re.compile(r"\b(?:truoc|trong|den het|toi het|han chot|cham nhat)\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")
_YEAR = re.compile(r"(?<!thang \d)(?<!thang \d\d)\s\bnam\s+(\d{4})\b|^nam\s+(\d{4})\b")
_RECURRING_DAY = re.compile(rf"^\s*(?:{_EVERY}|cua moi) (?:tuan|thang|quy|nam)\b")
_FREQUENCY = [
    (re.compile(rf"\b{_EVERY} tuan\b"), "hang-tuan"),
    (re.compile(rf"\b{_EVERY} thang\b"), "hang-thang"),
    (re.compile(rf"\b{_EVERY} quy\b"), "hang-quy"),
    (re.compile(rf"\b{_EVERY} nam\b(?!\s+la\b)"), "hang-nam"),
]
_EVERY_N = [
    re.compile(rf"\b{_N} (thang|tuan|nam) (?:mot|1) lan\b"),
    re.compile(rf"\bdinh ky {_N} (thang)\b"),
    re.compile(rf"\b(?:quy|thang|nam|tuan)\s*(?:,|va|hoac)\s*{_N} (thang)\b"),
    re.compile(rf"\b{_N} (thang)\s*(?:,|va|hoac)\s*(?:{_EVERY}|ca) (?:nam|quy)\b"),
    re.compile(rf"\b{_N} (thang) (?:dau|cuoi) nam\b"),
]
_WHOLE_YEAR = re.compile(r"(?:,|\bva|\bhoac)\s*ca nam\b")
_TERMS = [
    re.compile(rf"\btrong (?:thoi han|vong|thoi gian) {_N}\s+(?:gio|ngay|tuan|thang|nam)\b"),
    re.compile(rf"\bcham nhat(?: la)? {_N}\s+(?:gio|ngay|tuan|thang)\b"),
    re.compile(rf"\bkhong qua {_N}\s+(?:gio|ngay|tuan|thang)\b(?=.{{0,30}}\b(?:ke tu|sau khi|tinh tu))"),
    re.compile(rf"\b(?:sau|truoc) {_N}\s+(?:gio|ngay|tuan|thang)(?: lam viec)? (?:ke tu|sau khi|truoc khi|tinh tu)"),
    re.compile(r"\bngay sau\b"),
    re.compile(r"\btruoc ngay \d{1,2} (?:cua|hang|moi)\b"),
]
_DAY_AND_MONTH = re.compile(r"\bngay (\d{1,2}) thang (\d{1,2})\b(?! nam \d)")
_DAY_OF_PERIOD = re.compile(r"\bngay (\d{1,2}) (?:cua|hang|moi)\b")
_TERM_END = re.compile(r"[,;.()]|$")
_TERM_LIMIT = 160


@dataclass(frozen=True)
class When:
    """What a sentence says about timing; all empty for a standing duty ("thường xuyên")."""

    deadline: date | None = None
    recurrence: tuple[str, ...] = ()
    term: str | None = None

    @property
    def standing(self) -> bool:
        return self.deadline is None and not self.recurrence and self.term is None


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS.get(text, 0)


def recurrences(folded: str) -> tuple[str, ...]:
    """The recurrences a folded sentence states, in the order of RECURRENCES."""
    found = {name for pattern, name in _FREQUENCY if pattern.search(folded)}
    for pattern in _EVERY_N:
        for match in pattern.finditer(folded):
            months = _number(match.group(1)) * {"thang": 1, "tuan": 0, "nam": 12}[match.group(2)]
            if match.group(2) == "tuan" and _number(match.group(1)) == 1:
                found.add("hang-tuan")
            elif months in _BY_MONTHS:
                found.add(_BY_MONTHS[months])
    if found and _WHOLE_YEAR.search(folded):
        found.add("hang-nam")
    return tuple(r for r in RECURRENCES if r in found)


def _as_written(text: str, folded: str, start: int) -> str:
    """The phrase from `start` to the next , ; . ( ) as the text writes it."""
    end = _TERM_END.search(folded, start).start()  # type: ignore[union-attr]
    source = text if len(text) == len(folded) else folded
    return source[start : min(end, start + _TERM_LIMIT)].strip()


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _deadline(text: str, folded: str, year_hint: int | None) -> tuple[date | None, str | None]:
    """The first stated deadline, or the phrase of a day whose year is not stated."""
    for match in _DATE.finditer(folded):
        day, month, year = (match.group(1), match.group(2), match.group(3)) if match.group(1) else match.group(4, 5, 6)
        if _RECURRING_DAY.match(folded, match.end()):
            return None, _as_written(text, folded, match.start())
        chosen = int(year) if year else year_hint
        if chosen is None:
            if match.group(0).startswith("trong"):
                continue
            return None, _as_written(text, folded, match.start())
        if found := _safe_date(chosen, int(month), int(day)):
            return found, None
    if month_match := _MONTH.search(folded):
        month, year = int(month_match.group(1)), int(month_match.group(2))
        if 1 <= month <= 12:
            return date(year, month, calendar.monthrange(year, month)[1]), None
    return None, None


def _relative_term(text: str, folded: str) -> str | None:
    starts = [m.start() for pattern in _TERMS if (m := pattern.search(folded))]
    return _as_written(text, folded, min(starts)) if starts else None


def read_when(text: str, context: str = "") -> When:
    """Deadline, recurrences and relative term of one sentence; `context` may supply the year."""
    text = normalize(text)
    folded = fold(text)
    hint = _YEAR.search(folded) or _YEAR.search(fold(context))
    year = int(hint.group(1) or hint.group(2)) if hint else None
    deadline, day_term = _deadline(text, folded, year)
    term = day_term or _relative_term(text, folded)
    return When(deadline, recurrences(folded), term)


def stated_day(term: str | None) -> tuple[int, int | None] | None:
    """The day (and month) a recurring term names: 'trước ngày 15 tháng 12 hằng năm' -> (15, 12),
    'trước ngày 20 của tháng cuối quý' -> (20, None); None when it names no day."""
    folded = fold(normalize(term or ""))
    if match := _DAY_AND_MONTH.search(folded):
        day, month = int(match.group(1)), int(match.group(2))
        return (day, month) if 1 <= day <= 31 and 1 <= month <= 12 else None
    if match := _DAY_OF_PERIOD.search(folded):
        day = int(match.group(1))
        return (day, None) if 1 <= day <= 31 else None
    return None
