"""Access that sticks: locks and decisions, admin commands in private only, menus per scope, refusals,
edits, the user listing and the feedback export, through the real Application and the Bot API stand-in."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from base.database import open_database
from base.settings import RateLimitSettings, Settings
from bot.access import NOT_APPROVED, PRIVATE_ONLY
from cchc.cli import cli
from devtools.bot_harness import ADMIN, add_officials, running_bot, settle
from devtools.botapi import BotApiStandIn, Sent, callback_update, edited, message_update
from knowledge.index import ClauseIndex
from knowledge.records import Citation
from office.users import UserStore

SECOND_ADMIN, FORMER_ADMIN = 1002, 1003
OFFICIAL, STRANGER = 2002, 3003
GROUP = -100777
STAFF_HEADER = "ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\n"


@pytest.fixture
def bot_settings(sample_index: ClauseIndex) -> Settings:
    settings = sample_index.settings.model_copy(deep=True)
    settings.telegram = settings.telegram.model_copy(update={"admins": [ADMIN, SECOND_ADMIN]})
    return settings


def approve(users: UserStore, telegram_id: int) -> int:
    """An approved official of Phòng Tư pháp; returns their user id."""
    return users.register(telegram_id, telegram_id, "Trần Thị B", "TP", "Công chức", approved=True).id


async def ask(stand_in: BotApiStandIn, user_id: int, text: str, expect: str, chat_id: int | None = None) -> Sent:
    """Send a message (in a group when `chat_id` is given) and wait for the bot's one containing `expect`."""
    before = len(stand_in.sent)
    chat = user_id if chat_id is None else chat_id
    stand_in.push_update(message_update(user_id, text, chat_id=chat_id))
    found = await stand_in.wait_for(lambda s: s in stand_in.sent[before:] and s.chat_id == chat and expect in s.text)
    return found[0]


# ------------------------------------------------------------------------------- decisions stick


async def test_a_lock_survives_sharing_the_phone_number(bot_settings, stand_in, sample_index, users) -> None:
    users.import_csv(STAFF_HEADER + "Phạm Văn D,NV,Thủ trưởng,0912345678,\n", bot_settings)
    locked = users.resolve("0912345678")[0]
    assert users.lock(locked.id, ADMIN, "Quản trị").changed
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "Chia sẻ số điện thoại")
        contact = {"phone_number": "+84912345678", "first_name": "D", "user_id": OFFICIAL}
        stand_in.push_update(message_update(OFFICIAL, None, contact=contact))
        await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and "đang bị khóa" in s.text)
        assert users.by_telegram(OFFICIAL).status == "inactive"
        await ask(stand_in, OFFICIAL, "tinh gian bien che", "chưa được duyệt")
    assert not any("Đã xác nhận" in s.text or "Chỉ thị" in s.text for s in stand_in.to(OFFICIAL))


async def test_an_old_button_cannot_overturn_another_admins_decision(
    bot_settings, stand_in, sample_index, users
) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        units = await ask(stand_in, OFFICIAL, "Nguyễn Văn An", "Xin chọn <b>đơn vị</b>")
        stand_in.push_update(callback_update(OFFICIAL, "unit:TP", units))
        positions = (await stand_in.wait_for(lambda s: s.method == "editMessageText" and "chức vụ" in s.text))[0]
        stand_in.push_update(callback_update(OFFICIAL, "pos:4", positions))
        requests = await stand_in.wait_for(
            lambda s: (
                s.chat_id in (ADMIN, SECOND_ADMIN)
                and "Yêu cầu đăng ký mới" in s.text
                and len(stand_in.to(SECOND_ADMIN)) == 1
            )
        )
        first, second = stand_in.to(ADMIN)[0], stand_in.to(SECOND_ADMIN)[0]
        user_id = users.by_telegram(OFFICIAL).id
        assert len(requests) == 2 and f"reg:approve:{user_id}" in dict(first.buttons).values()

        stand_in.push_update(callback_update(ADMIN, f"reg:reject:{user_id}", first, first_name="Lan"))
        await stand_in.wait_for(lambda s: s.method == "editMessageText" and "❌ Đã từ chối bởi Lan" in s.text)
        await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and "không được duyệt" in s.text)

        stand_in.push_update(callback_update(SECOND_ADMIN, f"reg:approve:{user_id}", second, first_name="Minh"))
        alert = await stand_in.wait_for(lambda s: s.method == "answerCallbackQuery" and "xử lý trước" in s.text)
        assert "từ chối bởi Lan lúc" in alert[0].text
        edit = await stand_in.wait_for(lambda s: s.method == "editMessageText" and s.chat_id == SECOND_ADMIN)
        assert "từ chối bởi Lan" in edit[0].text
        assert users.by_telegram(OFFICIAL).status == "rejected"

        await ask(stand_in, SECOND_ADMIN, f"/mokhoa {user_id}", "Đã mở khóa")  # the explicit way
        assert users.by_telegram(OFFICIAL).status == "approved"
    assert not any("đã được duyệt" in s.text for s in stand_in.to(OFFICIAL))  # the old button said nothing to them


