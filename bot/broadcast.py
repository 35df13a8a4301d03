"""Announcements in Telegram: the background sender, /thongbao, /baocao and the "Đã nhận" button.

The sender takes pending rows from the outbox (office/broadcasts.py), sends them through the one
sending path, and marks each row only after Telegram answered. It runs beside the question handlers,
so questions are answered while a large broadcast goes out; a graceful stop lets the sends in flight
finish and be recorded, so a restart sends nobody a second copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from html import escape
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.ext import Application, ContextTypes, ConversationHandler

from bot.access import admin_or_refused, button_data, callback_of, message_of, reply, sender_id, user_data
from bot.ratelimit import BULK
from bot.sending import deliver
from bot.services import services
from office.broadcasts import Audience

log = logging.getLogger(__name__)
IN_FLIGHT = 16
POLL_SECONDS = 1.0
TEXT, ATTACH, AUDIENCE, UNITS, POSITIONS, ACK, CONFIRM = range(7)


# --------------------------------------------------------------------------------------------- sender


async def send_one(application: Application, row: dict, broadcast: dict) -> None:
    """Send one announcement to one recipient and record what Telegram said."""
    found = services(application)
    settings, users, box = found.settings, found.users, found.outbox
    bot, chat_id = application.bot, row["chat_id"]
    keyboard = (
        InlineKeyboardMarkup([[InlineKeyboardButton("✅ Đã nhận", callback_data=f"ack:{row['broadcast_id']}")]])
        if broadcast["ack"]
        else None
    )
    text = f"📢 <b>Thông báo</b>\n{broadcast['text']}"
    kind, path = broadcast["attachment_kind"], broadcast["attachment"]

    async def send() -> Message:
        if kind == "photo":
            return await bot.send_photo(
                chat_id,
                Path(path).read_bytes(),
                caption=text[:1024],
                reply_markup=keyboard,
                rate_limit_args=BULK,
            )
        if kind == "document":
            file = InputFile(Path(path).read_bytes(), filename=Path(path).name)
            return await bot.send_document(
                chat_id,
                file,
                caption=text[:1024],
                reply_markup=keyboard,
                rate_limit_args=BULK,
            )
        return await bot.send_message(chat_id, text, reply_markup=keyboard, rate_limit_args=BULK)

    outcome = await deliver(send, users, chat_id, retries=settings.telegram.send_retries)
    if outcome.message is not None:
        box.mark(row["broadcast_id"], row["telegram_id"], "sent", message_id=outcome.message.message_id)
    elif outcome.blocked:
        box.mark(row["broadcast_id"], row["telegram_id"], "blocked", error=outcome.error)
    else:
        box.mark(row["broadcast_id"], row["telegram_id"], "failed", error=outcome.error)


async def drain(application: Application, stop: asyncio.Event) -> int:
    """Send pending rows until none are left or a stop is asked (sends in flight finish first)."""
    box = services(application).outbox
    gate = asyncio.Semaphore(IN_FLIGHT)
    sent = 0
    while not stop.is_set() and (rows := box.pending()):
        broadcasts = {r["broadcast_id"]: box.broadcast(r["broadcast_id"]) for r in rows}

        async def one(row: dict, broadcasts: dict = broadcasts) -> None:
            async with gate:
                if stop.is_set():
                    return
                try:
                    await send_one(application, row, broadcasts[row["broadcast_id"]])
                except Exception:
                    log.exception("announcement %s to %s not sent", row["broadcast_id"], row["chat_id"])

        await asyncio.gather(*(one(r) for r in rows))
        sent += len(rows)
    return sent


async def sender_loop(application: Application) -> None:
    """Runs for the bot's lifetime: picks up announcements queued here or by `cchc broadcast send`."""
    stop: asyncio.Event = application.bot_data["broadcast_stop"]
    while not stop.is_set():
        try:
            await drain(application, stop)
        except Exception:
            log.exception("broadcast sender pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)


def start_sender(application: Application) -> None:
    application.bot_data["broadcast_stop"] = asyncio.Event()
    application.bot_data["broadcast_task"] = asyncio.get_running_loop().create_task(sender_loop(application))


async def stop_sender(application: Application) -> None:
    """Graceful stop: no new sends; the ones in flight finish and are recorded."""
    if "broadcast_task" in application.bot_data:
        application.bot_data["broadcast_stop"].set()
        await application.bot_data["broadcast_task"]


# --------------------------------------------------------------------------------------- /thongbao


def _draft(context: ContextTypes.DEFAULT_TYPE) -> dict:
    return user_data(context).setdefault("broadcast", {})


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/thongbao (admins): write the text first."""
    if not await admin_or_refused(update, context):
        return ConversationHandler.END
    user_data(context)["broadcast"] = {"units": [], "positions": []}
    await reply(update, context, "Soạn <b>nội dung thông báo</b> (gửi /huy để thôi):")
    return TEXT


async def got_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _draft(context)["text"] = message_of(update).text_html
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Bỏ qua", callback_data="bc:noattach")]])
    await reply(update, context, "Gửi <b>tệp hoặc ảnh đính kèm</b>, hoặc bấm Bỏ qua.", reply_markup=keyboard)
    return ATTACH


async def got_attachment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Keep the attached document or photo in the data dir, so a restart can still send it."""
    message = message_of(update)
    settings = services(context).settings
    if message.document:
        telegram_file, name, kind = await message.document.get_file(), message.document.file_name, "document"
    else:
        telegram_file, name, kind = await message.photo[-1].get_file(), "anh.jpg", "photo"
    folder = settings.data_dir / "attachments" / f"{sender_id(update)}-{message.message_id}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(name or "tep").name
    await telegram_file.download_to_drive(path)
    _draft(context).update(attachment=str(path), attachment_kind=kind)
    return await ask_audience(update, context)


async def skip_attachment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await callback_of(update).answer()
    return await ask_audience(update, context)


async def ask_audience(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Tất cả", callback_data="bc:aud:all")],
            [
                InlineKeyboardButton("Tất cả phòng ban", callback_data="bc:aud:phong-ban"),
                InlineKeyboardButton("Tất cả xã/phường", callback_data="bc:aud:xa-phuong"),
            ],
            [
                InlineKeyboardButton("Chọn đơn vị", callback_data="bc:aud:units"),
                InlineKeyboardButton("Chọn chức vụ", callback_data="bc:aud:positions"),
            ],
        ]
    )
    await reply(update, context, "Gửi tới <b>ai</b>?", reply_markup=keyboard)
    return AUDIENCE


