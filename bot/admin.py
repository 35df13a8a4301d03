"""Admin commands for phòng Nội vụ: list, move, deactivate and reactivate users; export feedback."""

from __future__ import annotations

from html import escape

from telegram import InputFile, Update
from telegram.ext import ContextTypes

from bot.access import admin_or_refused, chat_id, reply, sender_id
from bot.services import services
from office.users import Status

STATUS_WORD = {"approved": "đã duyệt", "pending": "chờ duyệt", "rejected": "từ chối", "inactive": "đã khóa"}


async def list_users(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/nguoidung [cho|duyet|khoa]: users with id, unit, position and status."""
    if not await admin_or_refused(update, context):
        return
    users = services(context).users
    wanted: dict[str, Status] = {"cho": "pending", "duyet": "approved", "khoa": "inactive"}
    rows = users.find(status=wanted.get((context.args or [""])[0]))
    if not rows:
        await reply(update, context, "Chưa có người dùng nào.")
        return
    lines = [f"<b>Người dùng ({len(rows)})</b>"] + [
        f"#{u.id} {escape(u.full_name)} · {escape(u.unit_code)} · {escape(u.position)} · {STATUS_WORD[u.status]}"
        + ("" if u.telegram_id else " · chưa liên kết Telegram")
        + (" · đã chặn trợ lý" if u.blocked else "")
        for u in rows
    ]
    await reply(update, context, "\n".join(lines[:200]))


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
    settings, users = found.settings, found.users
    unit = settings.unit(" ".join(parsed[1]))
    if unit is None:
        codes = ", ".join(u.code for u in settings.units)
        await reply(update, context, f"Không có đơn vị này. Mã đơn vị: {escape(codes)}")
        return
    user = users.move(parsed[0], unit.code, actor=sender_id(update))
    await reply(
        update, context, f"Đã chuyển #{parsed[0]} sang {escape(unit.name)}." if user else "Không có người dùng này."
    )


async def _set_status(
    update: Update, context: ContextTypes.DEFAULT_TYPE, status: Status, usage: str, done: str
) -> None:
    parsed = await _user_command(update, context, usage, 1)
    if parsed is None:
        return
    users = services(context).users
    user = users.set_status(parsed[0], status, actor=sender_id(update))
    await reply(update, context, done.format(id=parsed[0]) if user else "Không có người dùng này.")


async def deactivate_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/khoa <id>: deactivate a user (no answers, tasks or announcements)."""
    await _set_status(update, context, "inactive", "Cách dùng: <code>/khoa &lt;id&gt;</code>", "Đã khóa #{id}.")


async def reactivate_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mokhoa <id>: approve (or re-approve) a user."""
    await _set_status(update, context, "approved", "Cách dùng: <code>/mokhoa &lt;id&gt;</code>", "Đã mở khóa #{id}.")


async def export_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/phanhoi: 👍/👎 with their questions and citations, as a CSV file."""
    if not await admin_or_refused(update, context):
        return
    users = services(context).users
    data = users.feedback_csv().encode("utf-8-sig")
    await context.bot.send_document(
        chat_id(update),
        InputFile(data, filename="phan-hoi.csv"),
        caption="Phản hồi của người dùng",
    )
