"""Answers and clauses as Telegram HTML: every piece of text escaped, split under 4,096 characters.

Splits fall on clause and paragraph boundaries, so each message is valid HTML on its own.
"""

from __future__ import annotations

from html import escape

from knowledge.answer import NEAREST, answer_layout
from knowledge.duties import ROLE_NAMES, DutyList, empty_message, recurring_note, when_text
from knowledge.labels import shorten
from knowledge.records import Answer, Citation, DocumentMeta

HELP = (
    "<b>Trợ lý CCHC</b> trả lời câu hỏi về các chỉ thị, nghị định đã nạp và dẫn đúng điều khoản.\n\n"
    "• Gõ câu hỏi (có dấu hay không dấu đều được), ví dụ: <i>Hạn chót gửi báo cáo kiểm điểm là ngày nào?</i>\n"
    "• Trong nhóm: <code>/hoi câu hỏi</code>, nhắc tên trợ lý, hoặc trả lời tin nhắn của trợ lý.\n"
    "• Nút <b>Toàn văn</b>: xem cả điều, khoản; <b>Điều khoản liên quan</b>: các quy định gần nhất; 👍/👎: "
    "góp ý cho câu trả lời.\n"
    "• /viec: việc của đơn vị bạn theo các văn bản (có hạn, định kỳ, thường xuyên); hỏi <i>Đơn vị tôi phải làm "
    "gì?</i>, <i>Việc nào sắp đến hạn?</i> cũng được.\n"
    "• /nguon: danh sách văn bản đã nạp. /start: đăng ký sử dụng."
)
DUTIES_PER_PAGE = 8
SUGGESTIONS_HINT = "Đây là các quy định gần nhất, không phải câu trả lời. Bấm một nút để xem toàn văn quy định đó."
SUGGESTION_MARK = "quy định gần nhất, không phải câu trả lời trực tiếp"
LIMIT = 4096
BUDGET = 3800  # room for the tags a block adds around its text


def _cut(paragraph: str, budget: int) -> int:
    """Where to cut a paragraph too long for one message: a sentence end, else a clause or word end."""
    window = paragraph[:budget]
    while len(escape(window)) > budget:
        window = window[: int(len(window) * 0.9)]
    for separator in (". ", "; ", ", ", " "):
        at = window.rfind(separator)
        if at > len(window) // 3:
            return at + len(separator)
    return len(window)


def _split_text(text: str, budget: int) -> list[str]:
    """Plain text cut at paragraph, then sentence, then word boundaries into pieces under `budget`."""
    pieces: list[str] = []
    for paragraph in text.split("\n"):
        while len(escape(paragraph)) > budget:
            cut = _cut(paragraph, budget)
            pieces.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:].strip()
        pieces.append(paragraph)
    merged: list[str] = []
    for piece in pieces:
        if merged and len(escape(merged[-1])) + len(escape(piece)) + 1 <= budget:
            merged[-1] = f"{merged[-1]}\n{piece}"
        else:
            merged.append(piece)
    return merged


def quote(text: str, highlight: str = "") -> list[str]:
    """A clause as one or more <blockquote> blocks, the answering sentence in bold."""
    blocks = []
    for piece in _split_text(text, BUDGET):
        html = escape(piece)
        if highlight and escape(highlight) in html:
            html = html.replace(escape(highlight), f"<b>{escape(highlight)}</b>", 1)
        blocks.append(f"<blockquote>{html}</blockquote>")
    return blocks


def pack(blocks: list[str], limit: int = LIMIT) -> list[str]:
    """Join HTML blocks into as few messages as fit under `limit` (blocks are never cut)."""
    messages: list[str] = []
    for block in blocks:
        if messages and len(messages[-1]) + 2 + len(block) <= limit:
            messages[-1] = f"{messages[-1]}\n\n{block}"
        else:
            messages.append(block)
    return messages


class Html:
    """Telegram's look of an answer's parts: escaped HTML, the quote in <blockquote> with the answering
    sentence in bold."""

    def direct(self, line: str) -> list[str]:
        label, _, span = line.partition(": ")
        return [f"✅ <b>{escape(label)}:</b> {escape(span)}" if span else f"✅ {escape(line)}"]

    def citation(self, label: str, document: str) -> list[str]:
        return [f"📌 <b>{escape(label)}</b>" + (f"\n<i>{escape(document)}</i>" if document else "")]

    def notes(self, notes: list[str]) -> list[str]:
        return ["\n".join(f"⚠️ <i>{escape(note)}</i>" for note in notes)]

    def quote(self, text: str, marked: str) -> list[str]:
        return quote(text, marked)

    def related(self, items: list[tuple[str, str]]) -> list[str]:
        lines = [f"• <b>{escape(label)}</b>: {escape(text)}" for label, text in items]
        return ["<b>Điều khoản liên quan</b>\n" + "\n".join(lines)]


