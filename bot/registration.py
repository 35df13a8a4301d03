"""/start: an official registers (name, unit, position, or a shared phone number) and admins decide."""

from __future__ import annotations

from html import escape

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import ContextTypes, ConversationHandler

from bot.access import admin_or_refused, reply
from bot.render import HELP
from bot.sending import send_html
from bot.services import services
from office.users import User

NAME, UNIT, POSITION = range(3)
ASK_NAME = (
    "Xin chào! Để dùng Trợ lý CCHC, xin cho biết <b>họ và tên</b> của bạn.\n"
    "Nếu đơn vị đã gửi danh sách cán bộ, bấm <b>📱 Chia sẻ số điện thoại</b> để được xác nhận ngay."
)
STATUS_TEXT = {
    "approved": "Bạn đã được duyệt và có thể đặt câu hỏi.",
    "pending": "Yêu cầu đăng ký của bạn đang chờ duyệt. Trợ lý sẽ báo khi phòng Nội vụ duyệt xong.",
    "rejected": "Yêu cầu đăng ký của bạn không được duyệt. Xin liên hệ phòng Nội vụ.",
    "inactive": "Tài khoản của bạn đang bị khóa. Xin liên hệ phòng Nội vụ.",
}


def describe(user: User, unit_name: str) -> str:
    return f"{escape(user.full_name)} · {escape(unit_name)} · {escape(user.position)}"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/start: greet a known official, or begin registration."""
    users = services(context).users
    user = users.by_telegram(update.effective_user.id)  # type: ignore[union-attr]
    if user is not None:
        await reply(update, context, STATUS_TEXT[user.status] + ("\n\n" + HELP if user.status == "approved" else ""))
        return ConversationHandler.END
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("📱 Chia sẻ số điện thoại", request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
    await reply(update, context, ASK_NAME, reply_markup=keyboard)
    return NAME


async def got_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A shared phone number that matches the imported staff list approves the official at once."""
    found = services(context)
    settings, users = found.settings, found.users
    contact = update.effective_message.contact  # type: ignore[union-attr]
    if contact.user_id != update.effective_user.id:  # type: ignore[union-attr]
        await reply(update, context, "Xin chia sẻ số điện thoại của chính bạn (nút bên dưới).")
        return NAME
    user = users.link_by_phone(update.effective_user.id, update.effective_chat.id, contact.phone_number)  # type: ignore[union-attr]
    if user is None:
        await reply(
            update,
            context,
            "Số này chưa có trong danh sách cán bộ. Xin nhập <b>họ và tên</b> để đăng ký.",
            reply_markup=ReplyKeyboardRemove(),
        )
        return NAME
    unit = settings.unit(user.unit_code)
    await reply(
        update,
        context,
        f"Đã xác nhận: {describe(user, unit.name if unit else user.unit_code)}.\n\n{HELP}",
        reply_markup=ReplyKeyboardRemove(),
    )
    return ConversationHandler.END


async def got_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The official's full name; then the unit, from a keyboard."""
    settings = services(context).settings
    name = " ".join((update.effective_message.text or "").split())  # type: ignore[union-attr]
    if not 3 <= len(name) <= 100:
        await reply(update, context, "Xin nhập họ và tên đầy đủ (3 đến 100 ký tự).")
        return NAME
    context.user_data["full_name"] = name  # type: ignore[index]
    buttons = [InlineKeyboardButton(u.name, callback_data=f"unit:{u.code}") for u in settings.units]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await reply(
        update,
        context,
        f"Chào {escape(name)}. Xin chọn <b>đơn vị</b> công tác:",
        reply_markup=InlineKeyboardMarkup(rows),
    )
    return UNIT


