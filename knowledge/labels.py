"""Vietnamese citation labels ('điểm c khoản 2', 'khoản 3 Điều 1 Nghị định 107/2021/NĐ-CP') and the short
names documents are cited by ('Nghị định 107/2021/NĐ-CP', 'Chỉ thị về cải cách hành chính thị xã')."""

from __future__ import annotations

import re
from itertools import groupby

_ROMAN = re.compile(r"^[IVXLC]+$")
_TYPE_BY_SUFFIX = [  # number suffix -> document type, most specific first
    ("NĐ-CP", "Nghị định"),
    ("NQ-CP", "Nghị quyết"),
    ("NQ", "Nghị quyết"),
    ("CT-", "Chỉ thị"),
    ("QĐ-", "Quyết định"),
    ("TT-", "Thông tư"),
    ("TTLT-", "Thông tư liên tịch"),
    ("KH-", "Kế hoạch"),
    ("QH", "Luật"),
    ("UBTVQH", "Pháp lệnh"),
]
SPECIAL_LOCS = {"preamble": "phần mở đầu", "closing": "phần kết thúc"}
SHORT_NAME_WORDS = 8  # words of a subject line kept in the short name of an unnumbered document
# Words of a subject line that say how rather than what ("tiếp tục tăng cường, nâng cao hiệu quả công tác …")
_HOW = re.compile(
    r"\b(về việc|tiếp tục|tăng cường|nâng cao|hiệu quả|công tác|đẩy mạnh|thực hiện|triển khai|chấn chỉnh|"
    r"ban hành|một số|hơn nữa|trên địa bàn|các|những)\b",
    re.IGNORECASE,
)
# Where a long subject may be cut: before a word that opens a qualifying phrase, or at a comma
_OPENS_PHRASE = {"trong", "của", "đối", "tại", "nhằm", "để", "theo", "giai", "năm", "và", ","}
_DANGLING = {"và", "của", "trong", "đối", "với", "tại", "theo", "về", ","}


def document_name(number: str) -> str:
    """'61/2018/NĐ-CP' -> 'Nghị định số 61/2018/NĐ-CP' (type guessed from the number's suffix)."""
    suffix = number.rsplit("/", 1)[-1].upper()
    kind = next((k for key, k in _TYPE_BY_SUFFIX if suffix.startswith(key) or key in suffix), "văn bản")
    return f"{kind} số {number}"


def clause_label(loc: str, has_articles: bool) -> str:
    """Label of a loc, innermost unit first: '7.2.a' -> 'điểm a khoản 2 Điều 7'; '2.c' -> 'điểm c khoản 2'."""
    if loc in SPECIAL_LOCS:
        return SPECIAL_LOCS[loc]
    names: list[str] = []
    numbers_seen = 0
    for part in loc.split("."):
        if _ROMAN.match(part):
            names.append(f"mục {part}")
        elif part.isdigit() or part[:-1].isdigit():
            if has_articles and numbers_seen == 0:
                names.append(f"Điều {part}")
            elif numbers_seen == (1 if has_articles else 0):
                names.append(f"khoản {part}")
            else:
                names[-1] = f"{names[-1]}.{part}".replace("khoản", "tiểu mục", 1)
            numbers_seen += 1
        else:
            names.append(f"điểm {part}")
    return " ".join(reversed(names))


def citation_label(clause_label_text: str, document_title: str) -> str:
    """'điểm c khoản 2' + 'Chỉ thị ...' -> 'điểm c khoản 2 Chỉ thị ...'."""
    return f"{clause_label_text} {document_title}".strip()


def shorten(text: str, limit: int = 160) -> str:
    """A clause on one line, cut at a word before `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def _subject_words(subject: str) -> list[str]:
    """What a subject line is about, in at most SHORT_NAME_WORDS words, the how-words left out; 'về'
    first when the subject begins so ('Về việc …')."""
    about = re.match(r"\s*(v/v|về việc|về)\s+", subject, flags=re.IGNORECASE)
    text = subject[about.end() :] if about else f"{subject[:1].lower()}{subject[1:]}"
    text = re.sub(r"\([^)]*\)", " ", _HOW.sub(" ", text))
    tokens = re.findall(r"[\w/.-]+|,", text)
    while tokens and tokens[0] == ",":
        tokens.pop(0)
    words = [t for i, t in enumerate(tokens) if t != "," or (i and tokens[i - 1] != ",")]
    if sum(w != "," for w in words) > SHORT_NAME_WORDS:
        cuts = [i for i, w in enumerate(words[: SHORT_NAME_WORDS + 1]) if i >= 2 and w.lower() in _OPENS_PHRASE]
        words = words[: cuts[0]] if cuts else words[:SHORT_NAME_WORDS]
    while words and words[-1].lower() in _DANGLING:
        words.pop()
    return ["về", *words] if about and words else words


def document_type(doc_type: str, number: str) -> str:
    """The document's type as given, else guessed from its number's suffix, else 'Văn bản'."""
    if doc_type:
        return doc_type
    guessed = document_name(number).removesuffix(f" số {number}") if number else ""
    return guessed.capitalize() if guessed and guessed != "văn bản" else "Văn bản"


def short_name(doc_type: str, number: str, subject: str, name: str = "") -> str:
    """What a document is called in lists and citations: type and number ('Nghị định 107/2021/NĐ-CP'), a
    name of its own ('Luật An ninh mạng 2018'), else its type and a few words of its subject ('Chỉ thị về
    cải cách hành chính thị xã')."""
    kind = document_type(doc_type, number)
    if number:
        return f"{kind} {number}"
    if name:
        return name
    words = " ".join(_subject_words(subject)).replace(" ,", ",")
    return f"{kind} {words}".strip()


def full_title(doc_type: str, number: str, subject: str, name: str = "") -> str:
    """A document's whole title: 'Chỉ thị về việc tiếp tục tăng cường, …', 'Nghị định số 107/2021/NĐ-CP
    sửa đổi, bổ sung …'."""
    kind = document_type(doc_type, number)
    about = f"{subject[:1].lower()}{subject[1:]}" if subject else ""
    if number:
        return f"{kind} số {number} {about}".strip()
    return name or f"{kind} {about}".strip()


def cited_together(labels: list[tuple[str, str]]) -> str:
    """Clause labels with their documents' short names, each name said once for a run of its clauses:
    [('điểm đ khoản 2', 'Chỉ thị X'), ('khoản 5', 'Chỉ thị X')] -> 'điểm đ khoản 2, khoản 5 Chỉ thị X'."""
    return "; ".join(
        citation_label(", ".join(label for label, _ in run), document)
        for document, run in ((d, list(r)) for d, r in groupby(labels, key=lambda pair: pair[1]))
    )
