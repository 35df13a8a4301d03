"""Amendment operations read from clauses by the standard Vietnamese formulas (pure functions, no I/O).

- "Sửa đổi, bổ sung Điều N / khoản K Điều N / điểm x khoản K Điều N … như sau:" and the quoted new wording,
- "Bổ sung khoản / điểm / Điều … vào sau … như sau:" and the quoted wording,
- "Bãi bỏ …",
- "Thay thế cụm từ “…” bằng cụm từ “…” tại …" (and "Bỏ cụm từ “…” tại …"),
- a whole document replaced: "… thay thế Nghị định số …", "Nghị định số … hết hiệu lực …".

Nested formulas are followed: "a) Sửa đổi khoản 1 như sau:" under "1. Sửa đổi, bổ sung một số khoản của
Điều 3 như sau:" acts on khoản 1 Điều 3. Which loaded document a target number names is decided later
(knowledge.consolidation); here an operation only carries the number (số hiệu) the text gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from knowledge.records import Clause
from knowledge.vietnamese import fold

Kind = Literal["amend", "repeal", "words", "lapse"]
Scope = Literal["unit", "own", "title"]

DOC_TYPES = (
    "Bộ luật|Luật|Pháp lệnh|Nghị quyết|Nghị định|Thông tư liên tịch|Thông tư|Quyết định|Chỉ thị|Kế hoạch|Hướng dẫn"
)
NUMBER = r"\d+/\d{4}/[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐa-zđ0-9]+)*|\d+/[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐa-zđ0-9]+)+"
_NUMBER = re.compile(rf"\b(?:{NUMBER})")
_OPEN_QUOTES = '“"„«‘'
_CLOSE_TAIL = re.compile(r"[”\"»’]\s*[.;,]?\s*$")
_INSTRUCTION = re.compile(
    r"^(?:\d+[a-zđ]?\.\s*|[a-zđ]\)\s*)?(?P<verb>Sửa đổi, bổ sung|Sửa đổi|Bổ sung|Bãi bỏ|Thay thế|Bỏ)\s+(?P<rest>.+)$",
    re.S,
)
_ARTICLE_PREFIX = re.compile(r"^Điều\s+\d+[a-zđ]?\s*[.:]\s*")
_AS_FOLLOWS = re.compile(r"\s*(?:như sau)?\s*:\s*$|\s+như sau\b.*$", re.S)
_LOCATOR_END = re.compile(rf"\s*(?:\b(?:của|thuộc)\s+)?(?:\b(?:{DOC_TYPES})\b|\d+/\d{{4}}/|\bvăn bản\b).*$", re.S)
_INLINE_QUOTE = re.compile(r"(?<=:)\s*(?=[“\"])")
_REF = re.compile(
    r"(?P<level>điều|khoản|điểm)\s+(?P<value>\d+[a-zđ]?|[a-zđ])(?![\w/])"
    r"|(?:,|\bvà\b|\bhoặc\b)\s*(?P<more>\d+[a-zđ]?|[a-zđ])(?![\w/])",
    re.I,
)
_LEVELS = {"điều": 0, "khoản": 1, "điểm": 2}
_WORD_PAIR = re.compile(r"cụm từ\s*[“\"]([^”\"]+)[”\"]\s*(?:bằng|thành)\s*(?:cụm từ\s*)?[“\"]([^”\"]*)[”\"]")
_WORD_ONLY = re.compile(r"cụm từ\s*[“\"]([^”\"]+)[”\"]")
_WHERE = re.compile(r"\b(?:tại|trong|ở)\b\s+(?P<where>[^“”\"]*)$")
_REPLACES = re.compile(rf"\bthay thế\s+(?:cho\s+)?(?:{DOC_TYPES})\s+(?:số\s+)?(?P<number>{NUMBER})")
_LAPSES = re.compile(rf"\b(?:{DOC_TYPES})\b[^.;]*?(?P<number>{NUMBER})[^.;]*?\bhết hiệu lực(?P<tail>[^.;]*)")
_DAY = re.compile(r"(\d{1,2})\s*(?:/|-|\s+tháng\s+)(\d{1,2})\s*(?:/|-|\s+năm\s+)(\d{4})")
_MARKERS = (
    (0, re.compile(r"^Điều\s+(\d+[a-zđ]?)\s*[.:]")),
    (1, re.compile(r"^(\d+[a-zđ]?)\.(?!\d)")),
    (2, re.compile(r"^([a-zđ])\)")),
)


@dataclass(frozen=True)
class Unit:
    """New wording of one unit of the amended document: its loc there and its text."""

    loc: str
    text: str


@dataclass(frozen=True)
class Operation:
    """One change an amending clause makes to another document."""

    made_by: str  # clause id of the amending clause
    kind: Kind
    target: str  # số hiệu of the amended document, "" when the text does not name it
    locs: tuple[str, ...] = ()  # units named (amend, repeal) or where words change; () = the whole document
    units: tuple[Unit, ...] = ()  # amend: the quoted new wording, split into units
    after: str = ""  # amend: the unit the first new unit follows ("" = by its number)
    scope: Scope = "unit"  # amend: the whole unit, its own text only (đoạn mở đầu), or its title (tên Điều)
    old: str = ""  # words: the phrase replaced
    new: str = ""  # words: the phrase put in its place ("" removes it)
    since: date | None = None  # from when: the amending document's effect (a lapse may state its own day)


Ref = dict[int, str]  # level (0 Điều, 1 khoản, 2 điểm) -> number or letter


def number_key(number: str) -> str:
    """One spelling of a document number for matching: '61/2018/NĐ-CP' and '61/2018/nd-cp' agree."""
    return fold(number).upper().replace(" ", "")


def parse_day(text: str) -> date | None:
    """The first date in a text, '22/01/2022' or 'ngày 22 tháng 01 năm 2022', or None."""
    match = _DAY.search(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------- locators


def parse_refs(locator: str) -> list[Ref]:
    """'điểm a, điểm b khoản 2 Điều 3' -> [{0:'3',1:'2',2:'a'}, {0:'3',1:'2',2:'b'}]; innermost unit first."""
    tokens: list[tuple[int, str]] = []
    for match in _REF.finditer(locator):
        if match.group("level"):
            tokens.append((_LEVELS[match.group("level").lower()], match.group("value").lower()))
        elif tokens:
            tokens.append((tokens[-1][0], match.group("more").lower()))
    chains: list[Ref] = []
    previous = -1
    for level, value in tokens:
        if not chains or level >= previous:
            chains.append({})
        chains[-1][level] = value
        previous = level
    for i, chain in enumerate(chains):
        for later in chains[i + 1 :]:
            for level in range(min(chain)):
                if level in later and level not in chain:
                    chain[level] = later[level]
    return chains


def complete(ref: Ref, context: Ref | None) -> Ref:
    """Fill the outer levels a ref leaves out ('khoản 1') from the context ('Điều 3')."""
    if not context or not ref:
        return ref
    filled = dict(ref)
    for level in range(min(ref)):
        if level in context and level not in filled:
            filled[level] = context[level]
    return filled


def loc_of(ref: Ref) -> str:
    return ".".join(ref[level] for level in sorted(ref))


# ------------------------------------------------------------------------------------ instructions


@dataclass
class _Instruction:
    verb: str
    line: str  # the instruction without its marker, up to "như sau:"
    refs: list[Ref]
    anchor: Ref | None
    target: str
    scope: Scope
    quotes: list[list[str]]


def _locator(text: str) -> str:
    return _LOCATOR_END.sub("", text)


def _instruction(paragraph: str, context: _Instruction | None, default_target: str) -> _Instruction | None:
    """Read one paragraph as an amending instruction (its targets completed from the context)."""
    match = _INSTRUCTION.match(_ARTICLE_PREFIX.sub("", paragraph.strip()))
    if not match:
        return None
    verb, rest = match.group("verb"), match.group("rest")
    words = "cụm từ" in rest
    line = rest if words else _AS_FOLLOWS.sub("", rest)
    head, _, anchor_text = line.partition(" vào sau ")
    outer = context.refs[0] if context and context.refs else None
    anchors = parse_refs(_locator(anchor_text))
    anchor = complete(anchors[0], outer) if anchors else None
    refs = [] if words else [complete(complete(ref, anchor), outer) for ref in parse_refs(_locator(head))]
    folded = fold(head)
    numbers = _NUMBER.findall(rest.split(" như sau")[0])
    target = numbers[0] if numbers else (context.target if context else default_target)
    scope: Scope = "title" if folded.startswith("ten ") else "own" if "doan mo dau" in folded else "unit"
    return _Instruction(verb, line, refs, anchor, target, scope, [])


def _split_quotes(paragraphs: list[str]) -> list[tuple[str, list[str]]]:
    """Paragraphs as ('text', [p]) or ('quote', [p, ...]) runs; a quote ends when its marks balance."""
    runs: list[tuple[str, list[str]]] = []
    depth = 0
    for paragraph in paragraphs:
        if depth == 0 and paragraph[:1] in _OPEN_QUOTES:
            runs.append(("quote", [paragraph]))
        elif depth > 0:
            runs[-1][1].append(paragraph)
        else:
            runs.append(("text", [paragraph]))
            continue
        depth = _quote_depth(" ".join(runs[-1][1]))
    return runs


def _quote_depth(text: str) -> int:
    """Open curly quotes not yet closed; straight quotes count by parity."""
    curly = text.count("“") + text.count("«") - text.count("”") - text.count("»")
    return max(curly, 0) + text.count('"') % 2


def _strip_quote(paragraphs: list[str]) -> list[str]:
    lines = list(paragraphs)
    lines[0] = lines[0][1:].lstrip()
    lines[-1] = _CLOSE_TAIL.sub("", lines[-1]).rstrip()
    return [line for line in lines if line]


def quoted_units(lines: list[str], base: Ref) -> list[Unit]:
    """Split quoted new wording into units ('Điều 7.', '1.', 'a)') with locs completed from `base`."""
    units: list[tuple[str, list[str]]] = []
    open_levels: Ref = {}
    for line in lines:
        marker = next(((level, m.group(1)) for level, pattern in _MARKERS if (m := pattern.match(line))), None)
        if marker is None:
            if not units:
                units.append((loc_of(base), []))
            units[-1][1].append(line)
            continue
        level, value = marker
        open_levels = {k: v for k, v in open_levels.items() if k < level}
        open_levels[level] = value.lower()
        ref = {k: v for k, v in base.items() if k < level and k not in open_levels} | open_levels
        units.append((loc_of(ref), [line]))
    return [Unit(loc, "\n".join(text)) for loc, text in units if loc and text]


# ---------------------------------------------------------------------------------------- operations


def operations(
    clauses: list[Clause], amends: list[str], own_number: str = "", since: date | None = None
) -> list[Operation]:
    """Every operation the clauses of one document make, in document order, effective from `since`."""
    by_loc = {c.loc: c for c in clauses}
    default_target = amends[0] if len(amends) == 1 else ""
    found: list[Operation] = []
    for clause in clauses:
        context = _context(clause, by_loc, default_target)
        found += _clause_operations(clause, context, default_target)
        found += _lapse_operations(clause, own_number)
    return [op if op.since else replace(op, since=since) for op in found]


def _paragraphs(text: str) -> list[str]:
    """A clause's paragraphs, with a quote that opens on its instruction's line put on a line of its own."""
    result: list[str] = []
    for paragraph in text.split("\n"):
        if _INSTRUCTION.match(paragraph) and "cụm từ" not in paragraph:
            result += [p for p in _INLINE_QUOTE.split(paragraph, maxsplit=1) if p]
        else:
            result.append(paragraph)
    return result


def _context(clause: Clause, by_loc: dict[str, Clause], default_target: str) -> _Instruction | None:
    """The instruction a clause sits under: its parent's lead-in, else its article's heading."""
    parts = clause.loc.split(".")
    article = by_loc.get(parts[0]) if len(parts) > 1 else None
    outer = _instruction(article.text.split("\n")[0], None, default_target) if article else None
    parent = by_loc.get(".".join(parts[:-1])) if len(parts) > 2 else None
    if parent is not None:
        inner = _instruction(parent.text.split("\n")[0], outer, default_target)
        return inner or outer
    return outer


def _clause_operations(clause: Clause, context: _Instruction | None, default_target: str) -> list[Operation]:
    pending: list[_Instruction] = []
    for kind, paragraphs in _split_quotes(_paragraphs(clause.text)):
        if kind == "quote":
            if pending:
                pending[-1].quotes.append(_strip_quote(paragraphs))
            continue
        instruction = _instruction(paragraphs[0], context, default_target)
        if instruction is not None:
            if "cụm từ" in instruction.line and not instruction.refs and pending:
                instruction.refs, instruction.target = pending[-1].refs, pending[-1].target
            pending.append(instruction)
    return [op for instruction in pending for op in _to_operations(instruction, clause.clause_id, context)]


def _to_operations(ins: _Instruction, made_by: str, context: _Instruction | None) -> list[Operation]:
    """Operations of one instruction: quoted wording, a repeal, or words replaced."""
    locs = tuple(loc_of(r) for r in ins.refs)
    if "cụm từ" in ins.line:
        return _word_operations(ins, made_by, context)
    if ins.verb == "Bãi bỏ" and locs and not ins.quotes:
        return [Operation(made_by, "repeal", ins.target, locs)]
    if not ins.quotes or ins.verb in ("Bãi bỏ", "Bỏ"):
        return []
    base = ins.refs[0] if ins.refs else (ins.anchor or {})
    units = [u for lines in ins.quotes for u in quoted_units(lines, base)]
    if not units:
        return []
    after = loc_of(ins.anchor) if ins.anchor else ""
    return [Operation(made_by, "amend", ins.target, locs, tuple(units), after, ins.scope)]


def _word_operations(ins: _Instruction, made_by: str, context: _Instruction | None) -> list[Operation]:
    """'Thay thế cụm từ “A” bằng cụm từ “B” tại …' and 'Bỏ cụm từ “A” tại …'."""
    tail = re.split(r"[”\"]", ins.line)[-1]
    where = _WHERE.search(tail)
    outer = context.refs[0] if context and context.refs else None
    refs = [complete(r, outer) for r in parse_refs(_locator(where["where"]))] if where else []
    locs = tuple(loc_of(r) for r in (refs or ins.refs))
    if ins.verb in ("Bỏ", "Bãi bỏ"):
        pairs = [(old, "") for old in _WORD_ONLY.findall(ins.line)]
    else:
        pairs = _WORD_PAIR.findall(ins.line)
    return [Operation(made_by, "words", ins.target, locs, old=old, new=new) for old, new in pairs]


def _lapse_operations(clause: Clause, own_number: str) -> list[Operation]:
    """'… thay thế Nghị định số X …' or 'Nghị định số X … hết hiệu lực …': X ends as a whole."""
    found: list[Operation] = []
    own = number_key(own_number) if own_number else ""
    for kind, paragraphs in _split_quotes(_paragraphs(clause.text)):
        if kind == "quote":
            continue
        text = paragraphs[0]
        matches = list(_REPLACES.finditer(text)) if "thay thế" in text else []
        matches += list(_LAPSES.finditer(text)) if "hết hiệu lực" in text else []
        for match in matches:
            number = match.group("number")
            if number_key(number) == own or any(number_key(o.target) == number_key(number) for o in found):
                continue
            tail = match.groupdict().get("tail") or ""
            found.append(Operation(clause.clause_id, "lapse", number, since=parse_day(tail)))
    return found
