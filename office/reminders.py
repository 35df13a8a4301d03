"""Which reminders are due at a moment: pure planning over the task table, users and the sent log.

Rules (the clock is an argument, so tests choose it):
- nothing is sent before `reminders.send_at` local time, after `reminders.last_hour`, or at weekends
  unless `reminders.weekends`; a lead day that falls at a weekend moves to the Friday before;
- for each open occurrence a unit owes, the most recent lead day that has come is due (so a reminder
  missed while the bot was down goes out once when it starts, unless a later one replaced it); after the
  deadline, one overdue notice within `overdue_days`;
- a snoozed reminder comes back on the day chosen; what the log says Telegram accepted is never sent
  again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from base.settings import ReminderSettings
from office.tasks import OVERDUE, Reminder, Task, TaskStore, UnitDue
from office.users import UserStore

DIGEST = "#digest"


def snooze_lead(remind_on: date) -> int:
    """The lead recorded for a snoozed reminder: one per day it comes back."""
    return -remind_on.toordinal()


def local_now(now: datetime, settings: ReminderSettings) -> datetime:
    return now.astimezone(ZoneInfo(settings.timezone))


def sending_open(now: datetime, settings: ReminderSettings) -> bool:
    """True within the sending hours of a sending day (never at night)."""
    local = local_now(now, settings)
    if not settings.weekends and local.weekday() >= 5:
        return False
    return settings.send_at <= local.time().replace(tzinfo=None) < settings.last_hour


def lead_day(deadline: date, lead: int, weekends: bool) -> date:
    """The day a lead-day reminder goes out; at a weekend, the Friday before."""
    day = deadline - timedelta(days=lead)
    while not weekends and day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def unit_due(
    tasks: list[tuple[Task, list[str]]], done: set[tuple[str, str, str]], today: date, settings: ReminderSettings
) -> list[UnitDue]:
    """Per task, occurrence and owner unit: the reminder due today (unit level, before officials)."""
    found: list[UnitDue] = []
    for task, units in tasks:
        horizon = today + timedelta(days=max(task.leads, default=0) + 3)
        for occurrence in task.occurrences(today - timedelta(days=settings.overdue_days), horizon):
            lead = _latest_lead(task, occurrence, today, settings.weekends)
            if lead is None:
                continue
            key = occurrence.isoformat()
            found += [UnitDue(task.code, occurrence, lead, u) for u in units if (task.code, key, u) not in done]
    return found


def _latest_lead(task: Task, occurrence: date, today: date, weekends: bool) -> int | None:
    if occurrence < today:
        return OVERDUE
    come = [lead for lead in task.leads if lead_day(occurrence, lead, weekends) <= today]
    return min(come) if come else None


def due(store: TaskStore, users: UserStore, now: datetime, settings: ReminderSettings) -> list[Reminder]:
    """Every reminder to send at `now`, officials expanded, minus those Telegram already accepted."""
    if not sending_open(now, settings):
        return []
    today = local_now(now, settings).date()
    owners = store.owners()
    tasks = [(t, owners(t)) for t in store.tasks()]
    done = store.done()
    recipients = _recipients(users)
    sent = store.sent_keys()
    sent_to: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    for task_code, occurrence, lead, telegram_id in sent:
        sent_to[(task_code, occurrence, lead)].add(telegram_id)
    reminders = []
    for d in unit_due(tasks, done, today, settings):
        already = sent_to.get((d.task_code, d.occurrence.isoformat(), d.lead), set())
        reminders += [
            Reminder(d.task_code, d.occurrence, d.lead, d.unit_code, telegram_id, chat_id)
            for telegram_id, chat_id in recipients.get(d.unit_code, ())
            if telegram_id not in already
        ]
    return reminders + _snoozed(store, users, today, done, sent)


def _recipients(users: UserStore) -> dict[str, list[tuple[int, int]]]:
    """Unit code -> (telegram id, chat id) of its approved officials who have not blocked the bot."""
    by_unit: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for user in users.reachable():
        assert user.telegram_id is not None  # reachable officials are on Telegram
        by_unit[user.unit_code].append((user.telegram_id, user.chat_id or user.telegram_id))
    return by_unit


def _snoozed(store: TaskStore, users: UserStore, today: date, done: set, sent: set) -> list[Reminder]:
    reminders = []
    lead = snooze_lead(today)
    for row in store.snoozed(today):
        user = users.by_telegram(row["telegram_id"])
        if user is None or user.status != "approved" or user.blocked:
            continue
        if (row["task_code"], row["occurrence"], user.unit_code) in done:
            continue
        if (row["task_code"], row["occurrence"], lead, user.telegram_id) in sent:
            continue
        reminders.append(
            Reminder(
                row["task_code"],
                date.fromisoformat(row["occurrence"]),
                lead,
                user.unit_code,
                user.telegram_id,
                user.chat_id or user.telegram_id,
            )
        )  # type: ignore[arg-type]
    return reminders


@dataclass(frozen=True)
class Overdue:
    task: Task
    occurrence: date
    unit_code: str


def overdue(store: TaskStore, today: date, days: int = 366) -> list[Overdue]:
    """Occurrences past their deadline that a unit has not marked done (for the daily digest)."""
    done = store.done()
    owners = store.owners()
    found = []
    for task in store.tasks():
        units = owners(task)
        for occurrence in task.occurrences(today - timedelta(days=days), today - timedelta(days=1)):
            found += [Overdue(task, occurrence, u) for u in units if (task.code, occurrence.isoformat(), u) not in done]
    return found


def progress(store: TaskStore, today: date, days_ahead: int = 366, days_back: int = 366) -> dict[str, dict[str, int]]:
    """Per unit: occurrences done, open (deadline to come) and overdue, over the past and coming year."""
    done = store.done()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"done": 0, "open": 0, "overdue": 0})
    owners = store.owners()
    for task in store.tasks():
        units = owners(task)
        for occurrence in task.occurrences(today - timedelta(days=days_back), today + timedelta(days=days_ahead)):
            for unit in units:
                if (task.code, occurrence.isoformat(), unit) in done:
                    counts[unit]["done"] += 1
                elif occurrence < today:
                    counts[unit]["overdue"] += 1
                else:
                    counts[unit]["open"] += 1
    return dict(counts)
