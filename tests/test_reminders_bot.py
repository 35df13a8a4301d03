"""Reminders end to end: the real Application, a chosen clock, the Bot API stand-in."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from base.database import open_database
from bot.reminders import send_due
from devtools.bot_harness import ADMIN, Clock, add_officials, ask, press, running_bot, until
from devtools.botapi import BotApiStandIn, Sent, message_update
from office.broadcasts import Outbox
from office.tasks import TaskStore, read_task_file
from office.users import UserStore
from tests.conftest import ROOT

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
TP_1, TP_2, XA_1, NV_1 = 11, 12, 21, 31
TASKS = (
    "ma,ten,noi_dung,can_cu,don_vi,han,lap_lai,nhac_truoc\n"
    "BC-QUY,Báo cáo CCHC hằng quý,Gửi báo cáo về phòng Nội vụ.,chi-thi-cchc-thi-xa:2.đ,TP;XAP,2026-12-15,hang-quy,"
    "7;3;1;0\n"
)


@pytest.fixture
def world(tmp_path: Path, sample_index):
    settings = sample_index.settings.model_copy(deep=True)
    settings.telegram = settings.telegram.model_copy(update={"admins": [ADMIN]})
    db = open_database(tmp_path / "cchc.db")
    users, tasks = UserStore(db), TaskStore(db, settings)
    for telegram_id, unit in ((TP_1, "TP"), (TP_2, "TP"), (XA_1, "XAP"), (NV_1, "NV")):
        users.register(telegram_id, telegram_id, f"Cán bộ {telegram_id}", unit, "Công chức", approved=True)
    exists = lambda c: sample_index.store.clause(c) is not None  # noqa: E731
    tasks.import_rows(read_task_file(TASKS, ".csv"), exists, imported_on=date(2026, 11, 1))
    return settings, users, tasks, tmp_path / "cchc.db"


@pytest.fixture
def reminder_runs(caplog: pytest.LogCaptureFixture) -> Callable[[], int]:
    """How many runs of the reminder job have finished (each logs "reminders sent: N")."""
    caplog.set_level(logging.INFO, logger="bot.reminders")
    return lambda: caplog.text.count("reminders sent:")


def reminders_to(stand_in: BotApiStandIn, chat_id: int) -> list:
    return [s for s in stand_in.to(chat_id, "sendMessage") if "Nhắc việc" in s.text or "Quá hạn" in s.text]


async def test_reminder_done_by_one_official_stops_the_unit(world, stand_in, sample_index, reminder_runs) -> None:
    settings, users, tasks, _ = world
    clock = Clock("2026-12-08 07:00")  # before the sending hour: the catch-up at start sends nothing
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock) as app:
        await until(lambda: reminder_runs() == 1)
        assert reminders_to(stand_in, TP_1) == []
        clock.set("2026-12-08 08:00")
        assert await send_due(app) == 3  # two TP officials and one XAP official
        reminder = reminders_to(stand_in, TP_1)[0]
        assert "Báo cáo CCHC hằng quý" in reminder.text and "15/12/2026" in reminder.text
        assert "(còn 7 ngày)" in reminder.text and "<b>điểm đ khoản 2 Chỉ thị" in reminder.text
        assert [label for label, _ in reminder.buttons] == ["📄 Toàn văn", "✅ Đã hoàn thành", "⏰ Nhắc lại sau"]
        await press(stand_in, TP_1, reminder, dict(reminder.buttons)["📄 Toàn văn"])
        await stand_in.wait_for(lambda s: s.chat_id == TP_1 and s.text.startswith("<b>khoản 2 Chỉ thị"))
        await press(stand_in, TP_1, reminder, dict(reminder.buttons)["✅ Đã hoàn thành"])
        await stand_in.wait_for(lambda s: s.chat_id == TP_2 and "Cán bộ 11 đã đánh dấu hoàn thành" in s.text)
        await stand_in.wait_for(lambda s: s.method == "editMessageText" and "đã đánh dấu hoàn thành" in s.text)
        clock.set("2026-12-11 08:00")
        assert await send_due(app) == 1  # only XAP is reminded now
        assert len(reminders_to(stand_in, TP_1)) == len(reminders_to(stand_in, TP_2)) == 1
        assert len(reminders_to(stand_in, XA_1)) == 2
    assert any(e["action"] == "task-done" and e["actor"] == TP_1 for e in users.audit_entries())


async def test_snooze_reminds_again_the_next_day(world, stand_in, sample_index) -> None:
    settings, users, tasks, _ = world
    clock = Clock("2026-12-08 08:00")
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock) as app:
        await stand_in.wait_for(lambda s: s.chat_id == TP_1 and "Nhắc việc" in s.text)  # catch-up at start
        reminder = reminders_to(stand_in, TP_1)[0]
        await press(stand_in, TP_1, reminder, dict(reminder.buttons)["⏰ Nhắc lại sau"])
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "09/12/2026" in s.text)
        clock.set("2026-12-09 08:00")
        assert await send_due(app) == 1
        assert len(reminders_to(stand_in, TP_1)) == 2 and len(reminders_to(stand_in, TP_2)) == 1


async def test_snooze_on_a_friday_comes_back_on_monday_and_after_a_day_down(world, stand_in, sample_index) -> None:
    settings, users, tasks, database = world
    clock = Clock("2026-12-11 08:00")  # Friday: Saturday's 3-day reminder goes out today
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock) as app:
        await stand_in.wait_for(lambda s: s.chat_id == TP_1 and "(còn 4 ngày)" in s.text)
        friday = reminders_to(stand_in, TP_1)[0]
        await press(stand_in, TP_1, friday, dict(friday.buttons)["⏰ Nhắc lại sau"])
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Sẽ nhắc lại ngày 14/12/2026" in s.text)
        clock.set("2026-12-12 09:00")
        assert await send_due(app) == 0  # Saturday: nothing goes out
        clock.set("2026-12-14 08:00")
        assert await send_due(app) == 4  # Monday: the 1-day reminder to three officials and the snoozed one
        assert len(reminders_to(stand_in, TP_1)) == 3 and len(reminders_to(stand_in, TP_2)) == 2
        monday = reminders_to(stand_in, TP_1)[-1]
        await press(stand_in, TP_1, monday, dict(monday.buttons)["⏰ Nhắc lại sau"])
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Sẽ nhắc lại ngày 15/12/2026" in s.text)
    # Down on Tuesday the 15th: the snooze for that day comes when the bot is back on Wednesday.
    clock.set("2026-12-16 08:00")
    reopened = open_database(database)
    async with running_bot(settings, stand_in, sample_index, UserStore(reopened), TaskStore(reopened, settings), clock):
        await stand_in.wait_for(lambda s: s.chat_id == TP_1 and "Quá hạn" in s.text)
        await asyncio.sleep(0.5)
    wednesday = reminders_to(stand_in, TP_1)[3:]
    assert sorted("Quá hạn" in s.text for s in wednesday) == [False, True]  # the snoozed one and the overdue notice
    assert len(reminders_to(stand_in, TP_2)) == 3  # TP_2 did not snooze: only the overdue notice


async def test_a_unit_of_hundreds_is_told_in_the_background(world, stand_in, sample_index) -> None:
    settings, users, tasks, _ = world
    colleagues = add_officials(users, 300, ["TP"])
    box = Outbox(users.db, settings)
    clock = Clock("2026-12-08 07:00")  # before the sending hour: no reminders meanwhile
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock):
        reminder = Sent("sendMessage", TP_1, "⏰ <b>Nhắc việc</b>: Báo cáo CCHC hằng quý", message_id=1)
        await press(stand_in, TP_1, reminder, "done:BC-QUY:20261215")
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Đã ghi nhận hoàn thành" in s.text)
        await ask(stand_in, TP_1, "tinh gian bien che", "điểm c khoản 1")
        assert box.report(1).pending > 0  # answered while the unit is still being told
        await until(lambda: box.report(1).pending == 0, timeout=90)
    told = Counter(s.chat_id for s in stand_in.sent if s.method == "sendMessage" and "đánh dấu hoàn thành" in s.text)
    assert told == Counter(dict.fromkeys([TP_2, *colleagues], 1))


async def test_restart_never_repeats_and_catches_up(world, stand_in, sample_index, reminder_runs) -> None:
    settings, users, tasks, database = world
    clock = Clock("2026-12-08 08:00")
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock) as app:
        await until(lambda: reminder_runs() == 1)
        assert await send_due(app) == 0
    reopened = open_database(database)  # a restart: new stores on the same file
    async with running_bot(settings, stand_in, sample_index, UserStore(reopened), TaskStore(reopened, settings), clock):
        await until(lambda: reminder_runs() == 2)  # the catch-up run at start has happened
    assert len(reminders_to(stand_in, TP_1)) == 1 and len(reminders_to(stand_in, XA_1)) == 1
    # Down from the 9th to the 14th: started at 15:00 on the 14th, the 1-day reminder goes once.
    clock.set("2026-12-14 15:00")
    async with running_bot(settings, stand_in, sample_index, UserStore(reopened), TaskStore(reopened, settings), clock):
        await until(lambda: reminder_runs() == 3)
    assert [("còn 1 ngày" in s.text) for s in reminders_to(stand_in, TP_2)] == [False, True]


async def test_night_start_sends_nothing(world, stand_in, sample_index, reminder_runs) -> None:
    settings, users, tasks, _ = world
    clock = Clock("2026-12-14 22:30")
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock):
        await until(lambda: reminder_runs() == 1)
    assert reminders_to(stand_in, TP_1) == []


async def test_overdue_notice_and_daily_digest(world, stand_in, sample_index) -> None:
    settings, users, tasks, _ = world
    clock = Clock("2026-12-16 08:00")
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock) as app:
        await stand_in.wait_for(lambda s: s.chat_id == NV_1 and "Tổng hợp việc quá hạn" in s.text)
        await stand_in.wait_for(lambda s: s.chat_id == TP_1 and "Quá hạn" in s.text and "đã quá hạn 1 ngày" in s.text)
        digest = next(s for s in stand_in.to(NV_1, "sendMessage") if "Tổng hợp" in s.text)
        assert "<b>Phòng Tư pháp</b>\n• Báo cáo CCHC hằng quý — hạn 15/12/2026" in digest.text
        assert "<b>UBND xã An Phú</b>" in digest.text
        assert await send_due(app) == 0  # once a day
        clock.set("2026-12-17 08:00")
        assert await send_due(app) == 1  # the next day's digest; the overdue notice is not repeated
    assert len([s for s in stand_in.to(TP_1, "sendMessage") if "Quá hạn" in s.text]) == 1


async def test_blocked_and_rate_limited_recipients(world, stand_in, sample_index) -> None:
    settings, users, tasks, _ = world
    stand_in.blocked.add(TP_2)
    stand_in.fail_next("sendMessage", XA_1, 429, "Too Many Requests: retry after 1", retry_after=1)
    clock = Clock("2026-12-08 07:00")
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock) as app:
        clock.set("2026-12-08 08:00")
        assert await send_due(app) == 2
        assert await send_due(app) == 0  # the blocked official is not retried
    assert users.by_telegram(TP_2).blocked
    assert len(reminders_to(stand_in, XA_1)) == 1 and len(reminders_to(stand_in, TP_1)) == 1


async def test_unit_commands_and_progress_chart(world, stand_in, sample_index) -> None:
    settings, users, tasks, _ = world
    users.register(ADMIN, ADMIN, "Quản trị", "NV", "Công chức", approved=True)
    clock = Clock("2026-12-01 07:00")
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock):
        mine = await ask(stand_in, TP_1, "/nhiemvu", "Nhiệm vụ của đơn vị")
        assert "<b>15/12/2026</b> (còn 14 ngày) — Báo cáo CCHC hằng quý" in mine.text
        assert "Căn cứ: điểm đ khoản 2 Chỉ thị" in mine.text
        await ask(stand_in, TP_1, "/han 7", "không có việc nào")
        soon = await ask(stand_in, TP_1, "/han 20", "Hạn trong 20 ngày tới")
        assert "15/12/2026" in soon.text
        await ask(stand_in, TP_1, "/han abc", "Cách dùng")
        await ask(stand_in, TP_1, "/tiendo", "chỉ dành cho quản trị viên")
        report = await ask(stand_in, ADMIN, "/tiendo", "Tiến độ theo đơn vị")
        assert "• Phòng Tư pháp: 0 / 4 / 0" in report.text  # 15/12, 15/3, 15/6, 15/9 within a year
        photo = (await stand_in.wait_for(lambda s: s.method == "sendPhoto" and s.chat_id == ADMIN))[0]
        assert photo.params["photo"]["size"] > 5000  # a real PNG chart
        stand_in.push_update(message_update(XA_1, "/nhiemvu"))
        await stand_in.wait_for(lambda s: s.chat_id == XA_1 and "Báo cáo CCHC hằng quý" in s.text)


async def test_my_tasks_lists_the_next_deadline_and_summarises_what_is_overdue(world, stand_in, sample_index) -> None:
    settings, users, tasks, _ = world
    tasks.import_rows(
        read_task_file(TASKS.replace("2026-12-15,hang-quy", "2026-11-10,hang-thang"), ".csv"),
        lambda c: sample_index.store.clause(c) is not None,
    )  # the same task, now monthly from 10/11: its schedule still counts from 1/11
    clock = Clock("2027-01-20 07:00")
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock):
        mine = await ask(stand_in, TP_1, "/nhiemvu", "Nhiệm vụ của đơn vị")
        assert "<b>10/02/2027</b> (còn 21 ngày) — Báo cáo CCHC hằng quý" in mine.text
        assert (
            "<b>Quá hạn chưa hoàn thành</b> (3)\n• Báo cáo CCHC hằng quý: 3 kỳ (hạn 10/11/2026, 10/12/2026, "
            in mine.text
        )
        soon = await ask(stand_in, TP_1, "/han 7", "Hạn trong 7 ngày tới")
        assert "Còn 3 kỳ quá hạn chưa hoàn thành: xem /nhiemvu." in soon.text


SAMPLE_TASKS = ROOT / "samples" / "tasks" / "chi-thi-cchc-thi-xa.yaml"


async def test_a_fresh_deployment_shows_nothing_overdue_from_before(tmp_path: Path, sample_index, stand_in) -> None:
    settings = sample_index.settings.model_copy(deep=True)
    settings.telegram = settings.telegram.model_copy(update={"admins": [ADMIN]})
    db = open_database(tmp_path / "cchc.db")
    users, tasks = UserStore(db), TaskStore(db, settings)
    users.register(XA_1, XA_1, "Cán bộ xã", "XAP", "Công chức", approved=True)
    users.register(ADMIN, ADMIN, "Quản trị", "NV", "Công chức", approved=True)
    clock = Clock("2026-05-10 07:30")  # imported on the day the town starts, first deadlines in 2023
    rows = read_task_file(SAMPLE_TASKS.read_text(encoding="utf-8"), ".yaml")
    tasks.import_rows(rows, lambda c: sample_index.store.clause(c) is not None, imported_on=clock().date())
    async with running_bot(settings, stand_in, sample_index, users, tasks, clock) as app:
        mine = await ask(stand_in, XA_1, "/nhiemvu", "Nhiệm vụ của đơn vị")
        assert "UBND xã An Phú" in mine.text and "quá hạn" not in mine.text.replace("Quá hạn chưa hoàn thành", "")
        assert "<b>Quá hạn chưa hoàn thành</b>: không có." in mine.text
        lines = [line for line in mine.text.splitlines() if line.startswith("• ")]
        first = "• <b>15/06/2026</b> (ngày giả định) (còn 36 ngày) — Báo cáo CCHC 6 tháng"
        assert len(lines) == 6 and lines[0].startswith(first), "the sample file assumes the day of its reports"
        assert "Căn cứ: điểm đ khoản 2, khoản 5 Chỉ thị về cải cách hành chính thị xã</i>" in mine.text
        assert "về việc tiếp tục" not in mine.text  # short names in lists
        report = await ask(stand_in, ADMIN, "/tiendo", "Tiến độ theo đơn vị")
        assert all(line.endswith(" / 0") for line in report.text.splitlines()[1:])  # no unit is late
        await ask(stand_in, XA_1, "/han 60", "15/06/2026")
        clock.set("2026-05-11 08:00")
        assert await send_due(app) == 0  # no overdue notice, no digest of overdue items
