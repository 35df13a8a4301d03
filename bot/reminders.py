"""Deadline reminders in Telegram: the daily job, its buttons, /nhiemvu, /han and /tiendo.

What is due comes from `office.reminders.due`; a reminder is logged once Telegram accepted it, so a
restart never repeats it, and the job runs once at start to catch up on what was missed while down.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, ContextTypes

from base.settings import Settings
from bot import render
from bot.access import admin_or_refused, approved_or_refused, button_data, callback_of, chat_id, reply, sender_id
from bot.broadcast import wake_sender
from bot.ratelimit import BULK
from bot.sending import send_html
from bot.services import Services, Stores, services
from knowledge.answer import full_text
from knowledge.index import ClauseIndex
from knowledge.labels import cited_together
from office import reminders as planner
from office.broadcasts import Audience
from office.tasks import Reminder, Task, UnitOccurrence
from office.users import User

log = logging.getLogger(__name__)
ASSUMED_DAY = "Ngày hạn là ngày giả định: văn bản không nêu ngày cụ thể, xin theo dõi hướng dẫn của cấp trên."
IN_FLIGHT = 16  # sends awaiting Telegram at once; AIORateLimiter keeps the overall rate


def days_left(deadline: date, today: date) -> str:
    delta = (deadline - today).days
    if delta > 0:
        return f"còn {delta} ngày"
    return "hạn là hôm nay" if delta == 0 else f"đã quá hạn {-delta} ngày"


def grounds(index: ClauseIndex, task: Task) -> str:
    """The clauses a task comes from, by their documents' short names: 'điểm đ khoản 2, khoản 5 Chỉ thị về …'."""
    store = index.store
    names = {d.doc_id: d.title for d in store.documents()}
    clauses = [clause for clause_id in task.clauses if (clause := store.clause(clause_id)) is not None]
    return cited_together([(clause.label, names.get(clause.doc_id, "")) for clause in clauses])


def reminder_message(
    application: Application, task: Task, reminder: Reminder, today: date, cited: str
) -> tuple[str, InlineKeyboardMarkup]:
    unit_name = services(application).settings.unit_name(reminder.unit_code)
    head = "⚠️ <b>Quá hạn</b>" if reminder.kind == "overdue" else "⏰ <b>Nhắc việc</b>"
    lines = [
        f"{head}: {escape(task.title)}",
        f"Hạn: <b>{reminder.occurrence:%d/%m/%Y}</b> ({days_left(reminder.occurrence, today)})"
        + (f"\n<i>{ASSUMED_DAY}</i>" if task.assumed_day else ""),
        f"Đơn vị: {escape(unit_name)}",
        f"Căn cứ: <b>{escape(cited)}</b>",
    ]
    if task.detail:
        lines.append(escape(task.detail))
    stamp = f"{task.code}:{reminder.occurrence:%Y%m%d}"
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("📄 Toàn văn", callback_data=f"tfull:{task.code}")],
            [
                InlineKeyboardButton("✅ Đã hoàn thành", callback_data=f"done:{stamp}"),
                InlineKeyboardButton("⏰ Nhắc lại sau", callback_data=f"snz:{stamp}"),
            ],
        ]
    )
    return "\n".join(lines), keyboard


async def _deliver(application: Application, reminder: Reminder, task: Task, today: date, cited: str) -> bool:
    found = services(application)
    settings = found.settings
    text, keyboard = reminder_message(application, task, reminder, today, cited)
    sent = await send_html(
        application.bot,
        found,
        reminder.chat_id,
        text,
        retries=settings.telegram.send_retries,
        reply_markup=keyboard,
        rate_limit_args=BULK,
    )
    if sent is None:
        return False
    await found.on_db(log_sent(reminder, sent.message_id))
    return True


def log_sent(reminder: Reminder, message_id: int) -> Callable[[Stores], None]:
    """Work for the database thread: record a reminder Telegram accepted."""
    return lambda stores: stores.tasks.log_sent(reminder, message_id)


