"""Announcements in Telegram: the background sender, /thongbao, /baocao and the "Đã nhận" button.

The sender claims due rows of the outbox (office/broadcasts.py), sends each through the one sending path
and records what Telegram said, all records made on the database thread. It runs beside the question
handlers, so questions are answered while a large broadcast goes out. A row that cannot be sent is tried
again later with a growing wait, then marked failed with the reason, and never holds back the rows after
it. When the database cannot record a delivery, the sender stops sending, raises an alarm in the log and
waits longer each time; the deliveries Telegram accepted meanwhile are recorded as soon as it can write.
An attachment is uploaded once; the other recipients get Telegram's file_id. A graceful stop lets the
sends in flight finish and be recorded, so a restart sends nobody a second copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from html import escape
from pathlib import Path
from typing import Any, Literal, TypeVar

from telegram import Document, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, PhotoSize, Update
from telegram.ext import Application, ContextTypes, ConversationHandler

from base.settings import Settings
from bot.access import (
    admin_or_refused,
    button_data,
    callback_of,
    chat_id,
    message_of,
    reply,
    sender_id,
    user_data,
)
from bot.ratelimit import BULK
from bot.sending import Outcome, deliver, send_all
from bot.services import Stores, services
from bot.telegram_html import CAPTION_LIMIT, MESSAGE_LIMIT, split
from office.broadcasts import Audience
from office.reminders import local_now

log = logging.getLogger(__name__)
IN_FLIGHT = 16  # sends awaiting Telegram at once; AIORateLimiter keeps the overall rate
BATCH = 64  # rows claimed at a time
POLL_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 300  # while the database cannot record deliveries
HEADING = "📢 <b>Thông báo</b>"
NUDGE_GAP = timedelta(hours=1)
SENDER = "broadcast_sender"
TEXT, ATTACH, AUDIENCE, UNITS, POSITIONS, ACK, CONFIRM = range(7)
Result = TypeVar("Result")


# --------------------------------------------------------------------------------------------- sender


@dataclass(frozen=True)
class Attempt:
    """What one attempt at one claimed row came to."""

    row: dict[str, Any]
    status: Literal["sent", "blocked", "failed", "retry"]
    message_id: int | None = None
    error: str = ""
    file_id: str = ""  # of the attachment this attempt uploaded


def message_parts(broadcast: dict[str, Any]) -> list[str]:
    """The messages one recipient gets: an announcement under its heading, a notice as it is; cut where
    Telegram's limits demand (the first part is the attachment's caption when there is one)."""
    text = broadcast["text"] if broadcast["kind"] == "notice" else f"{HEADING}\n{broadcast['text']}"
    return split(text, MESSAGE_LIMIT, first_limit=CAPTION_LIMIT if broadcast["attachment_kind"] else None)


def record(stores: Stores, attempt: Attempt, attempts: int, first_wait: float) -> None:
    """Work for the database thread: write down what became of an attempt."""
    row, outbox = attempt.row, stores.outbox
    broadcast_id, telegram_id = row["broadcast_id"], row["telegram_id"]
    if attempt.status == "sent":
        outbox.mark(broadcast_id, telegram_id, "sent", message_id=attempt.message_id, file_id=attempt.file_id)
    elif attempt.status == "blocked":
        outbox.mark(broadcast_id, telegram_id, "blocked", error=attempt.error)
        stores.users.mark_blocked(row["chat_id"])
    elif attempt.status == "retry":
        outbox.retry_or_fail(row, attempt.error, attempts, first_wait)
    else:
        outbox.mark(broadcast_id, telegram_id, "failed", error=attempt.error)


class RecordingFailed(Exception):
    """The database refused to record a claim or a delivery (locked past the busy timeout, disk full,
    read-only): the sender pauses instead of sending what it could not record."""


class Sender:
    """The background sender of one running bot."""

    def __init__(self, application: Application) -> None:
        self.application = application
        self.stop = asyncio.Event()
        self.wake = asyncio.Event()
        self.file_ids: dict[int, str] = {}  # broadcast id -> file_id of its uploaded attachment
        self.uploads: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.unrecorded: list[Attempt] = []  # accepted by Telegram, not yet written down
        self.release_claims = True  # claims left unsent (by a stop or a pause) are released before a pass
        self.refusing = threading.Event()  # set on the database thread when the database refused a record
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Runs for the bot's lifetime: picks up what is queued here or by `cchc broadcast send`."""
        pauses = 0
        while not self.stop.is_set():
            try:
                attempted = await self.send_due()
                if pauses:
                    log.warning("announcements resumed: the database records deliveries again")
                pauses = 0
            except RecordingFailed as exc:
                pauses += 1
                delay = min(LONGEST_PAUSE_SECONDS, 2**pauses)
                log.critical(
                    "ALARM: announcements paused for %d s: the database cannot record deliveries (%s); "
                    "%d delivered message(s) wait to be recorded",
                    delay,
                    exc,
                    len(self.unrecorded),
                )
                await self.rest(delay)
                continue
            except Exception:
                log.exception("broadcast sender pass failed")
                self.release_claims = True  # what this pass claimed is due again
                attempted = 0
            if not attempted:
                await self.rest(POLL_SECONDS, wakeable=True)
        with contextlib.suppress(RecordingFailed):
            await self.record_unrecorded()
        if self.unrecorded:
            log.critical("stopped with %d delivered message(s) not recorded: may be sent again", len(self.unrecorded))

    async def rest(self, seconds: float, wakeable: bool = False) -> None:
        """Wait `seconds`, or less if asked to stop (or, when `wakeable`, when something new is queued)."""
        waits = [asyncio.ensure_future(self.stop.wait())]
        if wakeable:
            waits.append(asyncio.ensure_future(self.wake.wait()))
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
        self.wake.clear()

    async def on_db(self, work: Callable[[Stores], Result]) -> Result:
        """Database work the sender cannot go on without: a refusal becomes RecordingFailed."""
        try:
            return await services(self.application).on_db(work)
        except sqlite3.Error as exc:
            raise RecordingFailed(f"{type(exc).__name__}: {exc}") from exc

    def recording(self, attempt: Attempt) -> Callable[[Stores], None]:
        """Work for the database thread: record `attempt` under the configured attempts and waits. Once the
        database refused one record, the others of the pass are not tried (each would wait the busy timeout)."""
        telegram = services(self.application).settings.telegram

        def work(stores: Stores) -> None:
            if self.refusing.is_set():
                raise RecordingFailed("an earlier record of this pass was refused")
            try:
                record(stores, attempt, telegram.delivery_attempts, telegram.retry_seconds)
            except sqlite3.Error:
                self.refusing.set()
                raise

        return work

    async def record_unrecorded(self) -> None:
        """Write down the deliveries the database refused earlier, oldest first."""
        while self.unrecorded:
            await self.on_db(self.recording(self.unrecorded[0]))
            self.unrecorded.pop(0)

    async def send_due(self) -> int:
        """One pass: record what waits to be, claim the rows due now and send them; returns rows attempted."""
        self.refusing.clear()
        await self.record_unrecorded()
        if self.release_claims:
            released = await self.on_db(lambda s: s.outbox.release_claims())
            if released:
                log.info("%d claimed announcement(s) not recorded as sent: due again", released)
            self.release_claims = False
        now = datetime.now(UTC)
        rows = await self.on_db(lambda s: s.outbox.claim(now, BATCH))
        if not rows:
            return 0
        ids = {r["broadcast_id"] for r in rows}
        broadcasts = await self.on_db(lambda s: {i: s.outbox.broadcast(i) for i in ids})
        gate = asyncio.Semaphore(IN_FLIGHT)
        refused: list[RecordingFailed] = []

        async def one(row: dict[str, Any]) -> None:
            async with gate:
                if self.stop.is_set() or refused:
                    self.release_claims = True
                    return
                broadcast = broadcasts[row["broadcast_id"]]
                attempt = (
                    await self.attempt(row, broadcast)
                    if broadcast
                    else Attempt(row, "failed", error="the announcement is gone")
                )
                try:
                    await self.on_db(self.recording(attempt))
                except RecordingFailed as exc:
                    self.unrecorded.append(attempt)
                    refused.append(exc)

        await asyncio.gather(*(one(row) for row in rows))
        if refused:
            self.release_claims = True
            raise refused[0]
        return len(rows)

    async def attempt(self, row: dict[str, Any], broadcast: dict[str, Any]) -> Attempt:
        """Send one row; whatever goes wrong (an unreadable attachment, an unexpected error) is an attempt
        that did not get through, tried again later."""
        try:
            attempt = await self.send_row(row, broadcast)
        except Exception as exc:  # noqa: BLE001 - recorded with the row, which is retried or failed
            attempt = Attempt(row, "retry", error=f"{type(exc).__name__}: {exc}")
        if attempt.status in ("retry", "failed"):
            log.warning(
                "announcement %s to chat %s, attempt %s: %s",
                row["broadcast_id"],
                row["chat_id"],
                row["attempts"],
                attempt.error,
            )
        return attempt

    async def send_row(self, row: dict[str, Any], broadcast: dict[str, Any]) -> Attempt:
        """The announcement to one recipient, part after part; the buttons go with the last part."""
        bot, chat_id = self.application.bot, row["chat_id"]
        retries = services(self.application).settings.telegram.send_retries
        parts = message_parts(broadcast)
        keyboard = (
            InlineKeyboardMarkup([[InlineKeyboardButton("✅ Đã nhận", callback_data=f"ack:{row['broadcast_id']}")]])
            if broadcast["ack"]
            else None
        )
        last, uploaded = None, ""
        for number, part in enumerate(parts):
            markup = keyboard if number == len(parts) - 1 else None
            if number == 0 and broadcast["attachment_kind"]:
                outcome, uploaded = await self.send_attachment(broadcast, chat_id, part, markup)
            else:
                send = partial(bot.send_message, chat_id, part, reply_markup=markup, rate_limit_args=BULK)
                outcome = await deliver(send, chat_id, retries)
            if outcome.message is None:
                return Attempt(row, _status(outcome), error=outcome.error)
            last = outcome.message
        if last is None:
            return Attempt(row, "failed", error="nothing to send")
        return Attempt(row, "sent", message_id=last.message_id, file_id=uploaded)

    async def send_attachment(
        self, broadcast: dict[str, Any], chat_id: int, caption: str, markup: InlineKeyboardMarkup | None
    ) -> tuple[Outcome, str]:
        """Send the attachment: by the file_id Telegram gave it, else uploaded (by one send at a time, so it
        is uploaded once). Returns the outcome and the file_id if this send uploaded it."""
        broadcast_id = broadcast["id"]
        known = self.file_ids.get(broadcast_id) or broadcast["attachment_file_id"]
        if known:
            return await self.send_file(broadcast, chat_id, known, caption, markup), ""
        async with self.uploads[broadcast_id]:
            if known := self.file_ids.get(broadcast_id, ""):
                return await self.send_file(broadcast, chat_id, known, caption, markup), ""
            path = Path(broadcast["attachment"])
            content = await asyncio.to_thread(path.read_bytes)
            outcome = await self.send_file(broadcast, chat_id, InputFile(content, filename=path.name), caption, markup)
            file_id = _file_id(outcome.message)
            if file_id:
                self.file_ids[broadcast_id] = file_id
            return outcome, file_id

    async def send_file(
        self,
        broadcast: dict[str, Any],
        chat_id: int,
        file: str | InputFile,
        caption: str,
        markup: InlineKeyboardMarkup | None,
    ) -> Outcome:
        bot = self.application.bot
        retries = services(self.application).settings.telegram.send_retries
        if broadcast["attachment_kind"] == "photo":
            send = partial(bot.send_photo, chat_id, file, caption=caption, reply_markup=markup, rate_limit_args=BULK)
        else:
            send = partial(bot.send_document, chat_id, file, caption=caption, reply_markup=markup, rate_limit_args=BULK)
        return await deliver(send, chat_id, retries)


