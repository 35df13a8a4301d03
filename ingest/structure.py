"""Text -> clause tree: Phần/Chương/Mục, Điều, khoản, điểm, roman parts, preamble and closing.

Pure functions, no I/O. A clause's `loc` is the dotted path of its numbers from the outermost down:
`2.c` (điểm c khoản 2 of a directive), `7.2.a` (điểm a khoản 2 Điều 7), `III.1.a` (roman part III),
`preamble` and `closing` for the unnumbered opening and closing text. Chương/Mục are kept as context only,
since Điều numbers are unique in a document.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from knowledge.labels import clause_label, document_name
from knowledge.records import Clause
from knowledge.vietnamese import fold, normalize

DIVISIONS = ["phần", "chương", "mục"]  # outermost first
POINT_LETTERS = "abcdđefghijklmnopqrstuvwxyz"  # Vietnamese order, with the stray latin letters in place
ROMANS = [
    "I",
    "II",
    "III",
    "IV",
    "V",
    "VI",
    "VII",
    "VIII",
    "IX",
    "X",
    "XI",
    "XII",
    "XIII",
    "XIV",
    "XV",
    "XVI",
    "XVII",
    "XVIII",
    "XIX",
    "XX",
]

_URL = re.compile(r"(https?://|www\.)\S+")
_PAGE_FURNITURE = re.compile(r"^(-\s*\d+\s*-|\d+|trang\s+\d+(\s*/\s*\d+)?|page\s+\d+(\s+of\s+\d+)?)$", re.I)
_DIVIDER = re.compile(r"^[-_=*.·•]{3,}$")
_PART = re.compile(r"^(Phần|PHẦN)\s+(thứ\s+\S+|THỨ\s+\S+|[IVXLC]+|\d+)\b\.?\s*(.*)$")
_CHAPTER = re.compile(r"^(Chương|CHƯƠNG)\s+([IVXLC]+|\d+)\b\.?\s*(.*)$")
_SECTION = re.compile(r"^(Mục|MỤC)\s+([IVXLC]+|\d+)\b\.?\s*(.*)$")
_ARTICLE = re.compile(r"^Điều\s+(\d+[a-zđ]?)\s*(?:[.:]\s*(.*)|$)", re.S)
_ROMAN = re.compile(r"^([IVX]+)\s*[.:/]\s+(.*)$", re.S)
_SUBITEM = re.compile(r"^(\d+)\.(\d+)\.?\s+(.*)$", re.S)
_ITEM = re.compile(r"^(\d+)\s*\.(?!\d)\s*(.*)$", re.S)
_POINT = re.compile(r"^([a-zđ])\s*\)\s*(.*)$", re.S)
_OPEN_QUOTE = ("“", '"', "‘", "„", "«")
_CLOSE_QUOTE = re.compile(r"[”\"’»]\s*[.;,]?\s*$")
_TRAILER = re.compile(r"^(Nơi nhận\s*:|\(Đã ký\)|(TM|KT|Q|TL|TUQ)\.\s|CHỦ\s+TỊCH\b|THỦ\s+TƯỚNG\b|BỘ\s+TRƯỞNG\b)")
_ENACTED = re.compile(r"^(Bộ luật|Luật|Hiến pháp|Pháp lệnh|Nghị quyết) này (đã )?được .{0,160}thông qua")
_CLOSING_PHRASE = re.compile(
    r"(nghiêm túc|khẩn trương) (tổ chức )?(triển khai|thực hiện)|Chỉ thị này|Trong quá trình (thực hiện|triển khai)"
)
_DOC_TYPE = re.compile(
    r"^(BỘ LUẬT|LUẬT|HIẾN PHÁP|PHÁP LỆNH|NGHỊ ĐỊNH|NGHỊ QUYẾT|CHỈ THỊ|QUYẾT ĐỊNH|THÔNG TƯ LIÊN TỊCH|"
    r"THÔNG TƯ|KẾ HOẠCH|CHƯƠNG TRÌNH|HƯỚNG DẪN|CÔNG VĂN|THÔNG BÁO|BÁO CÁO)\b\s*(.*)$"
)
_NATIONAL_MOTTO = re.compile(r"^(CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM|Độc lập\s*-\s*Tự do\s*-\s*Hạnh phúc)", re.I)
_NUMBER_LINE = re.compile(r"^Số\s*:\s*(\S+)")
_PLACE_DATE = re.compile(r"^[^,.;:]{2,40},\s*ngày\s+\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}\s*$")
_DATE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})")
_DOC_NUMBER = re.compile(r"\b\d+/\d{4}/[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐa-zđ0-9]+)*")
_EFFECT = re.compile(r"có hiệu lực(?: thi hành)?(?: kể)? từ ngày (\d{1,2}) tháng (\d{1,2}) năm (\d{4})")
_EFFECT_SIGNED = re.compile(r"có hiệu lực(?: thi hành)?(?: kể)? từ ngày ký")
_AMEND_TARGET = re.compile(
    r"^(?:[a-zđ]\)|\d+\.)?\s*(Sửa đổi, bổ sung|Sửa đổi|Bổ sung|Thay thế|Bãi bỏ)\s+(.+?)(?:\s+như sau|:|$)"
)
_ISSUER_IN_TEXT = re.compile(r"(Chủ tịch Ủy ban nhân dân [^,;:]+?|Thủ tướng Chính phủ|Chính phủ) (chỉ thị|ban hành)")


@dataclass
class ParsedDocument:
    """What the parser recovered: header facts and the clauses in document order."""

    doc_type: str = ""
    name: str = ""
    number: str = ""
    issued: str = ""
    issuer: str = ""
    subject: str = ""
    effect: str = ""
    amends: list[str] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- lines


def clean_lines(text: str) -> list[str]:
    """Normalised lines without URLs, page numbers or dividers; blank lines kept as paragraph breaks."""
    lines: list[str] = []
    for raw in normalize(text.replace("\f", "\n").replace("\r", "")).split("\n"):
        line = _URL.sub("", raw).strip()
        if _PAGE_FURNITURE.match(line) or _DIVIDER.match(line):
            line = ""
        if line or (lines and lines[-1]):
            lines.append(line)
    return lines


def _starts_marker(line: str) -> bool:
    """True when a line opens a structural unit (so it never continues the line before it)."""
    patterns = (_PART, _CHAPTER, _SECTION, _ARTICLE, _ROMAN, _SUBITEM, _ITEM, _POINT, _TRAILER)
    return line.startswith(("- ", "+ ", "• ")) or any(p.match(line) for p in patterns) or _is_header_line(line)


def _is_header_line(line: str) -> bool:
    """National motto, number and place-date lines, and an upper-case document type: never joined."""
    return bool(
        _NATIONAL_MOTTO.match(line)
        or _NUMBER_LINE.match(line)
        or _PLACE_DATE.match(line)
        or (line.isupper() and _DOC_TYPE.match(line))
    )


def _is_hard_wrapped(lines: list[str]) -> bool:
    """A text is hard-wrapped when many lines run straight on into a lower-case line."""
    pairs = [(a, b) for a, b in itertools.pairwise(lines) if a and b and not _starts_marker(b)]
    if not pairs:
        return False
    run_on = sum(1 for _, b in pairs if b[0].islower())
    return run_on / len(pairs) >= 0.1


def paragraphs(lines: list[str]) -> list[str]:
    """Rejoin hard-wrapped lines into paragraphs; a marker line always starts a new paragraph."""
    wrapped = _is_hard_wrapped(lines)
    result: list[str] = []
    previous = ""
    for line in lines:
        if not line:
            previous = ""
            continue
        heading = bool(_ARTICLE.match(previous) or _CHAPTER.match(previous) or _SECTION.match(previous))
        heading = heading or previous.isupper() != line.isupper() or _is_header_line(previous)
        runs_on = line[0].islower() or (
            wrapped and not heading and not previous.endswith((".", ";", ":", "!", "?", "”", '"'))
        )
        quote_opens = line.startswith(_OPEN_QUOTE) and previous.endswith(":")
        if previous and not _starts_marker(line) and not quote_opens and runs_on:
            result[-1] = f"{result[-1]} {line}"
        else:
            result.append(line)
        previous = line
    return result


# -------------------------------------------------------------------------------------------- header


def _sentence_case(text: str) -> str:
    """'SỬA ĐỔI NGHỊ ĐỊNH SỐ 61/2018/NĐ-CP' -> 'Sửa đổi nghị định số 61/2018/NĐ-CP' (upper-case titles only)."""
    if text != text.upper():
        return text
    lowered = " ".join(w if any(ch.isdigit() for ch in w) else w.lower() for w in text.split(" "))
    return lowered[:1].upper() + lowered[1:]


def _title_case_name(doc_type: str, name: str) -> str:
    """'LUẬT', 'AN NINH MẠNG 2018' -> 'Luật An ninh mạng 2018'."""
    kind = doc_type.capitalize()
    name = _sentence_case(name)
    return f"{kind} {name[:1].upper()}{name[1:]}".strip()


def _date(match: re.Match[str]) -> str:
    day, month, year = match.groups()
    return f"{int(day):02d}/{int(month):02d}/{year}"


def split_header(blocks: list[str], parsed: ParsedDocument) -> list[str]:
    """Read issuer, number, date, type and subject from the header; return the body's paragraphs."""
    found = next(((i, m) for i, b in enumerate(blocks[:20]) if (m := _DOC_TYPE.match(b))), None)
    if found is None:
        return _until_trailer(blocks)
    type_at, type_match = found
    for block in blocks[:type_at]:
        if number := _NUMBER_LINE.match(block):
            parsed.number = number.group(1).rstrip(".,;")
        if (date := _DATE.search(block)) and not parsed.issued:
            parsed.issued = _date(date)
        if block.isupper() and not _NATIONAL_MOTTO.match(block) and not parsed.issuer:
            parsed.issuer = _sentence_case(block)
    kind, rest = type_match.groups()
    parsed.doc_type = kind.capitalize()
    parsed.name = _title_case_name(kind, rest) if rest else ""
    body_at = type_at + 1
    subject: list[str] = []
    while body_at < len(blocks) and not _starts_marker(blocks[body_at]):
        block = blocks[body_at]
        if subject and not block[0].islower() and not block.isupper():
            break
        if not subject and (len(block) > 300 or block.startswith("Căn cứ")):
            break
        subject.append(block)
        body_at += 1
    parsed.subject = _sentence_case(" ".join(subject))
    return _until_trailer(blocks[body_at:])


