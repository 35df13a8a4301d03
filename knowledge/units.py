"""Who a text names: the town's units and unit groups (config.yaml), found in legal text.

Texts name units one by one ("phòng Tư pháp", "Văn phòng HĐND - UBND"), in lists ("các phòng: Nội vụ, Tài
chính và Tư pháp", "Phòng Tài chính, Phòng Kinh tế"), and by groups ("các phòng, ban, ngành thị xã", "UBND
cấp xã"). A bracket after a group narrows it: "các phòng chuyên môn (Văn phòng ... và các phòng: Nội vụ,
...)" keeps the units listed, "(trừ Phòng Kinh tế)" drops one. Matching is on diacritic-folded syllables;
"UBND"/"HĐND" meet their full forms, hyphens and commas inside a name are ignored, a trailing "thị xã",
"huyện" or "cấp huyện" belongs to the mention. Pure functions: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from base.settings import Settings, Unit, UnitGroup, UnitKind
from knowledge.vietnamese import fold, normalize

_TOKEN = re.compile(r"\w+|[,;:()]")
_SHORT_FORMS = {("uy", "ban", "nhan", "dan"): "ubnd", ("hoi", "dong", "nhan", "dan"): "hdnd"}
_ORGAN = "ubnd"  # "UBND xã An Phú" is also named "xã An Phú"
_QUALIFIERS = [("thi", "xa"), ("huyen",), ("thanh", "pho"), ("quan",), ("cap", "huyen"), ("tren", "dia", "ban")]
_EXCEPT = [("tru",), ("ngoai", "tru"), ("khong", "bao", "gom"), ("khong", "ke")]
_JOINERS = {",", "va", "cung", "hoac"}
_END = "\0"
_PUNCTUATION = {",", ";", ":", "(", ")"}
# How a question names a whole kind of unit ("cấp xã", "phường tôi", "các phòng chuyên môn"): the common
# word, in its accented spelling (an unaccented question is read after its accents are restored).
_KIND_WORDS: dict[str, UnitKind] = {"xã": "xa-phuong", "phường": "xa-phuong", "thị trấn": "xa-phuong"}
_KIND_WORDS |= {"phòng": "phong-ban", "phòng ban": "phong-ban", "ban ngành": "phong-ban"}
# Words in which those syllables name no unit (punctuation between them ignored: "phòng, chống"): the town
# itself, society, cooperatives, manners, an office, defence and border guards, prevention, "in case", rooms,
# and police departments (not the town's).
_NOT_A_UNIT = {"thị xã", "xã hội", "hợp tác xã", "xã viên", "xã giao", "xã luận", "văn phòng", "dự phòng"}
_NOT_A_UNIT |= {"quốc phòng", "biên phòng", "phòng chống", "phòng ngừa", "phòng tránh", "phòng cháy", "phòng bệnh"}
_NOT_A_UNIT |= {"phòng dịch", "phòng thủ", "phòng vệ", "đề phòng", "phòng khi", "phòng hờ", "phòng xa"}
_NOT_A_UNIT |= {"phòng họp", "phòng làm", "phòng máy", "phòng khám", "phòng tiếp", "phòng chờ", "phòng ở"}
_NOT_A_UNIT |= {"phòng ngủ", "phòng trọ", "phòng ốc", "phòng cảnh"}


@dataclass(frozen=True)
class Token:
    """A folded syllable (or , ; : ( )) with where it stands in the text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Mention:
    """Units named at tokens [first, last) of a text; `group` is the group code when named as one."""

    first: int
    last: int
    units: frozenset[str]
    group: str = ""


def tokenize(text: str) -> list[Token]:
    """Folded syllables and clause punctuation; "Ủy ban nhân dân" becomes the one token "ubnd"."""
    raw = [Token(fold(m.group(0)), m.start(), m.end()) for m in _TOKEN.finditer(normalize(text))]
    tokens: list[Token] = []
    i = 0
    while i < len(raw):
        for full, short in _SHORT_FORMS.items():
            if tuple(t.text for t in raw[i : i + len(full)]) == full:
                tokens.append(Token(short, raw[i].start, raw[i + len(full) - 1].end))
                i += len(full)
                break
        else:
            tokens.append(raw[i])
            i += 1
    return tokens


