"""/start: an official registers (name, unit, position, or a shared phone number) and admins decide."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import ContextTypes, ConversationHandler

from base.settings import Settings
from bot.access import admin_or_refused, button_data, callback_of, chat_id, message_of, reply, sender_id, user_data
from bot.menus import show_admin_menu
from bot.render import HELP
from bot.sending import send_html
from bot.services import services
from knowledge.labels import shorten
from office.users import STANDING, Change, User, typed_position, typed_unit

NAME, UNIT, POSITION = range(3)
ASK_NAME = (
    "Xin chào! Để dùng Trợ lý CCHC, xin cho biết <b>họ và tên</b> của bạn.\n"
    "Nếu đơn vị đã gửi danh sách cán bộ, bấm <b>📱 Chia sẻ số điện thoại</b> để được xác nhận ngay.\n"
    "Gõ /huy để hủy đăng ký."
)
STATUS_TEXT = {
    "approved": "Bạn đã được duyệt và có thể đặt câu hỏi.",
    "pending": "Yêu cầu đăng ký của bạn đang chờ duyệt. Trợ lý sẽ báo khi phòng Nội vụ duyệt xong.",
    "rejected": "Yêu cầu đăng ký của bạn không được duyệt. Xin liên hệ phòng Nội vụ.",
    "inactive": "Tài khoản của bạn đang bị khóa. Xin liên hệ phòng Nội vụ.",
}
STATUS_WORD = {"approved": "đã duyệt", "pending": "chờ duyệt", "rejected": "từ chối", "inactive": "đã khóa"}


def describe(user: User, settings: Settings) -> str:
    """'Name · Unit · Position', escaped for Telegram HTML."""
    return f"{escape(user.full_name)} · {escape(settings.unit_name(user.unit_code))} · {escape(user.position)}"


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton("📱 Chia sẻ số điện thoại", request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def unit_keyboard(settings: Settings) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(u.name, callback_data=f"unit:{u.code}") for u in settings.units]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def position_keyboard(settings: Settings) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(p, callback_data=f"pos:{i}")] for i, p in enumerate(settings.positions)]
    )


def unit_prompt(name: str) -> str:
    return f"Chào {escape(name)}. Xin chọn <b>đơn vị</b> công tác (bấm nút, hoặc gõ tên hay mã đơn vị):"


def position_prompt(unit_name: str) -> str:
    return f"Đơn vị: <b>{escape(unit_name)}</b>\nXin chọn <b>chức vụ</b> (bấm nút, hoặc gõ chức vụ):"


def forget(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop what the official gave so far (the next /start begins again)."""
    for key in ("full_name", "unit_code"):
        user_data(context).pop(key, None)


async def ask_step(update: Update, context: ContextTypes.DEFAULT_TYPE, note: str = "") -> int:
    """Ask the step the official is at (from what they gave so far), with its buttons; `note` goes first."""
    settings = services(context).settings
    data = user_data(context)
    lead = f"{note}\n" if note else ""
    if "full_name" not in data:
        await reply(update, context, lead + ASK_NAME, reply_markup=contact_keyboard())
        return NAME
    if "unit_code" not in data:
        prompt = unit_prompt(data["full_name"])
        await reply(update, context, lead + prompt, reply_markup=unit_keyboard(settings))
        return UNIT
    prompt = position_prompt(settings.unit_name(data["unit_code"]))
    await reply(update, context, lead + prompt, reply_markup=position_keyboard(settings))
    return POSITION


def decided_by(change: Change, settings: Settings) -> str:
    """' bởi Nguyễn Văn A lúc 08:15 12/03/2026' for the decision that stands ('' when nobody recorded made it)."""
    standing = change.standing
    if standing is None:
        return ""
    who = "quản trị hệ thống (dòng lệnh)" if standing.by_operator else standing.by
    when = datetime.fromisoformat(standing.at).astimezone(ZoneInfo(settings.reminders.timezone))
    return f" bởi {escape(who)} lúc {when:%H:%M %d/%m/%Y}"


