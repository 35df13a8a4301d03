"""Answers and clauses as Telegram HTML: every piece of text escaped, split under 4,096 characters.

Splits fall on clause and paragraph boundaries, so each message is valid HTML on its own.
"""

from __future__ import annotations

from html import escape

from knowledge.labels import shorten
from knowledge.records import Answer, Citation, DocumentMeta

HELP = (
    "<b>Trợ lý CCHC</b> trả lời câu hỏi về các chỉ thị, nghị định đã nạp và dẫn đúng điều khoản.\n\n"
    "• Gõ câu hỏi (có dấu hay không dấu đều được), ví dụ: <i>Hạn chót gửi báo cáo kiểm điểm là ngày nào?</i>\n"
    "• Trong nhóm: <code>/hoi câu hỏi</code>, nhắc tên trợ lý, hoặc trả lời tin nhắn của trợ lý.\n"
    "• Nút <b>Toàn văn</b>: xem cả điều, khoản; <b>Điều khoản liên quan</b>: các quy định gần nhất; 👍/👎: "
    "góp ý cho câu trả lời.\n"
    "• /nguon: danh sách văn bản đã nạp. /start: đăng ký sử dụng."
)
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


def answer_messages(answer: Answer) -> list[str]:
    """The reply to a question: citation in bold, the answering sentence, the quoted clause, related ones."""
    if not answer.answered or not answer.citations:
        return [escape(answer.answer)]
    best = answer.citations[0]
    blocks = [f"📌 <b>{escape(best.label)}</b>"]
    if answer.highlight and answer.highlight.strip() != best.text.strip():
        blocks[0] += f"\n<i>Nội dung trả lời:</i> {escape(answer.highlight)}"
    blocks += quote(best.text, answer.highlight)
    others = answer.citations[1:]
    if others:
        lines = [f"• <b>{escape(c.label)}</b>: {escape(shorten(c.text, 180))}" for c in others]
        blocks.append("<b>Điều khoản liên quan</b>\n" + "\n".join(lines))
    return pack(blocks)


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
    """/nguon: the loaded documents with number, date, issuer, title and validity."""
    if not documents:
        return "Chưa có văn bản nào được nạp."
    lines = ["<b>Các văn bản đã nạp</b>"]
    for d in documents:
        facts = " · ".join(escape(x) for x in (d.number, d.issued, d.issuer, d.effect) if x)
        lines.append(f"• <b>{escape(d.title)}</b> ({clause_counts.get(d.doc_id, 0)} điều khoản)")
        if facts:
            lines.append(f"  {facts}")
    return "\n".join(lines)