def _until_trailer(body: list[str]) -> list[str]:
    """The body without "Nơi nhận", signatures and "(Đã ký)" at its end."""
    end = next((i for i, b in enumerate(body) if _TRAILER.match(b)), len(body))
    return body[:end]


# ---------------------------------------------------------------------------------------------- body


@dataclass
class _Part:
    """A clause being filled: its loc, paragraphs and surroundings."""

    loc: str
    paras: list[str]
    heading: str = ""  # the enclosing Điều or roman part
    context: str = ""  # lead-in of the parent khoản
    division: str = ""  # Phần › Chương › Mục


@dataclass
class _Cursor:
    """Where the parser stands: the open numbers at each level and the clause being filled."""

    roman: str | None = None
    article: str | None = None
    item: str | None = None
    sub: str | None = None
    point: str | None = None
    heading: str = ""
    divisions: dict[str, str] = field(default_factory=dict)  # "phần"/"chương"/"mục" -> its heading
    parts: list[_Part] = field(default_factory=list)
    quoting: bool = False
    awaiting_title: str = ""  # a Chương/Mục line without its title: the level whose title comes next

    def open(self, loc: str, first: str, context: str = "") -> None:
        division = " › ".join(self.divisions[k] for k in DIVISIONS if k in self.divisions)
        self.parts.append(_Part(loc, [first], self.heading, context, division))

    def append(self, text: str) -> None:
        if not self.parts:
            self.parts.append(_Part("preamble", []))
        self.parts[-1].paras.append(text)

    def current_text(self) -> str:
        return self.parts[-1].paras[0] if self.parts and self.parts[-1].paras else ""

    def text_of(self, loc: str | None) -> str:
        for part in reversed(self.parts):
            if part.loc == loc:
                return part.paras[0] if part.paras else ""
        return ""

    def enter_division(self, level: str, heading: str) -> None:
        """A Phần, Chương or Mục starts: deeper divisions close."""
        for deeper in DIVISIONS[DIVISIONS.index(level) :]:
            self.divisions.pop(deeper, None)
        self.divisions[level] = heading

    def item_loc(self) -> str | None:
        parent = self.article or self.roman
        if self.item is None:
            return None
        return f"{parent}.{self.item}" if parent else self.item