def admin_name(update: Update) -> str:
    """The name recorded for an admin's decision: their Telegram name."""
    sender = update.effective_user
    return sender.full_name if sender else ""


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/start: greet a known official, or begin registration; an admin also gets the admin menu."""
    found = services(context)
    users = found.users
    if found.settings.telegram.is_admin(sender_id(update)) and sender_id(update) not in users.admin_menu_holders():
        await show_admin_menu(context.bot, users, sender_id(update))
    user = users.by_telegram(sender_id(update))
    if user is not None:
        await reply(update, context, STATUS_TEXT[user.status] + ("\n\n" + HELP if user.status == "approved" else ""))
        return ConversationHandler.END
    forget(context)
    return await ask_step(update, context)


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/start (or any other command) in the middle of registering: the step the official left off at."""
    command = (message_of(update).text or "").split(maxsplit=1)[0]
    if command.split("@")[0] == "/start":
        return await ask_step(update, context, "Tiếp tục đăng ký:")
    note = f"Bạn đang đăng ký sử dụng trợ lý; {escape(command)} dùng được sau khi đăng ký xong. Gõ /huy để hủy."
    return await ask_step(update, context, note)


async def got_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A shared phone number that matches the imported staff list approves the official at once."""
    found = services(context)
    settings = found.settings
    contact = message_of(update).contact
    if contact is None or contact.user_id != sender_id(update):
        await reply(update, context, "Xin chia sẻ số điện thoại của chính bạn (nút bên dưới).")
        return NAME
    telegram_id, chat, phone = sender_id(update), chat_id(update), contact.phone_number
    user = await found.on_db(lambda s: s.users.link_by_phone(telegram_id, chat, phone))
    if user is not None and user.status != "approved":  # a lock or a rejection stands
        forget(context)
        await reply(update, context, STATUS_TEXT[user.status], reply_markup=ReplyKeyboardRemove())
        return ConversationHandler.END
    if user is None and "full_name" in user_data(context):
        return await ask_step(update, context, "Số này chưa có trong danh sách cán bộ; xin đăng ký tiếp.")
    if user is None:
        await reply(
            update,
            context,
            "Số này chưa có trong danh sách cán bộ. Xin nhập <b>họ và tên</b> để đăng ký.",
            reply_markup=ReplyKeyboardRemove(),
        )
        return NAME
    forget(context)
    await reply(
        update,
        context,
        f"Đã xác nhận: {describe(user, settings)}.\n\n{HELP}",
        reply_markup=ReplyKeyboardRemove(),
    )
    return ConversationHandler.END


async def got_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The official's full name; then the unit, from a keyboard or typed."""
    name = " ".join((message_of(update).text or "").split())
    if not 3 <= len(name) <= 100:
        await reply(update, context, "Xin nhập họ và tên đầy đủ (3 đến 100 ký tự).")
        return NAME
    user_data(context)["full_name"] = name
    return await ask_step(update, context)


async def got_unit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The unit pressed (also from an earlier keyboard, to change it); then the position."""
    settings = services(context).settings
    query = callback_of(update)
    unit = settings.unit(button_data(update).split(":", 1)[1])
    await query.answer()
    data = user_data(context)
    if unit is None or "full_name" not in data:
        return await ask_step(update, context)
    data["unit_code"] = unit.code
    await query.edit_message_text(position_prompt(unit.name), reply_markup=position_keyboard(settings))
    return POSITION


async def unit_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A unit typed instead of pressed: taken when it names one unit, else the step is asked again."""
    text = message_of(update).text or ""
    unit = typed_unit(services(context).settings, text)
    if unit is None:
        note = f"Chưa nhận ra đơn vị «{escape(shorten(text, 60))}». Xin bấm một nút bên dưới."
        return await ask_step(update, context, note)
    user_data(context)["unit_code"] = unit.code
    return await ask_step(update, context)