def _choices(items: list[tuple[str, str]], chosen: list[str], prefix: str) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(("✅ " if key in chosen else "") + label, callback_data=f"{prefix}:{key}")]
        for key, label in items
    ]
    rows.append([InlineKeyboardButton("Xong", callback_data=f"{prefix}:done")])
    return InlineKeyboardMarkup(rows)


async def chose_audience(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    settings = services(context).settings
    query = callback_of(update)
    await query.answer()
    choice = button_data(update).split(":")[2]
    if choice == "units":
        units = [(u.code, u.name) for u in settings.units]
        await query.edit_message_text("Chọn đơn vị:", reply_markup=_choices(units, [], "bc:unit"))
        return UNITS
    if choice == "positions":
        positions = [(str(i), p) for i, p in enumerate(settings.positions)]
        await query.edit_message_text("Chọn chức vụ:", reply_markup=_choices(positions, [], "bc:pos"))
        return POSITIONS
    _draft(context)["units"] = [choice]
    return await ask_ack(update, context)


async def toggle_unit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _toggle(update, context, "units", "bc:unit", UNITS)


async def toggle_position(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _toggle(update, context, "positions", "bc:pos", POSITIONS)


async def _toggle(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, prefix: str, state: int) -> int:
    settings = services(context).settings
    query = callback_of(update)
    await query.answer()
    value = button_data(update).split(":")[2]
    draft = _draft(context)
    if value == "done":
        return await ask_ack(update, context) if draft[key] else state
    chosen = draft[key]
    chosen.remove(value) if value in chosen else chosen.append(value)
    items = (
        [(u.code, u.name) for u in settings.units]
        if key == "units"
        else [(str(i), p) for i, p in enumerate(settings.positions)]
    )
    await query.edit_message_reply_markup(_choices(items, chosen, prefix))
    return state


async def ask_ack(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yêu cầu xác nhận đã nhận", callback_data="bc:ack:1"),
                InlineKeyboardButton("Không cần", callback_data="bc:ack:0"),
            ]
        ]
    )
    await reply(update, context, "Có yêu cầu người nhận bấm <b>Đã nhận</b> không?", reply_markup=keyboard)
    return ACK


def _audience(context: ContextTypes.DEFAULT_TYPE) -> Audience:
    settings = services(context).settings
    draft = _draft(context)
    positions = [settings.positions[int(i)] for i in draft["positions"]]
    return Audience(units=list(draft["units"]), positions=positions)


