"""Whole provisions and amendment notes, for quoting a clause as an official needs to read it.

- A clause that introduces points (ends with ":") is quoted with its points.
- A point is quoted after the lead-in of its clause when the point alone does not say who must act.
- An amended clause is cited with the clause that amended it: "khoản 1 Điều 3 Nghị định 99/2026/NĐ-CP
  (được sửa đổi bởi khoản 1 Điều 1 Nghị định 100/2026/NĐ-CP, có hiệu lực từ 01/9/2026)".
"""

from __future__ import annotations

import re
from datetime import date

from knowledge.consolidation import vn_day
from knowledge.direct import ACTOR
from knowledge.records import Clause

LIMIT = 4000  # characters of points quoted under a lead-in; the rest is in "Toàn văn"
MORE = "(… xem toàn văn)"


def is_lead_in(text: str) -> bool:
    """True for a clause that introduces points: it ends with ':' ('… như sau:', '… phải:')."""
    return text.rstrip().endswith(":")


def is_point(loc: str) -> bool:
    """True for a lettered point under a clause ('3.2.a', '2.c'), not 'preamble' or a roman part."""
    return "." in loc and loc.rsplit(".", 1)[1].isalpha() and not loc.rsplit(".", 1)[1].isupper()


def names_actor(text: str) -> bool:
    """True when a text names who acts (a unit, an office holder, an official)."""
    return re.search(ACTOR, text) is not None


def provision_text(clause: Clause, wording: list[Clause]) -> str:
    """The clause as it should be quoted, from the document's clauses in force (`wording`, in order)."""
    if is_lead_in(clause.text):
        points = [c.text for c in wording if c.loc.startswith(clause.loc + ".")]
        return _with_points(clause.text, points)
    if not is_point(clause.loc) or names_actor(clause.text):
        return clause.text
    parent = clause.loc.rsplit(".", 1)[0]
    lead = next((c for c in wording if c.loc == parent), None)
    if lead is None or not (is_lead_in(lead.text) or names_actor(lead.text)):
        return clause.text
    siblings = [c.loc for c in wording if c.loc.startswith(parent + ".") and c.loc.count(".") == clause.loc.count(".")]
    gap = ["…"] if siblings and siblings[0] != clause.loc else []
    return "\n".join([lead.text, *gap, clause.text])


def _with_points(text: str, points: list[str]) -> str:
    kept: list[str] = []
    size = len(text)
    for point in points:
        if size + len(point) > LIMIT:
            kept.append(MORE)
            break
        kept.append(point)
        size += len(point) + 1
    return "\n".join([text, *kept])


def amendment_note(amending: list[tuple[str, str, date | None]]) -> str:
    """'(được sửa đổi bởi <label>, có hiệu lực từ 01/9/2026; …)' from (kind, label, since) of each change
    that shaped a wording, oldest first; kind 'added' reads "được bổ sung bởi"."""
    parts: list[str] = []
    previous = ""
    for kind, label, since in amending:
        verb = "được bổ sung bởi" if kind == "added" else "được sửa đổi bởi"
        part = f"{label}, có hiệu lực từ {vn_day(since)}" if since else label
        parts.append(part if verb == previous else f"{verb} {part}")
        previous = verb
    return f"({'; '.join(parts)})" if parts else ""