async def got_position(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The position pressed: register."""
    settings = services(context).settings
    query = callback_of(update)
    await query.answer()
    try:
        position = settings.positions[int(button_data(update).split(":", 1)[1])]
    except (IndexError, ValueError):
        return POSITION
    if not {"full_name", "unit_code"} <= user_data(context).keys():
        return await ask_step(update, context)
    text = await register(update, context, position)
    await query.edit_message_text(text)
    return ConversationHandler.END


async def position_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """A position typed instead of pressed: taken when it names one position, else the step is asked again."""
    text = message_of(update).text or ""
    position = typed_position(services(context).settings, text)
    if position is None:
        note = f"Chưa nhận ra chức vụ «{escape(shorten(text, 60))}». Xin bấm một nút bên dưới."
        return await ask_step(update, context, note)
    await reply(update, context, await register(update, context, position))
    return ConversationHandler.END


async def register(update: Update, context: ContextTypes.DEFAULT_TYPE, position: str) -> str:
    """Record the registration, approved at once or sent to the admins; the text to tell the official."""
    found = services(context)
    settings = found.settings
    telegram_id = sender_id(update)
    approved = not settings.telegram.approval_required or settings.telegram.is_admin(telegram_id)
    data = user_data(context)
    chat, name, unit = chat_id(update), data["full_name"], data["unit_code"]
    user = await found.on_db(lambda s: s.users.register(telegram_id, chat, name, unit, position, approved))
    forget(context)
    if user.status in STANDING:  # a lock or a rejection stands
        return STATUS_TEXT[user.status]
    summary = describe(user, settings)
    if approved:
        return f"Đăng ký thành công: {summary}.\n\n{HELP}"
    await notify_admins(context, user, summary)
    return f"Đã gửi yêu cầu: {summary}.\n{STATUS_TEXT['pending']}"


async def notify_admins(context: ContextTypes.DEFAULT_TYPE, user: User, summary: str) -> None:
    found = services(context)
    settings = found.settings
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
            found,
            admin_id,
            f"Yêu cầu đăng ký mới (#{user.id}): {summary}",
            retries=settings.telegram.send_retries,
            reply_markup=keyboard,
        )


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/huy: stop registering; what was given so far is forgotten."""
    forget(context)
    await reply(update, context, "Đã hủy đăng ký. Gõ /start để bắt đầu lại.", reply_markup=ReplyKeyboardRemove())
    return ConversationHandler.END


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's Approve / Reject button: acts only on a request still pending, and says who decided."""
    found = services(context)
    settings = found.settings
    query = callback_of(update)
    if not await admin_or_refused(update, context, refusal="Chỉ quản trị viên (phòng Nội vụ) được duyệt."):
        return
    _, verdict, raw_id = button_data(update).split(":")
    user_id, approve, actor, by = int(raw_id), verdict == "approve", sender_id(update), admin_name(update)
    change = await found.on_db(lambda s: s.users.decide(user_id, approve, actor=actor, by=by))
    if change is None:
        await query.answer()
        await query.edit_message_text("Người dùng này không còn.")
        return
    user = change.user
    if not change.changed:
        earlier = f"Yêu cầu này đã được xử lý trước: {STATUS_WORD[user.status]}{decided_by(change, settings)}."
        await query.answer(earlier, show_alert=True)
        await query.edit_message_text(f"{earlier}\n{describe(user, settings)}")
        return
    await query.answer()
    word = "✅ Đã duyệt" if user.status == "approved" else "❌ Đã từ chối"
    await query.edit_message_text(f"{word} bởi {escape(admin_name(update))}: {describe(user, settings)}")
    if user.chat_id:
        text = STATUS_TEXT[user.status] + ("\n\n" + HELP if user.status == "approved" else "")
        await send_html(context.bot, found, user.chat_id, text, retries=settings.telegram.send_retries)