async def send_due(application: Application, now: datetime | None = None) -> int:
    """Send every reminder due now (and the overdue digest); returns how many went out."""
    found = services(application)
    async with found.reminder_lock:
        moment, settings = now or found.clock(), found.settings
        reminders, tasks = await found.on_db(
            lambda s: (planner.due(s.tasks, s.users, moment, settings.reminders), {t.code: t for t in s.tasks.tasks()})
        )
        today = planner.local_now(moment, settings.reminders).date()
        codes = {r.task_code for r in reminders}
        cited = await found.on_index(lambda index: {code: grounds(index, tasks[code]) for code in codes})
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(reminder: Reminder) -> bool:
            async with gate:
                try:
                    code = reminder.task_code
                    return await _deliver(application, reminder, tasks[code], today, cited[code])
                except Exception:
                    log.exception("reminder %s to %s failed", reminder.task_code, reminder.chat_id)
                    return False

        delivered = sum(await asyncio.gather(*(one(r) for r in reminders)))
        delivered += await send_digest(application, moment)
        return delivered


async def send_digest(application: Application, now: datetime) -> int:
    """Once a day: overdue items by unit, to the officials of `reminders.digest_unit`."""
    found = services(application)
    settings = found.settings
    today = planner.local_now(now, settings.reminders).date()
    digests, late = await found.on_db(
        lambda s: (planner.digest_due(s.tasks, s.users, now, settings.reminders), planner.overdue(s.tasks, today))
    )
    if not digests:
        return 0
    messages = render.pack(digest_blocks(settings, late, today))
    count = 0
    for digest in digests:
        sent = [
            await send_html(application.bot, found, digest.chat_id, m, retries=settings.telegram.send_retries)
            for m in messages
        ]
        if all(sent) and (last := sent[-1]) is not None:
            await found.on_db(log_sent(digest, last.message_id))
            count += 1
    return count


def digest_blocks(settings: Settings, late: list[UnitOccurrence], today: date) -> list[str]:
    """The digest as HTML blocks: a title, then each unit with its overdue items (30 lines a block)."""
    blocks = [f"📋 <b>Tổng hợp việc quá hạn</b> ngày {today:%d/%m/%Y}"]
    for unit_code in sorted({item.unit_code for item in late}):
        items = [f"• {escape(i.task.title)} — hạn {i.deadline:%d/%m/%Y}" for i in late if i.unit_code == unit_code]
        for start in range(0, len(items), 30):
            blocks.append(f"<b>{escape(settings.unit_name(unit_code))}</b>\n" + "\n".join(items[start : start + 30]))
    return blocks


async def reminder_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The scheduled run: daily at `reminders.send_at`, and once at start to catch up. The obligation
    register follows the wording in force, so amendments that took effect today are read first."""
    found = services(context.application)
    register, today = found.register, found.today()
    await found.on_index(lambda _: register.sync(today))  # in the retrieval pool, beside the register's readers
    count = await send_due(context.application)
    log.info("reminders sent: %d", count)


def schedule(application: Application) -> None:
    """Rebuild the schedule from settings (the durable state is in SQLite; PTB keeps no jobs)."""
    settings = services(application).settings.reminders
    at = settings.send_at.replace(tzinfo=ZoneInfo(settings.timezone))
    jobs = application.job_queue
    if jobs is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    jobs.run_daily(reminder_job, time=at, name="reminders-daily")
    jobs.run_once(reminder_job, when=0, name="reminders-catch-up")


# ------------------------------------------------------------------------------------------ buttons


def _stamp(data: str) -> tuple[str, date]:
    _, code, day = data.split(":")
    return code, datetime.strptime(day, "%Y%m%d").date()


async def done_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Đã hoàn thành": the unit's occurrence is done; the unit's other officials are told through the
    background sender (a unit of hundreds does not hold up the bot)."""
    query = callback_of(update)
    official = await approved_or_refused(update, context)
    if official is None or official.telegram_id is None:
        return
    found = services(context)
    code, occurrence = _stamp(button_data(update))
    store = found.tasks
    task = store.task(code)
    if task is None or official.unit_code not in store.owner_units(task):
        await query.answer("Việc này không thuộc đơn vị của bạn.", show_alert=True)
        return
    note = f"✅ {escape(official.full_name)} đã đánh dấu hoàn thành: {escape(task.title)} (hạn {occurrence:%d/%m/%Y})."
    first = await found.on_db(lambda s: mark_done(s, official, code, occurrence, note))
    await query.answer("Đã ghi nhận hoàn thành." if first else "Đơn vị đã hoàn thành việc này.")
    if not first:
        return
    wake_sender(context)
    if isinstance(query.message, Message):
        await query.edit_message_text(f"{query.message.text_html}\n\n{note}")


