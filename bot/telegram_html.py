"""Telegram's HTML: check a text the way Telegram's parser will, and split it into messages that each parse.

Telegram takes only its own tags (b, i, u, s, a, code, pre, blockquote, span class="tg-spoiler", …) and the
entities &lt; &gt; &amp; &quot; and numeric ones; a bare < or & makes it refuse the whole message. A text
too long for one message (4,096 characters) or caption (1,024) is cut at a line, sentence or word end,
never inside a tag or an entity; tags open at a cut are closed there and opened again in the next part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
TAGS |= {"blockquote", "tg-emoji"}
ENTITIES = {"lt", "gt", "amp", "quot"}
TOKEN = re.compile(r"<(/?)([A-Za-z][\w-]*)(\s[^<>]*)?>|&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")
WORD = 60  # the longest run of text kept whole when no space falls inside a part


def plain(text: str) -> str:
    """Plain text as Telegram HTML: <, > and & escaped, nothing else changed."""
    return escape(text, quote=False)


@dataclass(frozen=True)
class Atom:
    """A piece of HTML never cut: a tag, an entity, a word, or the space between words."""

    text: str
    opens: str = ""  # the tag an opening tag opens
    closes: str = ""  # the tag a closing tag closes

    @property
    def space(self) -> bool:
        return not self.opens and not self.closes and self.text.isspace()


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse this HTML (where, and what to write instead), or None when it parses."""
    open_tags: list[tuple[str, int]] = []
    position = 0
    for token in TOKEN.finditer(text):
        if problem := _bare_character(text, position, token.start()):
            return problem
        position = token.end()
        closing, tag, entity = token.group(1), (token.group(2) or "").lower(), token.group(4)
        where = _where(text, token.start())
        if entity is not None:
            if not entity.startswith("#") and entity.lower() not in ENTITIES:
                return f"{where}: &{entity}; is not an entity Telegram knows (only &lt; &gt; &amp; &quot;)"
            continue
        if tag not in TAGS:
            return f"{where}: <{closing}{tag}> is not a tag Telegram knows (b, i, u, s, a, code, pre, blockquote)"
        if not closing:
            open_tags.append((tag, token.start()))
        elif not open_tags:
            return f"{where}: </{tag}> closes nothing"
        elif open_tags[-1][0] != tag:
            return f"{where}: </{tag}> closes <{open_tags[-1][0]}>"
        else:
            open_tags.pop()
    if problem := _bare_character(text, position, len(text)):
        return problem
    if open_tags:
        tag, start = open_tags[-1]
        return f"{_where(text, start)}: <{tag}> is never closed"
    return None


def _bare_character(text: str, start: int, end: int) -> str | None:
    for offset in range(start, end):
        if text[offset] == "<":
            return f"{_where(text, offset)}: '<' starts no tag; write &lt; for the character"
        if text[offset] == "&":
            return f"{_where(text, offset)}: '&' starts no entity; write &amp; for the character"
    return None


def _atoms(html: str) -> list[Atom]:
    """The HTML (already checked) as atoms: tags and entities whole, text as words and spaces."""
    atoms: list[Atom] = []
    position = 0
    for token in TOKEN.finditer(html):
        atoms += _text_atoms(html[position : token.start()])
        tag = (token.group(2) or "").lower()
        if token.group(4) is not None:
            atoms.append(Atom(token.group(0)))
        elif token.group(1):
            atoms.append(Atom(token.group(0), closes=tag))
        else:
            atoms.append(Atom(token.group(0), opens=tag))
        position = token.end()
    return atoms + _text_atoms(html[position:])


def _text_atoms(text: str) -> list[Atom]:
    atoms = []
    for run in re.findall(r"\s+|\S+", text):
        atoms += [Atom(run[i : i + WORD]) for i in range(0, len(run), WORD)]
    return atoms


def _closing(stack: list[Atom]) -> str:
    return "".join(f"</{atom.opens}>" for atom in reversed(stack))


def _cut_quality(atoms: list[Atom], index: int) -> int:
    """How good a cut after atom `index` is: a line end 3, a sentence end 2, a word end 1, else 0."""
    atom = atoms[index]
    if not atom.space:
        return 0
    if "\n" in atom.text:
        return 3
    before = next((a.text for a in reversed(atoms[:index]) if not a.opens and not a.closes), "")
    return 2 if before[-1:] in {".", "!", "?", ";", ":"} else 1


def split(html: str, limit: int = MESSAGE_LIMIT, first_limit: int | None = None) -> list[str]:
    """Valid Telegram HTML as parts of at most `limit` characters (the first at most `first_limit`), each
    valid on its own; cut at a line end, else a sentence end, else a word end in the latter half of a part."""
    atoms = _atoms(html)
    parts: list[str] = []
    stack: list[Atom] = []
    start = 0
    while start < len(atoms):
        budget = first_limit if first_limit and not parts else limit
        head = "".join(a.text for a in stack)
        length, open_now = len(head), list(stack)
        best: tuple[int, int, list[Atom]] | None = None  # (quality, cut after, tags open there)
        end = start
        while end < len(atoms):
            atom = atoms[end]
            after = _opened(open_now, atom)
            if length + len(atom.text) + len(_closing(after)) > budget:
                break
            length, open_now, end = length + len(atom.text), after, end + 1
            quality = _cut_quality(atoms, end - 1)
            if quality and length > budget // 2 and (best is None or quality >= best[0]):
                best = (quality, end, list(open_now))
        if end == len(atoms):
            cut, stack_at_cut = end, open_now
        elif best is not None:
            _, cut, stack_at_cut = best
        else:
            cut, stack_at_cut = max(end, start + 1), open_now if end > start else _opened(open_now, atoms[start])
        body = head + "".join(a.text for a in _trimmed(atoms[start:cut])) + _closing(stack_at_cut)
        if visible(body).strip():
            parts.append(body)
        stack, start = stack_at_cut, cut
    return parts


def _trimmed(atoms: list[Atom]) -> list[Atom]:
    """Atoms without the spaces at either end (a part neither starts nor ends with blank space)."""
    first = next((i for i, a in enumerate(atoms) if not a.space), len(atoms))
    last = next((i for i in range(len(atoms) - 1, -1, -1) if not atoms[i].space), -1)
    return atoms[first : last + 1]


def _opened(stack: list[Atom], atom: Atom) -> list[Atom]:
    if atom.opens:
        return [*stack, atom]
    if atom.closes:
        return stack[:-1]
    return stack


def visible(html: str) -> str:
    """The text a reader sees (tags dropped; entities left as they are)."""
    return TOKEN.sub(lambda m: "" if m.group(2) else m.group(0), html)
