"""Admin commands for phòng Nội vụ: list, move, deactivate and reactivate users; export feedback."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import ContextTypes

from bot.access import admin_or_refused, button_data, callback_of, chat_id, reply, sender_id
from bot.registration import STATUS_WORD, admin_name, decided_by
from bot.services import services
from knowledge.labels import shorten
from office.users import Status, User

USER_FILTERS: dict[str, Status] = {"cho": "pending", "duyet": "approved", "khoa": "inactive", "tuchoi": "rejected"}
PAGE_BUDGET = 3600  # characters of user lines per page, under Telegram's 4,096 with the heading


def user_line(user: User) -> str:
    """One user in the listing: id, name, unit, position, status."""
    return (
        f"#{user.id} {escape(shorten(user.full_name, 60))} · {escape(user.unit_code)} · {escape(user.position)}"
        f" · {STATUS_WORD[user.status]}"
        + ("" if user.telegram_id else " · chưa liên kết Telegram")
        + (" · đã chặn trợ lý" if user.blocked else "")
    )


def user_pages(users: list[User]) -> list[list[str]]:
    """The listing's lines cut into pages that each fit one message."""
    pages: list[list[str]] = [[]]
    size = 0
    for line in map(user_line, users):
        if pages[-1] and size + len(line) + 1 > PAGE_BUDGET:
            pages.append([])
            size = 0
        pages[-1].append(line)
        size += len(line) + 1
    return pages


def users_page(users: list[User], wanted: str, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page `page` (from 1, clamped) of the listing, with ◀ / ▶ buttons when there is more than one."""
    pages = user_pages(users)
    page = min(max(page, 1), len(pages))
    heading = f"<b>Người dùng ({len(users)})</b>" + (f" · trang {page}/{len(pages)}" if len(pages) > 1 else "")
    text = "\n".join([heading, *pages[page - 1]])
    if len(pages) == 1:
        return text, None
    buttons = []
    if page > 1:
        buttons.append(InlineKeyboardButton("◀ Trước", callback_data=f"users:{wanted}:{page - 1}"))
    buttons.append(InlineKeyboardButton(f"{page}/{len(pages)}", callback_data="noop"))
    if page < len(pages):
        buttons.append(InlineKeyboardButton("Sau ▶", callback_data=f"users:{wanted}:{page + 1}"))
    return text, InlineKeyboardMarkup([buttons])


async def list_users(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/nguoidung [cho|duyet|khoa|tuchoi]: users with id, unit, position and status, a page at a time."""
    if not await admin_or_refused(update, context):
        return
    wanted = (context.args or [""])[0].lower()
    rows = services(context).users.find(status=USER_FILTERS.get(wanted))
    if not rows:
        await reply(update, context, "Chưa có người dùng nào.")
        return
    text, keyboard = users_page(rows, wanted if wanted in USER_FILTERS else "", 1)
    await reply(update, context, text, reply_markup=keyboard)


async def users_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """◀ / ▶ under the listing: show another page in the same message."""
    query = callback_of(update)
    if not await admin_or_refused(update, context, refusal="Chỉ quản trị viên."):
        return
    try:
        _, wanted, raw_page = button_data(update).split(":")
        page = int(raw_page)
    except ValueError:
        await query.answer()
        return
    rows = services(context).users.find(status=USER_FILTERS.get(wanted))
    await query.answer()
    if not rows:
        await query.edit_message_text("Chưa có người dùng nào.")
        return
    text, keyboard = users_page(rows, wanted, page)
    await query.edit_message_text(text, reply_markup=keyboard)


async def _user_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str, need: int
) -> tuple[int, list[str]] | None:
    """The user id and further arguments of an admin command, or None after a refusal or the usage line."""
    if not await admin_or_refused(update, context):
        return None
    try:
        args = context.args or []
        user_id = int(args[0])
        if len(args) < need:
            raise IndexError
    except (IndexError, ValueError):
        await reply(update, context, usage)
        return None
    return user_id, (context.args or [])[1:]


async def move_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/chuyen <id> <mã đơn vị>: move a user to another unit."""
    parsed = await _user_command(update, context, "Cách dùng: <code>/chuyen &lt;id&gt; &lt;mã đơn vị&gt;</code>", 2)
    if parsed is None:
        return
    found = services(context)
    settings = found.settings
    unit = settings.unit(" ".join(parsed[1]))
    if unit is None:
        codes = ", ".join(u.code for u in settings.units)
        await reply(update, context, f"Không có đơn vị này. Mã đơn vị: {escape(codes)}")
        return
    user_id, code, actor, by = parsed[0], unit.code, sender_id(update), admin_name(update)
    change = await found.on_db(lambda s: s.users.move(user_id, code, actor=actor, by=by))
    await reply(
        update, context, f"Đã chuyển #{parsed[0]} sang {escape(unit.name)}." if change else "Không có người dùng này."
    )


async def deactivate_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/khoa <id>: lock a user out (no answers, tasks or announcements) until /mokhoa."""
    parsed = await _user_command(update, context, "Cách dùng: <code>/khoa &lt;id&gt;</code>", 1)
    if parsed is None:
        return
    found = services(context)
    user_id, actor, by = parsed[0], sender_id(update), admin_name(update)
    change = await found.on_db(lambda s: s.users.lock(user_id, actor=actor, by=by))
    if change is None:
        text = "Không có người dùng này."
    elif change.changed:
        text = f"Đã khóa #{parsed[0]} ({escape(change.user.full_name)})."
    else:
        text = f"#{parsed[0]} đã bị khóa từ trước{decided_by(change, found.settings)}."
    await reply(update, context, text)


async def reactivate_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mokhoa <id>: lift a lock or a rejection (or approve a pending request)."""
    parsed = await _user_command(update, context, "Cách dùng: <code>/mokhoa &lt;id&gt;</code>", 1)
    if parsed is None:
        return
    user_id, actor, by = parsed[0], sender_id(update), admin_name(update)
    change = await services(context).on_db(lambda s: s.users.unlock(user_id, actor=actor, by=by))
    if change is None:
        text = "Không có người dùng này."
    elif change.changed:
        text = f"Đã mở khóa #{parsed[0]} ({escape(change.user.full_name)}): đã duyệt."
    else:
        text = f"#{parsed[0]} đang được duyệt, không cần mở khóa."
    await reply(update, context, text)


async def export_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/phanhoi: 👍/👎 with their questions and citations, as a CSV file."""
    if not await admin_or_refused(update, context):
        return
    data = (await services(context).on_db(lambda s: s.users.feedback_csv())).encode("utf-8-sig")
    await context.bot.send_document(
        chat_id(update),
        InputFile(data, filename="phan-hoi.csv"),
        caption="Phản hồi của người dùng",
    )
