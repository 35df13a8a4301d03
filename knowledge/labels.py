"""Vietnamese citation labels: 'điểm c khoản 2', 'khoản 3 Điều 1 Nghị định 107/2021/NĐ-CP'."""

from __future__ import annotations

import re

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
