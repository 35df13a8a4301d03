"""The command menus Telegram shows: the officials' commands for everyone, the admin commands to admins only.

Telegram keeps a menu per scope (setMyCommands): the default scope gets COMMANDS, and each admin's private
chat gets COMMANDS + ADMIN_COMMANDS. Someone no longer listed as an admin has that menu taken back.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application

from bot.services import services
from office.users import UserStore

log = logging.getLogger(__name__)
COMMANDS = [
    BotCommand("hoi", "Đặt câu hỏi (dùng trong nhóm)"),
    BotCommand("viec", "Việc của đơn vị theo văn bản"),
    BotCommand("nhiemvu", "Nhiệm vụ của đơn vị"),
    BotCommand("han", "Hạn trong những ngày tới"),
    BotCommand("nguon", "Các văn bản đã nạp"),
    BotCommand("huongdan", "Hướng dẫn sử dụng"),
    BotCommand("start", "Đăng ký sử dụng"),
]
ADMIN_COMMANDS = [
    BotCommand("nguoidung", "Người dùng (cho, duyet, khoa, tuchoi)"),
    BotCommand("chuyen", "Chuyển người dùng sang đơn vị khác"),
    BotCommand("khoa", "Khóa người dùng"),
    BotCommand("mokhoa", "Mở khóa người dùng"),
    BotCommand("thongbao", "Gửi thông báo"),
    BotCommand("baocao", "Báo cáo một thông báo"),
    BotCommand("tiendo", "Tiến độ nhiệm vụ theo đơn vị"),
    BotCommand("phanhoi", "Phản hồi của người dùng (CSV)"),
]


async def show_admin_menu(bot: Bot, users: UserStore, admin_id: int) -> bool:
    """Give an admin's private chat the admin menu; False when Telegram refuses (no chat with the bot yet)."""
    try:
        await bot.set_my_commands(COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))
    except TelegramError as exc:
        log.warning("admin %s gets the admin menu after writing /start to the bot (%s)", admin_id, exc.message)
        return False
    users.record_admin_menu(admin_id, shown=True)
    return True


async def take_back_admin_menu(bot: Bot, users: UserStore, telegram_id: int) -> None:
    """Return a former admin's private chat to the menu everyone has."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))
    except TelegramError as exc:
        log.warning("admin menu of %s not taken back (%s); retried at the next start", telegram_id, exc.message)
        return
    users.record_admin_menu(telegram_id, shown=False)


async def publish_menus(application: Application) -> None:
    """Set every menu at start: the default one, each admin's, and none any more for former admins."""
    found = services(application)
    bot, users, admins = application.bot, found.users, found.settings.telegram.admins
    await bot.set_my_commands(COMMANDS)
    for admin_id in admins:
        await show_admin_menu(bot, users, admin_id)
    for former in sorted(users.admin_menu_holders() - set(admins)):
        await take_back_admin_menu(bot, users, former)
