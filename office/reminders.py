"""Which reminders are due at a moment: pure planning over the task table, users and the sent log.

Rules (the clock is an argument, so tests choose it):
- nothing is sent before `reminders.send_at` local time, after `reminders.last_hour`, or at weekends
  unless `reminders.weekends`; a lead day that falls at a weekend moves to the Friday before;
- for each open occurrence a unit owes, the most recent lead day that has come is due (so a reminder
  missed while the bot was down goes out once when it starts, unless a later one replaced it); after the
  deadline, one overdue notice within `overdue_days`;
- a snoozed reminder comes back on the day chosen, or on the next sending day if nothing went out that day;
- the officials of `reminders.digest_unit` get one digest of overdue items a day;
- what the log says Telegram accepted is never sent again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from base.settings import ReminderSettings
from office.tasks import Reminder, ReminderKind, Task, TaskStore, UnitDue, UnitOccurrence, occurrence_state
from office.users import UserStore


def local_now(now: datetime, settings: ReminderSettings) -> datetime:
    return now.astimezone(ZoneInfo(settings.timezone))


def sending_open(now: datetime, settings: ReminderSettings) -> bool:
    """True within the sending hours of a sending day (never at night)."""
    local = local_now(now, settings)
    if not settings.weekends and local.weekday() >= 5:
        return False
    return settings.send_at <= local.time().replace(tzinfo=None) < settings.last_hour


def next_sending_day(today: date, settings: ReminderSettings) -> date:
    """The first day after `today` on which reminders go out (Monday after a Friday, unless weekends)."""
    day = today + timedelta(days=1)
    while not settings.weekends and day.weekday() >= 5:
        day += timedelta(days=1)
    return day


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
            latest = _latest_lead(task, occurrence, today, settings.weekends)
            if latest is None:
                continue
            kind, lead = latest
            found += [
                UnitDue(task.code, occurrence, kind, lead, u)
                for u in units
                if occurrence_state(done, task.code, occurrence, u, today) != "done"
            ]
    return found


def _latest_lead(task: Task, occurrence: date, today: date, weekends: bool) -> tuple[ReminderKind, int] | None:
    """The reminder an open occurrence calls for today: the overdue notice, or the latest lead day come."""
    if occurrence < today:
        return "overdue", 0
    come = [lead for lead in task.leads if lead_day(occurrence, lead, weekends) <= today]
    return ("lead", min(come)) if come else None


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
    sent_to: dict[tuple[str, str, str, int], set[int]] = defaultdict(set)
    for task_code, occurrence, kind, lead, _, telegram_id in sent:
        sent_to[(task_code, occurrence, kind, lead)].add(telegram_id)
    reminders = []
    for d in unit_due(tasks, done, today, settings):
        already = sent_to.get((d.task_code, d.occurrence.isoformat(), d.kind, d.lead), set())
        reminders += [
            Reminder(d.task_code, d.occurrence, d.kind, d.lead, d.unit_code, telegram_id, chat_id)
            for telegram_id, chat_id in recipients.get(d.unit_code, ())
            if telegram_id not in already
        ]
    return reminders + _snoozed(store, users, today, done, sent)


def _recipients(users: UserStore) -> dict[str, list[tuple[int, int]]]:
    """Unit code -> (telegram id, chat id) of its approved officials who have not blocked the bot."""
    by_unit: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for user in users.reachable():
        by_unit[user.unit_code].append((user.telegram_id or user.chat, user.chat))
    return by_unit


def _snoozed(
    store: TaskStore,
    users: UserStore,
    today: date,
    done: set[tuple[str, str, str]],
    sent: set[tuple[str, str, str, int, str, int]],
) -> list[Reminder]:
    """Snoozed reminders due by today (one missed on a day nothing went out comes now), not yet delivered."""
    reachable = {u.telegram_id: u for u in users.reachable()}
    reminders = []
    for row in store.snoozed(today):
        user = reachable.get(row["telegram_id"])
        occurrence = date.fromisoformat(row["occurrence"])
        if user is None or occurrence_state(done, row["task_code"], occurrence, user.unit_code, today) == "done":
            continue
        chat_id = user.chat
        reminder = Reminder(
            row["task_code"], occurrence, "snooze", 0, user.unit_code, row["telegram_id"], chat_id, row["remind_on"]
        )
        if reminder.log_key() not in sent:
            reminders.append(reminder)
    return reminders


def digest_due(store: TaskStore, users: UserStore, now: datetime, settings: ReminderSettings) -> list[Reminder]:
    """Today's digest of overdue items, for each official of the digest unit who has not had it yet;
    nothing when no item is overdue or sending is closed."""
    if not sending_open(now, settings) or not overdue(store, local_now(now, settings).date()):
        return []
    today = local_now(now, settings).date()
    sent = store.sent_keys()
    digests = [
        Reminder("", today, "digest", 0, u.unit_code, u.telegram_id, u.chat, today.isoformat())
        for u in users.reachable(unit_codes=[settings.digest_unit])
        if u.telegram_id is not None
    ]
    return [d for d in digests if d.log_key() not in sent]


@dataclass(frozen=True)
class Agenda:
    """What a unit owes: each task's next deadline not done yet, and passed deadlines still open."""

    coming: list[UnitOccurrence]
    late: list[UnitOccurrence]


def unit_agenda(store: TaskStore, unit_code: str, today: date, horizon_days: int = 366) -> Agenda:
    """A unit's agenda on `today`: the next open deadline of each task (within the horizon), and every
    deadline since the task's schedule began that passed without being marked done."""
    found = store.occurrences(date.min, today + timedelta(days=horizon_days), today, unit_code)
    coming: dict[str, UnitOccurrence] = {}
    for o in found:
        if o.state == "open":
            coming.setdefault(o.task.code, o)
    return Agenda(list(coming.values()), [o for o in found if o.state == "overdue"])


def open_items(store: TaskStore, unit_code: str, today: date, days: int) -> list[UnitOccurrence]:
    """What a unit has not done with a deadline from today to `days` days on."""
    found = store.occurrences(today, today + timedelta(days=days), today, unit_code)
    return [o for o in found if o.state != "done"]


def overdue(store: TaskStore, today: date, days: int = 366) -> list[UnitOccurrence]:
    """Occurrences past their deadline that a unit has not marked done (for the daily digest)."""
    found = store.occurrences(today - timedelta(days=days), today - timedelta(days=1), today)
    return [o for o in found if o.state == "overdue"]


def progress(store: TaskStore, today: date, days_ahead: int = 366, days_back: int = 366) -> dict[str, dict[str, int]]:
    """Per unit: occurrences done, open (deadline to come) and overdue, over the past and coming year."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"done": 0, "open": 0, "overdue": 0})
    for o in store.occurrences(today - timedelta(days=days_back), today + timedelta(days=days_ahead), today):
        counts[o.unit_code][o.state] += 1
    return dict(counts)