async def chose_ack(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Preview with the exact recipient count, then Gửi / Hủy."""
    found = services(context)
    settings, users = found.settings, found.users
    query = callback_of(update)
    await query.answer()
    draft = _draft(context)
    draft["ack"] = button_data(update).endswith(":1")
    audience = _audience(context)
    count = len(services(context).outbox.recipients(users, audience))
    attached = " (kèm tệp)" if draft.get("attachment") else ""
    preview = (
        f"<b>Xem trước</b>{attached}\n📢 <b>Thông báo</b>\n{draft['text']}\n\n"
        f"Người nhận: <b>{count}</b> ({escape(audience.describe(settings))})"
        + ("\nYêu cầu xác nhận: có" if draft["ack"] else "")
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📤 Gửi", callback_data="bc:send"),
                InlineKeyboardButton("Hủy", callback_data="bc:cancel"),
            ]
        ]
    )
    await reply(update, context, preview, reply_markup=keyboard)
    return CONFIRM


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    found = services(context)
    settings, users = found.settings, found.users
    query = callback_of(update)
    await query.answer()
    if query.data == "bc:cancel":
        await query.edit_message_text("Đã hủy thông báo.")
        return ConversationHandler.END
    draft, audience = _draft(context), _audience(context)
    recipients = services(context).outbox.recipients(users, audience)
    admin = sender_id(update)
    broadcast_id = services(context).outbox.create(
        admin,
        draft["text"],
        recipients,
        audience,
        draft["ack"],
        draft.get("attachment", ""),
        draft.get("attachment_kind", ""),
    )
    users.audit(admin, "broadcast", str(broadcast_id), f"{len(recipients)} recipients: {audience.describe(settings)}")
    await query.edit_message_text(
        f"Đã xếp hàng thông báo #{broadcast_id} tới {len(recipients)} người. Xem tiến độ: /baocao {broadcast_id}",
        reply_markup=report_keyboard(broadcast_id, draft["ack"]),
    )
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await reply(update, context, "Đã hủy soạn thông báo.")
    return ConversationHandler.END


# ------------------------------------------------------------------------------------ /baocao, ack


def report_keyboard(broadcast_id: int, ack: bool) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton("📊 Báo cáo", callback_data=f"bcr:{broadcast_id}")]
    if ack:
        buttons.append(InlineKeyboardButton("🔔 Nhắc người chưa nhận", callback_data=f"bcn:{broadcast_id}"))
    return InlineKeyboardMarkup([buttons])


def report_text(context: ContextTypes.DEFAULT_TYPE, broadcast_id: int) -> str | None:
    settings = services(context).settings
    report = services(context).outbox.report(broadcast_id)
    if report is None:
        return None
    lines = [
        f"<b>Báo cáo thông báo #{broadcast_id}</b>",
        f"Tổng: {report.total} · Đã gửi: {report.delivered} · Đang chờ: {report.pending} · "
        f"Lỗi: {report.failed} · Đã chặn trợ lý: {report.blocked}",
    ]
    if report.ack_asked:
        lines.append(f"Đã xác nhận: {report.acknowledged}/{report.delivered}")
        missing = [escape(settings.unit_name(u)) for u in report.units_not_acknowledged]
        lines.append("Đơn vị chưa xác nhận: " + (", ".join(missing) or "không có"))
    return "\n".join(lines)


async def report_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/baocao <id> (admins): delivered / failed / blocked / acknowledged, and who has not acknowledged."""
    if not await admin_or_refused(update, context):
        return
    try:
        broadcast_id = int((context.args or [""])[0])
    except ValueError:
        await reply(update, context, "Cách dùng: <code>/baocao &lt;số thông báo&gt;</code>")
        return
    text = report_text(context, broadcast_id)
    broadcast = services(context).outbox.broadcast(broadcast_id)
    await reply(
        update,
        context,
        text or "Không có thông báo này.",
        reply_markup=report_keyboard(broadcast_id, bool(broadcast["ack"])) if broadcast else None,
    )


async def report_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """📊 Báo cáo (admins): the delivery and acknowledgement report."""
    query = callback_of(update)
    if not await admin_or_refused(update, context, refusal="Chỉ quản trị viên."):
        return
    await query.answer()
    await reply(
        update, context, report_text(context, int(button_data(update).split(":")[1])) or "Không có thông báo này."
    )


async def nudge_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the announcement again, asking for acknowledgement, to those who have not acknowledged."""
    query = callback_of(update)
    if not await admin_or_refused(update, context, refusal="Chỉ quản trị viên."):
        return
    users = services(context).users
    admin = sender_id(update)
    parent = int(button_data(update).split(":")[1])
    box = services(context).outbox
    original = box.broadcast(parent)
    waiting = set(box.unacknowledged(parent))
    recipients = [u for u in users.reachable() if u.telegram_id in waiting]
    if original is None or not recipients:
        await query.answer("Không còn ai chưa xác nhận.")
        return
    text = f"🔔 Nhắc lại (thông báo #{parent}):\n{original['text']}"
    new_id = box.create(
        admin, text, recipients, Audience(), True, original["attachment"], original["attachment_kind"], parent=parent
    )
    users.audit(admin, "broadcast-nudge", str(new_id), f"{len(recipients)} recipients of #{parent}")
    await query.answer(f"Đã nhắc {len(recipients)} người.")


async def ack_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Đã nhận": counted once per recipient, however often it is pressed."""
    query = callback_of(update)
    broadcast_id = int(button_data(update).split(":")[1])
    box = services(context).outbox
    first = box.acknowledge(broadcast_id, sender_id(update))
    broadcast = box.broadcast(broadcast_id)
    if first and broadcast and broadcast["parent"]:  # a nudge: acknowledging it acknowledges the original
        box.acknowledge(broadcast["parent"], sender_id(update))
    await query.answer("Đã ghi nhận, cảm ơn!" if first else "Bạn đã xác nhận rồi.")
