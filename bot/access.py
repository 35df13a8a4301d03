"""Who may do what, and the one way to answer in the chat an update came from."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.sending import send_html
from bot.services import services

NOT_APPROVED = "Bạn chưa được duyệt sử dụng trợ lý. Gõ /start trong tin nhắn riêng với trợ lý để đăng ký."
PENDING = "Yêu cầu đăng ký của bạn đang chờ duyệt. Trợ lý sẽ báo khi phòng Nội vụ duyệt xong."
ADMINS_ONLY = "Lệnh này chỉ dành cho quản trị viên (phòng Nội vụ)."


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, **kwargs: Any) -> Message | None:
    """Answer in the chat the update came from, through the one sending path."""
    found = services(context)
    chat = update.effective_chat
    if chat is None:
        return None
    return await send_html(
        context.bot, found.users, chat.id, text, retries=found.settings.telegram.send_retries, **kwargs
    )


async def approved_or_refused(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True for an approved official; anyone else is told why not and gets nothing more."""
    users = services(context).users
    sender = update.effective_user
    user = users.by_telegram(sender.id) if sender else None
    if user is not None and user.status == "approved":
        if (
            user.blocked
            and user.telegram_id
            and update.effective_chat
            and update.effective_chat.type == ChatType.PRIVATE
        ):
            users.mark_reachable(user.telegram_id)
        return True
    if update.callback_query:
        await update.callback_query.answer(NOT_APPROVED, show_alert=True)
    else:
        await reply(update, context, PENDING if user is not None and user.status == "pending" else NOT_APPROVED)
    return False


async def admin_or_refused(update: Update, context: ContextTypes.DEFAULT_TYPE, refusal: str = ADMINS_ONLY) -> bool:
    """True for an admin; anyone else is refused with `refusal` and the attempt is audited."""
    found = services(context)
    sender = update.effective_user
    if sender is not None and found.settings.telegram.is_admin(sender.id):
        return True
    attempt = update.callback_query.data if update.callback_query else getattr(update.effective_message, "text", "")
    found.users.audit(sender.id if sender else 0, "denied", "admin-command", (attempt or "")[:200])
    if update.callback_query:
        await update.callback_query.answer(refusal, show_alert=True)
    else:
        await reply(update, context, refusal)
    return False
