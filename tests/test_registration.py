"""Registration as a new official does it: typed answers, a step asked again, abandoned and resumed, cancelled."""

from __future__ import annotations

import pytest

from base.settings import Settings
from devtools.bot_harness import ADMIN, ask, press, running_bot, well_formed
from devtools.botapi import BotApiStandIn, Sent
from office.users import typed_position, typed_unit

OFFICIAL = 2002
NOT_APPROVED = "chưa được duyệt"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("UBND xã An Phú", "XAP"),
        ("xã An Phú", "XAP"),
        ("xa an phu", "XAP"),
        ("Ủy ban nhân dân xã Bình Hòa", "XBH"),
        ("xbh", "XBH"),
        ("tư pháp", "TP"),
        ("Phong Van hoa - Thong tin", "VHTT"),
        ("phuong 2", "P2"),
        ("VP", "VP"),
    ],
)
def test_a_typed_unit_is_its_name_code_or_enough_of_its_name(bot_settings: Settings, typed: str, code: str) -> None:
    unit = typed_unit(bot_settings, typed)
    assert unit is not None and unit.code == code


@pytest.mark.parametrize("typed", ["phòng", "UBND", "xã", "Sở Nội vụ", "", "!!!"])
def test_a_typed_unit_that_names_none_or_several_is_not_guessed(bot_settings: Settings, typed: str) -> None:
    assert typed_unit(bot_settings, typed) is None


@pytest.mark.parametrize(
    ("typed", "position"),
    [
        ("Công chức", "Công chức"),
        ("cong chuc", "Công chức"),
        ("chủ tịch", "Chủ tịch UBND"),
        ("pho chu tich ubnd", "Phó Chủ tịch UBND"),
        ("Phó chủ tịch Ủy ban nhân dân", "Phó Chủ tịch UBND"),
        ("VIÊN CHỨC", "Viên chức"),
    ],
)
def test_a_typed_position(bot_settings: Settings, typed: str, position: str) -> None:
    assert typed_position(bot_settings, typed) == position


@pytest.mark.parametrize("typed", ["phó", "trưởng phòng", "Nguyễn Văn An"])
def test_a_typed_position_that_names_none_or_several_is_not_guessed(bot_settings: Settings, typed: str) -> None:
    assert typed_position(bot_settings, typed) is None


def said_to(stand_in: BotApiStandIn, chat_id: int) -> list[Sent]:
    return [s for s in stand_in.sent if s.chat_id == chat_id and s.method in {"sendMessage", "editMessageText"}]


@pytest.mark.parametrize(
    ("unit", "position", "summary"),
    [
        ("xã An Phú", "Công chức", "Nguyễn Văn An · UBND xã An Phú · Công chức"),
        ("ubnd xa an phu", "cong chuc", "Nguyễn Văn An · UBND xã An Phú · Công chức"),
        ("TP", "pho thu truong", "Nguyễn Văn An · Phòng Tư pháp · Phó Thủ trưởng"),
    ],
)
async def test_every_step_typed(bot_settings, stand_in, sample_index, users, unit, position, summary) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        await ask(stand_in, OFFICIAL, "Nguyễn Văn An", "Xin chọn <b>đơn vị</b>")
        positions = await ask(stand_in, OFFICIAL, unit, "Xin chọn <b>chức vụ</b>")
        assert ("Công chức", "pos:4") in positions.buttons
        done = await ask(stand_in, OFFICIAL, position, "Đã gửi yêu cầu")
        assert summary in done.text and "đang chờ duyệt" in done.text
        request = (await stand_in.wait_for(lambda s: s.chat_id == ADMIN and "Yêu cầu đăng ký mới" in s.text))[0]
        assert summary in request.text
    assert users.by_telegram(OFFICIAL).status == "pending"
    assert not any(NOT_APPROVED in s.text for s in said_to(stand_in, OFFICIAL))


async def test_an_answer_not_understood_asks_the_step_again_with_its_buttons(
    bot_settings, stand_in, sample_index, users
) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        await ask(stand_in, OFFICIAL, "Lê Thị Hoa", "Xin chọn <b>đơn vị</b>")
        again = await ask(stand_in, OFFICIAL, "phòng", "Chưa nhận ra đơn vị «phòng»")
        assert "Xin bấm một nút bên dưới" in again.text and ("UBND xã An Phú", "unit:XAP") in again.buttons
        await press(stand_in, OFFICIAL, again, "unit:XAP")
        await stand_in.wait_for(lambda s: s.method == "editMessageText" and "chức vụ" in s.text)
        again = await ask(stand_in, OFFICIAL, "trưởng phòng", "Chưa nhận ra chức vụ «trưởng phòng»")
        assert ("Công chức", "pos:4") in again.buttons and well_formed(again.text)
        await ask(stand_in, OFFICIAL, "chủ tịch", "Lê Thị Hoa · UBND xã An Phú · Chủ tịch UBND")
    assert not any(NOT_APPROVED in s.text for s in said_to(stand_in, OFFICIAL))


async def test_abandoned_registration_resumes_at_start(bot_settings, stand_in, sample_index, users) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        await ask(stand_in, OFFICIAL, "Phan Văn Bình", "Xin chọn <b>đơn vị</b>")
        await ask(stand_in, OFFICIAL, "p1", "Xin chọn <b>chức vụ</b>")
        # the official wanders off: asks a question, tries a command, comes back with /start
        await ask(stand_in, OFFICIAL, "Báo cáo kiểm điểm gửi về đâu?", "Chưa nhận ra chức vụ")
        busy = await ask(stand_in, OFFICIAL, "/nguon", "Bạn đang đăng ký")
        assert "Xin chọn <b>chức vụ</b>" in busy.text
        resumed = await ask(stand_in, OFFICIAL, "/start", "Tiếp tục đăng ký")
        assert "UBND Phường 1" in resumed.text and ("Viên chức", "pos:5") in resumed.buttons
        assert "họ và tên" not in resumed.text
        await press(stand_in, OFFICIAL, resumed, "pos:5")
        await stand_in.wait_for(lambda s: s.method == "editMessageText" and "Phan Văn Bình · UBND Phường 1" in s.text)
    assert users.by_telegram(OFFICIAL).position == "Viên chức"
    assert not any(NOT_APPROVED in s.text for s in said_to(stand_in, OFFICIAL))


async def test_registration_cancelled_with_huy(bot_settings, stand_in, sample_index, users) -> None:
    async with running_bot(bot_settings, stand_in, sample_index, users):
        await ask(stand_in, OFFICIAL, "/start", "họ và tên")
        await ask(stand_in, OFFICIAL, "Trịnh Văn Cường", "Xin chọn <b>đơn vị</b>")
        await ask(stand_in, OFFICIAL, "/huy", "Đã hủy đăng ký")
        assert users.by_telegram(OFFICIAL) is None
        again = await ask(stand_in, OFFICIAL, "/start", "họ và tên")  # begins again, not where it was left
        assert "Tiếp tục" not in again.text
        await ask(stand_in, OFFICIAL, "Trịnh Văn Cường", "Xin chọn <b>đơn vị</b>")
    assert users.by_telegram(OFFICIAL) is None
