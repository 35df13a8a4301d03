"""Announcements through the Bot API stand-in: durable outbox, failures, restarts, targeting, acks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from base.database import open_database
from office.broadcasts import Audience, Outbox
from office.users import UserStore
from tests.bot_harness import ADMIN, add_officials, ask, press, running_bot, until
from tests.botapi import BotApiStandIn, callback_update, message_update
from tests.conftest import ROOT

UNITS = ["VP", "NV", "TC", "TP", "VHTT", "KT", "P1", "P2", "XAP", "XBH"]
POSITIONS = ["Thủ trưởng", "Chủ tịch UBND", "Công chức"]


def populate(users: UserStore, count: int) -> list[int]:
    """`count` approved officials spread over the units and positions; returns their Telegram ids."""
    return add_officials(users, count, UNITS, tuple(POSITIONS))


@pytest.fixture
def world(tmp_path: Path, sample_index):
    settings = sample_index.settings.model_copy(deep=True)
    settings.telegram = settings.telegram.model_copy(update={"admins": [ADMIN], "messages_per_second": 400})
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
        stand_in.fail_next("sendMessage", chat, 500, "Internal Server Error", times=10)
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
        assert delivered[0].params["document"]["filename"] == "ke-hoach.pdf"
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