def _next_ok(previous: str | None, candidate: str, sequence: list[str]) -> bool:
    """A number or letter is believed when it is the first or follows the previous closely."""
    if candidate not in sequence:
        return False
    index = sequence.index(candidate)
    if previous is None or previous not in sequence:
        return index <= 1
    return 0 < index - sequence.index(previous) <= 3


def _try_marker(block: str, cur: _Cursor) -> bool:
    """Open a new clause if `block` starts one the numbering makes believable; True if it did."""
    numbers = [str(n) for n in range(1, 200)]
    if m := _PART.match(block) or _CHAPTER.match(block) or _SECTION.match(block):
        level = m.group(1).lower()
        cur.enter_division(level, block)
        cur.awaiting_title = "" if m.group(3) else level
        return True
    if cur.awaiting_title and block.isupper():
        cur.divisions[cur.awaiting_title] += f" {block}"
        cur.awaiting_title = ""
        return True
    cur.awaiting_title = ""
    if m := _ARTICLE.match(block):
        number, rest = m.group(1), m.group(2) or ""
        cur.article, cur.item, cur.sub, cur.point = number, None, None, None
        inline = _ITEM.match(rest)
        cur.heading = f"Điều {number}." if inline else block
        cur.open(number, cur.heading)
        if inline and inline.group(1) == "1":
            cur.item = "1"
            cur.open(f"{number}.1", rest)
        return True
    if (m := _ROMAN.match(block)) and cur.article is None and _next_ok(cur.roman, m.group(1), ROMANS):
        cur.roman, cur.item, cur.sub, cur.point = m.group(1), None, None, None
        cur.heading = block
        cur.open(cur.roman, block)
        return True
    if (m := _SUBITEM.match(block)) and m.group(1) == cur.item and _next_ok(cur.sub, m.group(2), numbers):
        cur.sub, cur.point = m.group(2), None
        cur.open(f"{cur.item_loc()}.{cur.sub}", block, cur.text_of(cur.item_loc()))
        return True
    if (m := _ITEM.match(block)) and _next_ok(cur.item, m.group(1), numbers):
        cur.item, cur.sub, cur.point = m.group(1), None, None
        cur.open(cur.item_loc() or m.group(1), block)
        return True
    if (m := _POINT.match(block)) and _next_ok(cur.point, m.group(1), list(POINT_LETTERS)):
        cur.point = m.group(1)
        parent = cur.item_loc()
        if parent and cur.sub:
            parent = f"{parent}.{cur.sub}"
        parent = parent or cur.article or cur.roman
        context = cur.text_of(parent) if parent else ""
        cur.open(f"{parent}.{cur.point}" if parent else cur.point, block, context)
        return True
    return False