def mark_done(stores: Stores, official: User, code: str, occurrence: date, note: str) -> bool:
    """Work for the database thread: the unit's occurrence done (False if it already was), audited, and
    `note` queued for the unit's other officials."""
    unit, by = official.unit_code, official.telegram_id or 0
    if not stores.tasks.mark_done(code, occurrence, unit, by=by):
        return False
    stores.users.audit(by, "task-done", f"{code}:{occurrence}", unit)
    colleagues = [c for c in stores.users.reachable(unit_codes=[unit]) if c.telegram_id != by]
    if colleagues:
        stores.outbox.create(by, note, colleagues, Audience(units=[unit]), ack=False, kind="notice")
    return True


async def snooze_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Nhắc lại sau": the same reminder again on the next sending day, at the sending hour."""
    query = callback_of(update)
    if not await approved_or_refused(update, context):
        return
    found = services(context)
    code, occurrence = _stamp(button_data(update))
    again = planner.next_sending_day(found.today(), found.settings.reminders)
    official = sender_id(update)
    await found.on_db(lambda s: s.tasks.snooze(code, occurrence, official, again))
    await query.answer(f"Sẽ nhắc lại ngày {again:%d/%m/%Y}.")


async def task_full_text_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Toàn văn" on a reminder: the clauses the task comes from, whole."""
    query = callback_of(update)
    if not await approved_or_refused(update, context):
        return
    task = services(context).tasks.task(button_data(update).split(":", 1)[1])
    await query.answer()
    if task is None:
        return
    places = [clause_id.split(":", 1) for clause_id in task.clauses]
    texts = await services(context).on_index(lambda index: [full_text(index, doc, loc) for doc, loc in places])
    for found in texts:
        if found:
            for page in render.pages(*found):
                await reply(update, context, page)


# ----------------------------------------------------------------------------------------- commands