def answer_messages(answer: Answer) -> list[str]:
    """The reply to a question: the answer's layout (knowledge.answer.AnswerLayout) in Telegram HTML,
    the nearest clauses offered as suggestions, or the abstention's sentence."""
    layout = answer_layout(answer)
    if layout is not None:
        return pack(layout.blocks(Html()))
    if answer.suggestions:
        return [suggestions_message(answer.suggestions)]
    return [escape(answer.answer)]


def suggestions_message(suggestions: list[Citation]) -> str:
    """'No clause answers directly; the nearest are …', numbered as the buttons under it."""
    lines = [f"🔎 {escape(NEAREST)}"]
    lines += [f"{i}. <b>{escape(c.label)}</b>: {escape(shorten(c.text))}" for i, c in enumerate(suggestions, 1)]
    lines.append(f"<i>{escape(SUGGESTIONS_HINT)}</i>")
    return "\n".join(lines)


def suggestion_messages(citation: Citation, number: int) -> list[str]:
    """One suggested clause quoted in full, marked as a suggestion rather than the answer."""
    head = f"💡 <b>Gợi ý {number}</b> ({escape(SUGGESTION_MARK)})\n📌 <b>{escape(citation.label)}</b>"
    return pack([head, *quote(citation.text)])


def citations_messages(citations: list[Citation]) -> list[str]:
    """Several clauses quoted in full, each under its bold label."""
    blocks: list[str] = []
    for citation in citations:
        blocks.append(f"<b>{escape(citation.label)}</b>")
        blocks += quote(citation.text)
    return pack(blocks)


def pages(title: str, text: str, budget: int = 3500) -> list[str]:
    """A long text (a whole article) as pages, each a bold title and a part of the text."""
    parts = _split_text(text, budget)
    total = len(parts)
    return [
        f"<b>{escape(title)}</b>" + (f" ({i}/{total})" if total > 1 else "") + f"\n{escape(part)}"
        for i, part in enumerate(parts, start=1)
    ]


def documents_message(documents: list[DocumentMeta], clause_counts: dict[str, int]) -> str:
    """/nguon: the loaded documents by short name, with their whole title, number, date, issuer and validity."""
    if not documents:
        return "Chưa có văn bản nào được nạp."
    lines = ["<b>Các văn bản đã nạp</b>"]
    for d in documents:
        facts = " · ".join(escape(x) for x in (d.number, d.issued, d.issuer, d.effect) if x)
        lines.append(f"• <b>{escape(d.title)}</b> ({clause_counts.get(d.doc_id, 0)} điều khoản)")
        if d.full_title and d.full_title != d.title:
            lines.append(f"  <i>{escape(d.full_title)}</i>")
        if facts:
            lines.append(f"  {facts}")
    return "\n".join(lines)


def duty_pages(found: DutyList, size: int = DUTIES_PER_PAGE) -> int:
    """How many pages a duty list takes."""
    return max(1, -(-len(found.items) // size))


def duties_page(found: DutyList, page: int, soon: bool = False, size: int = DUTIES_PER_PAGE) -> str:
    """One page of a unit's duties: numbered, under their group (có hạn, định kỳ, thường xuyên), each cited."""
    if not found.items:
        note = recurring_note(found)
        return escape(empty_message(found, soon)) + (f"\n{escape(note)}" if note else "")
    total = duty_pages(found, size)
    title = "Việc sắp đến hạn" if soon else "Việc"
    lines = [f"📋 <b>{title} của {escape(found.unit_label)}</b> — {len(found.items)} việc (trang {page}/{total})"]
    group = ""
    for number, o in enumerate(found.items[(page - 1) * size : page * size], start=(page - 1) * size + 1):
        if found.group_of(o) != group:
            group = found.group_of(o)
            lines.append(f"\n<b>{group}</b>")
        when = f"<b>{escape(text)}</b> — " if (text := when_text(o, found.today)) else ""
        role = f" <i>({ROLE_NAMES[o.role]})</i>" if o.role != "thuc-hien" else ""
        lines.append(f"<b>{number}.</b> {when}{escape(shorten(o.action, 200))}{role}\n    📌 <i>{escape(o.label)}</i>")
    if note := recurring_note(found):
        lines.append(f"\n{escape(note)}")
    lines.append("\nBấm 📄 kèm số thứ tự để xem toàn văn điều, khoản.")
    return "\n".join(lines)