def _status(outcome: Outcome) -> Literal["blocked", "failed", "retry"]:
    if outcome.blocked:
        return "blocked"
    return "retry" if outcome.retry else "failed"


def _file_id(message: Message | None) -> str:
    """The file_id Telegram gave the document or photo of a sent message ('' if none)."""
    if message is None:
        return ""
    if message.document is not None:
        return message.document.file_id
    return message.photo[-1].file_id if message.photo else ""


def start_sender(application: Application) -> None:
    sender = Sender(application)
    application.bot_data[SENDER] = sender
    sender.task = asyncio.get_running_loop().create_task(sender.run())


def wake_sender(holder: ContextTypes.DEFAULT_TYPE) -> None:
    """Something new is queued: the sender looks now instead of at its next poll."""
    sender = holder.bot_data.get(SENDER)
    if isinstance(sender, Sender):
        sender.wake.set()


async def stop_sender(application: Application) -> None:
    """Graceful stop: no new sends; the ones in flight finish and are recorded."""
    sender = application.bot_data.get(SENDER)
    if isinstance(sender, Sender) and sender.task is not None:
        sender.stop.set()
        await sender.task


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
    attached: Document | PhotoSize
    if message.document:
        attached, name, kind = message.document, message.document.file_name, "document"
    else:
        attached, name, kind = message.photo[-1], "anh.jpg", "photo"
    telegram_file = await attached.get_file()
    folder = settings.data_dir / "attachments" / f"{sender_id(update)}-{message.message_id}"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    path = folder / Path(name or "tep").name
    await telegram_file.download_to_drive(path)
    # Telegram already has the file: recipients get it by its file_id, nothing is uploaded again
    _draft(context).update(attachment=str(path), attachment_kind=kind, attachment_file_id=attached.file_id)
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
    settings = found.settings
    query = callback_of(update)
    await query.answer()
    draft = _draft(context)
    draft["ack"] = button_data(update).endswith(":1")
    audience = _audience(context)
    count = len(await found.on_db(lambda s: s.outbox.recipients(s.users, audience)))
    attached = " (kèm tệp)" if draft.get("attachment") else ""
    preview = (
        f"<b>Xem trước</b>{attached}\n{HEADING}\n{draft['text']}\n\n"
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
    retries = settings.telegram.send_retries
    await send_all(context.bot, found, chat_id(update), split(preview), retries=retries, reply_markup=keyboard)
    return CONFIRM


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    found = services(context)
    settings = found.settings
    query = callback_of(update)
    await query.answer()
    if query.data == "bc:cancel":
        await query.edit_message_text("Đã hủy thông báo.")
        return ConversationHandler.END
    draft, audience = _draft(context), _audience(context)
    admin = sender_id(update)

    def queue(stores: Stores) -> tuple[int, int]:
        recipients = stores.outbox.recipients(stores.users, audience)
        broadcast_id = stores.outbox.create(
            admin,
            draft["text"],
            recipients,
            audience,
            draft["ack"],
            draft.get("attachment", ""),
            draft.get("attachment_kind", ""),
            attachment_file_id=draft.get("attachment_file_id", ""),
        )
        detail = f"{len(recipients)} recipients: {audience.describe(settings)}"
        stores.users.audit(admin, "broadcast", str(broadcast_id), detail)
        return broadcast_id, len(recipients)

    broadcast_id, count = await found.on_db(queue)
    wake_sender(context)
    await query.edit_message_text(
        f"Đã xếp hàng thông báo #{broadcast_id} tới {count} người. Xem tiến độ: /baocao {broadcast_id}",
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
    found = services(context)
    admin, parent = sender_id(update), int(button_data(update).split(":")[1])
    await query.answer(await found.on_db(lambda s: queue_nudge(s, parent, admin, found.settings)))
    wake_sender(context)


def queue_nudge(stores: Stores, parent: int, admin: int, settings: Settings) -> str:
    """Work for the database thread: queue the reminder of announcement `parent` to those who have not
    acknowledged it, at most once in NUDGE_GAP; returns what the admin's button says."""
    box, users = stores.outbox, stores.users
    original = box.broadcast(parent)
    waiting = set(box.unacknowledged(parent))
    recipients = [u for u in users.reachable() if u.telegram_id in waiting]
    if original is None or not recipients:
        return "Không còn ai chưa xác nhận."
    text = f"🔔 Nhắc lại (thông báo #{parent}):\n{original['text']}"
    new_id = box.nudge(parent, admin, text, recipients, NUDGE_GAP)
    if new_id is None:
        last = local_now(box.last_nudge(parent) or datetime.now(UTC), settings.reminders)
        return f"Đã nhắc lúc {last:%H:%M}; có thể nhắc lại sau {last + NUDGE_GAP:%H:%M}."
    users.audit(admin, "broadcast-nudge", str(new_id), f"{len(recipients)} recipients of #{parent}")
    return f"Đã nhắc {len(recipients)} người."


async def ack_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Đã nhận": counted once per recipient, however often it is pressed."""
    query = callback_of(update)
    broadcast_id, official = int(button_data(update).split(":")[1]), sender_id(update)
    first = await services(context).on_db(lambda s: acknowledge(s, broadcast_id, official))
    await query.answer("Đã ghi nhận, cảm ơn!" if first else "Bạn đã xác nhận rồi.")


def acknowledge(stores: Stores, broadcast_id: int, official: int) -> bool:
    """Work for the database thread: record "Đã nhận" (for a reminder, the original too); False if repeated."""
    first = stores.outbox.acknowledge(broadcast_id, official)
    broadcast = stores.outbox.broadcast(broadcast_id)
    if first and broadcast and broadcast["parent"]:
        stores.outbox.acknowledge(broadcast["parent"], official)
    return first