async def got_unit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The unit chosen; then the position."""
    settings = services(context).settings
    query = update.callback_query
    unit = settings.unit(query.data.split(":", 1)[1])  # type: ignore[union-attr]
    await query.answer()  # type: ignore[union-attr]
    if unit is None:
        return UNIT
    context.user_data["unit_code"] = unit.code  # type: ignore[index]
    buttons = [[InlineKeyboardButton(p, callback_data=f"pos:{i}")] for i, p in enumerate(settings.positions)]
    await query.edit_message_text(
        f"Đơn vị: <b>{escape(unit.name)}</b>\nXin chọn <b>chức vụ</b>:",  # type: ignore[union-attr]
        reply_markup=InlineKeyboardMarkup(buttons),
    )
    return POSITION


async def got_position(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The position chosen: register, approved at once or sent to the admins."""
    found = services(context)
    settings, users = found.settings, found.users
    query = update.callback_query
    await query.answer()  # type: ignore[union-attr]
    try:
        position = settings.positions[int(query.data.split(":", 1)[1])]  # type: ignore[union-attr]
    except (IndexError, ValueError):
        return POSITION
    telegram_id = update.effective_user.id  # type: ignore[union-attr]
    approved = not settings.telegram.approval_required or settings.telegram.is_admin(telegram_id)
    data = context.user_data
    user = users.register(
        telegram_id,
        update.effective_chat.id,
        data["full_name"],
        data["unit_code"],
        position,  # type: ignore[index,union-attr]
        approved=approved,
    )
    unit = settings.unit(user.unit_code)
    summary = describe(user, unit.name if unit else user.unit_code)
    if approved:
        await query.edit_message_text(f"Đăng ký thành công: {summary}.\n\n{HELP}")  # type: ignore[union-attr]
        return ConversationHandler.END
    await query.edit_message_text(f"Đã gửi yêu cầu: {summary}.\n{STATUS_TEXT['pending']}")  # type: ignore[union-attr]
    await notify_admins(context, user, summary)
    return ConversationHandler.END


async def notify_admins(context: ContextTypes.DEFAULT_TYPE, user: User, summary: str) -> None:
    found = services(context)
    settings, users = found.settings, found.users
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Duyệt", callback_data=f"reg:approve:{user.id}"),
                InlineKeyboardButton("❌ Từ chối", callback_data=f"reg:reject:{user.id}"),
            ]
        ]
    )
    for admin_id in settings.telegram.admins:
        await send_html(
            context.bot,
            users,
            admin_id,
            f"Yêu cầu đăng ký mới (#{user.id}): {summary}",
            retries=settings.telegram.send_retries,
            reply_markup=keyboard,
        )


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/huy: stop registering."""
    await reply(update, context, "Đã hủy đăng ký. Gõ /start để bắt đầu lại.", reply_markup=ReplyKeyboardRemove())
    return ConversationHandler.END


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's Approve / Reject button on a registration request."""
    found = services(context)
    settings, users = found.settings, found.users
    query = update.callback_query
    if not await admin_or_refused(update, context, refusal="Chỉ quản trị viên (phòng Nội vụ) được duyệt."):
        return
    admin = update.effective_user.id  # type: ignore[union-attr]
    _, verdict, raw_id = query.data.split(":")  # type: ignore[union-attr]
    user = users.set_status(int(raw_id), "approved" if verdict == "approve" else "rejected", actor=admin)
    await query.answer()  # type: ignore[union-attr]
    if user is None:
        await query.edit_message_text("Người dùng này không còn.")  # type: ignore[union-attr]
        return
    unit = settings.unit(user.unit_code)
    word = "✅ Đã duyệt" if user.status == "approved" else "❌ Đã từ chối"
    await query.edit_message_text(
        f"{word}: {describe(user, unit.name if unit else user.unit_code)}",  # type: ignore[union-attr]
    )
    if user.chat_id:
        text = STATUS_TEXT[user.status] + ("\n\n" + HELP if user.status == "approved" else "")
        await send_html(context.bot, users, user.chat_id, text, retries=settings.telegram.send_retries)