def run(data_dir: Path, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def test_imports_keep_locks_and_the_cli_decides_like_the_bot(tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(STAFF_HEADER + "Nguyễn Văn A,NV,Thủ trưởng,0912345678,\nTrần B,TP,Công chức,,555\n")
    assert run(tmp_path, "users", "import", str(staff)).output == "imported: 2 added, 0 updated, kept locked: 0\n"
    store = UserStore(open_database(tmp_path / "cchc.db"))
    pending = store.register(777, 777, "Lê C", "TP", "Công chức", approved=False)

    assert run(tmp_path, "users", "lock", "+84 912 345 678").output == "locked: #1 Nguyễn Văn A (NV)\n"
    assert run(tmp_path, "users", "lock", "#2").output == "locked: #2 Trần B (TP)\n"
    assert run(tmp_path, "users", "reject", str(pending.id)).output == "rejected: #3 Lê C (TP)\n"
    again = run(tmp_path, "users", "approve", "#3")
    assert again.exit_code == 1 and "#3 Lê C (TP) is rejected (by cchc" in again.output
    assert "not pending; `cchc users unlock` lifts it" in again.output
    assert "unchanged: #2 Trần B (TP) is already inactive (by cchc" in run(tmp_path, "users", "lock", "2").output

    staff.write_text(
        STAFF_HEADER
        + "Nguyễn Văn Anh,NV,Thủ trưởng,0912345678,\nTrần Bình,VHTT,Công chức,0987654321,555\n"
        + "Lê Cường,XAP,Công chức,,777\n"
    )
    assert run(tmp_path, "users", "import", str(staff)).output == "imported: 0 added, 3 updated, kept locked: 3\n"
    rows = [json.loads(line) for line in run(tmp_path, "users", "list", "--json").output.splitlines()]
    assert sorted((r["full_name"], r["unit_code"], r["phone"], r["status"]) for r in rows) == [
        ("Lê Cường", "XAP", "", "rejected"),
        ("Nguyễn Văn Anh", "NV", "0912345678", "inactive"),
        ("Trần Bình", "VHTT", "0987654321", "inactive"),
    ]

    assert run(tmp_path, "users", "unlock", "0912345678").output == "unlocked: #1 Nguyễn Văn Anh (NV)\n"
    assert run(tmp_path, "users", "move", "0987654321", "Phòng Tư pháp").output == "moved to TP: #2 Trần Bình (TP)\n"
    assert run(tmp_path, "users", "move", "2", "Phòng Không Có").exit_code == 2
    missing = run(tmp_path, "users", "lock", "0999999999")
    assert missing.exit_code == 1 and "no user 0999999999" in missing.output
    assert run(tmp_path, "users", "import", str(staff)).output == "imported: 0 added, 3 updated, kept locked: 2\n"

    entries = [e for e in store.audit_entries() if e["action"].startswith(("status:", "move"))]
    assert [(e["action"], e["target"], e["actor"]) for e in entries] == [
        ("status:inactive", "1", 0),
        ("status:inactive", "2", 0),
        ("status:rejected", "3", 0),
        ("status:approved", "1", 0),
        ("move", "2", 0),
    ]
    assert all(e["detail"].startswith("cchc") or "by cchc" in e["detail"] for e in entries)


# ------------------------------------------------------------------------------- admin commands


ADMIN_COMMANDS = ["/nguoidung", "/phanhoi", "/thongbao", "/tiendo", "/baocao 1", "/khoa {id}", "/mokhoa {id}"]


async def test_admin_commands_only_in_private_and_menu_for_admins_only(
    bot_settings, stand_in, sample_index, users
) -> None:
    official = approve(users, OFFICIAL)
    users.record_admin_menu(FORMER_ADMIN, shown=True)  # an admin no longer listed in config.yaml
    stand_in.unknown_chats.add(SECOND_ADMIN)  # has not written to the bot yet
    async with running_bot(bot_settings, stand_in, sample_index, users):
        assert "hoi" in stand_in.menus["default"] and "nguoidung" not in stand_in.menus["default"]
        assert {"nguoidung", "khoa", "thongbao", "tiendo", "phanhoi"} <= set(stand_in.menus[f"chat:{ADMIN}"])
        assert f"chat:{SECOND_ADMIN}" not in stand_in.menus and f"chat:{FORMER_ADMIN}" not in stand_in.menus
        assert users.admin_menu_holders() == {ADMIN}

        for command in [*ADMIN_COMMANDS, f"/chuyen {official} VHTT"]:
            for sender in (ADMIN, OFFICIAL):
                stand_in.push_update(message_update(sender, command.format(id=official), chat_id=GROUP))
        await stand_in.wait_for(lambda s: len(stand_in.to(GROUP)) == 16)
        await settle(stand_in)
        assert [s.text for s in stand_in.to(GROUP)] == [PRIVATE_ONLY] * 16  # the same short line, nothing more
        assert (users.by_id(official).status, users.by_id(official).unit_code) == ("approved", "TP")

        await ask(stand_in, ADMIN, "/nguoidung", "Người dùng (1)")  # in private it works
        stand_in.unknown_chats.discard(SECOND_ADMIN)
        await ask(stand_in, SECOND_ADMIN, "/start", "họ và tên")
        assert "nguoidung" in stand_in.menus[f"chat:{SECOND_ADMIN}"]


async def test_strangers_get_one_refusal_a_window(bot_settings, stand_in, sample_index, users) -> None:
    bot_settings.telegram = bot_settings.telegram.model_copy(
        update={"rate_limit": RateLimitSettings(questions=10, per_seconds=3)}
    )
    approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        for i in range(6):
            stand_in.push_update(message_update(STRANGER, f"/hoi cau hoi so {i}", chat_id=GROUP))
            stand_in.push_update(message_update(STRANGER, "/nguoidung", chat_id=GROUP))
        await settle(stand_in)
        await ask(stand_in, OFFICIAL, "/hoi tinh gian bien che", "điểm c khoản 1", chat_id=GROUP)
        assert [s.text for s in stand_in.to(GROUP) if s.text in (NOT_APPROVED, PRIVATE_ONLY)] == [NOT_APPROVED]
        await asyncio.sleep(3)  # the window of the question limit passes
        await ask(stand_in, STRANGER, "/hoi cau hoi moi", NOT_APPROVED, chat_id=GROUP)
        await ask(stand_in, OFFICIAL, "/hoi chinh quyen so", "điểm f khoản 2", chat_id=GROUP)
        assert len(stand_in.to(GROUP, "sendMessage")) == 4


# ------------------------------------------------------------------------------------ edits


async def test_edited_messages_are_not_answered_or_run_again(bot_settings, stand_in, sample_index, users) -> None:
    official = approve(users, OFFICIAL)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        question = message_update(OFFICIAL, "tinh gian bien che")
        stand_in.push_update(question)
        await stand_in.wait_for(lambda s: s.chat_id == OFFICIAL and "điểm c khoản 1" in s.text)
        question["message"]["text"] = "chinh quyen so chuyen doi so"
        stand_in.push_update(edited(question))

        lock = message_update(ADMIN, f"/khoa {official}")
        stand_in.push_update(lock)
        await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Đã khóa" in s.text)
        await ask(stand_in, ADMIN, f"/mokhoa {official}", "Đã mở khóa")
        stand_in.push_update(edited(lock))
        await settle(stand_in)
    assert len([s for s in stand_in.to(OFFICIAL) if "Chỉ thị" in s.text]) == 1
    assert users.by_id(official).status == "approved"
    assert [e["action"] for e in users.audit_entries() if e["action"].startswith("status:")] == [
        "status:inactive",
        "status:approved",
    ]


# ----------------------------------------------------------------------------- listing, export


async def test_user_listing_is_paginated(bot_settings, stand_in, sample_index, users) -> None:
    units = [u.code for u in bot_settings.units]
    ids = add_officials(users, 320, units)
    everyone = {u.id for u in users.find() if u.telegram_id in ids}
    async with running_bot(bot_settings, stand_in, sample_index, users):
        page = await ask(stand_in, ADMIN, "/nguoidung", "Người dùng (320)")
        seen: list[Sent] = [page]
        while "Sau ▶" in dict(page.buttons):
            edits = len(stand_in.to(ADMIN, "editMessageText"))
            stand_in.push_update(callback_update(ADMIN, dict(page.buttons)["Sau ▶"], page))
            await stand_in.wait_for(lambda s, edits=edits: len(stand_in.to(ADMIN, "editMessageText")) > edits)
            page = stand_in.to(ADMIN, "editMessageText")[-1]
            seen.append(page)
    assert len(seen) > 2 and all(len(s.text) <= 4096 for s in seen)
    assert f"trang {len(seen)}/{len(seen)}" in seen[-1].text
    listed = [int(line.split()[0][1:]) for s in seen for line in s.text.splitlines()[1:]]
    assert sorted(listed) == sorted(everyone)  # each official once, none left out


async def test_feedback_csv_neutralises_formulas(bot_settings, stand_in, sample_index, users) -> None:
    citation = Citation(doc_id="chi-thi-cchc-thi-xa", loc="1.c", label="điểm c khoản 1", text="…", score=1.0)
    questions = ['=HYPERLINK("http://x.example","bấm")', "+1+2", "-3+cmd|' /C calc'!A0", "@SUM(A1)", "tinh gian"]
    for text in questions:
        users.record_vote(users.record_answer(OFFICIAL, text, True, [citation]), OFFICIAL, -1)
    async with running_bot(bot_settings, stand_in, sample_index, users):
        stand_in.push_update(message_update(ADMIN, "/phanhoi"))
        document = (await stand_in.wait_for(lambda s: s.method == "sendDocument" and s.chat_id == ADMIN))[0]
    rows = list(csv.DictReader(io.StringIO(document.params["document"]["content"].decode("utf-8-sig"))))
    assert [r["question"] for r in rows] == [
        '\'=HYPERLINK("http://x.example","bấm")',
        "'+1+2",
        "'-3+cmd|' /C calc'!A0",
        "'@SUM(A1)",
        "tinh gian",
    ]
    assert {r["vote"] for r in rows} == {"-1"}  # numbers stay numbers
