"""The direct answer line: for a narrow question, one short line drawn verbatim from the clause.

"Hạn chót gửi báo cáo kiểm điểm là ngày nào?" -> "Hạn: trước ngày 15 tháng 4 năm 2023". The line is a
label ("Hạn", "Thời hạn", "Định kỳ", "Giao", "Trách nhiệm", "Văn bản", "Mức", "Có", "Không", "Quy định")
and a span copied from the clause, at most 160 characters; "" when the question asks nothing so narrow or
the clause holds no such span.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from knowledge.amendments import DOC_TYPES, NUMBER
from knowledge.vietnamese import fold, normalize, terms

LIMIT = 160
T = TypeVar("T")

_ASKS = {
    "often": re.compile(r"\b(dinh ky|bao lau (mot|1) lan|may lan|bao nhieu lan|tan suat|chu ky|bao lau bao cao)\b"),
    "when": re.compile(
        r"\b(khi nao|bao gio|luc nao|ngay nao|thang nao|nam nao|thoi diem nao|han chot|han cuoi|thoi han|"
        r"(?<!tre )(?<!qua )(?<!dung )(?<!gia )(?<!tron )han(?! che)|cham nhat|bao lau|may ngay|may gio|"
        r"bao nhieu (ngay|gio|thang|tuan)|tu ngay nao)\b"
    ),
    "who": re.compile(
        r"\b(ai|nguoi nao|don vi nao|co quan nao|phong nao|(?<!van )ban nao|bo phan nao|cap nao|cong chuc nao|"
        r"chu tri|giao cho)\b"
    ),
    "document": re.compile(
        r"\b(van ban nao|nghi dinh nao|thong tu nao|quyet dinh nao|chi thi nao|luat nao|quy dinh nao|"
        r"can cu nao|can cu vao dau|theo quy dinh nao|quy dinh o dau)\b"
    ),
    "many": re.compile(r"\b(bao nhieu|so luong|toi thieu|toi da|it nhat|ty le|muc nao)\b"),
    "whether": re.compile(r"\b(co phai|co duoc|co can|co bat buoc|co duoc phep)\b.*\bkhong\b|\bkhong\s*\??\s*$"),
}
_PERIODS = re.compile(r"\b(mấy|bao nhiêu)\s+kỳ\b")  # how often; accented: "máy ký", "mấy kỹ năng" ask no period
_DATE = (
    r"ngày\s+\d{1,2}(?:\s*/\s*\d{1,2}(?:\s*/\s*\d{4})?|\s+tháng\s+\d{1,2}(?:\s+năm\s+\d{4})?"
    r"|\s+(?:của\s+)?tháng\s+(?:cuối|đầu)\s+(?:quý|năm)|\s+(?:hằng|hàng)\s+tháng)?|\d{1,2}/\d{1,2}/\d{4}"
)
_WHEN = [
    ("Hạn", re.compile(rf"(?:trước|chậm nhất(?: là)?(?: vào)?|không muộn hơn|hạn chót(?: là)?|đến hết)\s+(?:{_DATE})")),
    (
        "Thời hạn",
        re.compile(
            r"(?:trong thời hạn|trong vòng|chậm nhất|không quá|trong|sau)\s+\d+(?:\s*\([^)]{1,30}\))?\s+"
            r"(?:giờ|ngày|tuần|tháng|năm)(?:\s+làm việc)?(?:\s+kể từ\s+[^,;.]{3,60})?"
        ),
    ),
    ("Thời điểm", re.compile(rf"(?:kể từ|từ)\s+(?:{_DATE})")),
    ("Ngày", re.compile(_DATE)),
]
_FREQ_TERM = (
    r"(?:(?:hàng|hằng)\s+(?:ngày|tuần|tháng|quý|năm)|\d+\s+tháng|sáu tháng|cả năm|đột xuất|"
    r"mỗi\s+(?:năm|quý|tháng|tuần)(?:\s+(?:một|01|1)\s+lần)?)"
)
_OFTEN = re.compile(rf"(?:định kỳ\s+)?{_FREQ_TERM}(?:\s*(?:,|và|hoặc)\s*{_FREQ_TERM})*")
ACTOR = (
    r"(?:[Pp]hòng|[Bb]an|Văn phòng|UBND|Ủy ban|Sở|Bộ|[Cc]ơ quan|[Đđ]ơn vị|Chủ tịch|Thủ trưởng|[Cc]ông chức|"
    r"[Vv]iên chức|Trung tâm|Bộ phận|Hội đồng|[Nn]gười đứng đầu|[Cc]ấp|[Cc]hính phủ|Thủ tướng|Bộ trưởng)"
)
_ASSIGNED = re.compile(rf"(?<!được )\b[Gg]iao\s+(?:cho\s+)?(?P<span>{ACTOR}[^.;]{{2,}})")
_DUTY_VERB = re.compile(r"\s(chủ trì|có trách nhiệm|chịu trách nhiệm|có nhiệm vụ|phải|thực hiện|báo cáo)\b")
_DOCUMENT = re.compile(
    rf"(?:{DOC_TYPES})\s+(?:số\s+)?(?:{NUMBER})(?:\s+ngày\s+\d{{1,2}}\s+tháng\s+\d{{1,2}}\s+năm\s+\d{{4}})?"
)
_AMOUNT = re.compile(
    r"(?:(?:tối thiểu|tối đa|ít nhất|không quá|không dưới|trên|dưới|đạt|từ)\s+)?(?<![\d/])\d+(?:[.,]\d+)?"
    r"(?![\d/])(?:\s*(?:%|phần trăm))?(?:\s*\([^)]{1,30}\))?(?:\s+(?:năm|tháng|ngày|giờ|người|thành viên|bộ|bản|lần|"
    r"triệu đồng|đồng|chỉ tiêu|điểm|hồ sơ|ngày làm việc|giờ làm việc)\b)?"
    r"(?:\s+(?:các|số)\s+[^\W\d_]+(?:\s+[^\W\d_]+)?)?"
)
_NOT_AMOUNT = re.compile(r"(?:ngày|tháng|năm|Điều|khoản|số|Chương|Mục)\s*$")
_MODAL = re.compile(r"\b(không được|nghiêm cấm|cấm|không phải|phải|được|có quyền|có trách nhiệm|bắt buộc)\b")
_NEGATIVE = ("không được", "nghiêm cấm", "cấm", "không phải")
_SENTENCES = re.compile(r"(?<=[.;!?])\s+|\n")


def asks(question: str) -> str:
    """What a question asks: often, when, who, document, many, whether, or '' for anything broader."""
    lowered = normalize(question).lower()
    if _PERIODS.search(lowered):
        return "often"
    folded = fold(lowered).strip()
    if re.search(r"\bmấy\b", lowered):
        folded += " bao nhieu"
    return next((kind for kind, pattern in _ASKS.items() if pattern.search(folded)), "")


def direct_line(question: str, text: str, highlight: str = "", title: str = "") -> str:
    """The direct answer to a narrow question from a clause's text (highlight searched first), or ''."""
    kind = asks(question)
    if not kind:
        return ""
    wanted = set(terms(question, drop_stopwords=True))
    for source in (highlight, text) if highlight else (text,):
        if found := _EXTRACTORS[kind](_sentences(source), wanted):
            return _fit(*found)
    if kind == "document" and title:
        return _fit("Văn bản", title)
    return ""


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.split(text) if s and s.strip()]


