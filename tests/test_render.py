"""Telegram HTML rendering: escaping, highlighting, splitting under 4,096 characters on boundaries."""

from __future__ import annotations

from bot.quota import QuestionQuota
from bot.render import answer_messages, documents_message, pages, quote
from devtools.bot_harness import as_text, order_of, well_formed
from knowledge.answer import compose_text
from knowledge.records import Answer, Citation, DocumentMeta


def citation(text: str, loc: str = "1") -> Citation:
    return Citation(doc_id="d", loc=loc, label=f"khoản {loc} Chỉ thị <mẫu>", text=text, score=1.0)


def test_answer_is_escaped_and_highlighted() -> None:
    text = "1. Gửi báo cáo <tổng hợp> & kiến nghị. Thời hạn trước ngày 15/4."
    answer = Answer(
        question="q",
        answered=True,
        answer="",
        highlight="Thời hạn trước ngày 15/4.",
        citations=[citation(text), citation("2. Việc khác.", "2")],
    )
    [message] = answer_messages(answer)
    assert "<b>khoản 1 Chỉ thị &lt;mẫu&gt;</b>" in message
    assert "&lt;tổng hợp&gt; &amp; kiến nghị. <b>Thời hạn trước ngày 15/4.</b>" in message
    assert "<b>Điều khoản liên quan</b>\n• <b>khoản 2 Chỉ thị &lt;mẫu&gt;</b>: 2. Việc khác." in message
    assert well_formed(message)


def test_one_huge_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "Các xã rà soát thủ tục & hồ sơ trễ hạn. "
    blocks = quote(sentence * 400)
    assert len(blocks) > 3 and all(len(b) <= 4096 and well_formed(b) for b in blocks)
    assert all(b.endswith("trễ hạn.</blockquote>") for b in blocks)


def test_answer_messages_stay_under_the_limit() -> None:
    long_text = "\n".join(f"Đoạn {i}. " + "Nội dung dài về cải cách hành chính. " * 30 for i in range(20))
    answer = Answer(question="q", answered=True, answer="", citations=[citation(long_text)])
    messages = answer_messages(answer)
    assert len(messages) > 1 and all(len(m) <= 4096 and well_formed(m) for m in messages)


def test_pages_number_themselves() -> None:
    result = pages("Điều 7 Luật <mẫu>", "x " * 5000)
    assert len(result) == 3 and result[0].startswith("<b>Điều 7 Luật &lt;mẫu&gt;</b> (1/3)\n")


def test_question_quota_sliding_window() -> None:
    limiter = QuestionQuota(limit=2, window=60)
    assert limiter.wait_seconds(1, now=0) == 0 and limiter.wait_seconds(1, now=1) == 0
    assert limiter.wait_seconds(1, now=2) == 59
    assert limiter.wait_seconds(2, now=2) == 0  # other users are not affected
    assert limiter.wait_seconds(1, now=60.5) == 0


def test_console_and_telegram_show_the_same_parts_in_the_same_order() -> None:
    whole = "Chỉ thị về việc tiếp tục tăng cường, nâng cao hiệu quả công tác cải cách hành chính"
    best = Citation(
        doc_id="ct",
        loc="3",
        label="khoản 3 Chỉ thị về cải cách hành chính",
        text="3. Các đơn vị rà soát & khắc phục hạn chế. Gửi báo cáo kiểm điểm trước ngày 15 tháng 4 năm 2023.",
        score=2.0,
        document_title=whole,
    )
    other = Citation(
        doc_id="ct", loc="5", label="khoản 5 Chỉ thị về cải cách hành chính", text="5. Việc khác.", score=1.0
    )
    answer = Answer(
        question="Hạn gửi báo cáo kiểm điểm?",
        answered=True,
        answer="",
        highlight="Gửi báo cáo kiểm điểm trước ngày 15 tháng 4 năm 2023.",
        direct="Hạn: trước ngày 15 tháng 4 năm 2023",
        notes=["Quy định này sửa đổi, bổ sung khoản 2."],
        citations=[best, other],
    )
    console, messages = compose_text(answer), answer_messages(answer)
    telegram = as_text(messages)
    parts = [
        "trước ngày 15 tháng 4 năm 2023",  # the direct line
        best.label,
        whole,
        "Quy định này sửa đổi, bổ sung khoản 2.",
        "Các đơn vị rà soát & khắc phục hạn chế.",  # the quote
        other.label,
        "5. Việc khác.",
    ]
    assert order_of(console, parts) == sorted(order_of(console, parts)) and -1 not in order_of(console, parts)
    assert order_of(telegram, parts) == sorted(order_of(telegram, parts)) and -1 not in order_of(telegram, parts)
    assert console.count(whole) == telegram.count(whole) == 1
    assert f"**{answer.highlight}**" in console and f"<b>{answer.highlight}</b>" in messages[0]
    assert "Nội dung trả lời" not in telegram and well_formed(messages[0])


def test_sources_list_short_names_with_their_whole_titles() -> None:
    document = DocumentMeta(
        doc_id="ct", doc_type="Chỉ thị", title="Chỉ thị về CCHC", full_title="Chỉ thị về việc <CCHC>"
    )
    message = documents_message([document], {"ct": 20})
    assert "• <b>Chỉ thị về CCHC</b> (20 điều khoản)\n  <i>Chỉ thị về việc &lt;CCHC&gt;</i>" in message