async def my_tasks(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/nhiemvu: each task's next deadline for my unit, then what is overdue since the task was assigned."""
    official = await approved_or_refused(update, context)
    if official is None:
        return
    found = services(context)
    today, unit = found.today(), official.unit_code
    agenda = await found.on_db(lambda s: planner.unit_agenda(s.tasks, unit, today))
    cited = await cited_for(found, agenda.coming)
    lines = [f"<b>Nhiệm vụ của đơn vị</b> — {escape(found.settings.unit_name(official.unit_code))}"]
    lines += [deadline_line(item, today, cited[item.task.code]) for item in agenda.coming] or [
        "Không có hạn nào sắp tới."
    ]
    lines += late_summary(agenda.late)
    for message in render.pack(lines):
        await reply(update, context, message)


async def cited_for(found: Services, items: list[UnitOccurrence]) -> dict[str, str]:
    """Task code -> the clauses it comes from, for these occurrences (read in the retrieval pool)."""
    tasks = {item.task.code: item.task for item in items}
    return await found.on_index(lambda index: {code: grounds(index, task) for code, task in tasks.items()})


def deadline_line(item: UnitOccurrence, today: date, cited: str) -> str:
    """'• 15/12/2026 (còn 16 ngày) — task' with the clauses it comes from on a second line."""
    return (
        f"• <b>{item.deadline:%d/%m/%Y}</b>{' (ngày giả định)' if item.task.assumed_day else ''}"
        f" ({days_left(item.deadline, today)}) — {escape(item.task.title)}"
        f"\n  <i>Căn cứ: {escape(cited)}</i>"
    )


def late_summary(late: list[UnitOccurrence]) -> list[str]:
    """Overdue deadlines not marked done, one line per task (how many, and which), as HTML blocks."""
    if not late:
        return ["<b>Quá hạn chưa hoàn thành</b>: không có."]
    lines = []
    for code in dict.fromkeys(item.task.code for item in late):
        days = [item.deadline for item in late if item.task.code == code]
        title = next(item.task.title for item in late if item.task.code == code)
        shown = ", ".join(f"{day:%d/%m/%Y}" for day in days[-3:])
        more = f"{len(days) - 3} kỳ trước đó và " if len(days) > 3 else ""
        lines.append(f"• {escape(title)}: {len(days)} kỳ (hạn {more}{shown})")
    blocks = ["\n".join(lines[start : start + 30]) for start in range(0, len(lines), 30)]
    blocks[0] = f"<b>Quá hạn chưa hoàn thành</b> ({len(late)})\n{blocks[0]}"
    blocks[-1] += "\nBấm ✅ Đã hoàn thành trên tin nhắc việc khi đơn vị đã làm xong."
    return blocks


async def deadlines(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/han [số ngày]: deadlines in the next days (7 by default), and how many are overdue."""
    try:
        days = int((context.args or ["7"])[0])
        if not 1 <= days <= 366:
            raise ValueError
    except ValueError:
        await reply(update, context, "Cách dùng: <code>/han 14</code> (số ngày tới, từ 1 đến 366)")
        return
    official = await approved_or_refused(update, context)
    if official is None:
        return
    found = services(context)
    today, unit = found.today(), official.unit_code
    items, agenda = await found.on_db(
        lambda s: (planner.open_items(s.tasks, unit, today, days), planner.unit_agenda(s.tasks, unit, today))
    )
    cited = await cited_for(found, items)
    title = f"<b>Hạn trong {days} ngày tới</b>"
    lines = [title] + [deadline_line(item, today, cited[item.task.code]) for item in items]
    if not items:
        lines = [f"{title}: không có việc nào chưa hoàn thành."]
    if late := agenda.late:
        lines.append(f"Còn {len(late)} kỳ quá hạn chưa hoàn thành: xem /nhiemvu.")
    for message in render.pack(lines):
        await reply(update, context, message)


def progress_chart(rows: list[tuple[str, dict[str, int]]]) -> bytes:
    """Stacked horizontal bars (done / open / overdue) per unit, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = [name for name, _ in rows]
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(rows) + 2))
    left = [0] * len(rows)
    for key, label, color in (
        ("done", "Hoàn thành", "#2e7d32"),
        ("open", "Chưa đến hạn", "#1565c0"),
        ("overdue", "Quá hạn", "#c62828"),
    ):
        values = [counts[key] for _, counts in rows]
        axes.barh(names, values, left=left, label=label, color=color)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.set_xlabel("Số lượt việc")
    axes.set_title("Tiến độ thực hiện nhiệm vụ theo đơn vị")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(rows) < 4 else -0.12), ncol=3, frameon=False)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


async def progress_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tiendo (admins): done / open / overdue by unit, as text and as a bar chart."""

    if not await admin_or_refused(update, context):
        return
    found = services(context)
    settings, today = found.settings, found.today()
    counts = await found.on_db(lambda s: planner.progress(s.tasks, today))
    rows = [(u.name, counts[u.code]) for u in settings.units if u.code in counts]
    if not rows:
        await reply(update, context, "Chưa có nhiệm vụ nào trong bảng.")
        return
    lines = ["<b>Tiến độ theo đơn vị</b> (hoàn thành / chưa đến hạn / quá hạn)"]
    lines += [f"• {escape(name)}: {c['done']} / {c['open']} / {c['overdue']}" for name, c in rows]
    await reply(update, context, "\n".join(lines))
    chart = await asyncio.to_thread(progress_chart, rows)
    await context.bot.send_photo(chat_id(update), chart, caption="Tiến độ theo đơn vị")