def _fit(label: str, span: str) -> str:
    """'Label: span', cut at a word end to at most LIMIT characters."""
    span = " ".join(span.split()).strip(" ,;:")
    room = LIMIT - len(label) - 2
    if len(span) > room:
        span = span[: room - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return f"{label}: {span}"


def _by_overlap(sentences: list[str], wanted: set[str]) -> list[str]:
    """Sentences sharing most terms with the question first (document order among equals)."""
    return sorted(sentences, key=lambda s: -len(wanted & set(terms(s))))


def _first(sentences: list[str], wanted: set[str], find: Callable[[str], T | None]) -> T | None:
    """What `find` gives for the sentence closest to the question that gives anything."""
    for sentence in _by_overlap(sentences, wanted):
        if found := find(sentence):
            return found
    return None


def _when(sentences: list[str], wanted: set[str]) -> tuple[str, str] | None:
    for label, pattern in _WHEN:
        if found := _first(sentences, wanted, _matcher(pattern)):
            return label, found
    return None


def _matcher(pattern: re.Pattern[str]) -> Callable[[str], str | None]:
    def find(sentence: str) -> str | None:
        match = pattern.search(sentence)
        return match.group(0) if match else None

    return find


def _often(sentences: list[str], wanted: set[str]) -> tuple[str, str] | None:
    def find(sentence: str) -> tuple[str, str] | None:
        for match in _OFTEN.finditer(sentence):
            span = match.group(0)
            if re.search(r"hàng|hằng|mỗi|định kỳ|đột xuất", span) and span.strip() != "định kỳ":
                return "Định kỳ", re.sub(r"^định kỳ\s+", "", span)
        return None

    return _first(sentences, wanted, find)


def _who(sentences: list[str], wanted: set[str]) -> tuple[str, str] | None:
    def assigned(sentence: str) -> tuple[str, str] | None:
        return ("Giao", m.group("span")) if (m := _ASSIGNED.search(sentence)) else None

    return _first(sentences, wanted, assigned) or _first(sentences, wanted, _subject)


def _subject(sentence: str) -> tuple[str, str] | None:
    """'Thủ trưởng các phòng (…) có trách nhiệm …' -> ('Trách nhiệm', 'Thủ trưởng các phòng (…)')."""
    for verb in _DUTY_VERB.finditer(sentence):
        for start in _phrase_starts(sentence, verb.start()):
            span = re.sub(r"^(?:[a-zđ]\)|\d+\.)\s*", "", sentence[start : verb.start()].strip())
            actor = re.search(ACTOR, span)
            if actor and actor.start() <= 12 and len(span) <= 140:
                label = "Chủ trì" if verb.group(1) == "chủ trì" else "Trách nhiệm"
                return label, span[actor.start() :]
    return None


def _phrase_starts(text: str, end: int, most: int = 4) -> list[int]:
    """Where the phrase ending at `end` may start, farthest first: after up to `most` commas (outside
    parentheses) back, never past a semicolon or the sentence start."""
    starts: list[int] = []
    depth = 0
    for i in range(end - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth = max(depth - 1, 0)
        elif depth == 0 and text[i] == ";":
            break
        elif depth == 0 and text[i] == "," and len(starts) < most:
            starts.append(i + 1)
    else:
        starts.append(0)
    return list(reversed(starts))


def _document(sentences: list[str], wanted: set[str]) -> tuple[str, str] | None:
    return _first(sentences, wanted, lambda s: ("Văn bản", m.group(0)) if (m := _DOCUMENT.search(s)) else None)


def _many(sentences: list[str], wanted: set[str]) -> tuple[str, str] | None:
    def find(sentence: str) -> tuple[str, str] | None:
        for match in _AMOUNT.finditer(sentence):
            if not _NOT_AMOUNT.search(sentence[: match.start()]) and not match.group(0).strip().isdigit():
                return "Mức", match.group(0)
        return None

    return _first(sentences, wanted, find)


def _whether(sentences: list[str], wanted: set[str]) -> tuple[str, str] | None:
    def find(sentence: str) -> tuple[str, str] | None:
        modal = _MODAL.search(sentence.lower())
        if modal is None:
            return None
        label = "Không" if modal.group(1) in _NEGATIVE else "Có"
        return label, re.sub(r"^(?:[a-zđ]\)|\d+\.)\s*", "", sentence)

    return _first([s for s in sentences if wanted & set(terms(s))], wanted, find)


_EXTRACTORS: dict[str, Callable[[list[str], set[str]], tuple[str, str] | None]] = {
    "often": _often,
    "when": _when,
    "who": _who,
    "document": _document,
    "many": _many,
    "whether": _whether,
}
