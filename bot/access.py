"""Who may do what, and the one way to answer in the chat an update came from."""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.sending import send_html
from bot.services import services
from office.users import User

NOT_APPROVED = "Bạn chưa được duyệt sử dụng trợ lý. Gõ /start trong tin nhắn riêng với trợ lý để đăng ký."
PENDING = "Yêu cầu đăng ký của bạn đang chờ duyệt. Trợ lý sẽ báo khi phòng Nội vụ duyệt xong."
ADMINS_ONLY = "Lệnh này chỉ dành cho quản trị viên (phòng Nội vụ)."
PRIVATE_ONLY = "Lệnh này chỉ dùng trong tin nhắn riêng với trợ lý."


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, **kwargs: Any) -> Message | None:
    """Answer in the chat the update came from, through the one sending path."""
    found = services(context)
    chat = update.effective_chat
    if chat is None:
        return None
    return await send_html(context.bot, found, chat.id, text, retries=found.settings.telegram.send_retries, **kwargs)


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, stranger: bool) -> None:
    """Say no: a button press gets an alert; a message gets a reply, but a stranger (anyone who is neither an
    approved official nor an admin) at most one in the window of the question limit, so spam is not echoed."""
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
        return
    if stranger and update.effective_user and services(context).refusals.wait_seconds(update.effective_user.id):
        return
    await reply(update, context, text)


async def approved_or_refused(update: Update, context: ContextTypes.DEFAULT_TYPE) -> User | None:
    """The approved official who sent the update; anyone else is told why not and gets None."""
    found = services(context)
    users = found.users
    sender = update.effective_user
    user = users.by_telegram(sender.id) if sender else None
    if user is not None and user.status == "approved":
        if (
            user.blocked
            and user.telegram_id
            and update.effective_chat
            and update.effective_chat.type == ChatType.PRIVATE
        ):
            back = user.telegram_id  # written behind: a busy database never holds up the answer
            found.write_behind(lambda s: s.users.mark_reachable(back), f"official {back} reachable again")
        return user
    text = PENDING if user is not None and user.status == "pending" else NOT_APPROVED
    await refuse(update, context, text, stranger=not (sender and found.settings.telegram.is_admin(sender.id)))
    return None


async def admin_or_refused(update: Update, context: ContextTypes.DEFAULT_TYPE, refusal: str = ADMINS_ONLY) -> bool:
    """True for an admin in a private chat with the bot. Anyone else is refused with `refusal` and the attempt
    is audited; in a group everyone, admins included, gets the same short refusal that discloses nothing."""
    found = services(context)
    sender = update.effective_user
    admin = sender is not None and found.settings.telegram.is_admin(sender.id)
    private = update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE
    if admin and private:
        return True
    attempt = update.callback_query.data if update.callback_query else getattr(update.effective_message, "text", "")
    actor, detail = (sender.id if sender else 0), (attempt or "")[:200]
    found.write_behind(
        lambda s: s.users.audit(actor, "denied", "admin-command", detail), f"refused admin command of {actor}"
    )
    user = found.users.by_telegram(sender.id) if sender else None
    stranger = not admin and (user is None or user.status != "approved")
    await refuse(update, context, refusal if private else PRIVATE_ONLY, stranger=stranger)
    return False


def sender_id(update: Update) -> int:
    """The Telegram id of who sent the update (every update the handlers take has a sender)."""
    if update.effective_user is None:
        raise ValueError("update without a sender")
    return update.effective_user.id


def chat_id(update: Update) -> int:
    """The chat the update came from."""
    if update.effective_chat is None:
        raise ValueError("update without a chat")
    return update.effective_chat.id


def message_of(update: Update) -> Message:
    """The message of a message update (a command or text)."""
    if update.effective_message is None:
        raise ValueError("update without a message")
    return update.effective_message


def callback_of(update: Update) -> CallbackQuery:
    """The button press of a callback-query update."""
    if update.callback_query is None:
        raise ValueError("update without a callback query")
    return update.callback_query


def button_data(update: Update) -> str:
    """The callback data of the button pressed ('' if it carried none)."""
    data = callback_of(update).data
    return data if isinstance(data, str) else ""


def button_numbers(update: Update, count: int) -> list[int] | None:
    """The first `count` fields after the button's kind, as numbers ('sug:12:3' -> [12, 3]); None when it
    carries fewer or other fields (an old or forged button)."""
    fields = button_data(update).split(":")[1 : count + 1]
    if len(fields) < count or not all(is_number(field) for field in fields):
        return None
    return [int(field) for field in fields]


def is_number(field: str) -> bool:
    """A button field the bot could have written as a number: ASCII digits, short enough for SQLite."""
    return field.isascii() and field.isdigit() and len(field) <= 18


def vote_row(answer_id: int | str) -> list[InlineKeyboardButton]:
    """👍 / 👎 under an answer (vote:<answer id>:1 or :-1)."""
    return [
        InlineKeyboardButton("👍", callback_data=f"vote:{answer_id}:1"),
        InlineKeyboardButton("👎", callback_data=f"vote:{answer_id}:-1"),
    ]


def key_and_number(update: Update, kind: str) -> tuple[str, int | None]:
    """A button 'kind:key:n' as (key, n); n is None when it is not a number. Keys may hold ':' themselves."""
    key, _, raw = button_data(update).removeprefix(kind).rpartition(":")
    return key, int(raw) if is_number(raw) else None


def user_data(context: ContextTypes.DEFAULT_TYPE) -> dict[Any, Any]:
    """The per-user scratch space of a conversation (PTB gives one to every update with a user)."""
    if context.user_data is None:
        raise ValueError("update without a user")
    return context.user_data