def _feed(block: str, cur: _Cursor) -> None:
    """Place one paragraph: inside a quotation, as a new clause, or as more text of the open clause."""
    if cur.quoting:
        cur.append(block)
        cur.quoting = not bool(_CLOSE_QUOTE.search(block))
        return
    if block.startswith(_OPEN_QUOTE) and cur.current_text().rstrip().endswith(":"):
        cur.append(block)
        cur.quoting = not bool(_CLOSE_QUOTE.search(block[1:]))
        return
    if not _try_marker(block, cur):
        cur.append(block)


def _closing_count(parts: list[_Part], has_articles: bool) -> int:
    """How many trailing paragraphs of the last clause are the document's closing text."""
    if not parts:
        return 0
    paras = parts[-1].paras
    count = 0
    for index in range(len(paras) - 1, 0, -1):  # never the clause's own first paragraph
        text = paras[index]
        if has_articles:
            closing = bool(_ENACTED.match(text))
        else:
            closing = (count == 0 and text.endswith("./.")) or bool(_CLOSING_PHRASE.search(text))
        if not closing:
            break
        count += 1
    return count


def _amend_target(text: str, amended: list[str]) -> str:
    """'Sửa đổi, bổ sung khoản 3 Điều 2 như sau:' -> 'khoản 3 Điều 2 Nghị định 61/2018/NĐ-CP'."""
    match = _AMEND_TARGET.match(text)
    if not match:
        return ""
    target = match.group(2).strip().rstrip(":")
    if len(amended) == 1 and amended[0] not in target:
        target = f"{target} {document_name(amended[0])}"
    return target


def parse(text: str, doc_id: str) -> ParsedDocument:
    """Parse a legal text into its header facts and clauses (in document order)."""
    parsed = ParsedDocument()
    body = split_header(paragraphs(clean_lines(text)), parsed)
    _read_facts(body, parsed)
    cur = _Cursor()
    for block in body:
        _feed(block, cur)
    closing = _closing_count(cur.parts, has_articles=cur.article is not None)
    if closing:
        last = cur.parts[-1]
        last.paras, tail = last.paras[:-closing], last.paras[-closing:]
        cur.parts.append(_Part("closing", tail))
    has_articles = cur.article is not None
    parsed.clauses = [_clause(doc_id, order, part, has_articles, parsed.amends) for order, part in enumerate(cur.parts)]
    return parsed


def _clause(doc_id: str, order: int, part: _Part, has_articles: bool, amended: list[str]) -> Clause:
    return Clause(
        doc_id=doc_id,
        loc=part.loc,
        label=clause_label(part.loc, has_articles),
        text="\n".join(part.paras),
        heading=part.heading if part.heading != part.paras[0] else "",
        context=part.context,
        division=part.division,
        amends=_amend_target(part.paras[0], amended) if amended else "",
        order=order,
    )


def _read_facts(body: list[str], parsed: ParsedDocument) -> None:
    """Effect date, amended documents and issuer, where the text states them."""
    full = "\n".join(body)
    if m := _EFFECT.search(full):
        parsed.effect = f"Có hiệu lực từ ngày {_date(m)}"
    elif _EFFECT_SIGNED.search(full):
        parsed.effect = "Có hiệu lực từ ngày ký" + (f" ({parsed.issued})" if parsed.issued else "")
    folded_subject = fold(parsed.subject)
    if "sua doi" in folded_subject or "bo sung" in folded_subject or "bai bo" in folded_subject:
        parsed.amends = [n for n in _DOC_NUMBER.findall(parsed.subject.upper()) if n != parsed.number]
    if not parsed.issuer and (m := _ISSUER_IN_TEXT.search(full)):
        parsed.issuer = m.group(1)
