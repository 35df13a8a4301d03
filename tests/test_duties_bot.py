"""/viec and questions about a unit's duties, end to end: the real Application against the Bot API stand-in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from base.database import open_database
from bot.reminders import ASSUMED_DAY, send_due
from devtools.bot_harness import ADMIN, Clock, ask, press, running_bot, well_formed
from devtools.botapi import BotApiStandIn, Sent
from knowledge.register import ObligationRegister
from office.drafts import draft, render
from office.tasks import TaskStore, read_task_file
from office.users import UserStore

TP_OFFICIAL, XA_OFFICIAL, KT_OFFICIAL = 41, 42, 43


@pytest.fixture
def world(tmp_path: Path, duties_index):
    settings = duties_index.settings.model_copy(deep=True)
    settings.telegram = settings.telegram.model_copy(update={"admins": [ADMIN]})
    users = UserStore(open_database(tmp_path / "users.db"))
    for telegram_id, unit in ((TP_OFFICIAL, "TP"), (XA_OFFICIAL, "XAP"), (KT_OFFICIAL, "KT"), (ADMIN, "NV")):
        users.register(telegram_id, telegram_id, f"Cán bộ {telegram_id}", unit, "Công chức", approved=True)
    return settings, users


def labels(message: Sent) -> list[str]:
    return [label for label, _ in message.buttons]


async def test_viec_for_an_official_of_a_phong(world, stand_in: BotApiStandIn, duties_index) -> None:
    settings, users = world
    async with running_bot(settings, stand_in, duties_index, users, clock=Clock("2099-03-01 09:00")):
        first = await ask(stand_in, TP_OFFICIAL, "/viec", "Việc của Phòng Tư pháp")
        assert well_formed(first.text)
        assert "<b>Có hạn</b>\n<b>1.</b> <b>Hạn 30/06/2099</b>" in first.text, "what is to come first"
        assert "📌 <i>khoản 2 Điều 4 Nghị định 45/2099/NĐ-CP</i>" in first.text and "(chủ trì)" in first.text
        assert "(trang 1/" in first.text and "Sau ▶" in labels(first)
        assert labels(first)[:2] == ["📄 1", "📄 2"]

        await press(stand_in, TP_OFFICIAL, first, dict(first.buttons)["📄 1"])
        article = await stand_in.wait_for(lambda s: s.chat_id == TP_OFFICIAL and s.text.startswith("<b>Điều 4 Nghị"))
        assert "Phòng Tư pháp chủ trì, phối hợp với Phòng Văn hóa và Thông tin" in article[0].text

        await press(stand_in, TP_OFFICIAL, first, dict(first.buttons)["Sau ▶"])
        second = await stand_in.wait_for(lambda s: s.method == "editMessageText" and "(trang 2/" in s.text)
        pages = [first.text, second[0].text]
        assert any("<b>Định kỳ</b>" in p for p in pages) and "khoản 5 Chỉ thị" in "".join(pages)

        again = await ask(stand_in, TP_OFFICIAL, "/duties", "Việc của Phòng Tư pháp")
        assert again.text == first.text


async def test_viec_for_an_official_of_a_xa_and_what_a_list_leaves_out(world, stand_in, duties_index) -> None:
    settings, users = world
    async with running_bot(settings, stand_in, duties_index, users, clock=Clock("2099-03-01 09:00")):
        xa = await ask(stand_in, XA_OFFICIAL, "/viec", "Việc của UBND xã An Phú")
        shown = await every_page(stand_in, XA_OFFICIAL, xa)
        assert "khoản 4 Chỉ thị" in shown and "khoản 1 Điều 3 Nghị định 45/2099/NĐ-CP" in shown
        assert "khoản 5 Chỉ thị" not in shown, "khoản 5 names five phòng, no xã"
        kt = await ask(stand_in, KT_OFFICIAL, "/viec", "Việc của Phòng Kinh tế")
        assert "khoản 5 Chỉ thị" not in await every_page(stand_in, KT_OFFICIAL, kt), "nor phòng Kinh tế"


async def every_page(stand_in: BotApiStandIn, user_id: int, message: Sent) -> str:
    """The text of all pages of a duty list, turning them with its ▶ button."""
    texts = [message.text]
    while "Sau ▶" in labels(message):
        page = len(texts) + 1
        await press(stand_in, user_id, message, dict(message.buttons)["Sau ▶"])
        edited = await stand_in.wait_for(
            lambda s, page=page: s.method == "editMessageText" and s.chat_id == user_id and f"(trang {page}/" in s.text
        )
        message = edited[-1]
        texts.append(message.text)
    return "\n".join(texts)


async def test_viec_of_another_unit_is_for_admins(world, stand_in, duties_index) -> None:
    settings, users = world
    async with running_bot(settings, stand_in, duties_index, users, clock=Clock("2099-03-01 09:00")):
        await ask(stand_in, TP_OFFICIAL, "/viec NV", "Chỉ quản trị viên")
        other = await ask(stand_in, ADMIN, "/viec Phòng Tư pháp", "Việc của Phòng Tư pháp")
        assert "khoản 2 Điều 4 Nghị định 45/2099/NĐ-CP" in other.text
        await ask(stand_in, ADMIN, "/viec xa-phuong", "Việc của UBND các xã, phường")
        await ask(stand_in, ADMIN, "/viec Phòng Không Có", "Không có đơn vị")
        mine = await ask(stand_in, TP_OFFICIAL, "/viec", "Việc của Phòng Tư pháp")
        before = len(stand_in.sent)
        await press(stand_in, TP_OFFICIAL, mine, "viec:u:NV:2")  # a forged page of another unit's list
        refused = await stand_in.wait_for(lambda s: s in stand_in.sent[before:] and s.method == "answerCallbackQuery")
        assert refused[0].text and not any(s.method == "editMessageText" for s in stand_in.sent[before:])


async def test_questions_about_my_units_duties_are_answered_from_the_register(world, stand_in, duties_index) -> None:
    settings, users = world
    async with running_bot(settings, stand_in, duties_index, users, clock=Clock("2099-06-10 09:00")):
        mine = await ask(stand_in, TP_OFFICIAL, "Đơn vị tôi phải làm gì theo nghị định 45/2099?", "Việc của Phòng")
        assert "khoản 2 Điều 4 Nghị định 45/2099/NĐ-CP" in mine.text and "Chỉ thị" not in mine.text
        assert {"👍", "👎"} <= set(labels(mine))
        named = await ask(stand_in, XA_OFFICIAL, "Phòng Tư pháp có nhiệm vụ gì theo chỉ thị?", "Việc của Phòng")
        assert "Nghị định" not in named.text.split("\n", 1)[1]
        xa = await ask(stand_in, XA_OFFICIAL, "xa toi phai lam gi theo chi thi", "Việc của UBND xã An Phú")
        assert "khoản 4 Chỉ thị" in await every_page(stand_in, XA_OFFICIAL, xa)
        soon = await ask(stand_in, TP_OFFICIAL, "Việc nào sắp đến hạn?", "Việc sắp đến hạn của Phòng Tư pháp")
        assert "<b>Hạn 30/06/2099</b>" in soon.text and "việc định kỳ" in soon.text
        record = users.answer_record(int(dict(mine.buttons)["👍"].split(":")[1]))
        assert record and record[1][0].label.startswith("khoản 2 Điều 4"), "the clauses shown are recorded"


async def test_reminders_of_drafted_tasks_say_when_the_day_was_assumed(world, stand_in, duties_index) -> None:
    settings, users = world
    tasks = TaskStore(users.db, settings)  # the bot keeps every store in one database
    register = ObligationRegister.of(duties_index.store, settings)
    drafted = draft(
        register.obligations(doc_id="nghi-dinh-bao-cao-mau"),
        register.directory,
        settings.task_drafts,
        date(2099, 2, 10),
    )
    text = render(drafted, "Nghị định 45/2099/NĐ-CP", "nghi-dinh-bao-cao-mau")
    tasks.import_rows(read_task_file(text, ".yaml"), lambda c: duties_index.store.clause(c) is not None)
    clock = Clock("2099-02-18 07:00")
    async with running_bot(settings, stand_in, duties_index, users, tasks, clock) as app:
        await send_due(app, Clock("2099-02-18 08:00")())  # 7 days before the 25th, the monthly day assumed
        monthly = await stand_in.wait_for(lambda s: s.chat_id == TP_OFFICIAL and "Nhắc việc" in s.text)
        assert "25/02/2099" in monthly[0].text and ASSUMED_DAY in monthly[0].text
        assert "khoản 1 Điều 4 Nghị định 45/2099/NĐ-CP" in monthly[0].text
        await send_due(app, Clock("2099-03-13 08:00")())  # 7 days before the 20th, the quarterly day stated
        quarterly = await stand_in.wait_for(lambda s: s.chat_id == XA_OFFICIAL and "20/03/2099" in s.text)
        assert ASSUMED_DAY not in quarterly[0].text