def words_of(phrase: str) -> tuple[str, ...]:
    """A phrase as the folded syllables it is matched by (commas dropped)."""
    return tuple(t.text for t in tokenize(phrase) if t.text not in {",", ";", ":", "(", ")"})


def starts_with(tokens: Sequence[Token], at: int, words: Iterable[tuple[str, ...]]) -> int:
    """Length of the first of `words` found at `at` (0 if none)."""
    for phrase in words:
        if tuple(t.text for t in tokens[at : at + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _insert(trie: dict, words: tuple[str, ...], target: tuple[str, str]) -> None:
    node = trie
    for word in words:
        node = node.setdefault(word, {})
    node.setdefault(_END, target)


def _walk(trie: dict, tokens: Sequence[Token], at: int) -> tuple[int, tuple[str, str]] | None:
    """Longest phrase of the trie starting at `at` (commas between its words skipped): (end, target)."""
    node, i, best = trie, at, None
    while i < len(tokens):
        word = tokens[i].text
        if word == "," and i > at and word not in node:
            i += 1
            continue
        if word not in node:
            break
        node = node[word]
        i += 1
        if _END in node:
            best = (i, node[_END])
    return best


class UnitDirectory:
    """The town's units and groups, ready to find in text."""

    def __init__(self, units: Sequence[Unit], groups: Sequence[UnitGroup]) -> None:
        described = [(u.code, u.name, u.kind, list(u.aliases)) for u in units] + [g.model_dump() for g in groups]
        self._signature = hashlib.sha256(json.dumps(described, ensure_ascii=False).encode()).hexdigest()
        self.units = {u.code: u for u in units}
        self.groups = {g.code: frozenset(self._members(g)) for g in groups}
        self.group_names = {g.code: g.name for g in groups}
        self._names: dict = {}  # trie of whole names and group phrases
        self._bare: dict[str, dict] = {}  # head syllable ("phong", "xa") -> trie of what follows it
        for unit in units:
            for variant in self._variants(unit):
                _insert(self._names, variant, ("unit", unit.code))
                if len(variant) > 1:
                    _insert(self._bare.setdefault(variant[0], {}), variant[1:], ("unit", unit.code))
        for group in groups:
            for phrase in group.phrases:
                if words := words_of(phrase):
                    _insert(self._names, words, ("group", group.code))

    @classmethod
    def of(cls, settings: Settings) -> UnitDirectory:
        """The directory of config.yaml's `units` and `unit_groups`."""
        return cls(settings.units, settings.unit_groups)

    def signature(self) -> str:
        """Changes whenever a unit or group changes (the register is rebuilt then)."""
        return self._signature

    def _members(self, group: UnitGroup) -> list[str]:
        return [u.code for u in self.units.values() if u.kind in group.kinds or u.code in group.units]

    @staticmethod
    def _variants(unit: Unit) -> list[tuple[str, ...]]:
        found = []
        for name in [unit.name, *unit.aliases]:
            words = words_of(name)
            found.append(words)
            if len(words) > 2 and words[0] == _ORGAN:
                found.append(words[1:])
        return [w for w in dict.fromkeys(found) if w]

    def expand(self, code: str) -> frozenset[str]:
        """A unit code as itself, a group code as its members; unknown codes as nothing."""
        if code in self.groups:
            return self.groups[code]
        return frozenset([code]) if code in self.units else frozenset()

    def group_of(self, units: Iterable[str]) -> str | None:
        """The group whose members are exactly these units, if one is configured."""
        wanted = frozenset(units)
        return next((code for code, members in self.groups.items() if members == wanted), None)

    # ----------------------------------------------------------------------------------- finding

    def mentions(self, tokens: Sequence[Token]) -> list[Mention]:
        """Every naming of units in the tokens, left to right, brackets and qualifiers included."""
        found: list[Mention] = []
        i = 0
        while i < len(tokens):
            mention = self._mention_at(tokens, i)
            if mention is None:
                i += 1
                continue
            mention = self._narrowed(tokens, self._qualified(tokens, mention))
            found.append(mention)
            i = mention.last
        return found

    def _mention_at(self, tokens: Sequence[Token], at: int) -> Mention | None:
        whole = _walk(self._names, tokens, at)
        listed = self._list_at(tokens, at)
        if listed and (whole is None or listed.last >= whole[0]):
            return listed
        if whole is None:
            return None
        end, (kind, code) = whole
        if kind == "group":
            return Mention(at, end, self.groups[code], code)
        return Mention(at, end, frozenset([code]))

    def _list_at(self, tokens: Sequence[Token], at: int) -> Mention | None:
        """'(các) phòng[:] A, B và C': units sharing the head syllable, each item with or without it."""
        i = at + (tokens[at].text == "cac")
        if i >= len(tokens) or tokens[i].text not in self._bare:
            return None
        head = tokens[i].text
        i += 1 + (i + 1 < len(tokens) and tokens[i + 1].text == ":")
        units: list[str] = []
        end = None
        while i < len(tokens):
            if tokens[i].text == head:
                i += 1
            item = _walk(self._bare[head], tokens, i)
            if item is None:
                break
            units.append(item[1][1])
            end = i = item[0]
            if i < len(tokens) and tokens[i].text in {",", "va"}:
                i += 1
            else:
                break
        return Mention(at, end, frozenset(units)) if units and end else None

    @staticmethod
    def _qualified(tokens: Sequence[Token], mention: Mention) -> Mention:
        """Take in a trailing 'thị xã', 'huyện', 'cấp huyện'."""
        extra = starts_with(tokens, mention.last, _QUALIFIERS)
        if not extra:
            return mention
        return Mention(mention.first, mention.last + extra, mention.units, mention.group)

    def _narrowed(self, tokens: Sequence[Token], mention: Mention) -> Mention:
        """A bracket after a group: '(A và B)' keeps A and B, '(trừ C)' drops C."""
        if not mention.group or mention.last >= len(tokens) or tokens[mention.last].text != "(":
            return mention
        close = next((j for j in range(mention.last + 1, len(tokens)) if tokens[j].text == ")"), None)
        if close is None:
            return mention
        inside = tokens[mention.last + 1 : close]
        skip = starts_with(inside, 0, _EXCEPT)
        named = frozenset().union(*(m.units for m in self.mentions(inside[skip:])))
        if not named:
            return mention
        units = mention.units - named if skip else named
        return Mention(mention.first, close + 1, units, self.group_of(units) or "")

    def asked(self, question: str) -> frozenset[str]:
        """The units a question asks about: those it names (by name, list or group phrase) and every unit
        of a kind it names by the common word ("cấp xã", "phường", "các phòng")."""
        text = normalize(question)
        tokens = tokenize(text)
        mentions = self.mentions(tokens)
        named = set().union(*(m.units for m in mentions))
        covered = {i for m in mentions for i in range(m.first, m.last)}
        places = [i for i, t in enumerate(tokens) if t.text not in _PUNCTUATION]
        spelled = [text[tokens[i].start : tokens[i].end].lower() for i in places]
        for at, i in enumerate(places):
            if i not in covered and (kind := kind_named(spelled, at)):
                named |= {u.code for u in self.units.values() if u.kind == kind}
        return frozenset(named)


def kind_named(spelled: Sequence[str], at: int) -> UnitKind | None:
    """The kind of unit the accented words name at `at` ("xã", "phòng ban"), unless part of another word."""
    for length in (2, 1):
        word = " ".join(spelled[at : at + length])
        if at + length > len(spelled) or word not in _KIND_WORDS:
            continue
        around = {" ".join(spelled[max(at - back, 0) : at + 1]) for back in (1, 2)}  # "xã hội", "hợp tác xã"
        around.add(" ".join(spelled[at + length - 1 : at + length + 1]))
        return None if around & _NOT_A_UNIT else _KIND_WORDS[word]
    return None


def joined(tokens: Sequence[Token], left: Mention, right: Mention, titles: Iterable[tuple[str, ...]]) -> bool:
    """True when only joiners (',', 'và', 'cùng', 'hoặc') and titles stand between two mentions."""
    i = left.last
    while i < right.first:
        if tokens[i].text in _JOINERS:
            i += 1
        elif skip := starts_with(tokens, i, titles):
            i += skip
        else:
            return False
    return True
