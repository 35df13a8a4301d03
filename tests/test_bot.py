"""End-to-end: the real python-telegram-bot Application over real HTTP against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from html import escape
from pathlib import Path

import aiohttp
import pytest

from base.database import open_database
from base.settings import DecisionSettings, RateLimitSettings
from bot.app import build_application
from devtools.bot_harness import (
    ADMIN,
    TOKEN,
    answers_to,
    approve,
    as_text,
    ask,
    order_of,
    press,
    running_bot,
    settle,
    until,
    well_formed,
)
from devtools.botapi import BOT_USER, callback_update, message_update
from knowledge.index import ClauseIndex
from office.users import UserStore
from tests.conftest import make_settings

OFFICIAL = 2002
STRANGER = 3003


# ----------------------------------------------------------------------------------- registration


async def test_registration_and_approval(bot_settings, stand_in, sample_index, users) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        unit_prompt = await ask(stand_in, OFFICIAL, "Nguyễn Văn An", "Xin chọn <b>đơn vị</b>")
        assert ("Phòng Tư pháp", "unit:TP") in unit_prompt.buttons
        await press(stand_in, OFFICIAL, unit_prompt, "unit:TP")
        positions = (await stand_in.wait_for(lambda s: s.method == "editMessageText" and "chức vụ" in s.text))[0]
        await press(stand_in, OFFICIAL, positions, "pos:4")  # Công chức
        await stand_in.wait_for(lambda s: s.method == "editMessageText" and "đang chờ duyệt" in s.text)
        request = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Yêu cầu đăng ký mới" in s.text))[0]
        assert "Nguyễn Văn An · Phòng Tư pháp · Công chức" in request.text
        assert users.by_telegram(OFFICIAL).status == "pending"

        waiting = await ask(stand_in, OFFICIAL, "Báo cáo kiểm điểm gửi về đâu?", "chờ duyệt")
        assert "khoản 3" not in waiting.text

        user_id = users.by_telegram(OFFICIAL).id
        await press(stand_in, STRANGER, request, f"reg:approve:{user_id}")  # not an admin
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Chỉ quản trị viên" in s.text)
        assert users.by_telegram(OFFICIAL).status == "pending"
        await until(lambda: any(e["action"] == "denied" and e["actor"] == STRANGER for e in users.audit_entries()))

        await press(stand_in, ADMIN, request, f"reg:approve:{user_id}")
        await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and "đã được duyệt" in s.text)
        assert users.by_telegram(OFFICIAL).status == "approved"
        await ask(stand_in, OFFICIAL, "Báo cáo kiểm điểm gửi về đâu?", "<b>khoản 3 Chỉ thị")


async def test_rejected_registration_gets_no_answers(bot_settings, stand_in, sample_index, users) -> None:
    pending = users.register(OFFICIAL, OFFICIAL, "Lê C", "NV", "Công chức", approved=False)
    users.decide(pending.id, False, actor=ADMIN, by="Quản trị")
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "không được duyệt")
        reply = await ask(stand_in, OFFICIAL, "han nop bao cao kiem diem", "chưa được duyệt")
        assert "Chỉ thị" not in reply.text


async def test_stranger_is_refused_everything(bot_settings, stand_in, sample_index, users) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, STRANGER, "/nguoidung", "chỉ dành cho quản trị viên")
        stand_in.push_update(message_update(STRANGER, "Hạn chót gửi báo cáo kiểm điểm là ngày nào?"))
        stand_in.push_update(message_update(STRANGER, "/nguon"))
        await settle(stand_in)
        assert len(stand_in.to(STRANGER)) == 1  # one refusal a minute to a stranger, whatever they send
        assert not any("Chỉ thị" in s.text for s in stand_in.to(STRANGER))
        assert users.by_telegram(STRANGER) is None  # nothing they sent was stored as a user


async def test_staff_list_and_shared_phone_number(bot_settings, stand_in, sample_index, users) -> None:
    users.import_csv(
        "ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\n"
        "Phạm Văn D,Phòng Nội vụ,Thủ trưởng,0912 345 678,\n"
        f"Võ Thị E,TC,Công chức,,{OFFICIAL}\n",
        bot_settings,
    )
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "tinh gian bien che", "<b>điểm c khoản 1 Chỉ thị")  # approved by the import
        await ask(stand_in, STRANGER, "/start", "Chia sẻ số điện thoại")
        contact = {"phone_number": "+84912345678", "first_name": "D", "user_id": STRANGER}
        stand_in.push_update(message_update(STRANGER, None, contact=contact))
        await stand_in.wait_for(lambda s: s.chat_id == STRANGER and "Đã xác nhận: Phạm Văn D · Phòng Nội vụ" in s.text)
        assert users.by_telegram(STRANGER).status == "approved"


# ---------------------------------------------------------------------------------------- asking


async def test_question_answered_with_citation_and_buttons(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        reply = await ask(stand_in, OFFICIAL, "Hạn chót gửi báo cáo kiểm điểm là ngày nào?", "<b>khoản 3 Chỉ thị")
        assert "trước ngày 15 tháng 4 năm 2023" in reply.text
        assert reply.params["parse_mode"] == "HTML" and well_formed(reply.text)
        labels = [label for label, _ in reply.buttons]
        assert labels == ["📄 Toàn văn", "📚 Điều khoản liên quan", "👍", "👎"]
        typing = stand_in.to(OFFICIAL, "sendChatAction")
        assert typing and typing[0].text == "typing" and typing[0].at <= reply.at


async def test_telegram_answer_has_the_console_answers_parts_in_its_order(
    bot_settings, stand_in, sample_index, users
) -> None:
    from knowledge.answer import answer

    approve(users, OFFICIAL)
    question = "Hạn chót gửi báo cáo kiểm điểm là ngày nào?"
    console = answer(sample_index, question)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        reply = await ask(stand_in, OFFICIAL, question, "<b>khoản 3 Chỉ thị")
    telegram = as_text([s.text for s in answers_to(stand_in, OFFICIAL)])
    best, related = console.citations[0], console.citations[1:]
    parts = [console.direct, best.label, best.document_title, console.highlight] + [c.label for c in related]
    parts = [p for p in parts if p]
    assert len(parts) >= 5 and best.label == "khoản 3 Chỉ thị về cải cách hành chính thị xã"
    assert order_of(telegram, parts) == sorted(order_of(telegram, parts)) and -1 not in order_of(telegram, parts)
    assert order_of(console.answer, parts) == sorted(order_of(console.answer, parts))
    assert -1 not in order_of(console.answer, parts)
    assert telegram.count(best.document_title) == console.answer.count(best.document_title) == 1
    assert f"<b>{escape(console.highlight)}</b>" in reply.text  # the answering sentence marked
    assert all(" Chỉ thị về cải cách hành chính thị xã: " in line for line in telegram.splitlines() if "• " in line)


def deciding(index: ClauseIndex, thresholds: DecisionSettings, e5) -> ClauseIndex:
    """The same knowledge base (data dir, model) deciding by other answer thresholds."""
    return ClauseIndex(make_settings(index.settings.data_dir, answer={"decision": thresholds}), embeddings=e5)


async def test_unaccented_and_out_of_scope_questions(bot_settings, stand_in, sample_index, users, e5) -> None:
    """The Telegram path of an unaccented question and of one nothing loaded is about. The thresholds'
    quality is judged in test_quality.py; here they decide on coverage and vocabulary only."""
    lexical = DecisionSettings(answer_coverage=0.36, answer_margin=-1, suggest_vocabulary=0.36, suggest_margin=-1)
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, deciding(sample_index, lexical, e5), users):
        await ask(stand_in, OFFICIAL, "han nop bao cao kiem diem", "<b>khoản 3 Chỉ thị")
        nothing = await ask(stand_in, OFFICIAL, "Giá vàng hôm nay bao nhiêu?", "Không tìm thấy quy định")
        assert "<b>" not in nothing.text and [label for label, _ in nothing.buttons] == ["👍", "👎"]


async def test_suggestions_come_as_buttons_and_each_shows_its_clause_as_a_suggestion(
    bot_settings, stand_in, sample_index, users, e5
) -> None:
    always = DecisionSettings(answer_coverage=1.0, answer_margin=1.0, suggest_vocabulary=0.0, suggest_margin=-1.0)
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, deciding(sample_index, always, e5), users):
        reply = await ask(stand_in, OFFICIAL, "Hạn chót gửi báo cáo kiểm điểm là ngày nào?", "gần nhất là")
        assert reply.text.startswith("🔎 Không thấy quy định trả lời trực tiếp; gần nhất là:\n1. <b>khoản 3 Chỉ thị")
        assert "không phải câu trả lời" in reply.text and "<blockquote>" not in reply.text and well_formed(reply.text)
        labels = [label for label, _ in reply.buttons]
        assert labels[0] == "💡 1. khoản 3 Chỉ thị về cải cách hành chính thị xã"
        assert [label[:4] for label in labels] == ["💡 1.", "💡 2.", "💡 3.", "👍", "👎"]
        assert "📄 Toàn văn" not in labels
        await press(stand_in, OFFICIAL, reply, dict(reply.buttons)[labels[1]])
        shown = (await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and "Gợi ý 2" in s.text))[0]
        second = labels[1].removeprefix("💡 2. ")
        assert shown.text.startswith("💡 <b>Gợi ý 2</b> (quy định gần nhất, không phải câu trả lời trực tiếp)")
        assert f"📌 <b>{escape(second)}" in shown.text and "<blockquote>" in shown.text and well_formed(shown.text)
        answer_id = dict(reply.buttons)[labels[0]].split(":")[1]
        stand_in.push_update(callback_update(OFFICIAL, f"sug:{answer_id}:9", reply))
        gone = await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "không còn" in s.text)
        assert gone
        await press(stand_in, OFFICIAL, reply, dict(reply.buttons)["👎"])  # feedback keeps what was offered
        await until(lambda: any(s.method == "answerCallbackQuery" and "Cảm ơn" in s.text for s in stand_in.sent))
        vote = users.feedback_csv().splitlines()[1]
        assert f",{OFFICIAL},-1,Hạn chót gửi báo cáo kiểm điểm là ngày nào?," in vote
        assert vote.count("chi-thi-cchc-thi-xa:") == 3 and "chi-thi-cchc-thi-xa:3;" in vote


async def test_user_text_is_escaped(bot_settings, stand_in, sample_index, users) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        prompt = await ask(stand_in, OFFICIAL, "Lý <b>Văn</b> & <script>", "Xin chọn")
        assert "Lý &lt;b&gt;Văn&lt;/b&gt; &amp; &lt;script&gt;" in prompt.text and well_formed(prompt.text)


async def test_full_text_and_related_buttons(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        reply = await ask(
            stand_in, OFFICIAL, "Thủ trưởng đơn vị chủ trì thủ tục liên thông có trách nhiệm gì?", "điểm đ khoản 2"
        )
        full = dict((label, data) for label, data in reply.buttons)["📄 Toàn văn"]
        await press(stand_in, OFFICIAL, reply, full)
        whole = (await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and s.text.startswith("<b>khoản 2 Chỉ thị")))[
            0
        ]
        assert "(1/2)" in whole.text and "a) Thường xuyên đẩy mạnh công tác thông tin" in whole.text
        assert [label for label, _ in whole.buttons] == ["1/2", "Sau ▶"] and len(whole.text) <= 4096
        await press(stand_in, OFFICIAL, whole, dict(whole.buttons)["Sau ▶"])
        page2 = (await stand_in.wait_for(lambda s: s.method == "editMessageText" and "(2/2)" in s.text))[0]
        assert page2.message_id == whole.message_id and "f) Đẩy mạnh ứng dụng" in page2.text
        assert [label for label, _ in page2.buttons] == ["◀ Trước", "2/2"]
        await press(stand_in, OFFICIAL, reply, dict(reply.buttons)["📚 Điều khoản liên quan"])
        related = await stand_in.wait_for(
            lambda s: s.chat_id == OFFICIAL and "<blockquote>" in s.text and s is not reply
        )
        assert all(well_formed(s.text) for s in related)


async def test_odd_or_forged_answer_buttons_are_acknowledged_and_nothing_breaks(
    bot_settings, stand_in, sample_index, users
) -> None:
    """Button data the bot never made (an old client, a forged press) gets a silent acknowledgement."""
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        reply = await ask(stand_in, OFFICIAL, "chinh quyen so chuyen doi so", "điểm f khoản 2")
        odd = ["rel:x", "full:1", "full:x:1:new", "sug:abc:1", "sug:1", "vote:x:1", "vote:", "vote:1", "vote:1:9"]
        odd += ["sug:²:1", "full:1:³:edit", "sug:9999999999999999999999999:1"]
        for data in odd:
            stand_in.push_update(callback_update(OFFICIAL, data, reply))
        await until(lambda: sum(s.method == "answerCallbackQuery" and s.text == "" for s in stand_in.sent) == len(odd))
        assert not users.feedback_csv().splitlines()[1:]
        await ask(stand_in, OFFICIAL, "Hạn chót gửi báo cáo kiểm điểm là ngày nào?", "khoản 3")


async def test_feedback_is_stored_and_exported(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    approve(users, ADMIN, unit="NV", name="Quản trị")
    async with running_bot(bot_settings, stand_in, sample_index, users):
        reply = await ask(stand_in, OFFICIAL, "chinh quyen so chuyen doi so", "điểm f khoản 2")
        await press(stand_in, OFFICIAL, reply, dict(reply.buttons)["👎"])
        await press(stand_in, OFFICIAL, reply, dict(reply.buttons)["👍"])  # a second press replaces the first
        await until(lambda: sum(s.method == "answerCallbackQuery" and "Cảm ơn" in s.text for s in stand_in.sent) == 2)
        rows = users.feedback_csv().splitlines()
        assert len(rows) == 2  # one vote per user and answer
        assert f",{OFFICIAL},1,chinh quyen so chuyen doi so," in rows[1] and "chi-thi-cchc-thi-xa:2.f" in rows[1]
        stand_in.push_update(message_update(ADMIN, "/phanhoi"))
        document = (await stand_in.wait_for(lambda s: s.method == "sendDocument" and s.chat_id == ADMIN))[0]
        assert document.params["document"]["filename"] == "phan-hoi.csv"


@pytest.mark.parametrize("trouble", [None, 429, 502])
async def test_long_answer_is_split_on_boundaries(tmp_path: Path, e5, stand_in, users, trouble) -> None:
    from ingest.pipeline import Ingester
    from tests.conftest import make_settings

    paragraphs = [
        f"Đoạn {i}: các phòng chuyên môn rà soát hồ sơ lưu trữ điện tử và báo cáo <kết quả> & tiến độ. " * 6
        for i in range(1, 16)
    ]
    text = (
        "CHỈ THỊ\nVề việc lưu trữ điện tử\n\n1. Lưu trữ hồ sơ điện tử\n" + "\n".join(paragraphs) + "\n2. Việc khác.\n"
    )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "luu-tru.txt").write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path / "data", telegram={"admins": [ADMIN]})
    index = ClauseIndex(settings, embeddings=e5)
    assert Ingester(index, show_progress=False).run([corpus]).ok
    approve(users, OFFICIAL)
    if trouble == 429:  # the second message of the reply is refused once: wait retry_after, send again
        stand_in.fail_next("sendMessage", OFFICIAL, 429, "Too Many Requests: retry after 1", after=1, retry_after=1)
    elif trouble == 502:  # a network error in the middle: retried with backoff
        stand_in.fail_next("sendMessage", OFFICIAL, 502, "Bad Gateway", after=1)
    async with running_bot(settings, stand_in, index, users):
        before = len(stand_in.sent)
        stand_in.push_update(message_update(OFFICIAL, "rà soát hồ sơ lưu trữ điện tử"))
        await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and bool(s.buttons))
        replies = [s for s in stand_in.sent[before:] if s.method == "sendMessage"]
    assert len(replies) >= 3 and all(len(s.text) <= 4096 and well_formed(s.text) for s in replies)
    joined = "".join(replies[i].text for i in range(len(replies)))
    for i in range(1, 16):
        assert f"Đoạn {i}:" in joined
    assert "&lt;kết quả&gt; &amp; tiến độ" in joined
    attempts = [c for c in stand_in.calls if c == ("sendMessage", OFFICIAL)]
    assert len(attempts) == len(replies) + (1 if trouble else 0)  # each part delivered exactly once
    assert len({r.text for r in replies}) == len(replies)  # no part twice
    assert joined.index("Đoạn 1:") < joined.index("Đoạn 9:") < joined.index("Đoạn 15:")  # in order


async def test_non_text_input_gets_an_explanation(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    sticker = {
        "file_id": "s1",
        "file_unique_id": "s1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    async with running_bot(bot_settings, stand_in, sample_index, users):
        stand_in.push_update(message_update(OFFICIAL, None, sticker=sticker))
        await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and "chỉ đọc được câu hỏi bằng chữ" in s.text)
        stand_in.push_update(
            message_update(OFFICIAL, None, voice={"file_id": "v", "file_unique_id": "v", "duration": 2})
        )
        await stand_in.wait_for(
            lambda s: (
                s.chat_id == OFFICIAL
                and s.text.count("chỉ đọc được") == 1
                and len(stand_in.to(OFFICIAL, "sendMessage")) == 2
            )
        )
        await ask(stand_in, OFFICIAL, "/hoi", "Xin gõ câu hỏi sau lệnh")
        await ask(stand_in, OFFICIAL, "cải cách " * 300, "Câu hỏi quá dài")


async def test_rate_limit_stops_floods_politely(bot_settings, stand_in, sample_index, users) -> None:
    bot_settings.telegram = bot_settings.telegram.model_copy(
        update={"rate_limit": RateLimitSettings(questions=2, per_seconds=60)}
    )
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "tinh gian bien che", "điểm c khoản 1")
        await ask(stand_in, OFFICIAL, "chinh quyen so", "điểm f khoản 2")
        await ask(stand_in, OFFICIAL, "tuyen truyen cai cach hanh chinh", "Bạn hỏi hơi nhanh")


async def test_groups_answer_commands_mentions_and_replies_only(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    group = -100555
    async with running_bot(bot_settings, stand_in, sample_index, users):
        stand_in.push_update(message_update(OFFICIAL, "chào cả nhà, hôm nay họp lúc mấy giờ?", chat_id=group))
        stand_in.push_update(message_update(OFFICIAL, "/hoi tinh gian bien che", chat_id=group))
        await stand_in.wait_for(lambda s: s.chat_id == group and "điểm c khoản 1" in s.text)
        mention = "@tro_ly_cchc_bot chinh quyen so chuyen doi so"
        update = message_update(OFFICIAL, mention, chat_id=group)
        update["message"]["entities"] = [{"type": "mention", "offset": 0, "length": len("@tro_ly_cchc_bot")}]
        stand_in.push_update(update)
        await stand_in.wait_for(lambda s: s.chat_id == group and "điểm f khoản 2" in s.text)
        bot_message = {
            "message_id": 5,
            "date": 0,
            "chat": {"id": group, "type": "supergroup"},
            "from": BOT_USER,
            "text": "…",
        }
        stand_in.push_update(
            message_update(OFFICIAL, "tuyen truyen cai cach hanh chinh", chat_id=group, reply_to_message=bot_message)
        )
        await stand_in.wait_for(lambda s: s.chat_id == group and "điểm a khoản 2" in s.text)
    answered = [s for s in stand_in.to(group, "sendMessage") if "Chỉ thị" in s.text]
    assert len(answered) == 3  # the chatter got no reply


async def test_sources_and_help(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        sources = await ask(stand_in, OFFICIAL, "/nguon", "Các văn bản đã nạp")
        assert "Chỉ thị về việc tiếp tục tăng cường" in sources.text and "(20 điều khoản)" in sources.text
        await ask(stand_in, OFFICIAL, "/huongdan", "/hoi câu hỏi")


# ------------------------------------------------------------------------------------------ admin


async def test_admin_lists_moves_and_deactivates(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    official = users.by_telegram(OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        listing = await ask(stand_in, ADMIN, "/nguoidung", "Người dùng (1)")
        assert f"#{official.id} Trần Thị B · TP · Công chức · đã duyệt" in listing.text
        await ask(stand_in, ADMIN, f"/chuyen {official.id} VHTT", "Đã chuyển")
        assert users.by_telegram(OFFICIAL).unit_code == "VHTT"
        await ask(stand_in, ADMIN, "/chuyen x", "Cách dùng")
        await ask(stand_in, OFFICIAL, "/nguoidung", "chỉ dành cho quản trị viên")
        await ask(stand_in, ADMIN, f"/khoa {official.id}", "Đã khóa")
        await ask(stand_in, OFFICIAL, "tinh gian bien che", "chưa được duyệt")
    actions = [e["action"] for e in users.audit_entries()]
    assert "move" in actions and "status:inactive" in actions and "denied" in actions


# -------------------------------------------------------------------------------- Telegram limits


async def test_questions_are_answered_while_another_program_holds_the_database(
    bot_settings, stand_in, sample_index, users, tmp_path: Path
) -> None:
    approve(users, OFFICIAL)
    colleague = 2004
    approve(users, colleague, unit="NV", name="Lê Văn G")
    other = sqlite3.connect(tmp_path / "users.db", isolation_level=None)  # e.g. `cchc users import` of a big list
    async with running_bot(bot_settings, stand_in, sample_index, users):
        other.execute("BEGIN IMMEDIATE")
        first = await ask(stand_in, OFFICIAL, "tinh gian bien che", "điểm c khoản 1")  # the write lock is held
        await ask(stand_in, colleague, "chinh quyen so", "điểm f khoản 2")
        other.execute("COMMIT")
        vote = next(data for label, data in first.buttons if label == "👍")
        await press(stand_in, OFFICIAL, first, vote)  # recorded once the lock went: the buttons work
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Cảm ơn góp ý" in s.text)
    assert [r["question"] for r in users.db["answers"].rows] == ["tinh gian bien che", "chinh quyen so"]


def denied(users: UserStore) -> list[int]:
    return [e["actor"] for e in users.audit_entries() if e["action"] == "denied"]


async def test_refusals_and_a_returning_official_are_answered_while_another_program_holds_the_database(
    bot_settings, stand_in, sample_index, users, tmp_path: Path
) -> None:
    approve(users, OFFICIAL)
    users.mark_blocked(OFFICIAL)  # blocked the bot once; writing again makes them reachable
    group = -100500
    other = sqlite3.connect(tmp_path / "users.db", isolation_level=None)  # e.g. `cchc users import` of a big list
    async with running_bot(bot_settings, stand_in, sample_index, users):
        other.execute("BEGIN IMMEDIATE")
        stand_in.push_update(message_update(STRANGER, "/nguoidung", chat_id=group))
        await stand_in.wait_for(lambda s: s.chat_id == group and "tin nhắn riêng" in s.text)  # refused, audited behind
        await ask(stand_in, OFFICIAL, "tinh gian bien che", "điểm c khoản 1")  # the write lock is still held
        assert users.by_telegram(OFFICIAL).blocked and not denied(users)
        other.execute("COMMIT")
        await until(lambda: not users.by_telegram(OFFICIAL).blocked)  # written once the lock went
        await until(lambda: denied(users) == [STRANGER])


async def test_a_429_is_retried_by_the_rate_limiter_alone(bot_settings, stand_in, sample_index, users) -> None:
    bot_settings.telegram = bot_settings.telegram.model_copy(update={"send_retries": 1})
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        stand_in.fail_next("sendMessage", OFFICIAL, 429, "Too Many Requests: retry after 1", times=2, retry_after=1)
        stand_in.push_update(message_update(OFFICIAL, "tinh gian bien che"))
        await ask(stand_in, OFFICIAL, "/huongdan", "/hoi câu hỏi")  # handled after the question, in order
    tries = [call for call in stand_in.calls if call == ("sendMessage", OFFICIAL)]
    assert len(tries) == 3  # the answer: first try and the rate limiter's one retry; then the help
    assert not any("điểm c khoản 1" in s.text for s in stand_in.to(OFFICIAL))


async def test_429_in_the_middle_of_a_reply_is_honoured(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    stand_in.fail_next("sendMessage", OFFICIAL, 429, "Too Many Requests: retry after 1", retry_after=1)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        reply = await ask(stand_in, OFFICIAL, "tinh gian bien che", "điểm c khoản 1")
    attempts = [c for c in stand_in.calls if c == ("sendMessage", OFFICIAL)]
    assert len(attempts) == 2 and len(answers_to(stand_in, OFFICIAL)) == 1  # retried once, delivered once
    typing = stand_in.to(OFFICIAL, "sendChatAction")[0]
    assert reply.at - typing.at >= 0.9  # waited retry_after before sending again


async def test_blocked_user_is_marked_inactive_not_retried(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    stand_in.blocked.add(OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        stand_in.push_update(message_update(OFFICIAL, "tinh gian bien che"))
        for _ in range(200):
            if users.by_telegram(OFFICIAL).blocked:
                break
            await asyncio.sleep(0.05)
        assert users.by_telegram(OFFICIAL).blocked
        assert [c for c in stand_in.calls if c[1] == OFFICIAL] == [("sendChatAction", OFFICIAL)]  # one try, no loop
        assert any(e["action"] == "blocked-bot" for e in users.audit_entries())
        stand_in.blocked.discard(OFFICIAL)  # they unblock the bot and write again
        await ask(stand_in, OFFICIAL, "tinh gian bien che", "điểm c khoản 1")
    assert not users.by_telegram(OFFICIAL).blocked


async def test_one_bad_update_never_stops_the_bot(bot_settings, stand_in, sample_index, users) -> None:
    approve(users, OFFICIAL)
    stand_in.unknown_chats.add(-999)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        stand_in.push_update(message_update(OFFICIAL, "/hoi tinh gian bien che", chat_id=-999))  # chat not found
        await until(lambda: any(chat == -999 for _, chat in stand_in.calls))
        await ask(stand_in, OFFICIAL, "chinh quyen so chuyen doi so", "điểm f khoản 2")


async def test_restart_keeps_registrations(bot_settings, stand_in, sample_index, tmp_path: Path) -> None:
    database = tmp_path / "cchc.db"
    first = UserStore(open_database(database))
    async with running_bot(bot_settings, stand_in, sample_index, first):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        prompt = await ask(stand_in, OFFICIAL, "Đỗ Văn G", "Xin chọn <b>đơn vị</b>")
        await press(stand_in, OFFICIAL, prompt, "unit:XAP")
        positions = (await stand_in.wait_for(lambda s: s.method == "editMessageText" and "chức vụ" in s.text))[0]
        await press(stand_in, OFFICIAL, positions, "pos:2")
        await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Yêu cầu đăng ký mới" in s.text)
    second = UserStore(open_database(database))  # a new process would open the same file
    user = second.by_telegram(OFFICIAL)
    assert (user.full_name, user.unit_code, user.position, user.status) == (
        "Đỗ Văn G",
        "XAP",
        "Chủ tịch UBND",
        "pending",
    )
    second.decide(user.id, True, actor=ADMIN, by="Quản trị")
    async with running_bot(bot_settings, stand_in, sample_index, UserStore(open_database(database))):
        await ask(stand_in, OFFICIAL, "tinh gian bien che", "điểm c khoản 1")


# ---------------------------------------------------------------------------------------- webhook


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("secret_sent", ["s3cret-token", None, "wrong"])
async def test_webhook_mode_checks_the_secret(bot_settings, stand_in, sample_index, users, secret_sent) -> None:
    approve(users, OFFICIAL)
    bot_settings.telegram = bot_settings.telegram.model_copy(update={"api_base_url": stand_in.base_url})
    application = build_application(bot_settings, TOKEN, index=sample_index, users=users)
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg"
    await application.initialize()
    await application.post_init(application)  # type: ignore[misc]
    await application.updater.start_webhook(  # type: ignore[union-attr]
        listen="127.0.0.1", port=port, url_path="tg", secret_token="s3cret-token", webhook_url=url
    )
    await application.start()
    try:
        assert stand_in.webhook_url == url
        update = {"update_id": 77, **message_update(OFFICIAL, "tinh gian bien che")}
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_sent} if secret_sent else {}
        async with aiohttp.ClientSession() as session, session.post(url, json=update, headers=headers) as response:
            status = response.status
        if secret_sent == "s3cret-token":
            assert status == 200
            await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and "điểm c khoản 1" in s.text)
        else:
            assert status == 403  # refused before any handler runs
            assert answers_to(stand_in, OFFICIAL) == []
    finally:
        await application.updater.stop()  # type: ignore[union-attr]
        await application.stop()
        await application.post_stop(application)  # type: ignore[misc]
        await application.shutdown()
