"""Announcements through the Bot API stand-in: durable outbox, failures, restarts, targeting, acks."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from base.database import open_database
from bot.telegram_html import visible
from devtools.bot_harness import ADMIN, add_officials, ask, press, running_bot, until, well_formed
from devtools.botapi import BotApiStandIn, callback_update, message_update
from office.broadcasts import Audience, Outbox
from office.users import UserStore
from tests.conftest import ROOT

UNITS = ["VP", "NV", "TC", "TP", "VHTT", "KT", "P1", "P2", "XAP", "XBH"]
POSITIONS = ["Thủ trưởng", "Chủ tịch UBND", "Công chức"]


def populate(users: UserStore, count: int) -> list[int]:
    """`count` approved officials spread over the units and positions; returns their Telegram ids."""
    return add_officials(users, count, UNITS, tuple(POSITIONS))


@pytest.fixture
def world(tmp_path: Path, sample_index):
    settings = sample_index.settings.model_copy(deep=True)
    telegram = {"admins": [ADMIN], "messages_per_second": 400, "delivery_attempts": 3, "retry_seconds": 0.2}
    settings.telegram = settings.telegram.model_copy(update=telegram)
    db = open_database(tmp_path / "cchc.db")
    return settings, UserStore(db), Outbox(db, settings)


def copies(stand_in: BotApiStandIn) -> Counter:
    """Announcements Telegram accepted, per chat."""
    return Counter(s.chat_id for s in stand_in.sent if "Thông báo" in s.text and s.method != "answerCallbackQuery")


async def test_thousand_recipients_with_429_403_and_500(world, stand_in, sample_index) -> None:
    settings, users, box = world
    ids = populate(users, 1000)
    blocked, limited, flaky, broken = ids[0:10], ids[10:20], ids[20:30], ids[30:33]
    stand_in.blocked.update(blocked)
    for chat in limited:
        stand_in.fail_next("sendMessage", chat, 429, "Too Many Requests: retry after 1", retry_after=1)
    for chat in flaky:
        stand_in.fail_next("sendMessage", chat, 500, "Internal Server Error")
    for chat in broken:
        stand_in.fail_next("sendMessage", chat, 500, "Internal Server Error", times=100)
    broadcast_id = box.create(
        ADMIN, "Họp giao ban CCHC lúc 14h thứ Sáu.", box.recipients(users, Audience()), Audience(), ack=False
    )
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: box.report(broadcast_id).pending == 0)
    sent = copies(stand_in)
    reachable = set(ids) - set(blocked) - set(broken)
    assert set(sent) == reachable and set(sent.values()) == {1}  # exactly one copy each
    report = box.report(broadcast_id)
    assert (report.total, report.delivered, report.blocked, report.failed) == (1000, 987, 10, 3)
    assert report.delivered + report.blocked + report.failed == report.total
    assert all(users.by_telegram(chat).blocked for chat in blocked)


async def test_graceful_stop_then_restart_sends_each_exactly_once(world, stand_in, sample_index) -> None:
    settings, users, box = world
    settings.telegram = settings.telegram.model_copy(update={"messages_per_second": 100})
    ids = populate(users, 1000)
    broadcast_id = box.create(ADMIN, "Thông báo lịch trực Tết.", box.recipients(users, Audience()), Audience(), False)
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: len(copies(stand_in)) >= 300)
    stopped_at = box.report(broadcast_id)
    assert 0 < stopped_at.pending < 1000 and stopped_at.delivered == len(copies(stand_in))  # all in flight recorded
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: box.report(broadcast_id).pending == 0)
    sent = copies(stand_in)
    assert set(sent) == set(ids) and set(sent.values()) == {1}


@pytest.mark.server
async def test_hard_kill_then_restart_skips_nobody(tmp_path: Path, stand_in) -> None:
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["data_dir"] = str(tmp_path / "data")
    config["telegram"].update(messages_per_second=100, admins=[ADMIN])
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    from base.settings import load

    settings = load(config_path)
    db = open_database(settings.database_path)
    users, box = UserStore(db), Outbox(db, settings)
    ids = populate(users, 1000)
    broadcast_id = box.create(
        ADMIN, "Thông báo kiểm tra đột xuất.", box.recipients(users, Audience()), Audience(), False
    )
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "1:kill-test",
        "TELEGRAM_API_BASE_URL": stand_in.base_url,
        "CCHC_CONFIG": str(config_path),
    }
    command = [str(Path(sys.executable).with_name("cchc")), "serve"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await until(lambda: len(copies(stand_in)) >= 200, timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = len(copies(stand_in))
    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await until(lambda: box.report(broadcast_id).pending == 0, timeout=120)
    finally:
        second.terminate()
        second.wait(timeout=30)
    sent = copies(stand_in)
    assert set(sent) == set(ids)  # nobody skipped
    doubled = [chat for chat, n in sent.items() if n > 1]
    assert len(doubled) <= 16 and killed_at < 1000  # at most the sends in flight at the kill


async def test_non_admin_is_refused_and_audited(world, stand_in, sample_index) -> None:
    settings, users, box = world
    populate(users, 5)
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await ask(stand_in, 50_001, "/thongbao", "chỉ dành cho quản trị viên")
        await ask(stand_in, 50_001, "/baocao 1", "chỉ dành cho quản trị viên")
    assert [e["actor"] for e in users.audit_entries() if e["action"] == "denied"] == [50_001, 50_001]


async def test_admin_flow_targeting_attachment_acks_and_report(world, stand_in, sample_index) -> None:
    settings, users, box = world
    ids = populate(users, 30)
    users.register(ADMIN, ADMIN, "Quản trị", "NV", "Công chức", approved=True)
    stand_in.files["F1"] = b"%PDF-1.4 ke hoach kiem tra"
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await ask(stand_in, ADMIN, "/thongbao", "nội dung thông báo")
        await ask(stand_in, ADMIN, "Kế hoạch kiểm tra CCHC <năm 2027> & phân công", "đính kèm")
        document = {"file_id": "F1", "file_unique_id": "F1", "file_name": "ke-hoach.pdf", "file_size": 26}
        stand_in.push_update(message_update(ADMIN, None, document=document))
        audience = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Gửi tới" in s.text))[0]
        await press(stand_in, ADMIN, audience, "bc:aud:units")
        units = (await stand_in.wait_for(lambda s: s.method == "editMessageText" and "Chọn đơn vị" in s.text))[0]
        await press(stand_in, ADMIN, units, "bc:unit:TP")
        await press(stand_in, ADMIN, units, "bc:unit:XAP")
        await until(lambda: any("✅ UBND xã An Phú" in str(s.params) for s in stand_in.sent))
        await press(stand_in, ADMIN, units, "bc:unit:done")
        ack_prompt = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Đã nhận" in s.text))[0]
        await press(stand_in, ADMIN, ack_prompt, "bc:ack:1")
        preview = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Xem trước" in s.text))[0]
        expected = [i for i in ids if (i - 50_000) % 10 in (3, 8)]  # TP and XAP officials
        assert f"Người nhận: <b>{len(expected)}</b> (Phòng Tư pháp, UBND xã An Phú)" in preview.text
        assert "&lt;năm 2027&gt; &amp; phân công" in preview.text and "(kèm tệp)" in preview.text
        await press(stand_in, ADMIN, preview, "bc:send")
        await stand_in.wait_for(lambda s: s.method == "editMessageText" and "Đã xếp hàng thông báo #1" in s.text)
        await until(lambda: box.report(1).pending == 0)
        delivered = [s for s in stand_in.sent if s.method == "sendDocument"]
        assert sorted(s.chat_id for s in delivered) == sorted(expected)
        assert {s.params["document"] for s in delivered} == {"F1"}  # Telegram's file_id: nothing uploaded again
        assert [label for label, _ in delivered[0].buttons] == ["✅ Đã nhận"]
        first = delivered[0]
        stand_in.push_update(callback_update(first.chat_id, "ack:1", first))
        stand_in.push_update(callback_update(first.chat_id, "ack:1", first))  # pressed twice
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "đã xác nhận rồi" in s.text)
        report = await ask(stand_in, ADMIN, "/baocao 1", "Báo cáo thông báo #1")
        assert f"Đã gửi: {len(expected)}" in report.text and f"Đã xác nhận: 1/{len(expected)}" in report.text
        assert "Đơn vị chưa xác nhận: " in report.text
        await press(stand_in, ADMIN, report, "bcn:1")  # remind only those who have not acknowledged
        await until(lambda: box.report(2) is not None and box.report(2).pending == 0)
        assert box.report(2).total == len(expected) - 1
    positions = box.recipients(users, Audience(positions=["Chủ tịch UBND"]))
    assert {u.position for u in positions} == {"Chủ tịch UBND"} and len(positions) == 10
    groups = box.recipients(users, Audience(units=["xa-phuong"]))
    assert {u.unit_code for u in groups} == {"P1", "P2", "XAP", "XBH"}


async def test_questions_are_answered_during_a_broadcast(world, stand_in, sample_index) -> None:
    settings, users, box = world
    settings.telegram = settings.telegram.model_copy(update={"messages_per_second": 100})
    populate(users, 1000)
    users.register(ADMIN, ADMIN, "Quản trị", "NV", "Công chức", approved=True)
    broadcast_id = box.create(ADMIN, "Thông báo dài hạn.", box.recipients(users, Audience()), Audience(), False)
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: len(copies(stand_in)) >= 50)
        await ask(stand_in, ADMIN, "tinh gian bien che", "điểm c khoản 1")
        assert box.report(broadcast_id).pending > 0  # answered while the broadcast was still going out


# --------------------------------------------------------------------------------- delivery under faults


def all_recipients(box: Outbox, users: UserStore) -> list:
    return box.recipients(users, Audience())


async def test_a_delivery_that_cannot_be_recorded_is_never_sent_again(
    world, stand_in, sample_index, tmp_path: Path, caplog
) -> None:
    settings, users, box = world
    ids = populate(users, 3)
    broadcast_id = box.create(ADMIN, "Họp giao ban CCHC.", all_recipients(box, users), Audience(), ack=False)
    other = sqlite3.connect(tmp_path / "cchc.db", isolation_level=None)  # another program, e.g. a long import
    stand_in.before_answer = lambda method, params: (
        other.execute("BEGIN IMMEDIATE") if method == "sendMessage" and not other.in_transaction else None
    )  # Telegram accepts the messages, then the database is locked past the busy timeout
    with caplog.at_level(logging.WARNING, logger="bot.broadcast"):
        async with running_bot(settings, stand_in, sample_index, users, outbox=box):
            await until(lambda: other.in_transaction, timeout=30)
            await asyncio.sleep(10)  # locked all along: nothing is sent again meanwhile
            assert copies(stand_in) == Counter(dict.fromkeys(ids, 1))
            assert "ALARM" in caplog.text
            assert box.report(broadcast_id).pending == 3
            stand_in.before_answer = None
            other.execute("ROLLBACK")  # the lock goes: what Telegram accepted is recorded, nothing resent
            await until(lambda: box.report(broadcast_id).delivered == 3, timeout=30)
    assert copies(stand_in) == Counter(dict.fromkeys(ids, 1))
    alarms = [r for r in caplog.records if "ALARM" in r.message]
    assert alarms[0].levelno == logging.CRITICAL and "database is locked" in alarms[0].message
    assert len(alarms) <= 4  # paused longer each time, not a flood


async def test_rows_that_cannot_be_sent_are_retried_then_failed_and_hold_back_nothing(
    world, stand_in, sample_index, tmp_path: Path, caplog
) -> None:
    settings, users, box = world
    populate(users, 600)
    everyone = all_recipients(box, users)
    gone = tmp_path / "ke-hoach-da-xoa.pdf"  # deleted after it was queued
    broken = box.create(ADMIN, "Kế hoạch kèm tệp.", everyone, Audience(), False, str(gone), "document")
    later = box.create(ADMIN, "Thông báo sau đó.", everyone[:5], Audience(), False)
    with caplog.at_level(logging.WARNING, logger="bot.broadcast"):
        async with running_bot(settings, stand_in, sample_index, users, outbox=box):
            await until(lambda: box.report(later).delivered == 5, timeout=30)
            await until(lambda: box.report(broken).pending == 0, timeout=60)
    report = box.report(broken)
    assert (report.failed, report.delivered) == (600, 0)
    rows = list(box.db["deliveries"].rows_where("broadcast_id = ?", [broken]))
    assert {r["attempts"] for r in rows} == {3}  # telegram.delivery_attempts
    assert all("FileNotFoundError" in r["error"] and "ke-hoach-da-xoa.pdf" in r["error"] for r in rows)
    assert not [c for c in stand_in.calls if c[0] == "sendDocument"]
    assert len([r for r in caplog.records if f"announcement {broken} " in r.message]) == 600 * 3  # one line each


async def test_an_attachment_is_uploaded_once_then_sent_by_file_id(world, stand_in, sample_index, tmp_path) -> None:
    settings, users, box = world
    ids = populate(users, 40)
    stand_in.blocked.add(ids[0])  # the first upload is refused: the next recipient's send uploads it
    plan, chart = tmp_path / "ke-hoach.pdf", tmp_path / "lich-truc.png"
    plan.write_bytes(b"%PDF-1.4 " + b"ke hoach " * 2000)
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"lich " * 500)
    everyone = all_recipients(box, users)
    document = box.create(ADMIN, "Kế hoạch kiểm tra.", everyone, Audience(), True, str(plan), "document")
    photo = box.create(ADMIN, "Lịch trực.", everyone, Audience(), False, str(chart), "photo")
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: box.report(document).pending == 0 and box.report(photo).pending == 0)
    for method, key, broadcast_id, content in (
        ("sendDocument", "document", document, plan),
        ("sendPhoto", "photo", photo, chart),
    ):
        sent = [s for s in stand_in.sent if s.method == method]
        assert len(sent) == 39 and sum(s.uploaded for s in sent) == 1
        file_id = next(s.params[key] for s in sent if not s.uploaded)
        assert {s.params[key] for s in sent if not s.uploaded} == {file_id}
        assert stand_in.files[file_id] == content.read_bytes()
        assert box.broadcast(broadcast_id)["attachment_file_id"] == file_id  # kept for a restart or a reminder
    assert box.report(document).blocked == 1


# ------------------------------------------------------------------------------------ announcement text


def cli(data_dir: Path, *args: str):
    from click.testing import CliRunner

    from cchc.cli import cli as command

    return CliRunner().invoke(command, ["--data-dir", str(data_dir), *args])


async def test_cli_text_is_plain_unless_html_and_html_is_checked_when_queued(
    world, stand_in, sample_index, tmp_path: Path
) -> None:
    settings, _, _ = world
    data_dir = tmp_path / "data"
    db = open_database(data_dir / "cchc.db")
    users, box = UserStore(db), Outbox(db, settings)
    ids = populate(users, 3)
    plain = tmp_path / "thuong.txt"
    plain.write_text("Điểm < 50 & chưa nộp: nhắc <ngay>.\n", encoding="utf-8")
    broken = tmp_path / "hong.html"
    broken.write_text("Họp lúc <b>14h thứ Sáu.\nMang theo tài liệu, <i>sổ</i>.\n", encoding="utf-8")
    fine = tmp_path / "dung.html"
    fine.write_text('Họp lúc <b>14h</b>, xem <a href="https://thixa.gov.vn/lich">lịch</a> &amp; chuẩn bị.\n')
    refused = cli(data_dir, "broadcast", "send", "--to", "all", "--text", str(broken), "--html")
    assert refused.exit_code == 2 and "line 1, column 9: <b> is never closed" in refused.output
    missing = cli(data_dir, "broadcast", "send", "--to", "all", "--text", str(fine), "--attach", str(tmp_path / "x"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert box.report(1) is None  # nothing was queued
    assert cli(data_dir, "broadcast", "send", "--to", "all", "--text", str(plain)).exit_code == 0
    assert cli(data_dir, "broadcast", "send", "--to", "all", "--text", str(fine), "--html").exit_code == 0
    settings = settings.model_copy(update={"data_dir": data_dir})
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: box.report(1).pending == 0 and box.report(2).pending == 0)
    assert box.report(1).delivered == box.report(2).delivered == 3
    first = stand_in.to(ids[0], "sendMessage")
    assert first[0].text == "📢 <b>Thông báo</b>\nĐiểm &lt; 50 &amp; chưa nộp: nhắc &lt;ngay&gt;."
    assert '<a href="https://thixa.gov.vn/lich">lịch</a> &amp; chuẩn bị.' in first[1].text


async def test_long_texts_and_captions_are_split_on_safe_boundaries(world, stand_in, sample_index, tmp_path) -> None:
    settings, users, box = world
    ids = populate(users, 4)
    sentence = "Các phòng <b>rà soát</b> thủ tục &amp; gửi <i>báo cáo</i> về phòng Nội vụ trước ngày 15. "
    long_text = (sentence * 60)[:4090].rsplit(" ", 1)[0]  # the admin's message: near Telegram's 4,096
    plan = tmp_path / "ke-hoach.pdf"
    plan.write_bytes(b"%PDF-1.4 ke hoach")
    captioned = box.create(ADMIN, sentence * 20, all_recipients(box, users), Audience(), True, str(plan), "document")
    users.register(ADMIN, ADMIN, "Quản trị", "NV", "Công chức", approved=True)
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: box.report(captioned).pending == 0)
        await ask(stand_in, ADMIN, "/thongbao", "nội dung thông báo")
        entities = [{"type": "bold", "offset": 10, "length": 7}]
        stand_in.push_update(message_update(ADMIN, long_text.replace("<b>", "").replace("</b>", ""), entities=entities))
        skip = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Bỏ qua" in str(s.buttons)))[0]
        await press(stand_in, ADMIN, skip, "bc:noattach")
        audience = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Gửi tới" in s.text))[0]
        await press(stand_in, ADMIN, audience, "bc:aud:all")
        ack_prompt = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Đã nhận" in s.text))[0]
        await press(stand_in, ADMIN, ack_prompt, "bc:ack:0")
        preview = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Người nhận" in s.text))[0]
        assert ("📤 Gửi", "bc:send") in preview.buttons
        await press(stand_in, ADMIN, preview, "bc:send")
        await stand_in.wait_for(lambda s: s.method == "editMessageText" and "Đã xếp hàng thông báo" in s.text)
        queued = captioned + 1
        await until(lambda: box.report(queued) is not None and box.report(queued).pending == 0)
    assert box.report(captioned).delivered == 4 and box.report(queued).delivered == 5
    for chat in ids:
        document = stand_in.to(chat, "sendDocument")[0]
        rest = [s for s in stand_in.to(chat, "sendMessage") if s.at > document.at]
        assert len(document.text) <= 1024 and well_formed(document.text) and len(rest) >= 1
        parts = [document.text, *(s.text for s in rest[:1])]
        assert all(well_formed(p) for p in parts)
        shown = " ".join(visible(p) for p in parts)
        assert shown.split() == visible(f"📢 <b>Thông báo</b>\n{sentence * 20}").split()  # nothing lost or cut
        assert [label for label, _ in rest[0].buttons] == ["✅ Đã nhận"]  # the buttons go with the last part
        long_parts = [s for s in stand_in.to(chat, "sendMessage") if "Nội vụ trước ngày" in s.text][-2:]
        assert len(long_parts) == 2 and all(len(p.text) <= 4096 and well_formed(p.text) for p in long_parts)


async def test_a_nudge_pressed_twice_sends_once(world, stand_in, sample_index) -> None:
    settings, users, box = world
    ids = populate(users, 5)
    broadcast_id = box.create(ADMIN, "Nộp báo cáo quý.", all_recipients(box, users), Audience(), ack=True)
    users.register(ADMIN, ADMIN, "Quản trị", "NV", "Công chức", approved=True)
    async with running_bot(settings, stand_in, sample_index, users, outbox=box):
        await until(lambda: box.report(broadcast_id).delivered == 5)
        first = stand_in.to(ids[0], "sendMessage")[0]
        await press(stand_in, ids[0], first, f"ack:{broadcast_id}")
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Đã ghi nhận" in s.text)
        report = await ask(stand_in, ADMIN, f"/baocao {broadcast_id}", "Đã xác nhận: 1/5")
        await press(stand_in, ADMIN, report, f"bcn:{broadcast_id}")
        await press(stand_in, ADMIN, report, f"bcn:{broadcast_id}")  # pressed again at once
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Đã nhắc 4 người" in s.text)
        await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "Đã nhắc lúc" in s.text)
        await until(lambda: box.report(broadcast_id + 1) is not None and box.report(broadcast_id + 1).pending == 0)
        await asyncio.sleep(1)
    assert box.report(broadcast_id + 2) is None  # one reminder queued
    nudged = Counter(s.chat_id for s in stand_in.sent if "Nhắc lại (thông báo" in s.text)
    assert nudged == Counter(dict.fromkeys(ids[1:], 1))
