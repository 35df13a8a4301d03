"""Reminder figures: planning a day for 10,000 tasks over 300 units, and sending 5,000 reminders.

    .venv/bin/python -m bench.reminders [--send 5000]

1. builds 10,000 tasks (mixed recurrences and owners: mostly 1-3 units, 5% all units) over 300 units with
   two officials each, and times `office.reminders.due` for one morning (median of 5 runs);
2. sends N reminders (one task owed by every unit, N officials) through the real Application and PTB's
   AIORateLimiter to the Bot API stand-in on 127.0.0.1, and compares the time with the bound the
   configured rate allows (N / telegram.messages_per_second); checks none lost and none doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from base.database import open_database
from base.settings import Unit, load
from bot.reminders import send_due
from devtools.bot_harness import add_officials, running_bot
from devtools.botapi import BotApiStandIn
from office.reminders import due, unit_due
from office.tasks import Task, TaskStore
from office.users import UserStore

ROOT = Path(__file__).resolve().parent.parent
MORNING = datetime(2026, 12, 8, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def settings_with_units(work: Path, units: int):
    settings = load(ROOT / "config.yaml", work / "data")
    settings.units = [
        Unit(code=f"U{i:03d}", name=f"Đơn vị {i:03d}", kind="phong-ban" if i % 2 else "xa-phuong") for i in range(units)
    ]
    settings.reminders = settings.reminders.model_copy(update={"digest_unit": "U000"})
    return settings


def plan_bench(work: Path) -> None:
    settings = settings_with_units(work / "plan", 300)
    db = open_database(settings.database_path)
    users, store = UserStore(db), TaskStore(db, settings)
    add_officials(users, 2 * len(settings.units), [u.code for u in settings.units], first_id=10_000)
    rng = random.Random(7)
    recurrences = ["", "hang-thang", "hang-quy", "6-thang", "hang-nam", "FREQ=WEEKLY;BYDAY=FR"]
    tasks = []
    for i in range(10_000):
        owners = ["tat-ca"] if rng.random() < 0.05 else rng.sample([u.code for u in settings.units], rng.randint(1, 3))
        first = date(2026, 1, 1).fromordinal(date(2026, 1, 1).toordinal() + rng.randint(0, 364))
        tasks.append(
            Task(
                code=f"T{i:05d}",
                title=f"Việc {i}",
                clauses=["d:1"],
                units=owners,
                first_deadline=first,
                recurrence=rng.choice(recurrences),
            )
        )
    store.save(tasks)
    unit_level, timings, found, per_unit = [], [], [], []
    for _ in range(5):
        started = time.perf_counter()
        owners = store.owners()
        per_unit = unit_due([(t, owners(t)) for t in store.tasks()], store.done(), MORNING.date(), settings.reminders)
        unit_level.append(time.perf_counter() - started)
        started = time.perf_counter()
        found = due(store, users, MORNING, settings.reminders)
        timings.append(time.perf_counter() - started)
    print(
        f"the day's reminders for 10,000 tasks over 300 units: {statistics.median(unit_level) * 1000:.0f} ms "
        f"for the {len(per_unit)} unit reminders (tasks loaded from SQLite included); "
        f"{statistics.median(timings) * 1000:.0f} ms with them expanded to {len(found)} messages to officials "
        "(medians of 5)"
    )


async def send_bench(work: Path, count: int) -> None:
    from knowledge.index import ClauseIndex

    settings = settings_with_units(work / "send", 300)
    db = open_database(settings.database_path)
    users, store = UserStore(db), TaskStore(db, settings)
    sent_to = len(add_officials(users, count, [u.code for u in settings.units], first_id=10_000))
    store.save(
        [Task(code="ALL", title="Báo cáo chung", clauses=[], units=["tat-ca"], first_deadline=date(2026, 12, 15))]
    )
    stand_in = BotApiStandIn()
    await stand_in.start()
    index = ClauseIndex(settings)
    rate = settings.telegram.messages_per_second
    async with running_bot(settings, stand_in, index, users, store, clock=lambda: MORNING.replace(hour=7)) as app:
        started = time.perf_counter()
        delivered = await send_due(app, now=MORNING)
        elapsed = time.perf_counter() - started
    await stand_in.stop()
    per_chat = Counter(s.chat_id for s in stand_in.sent if s.method == "sendMessage")
    bound = count / rate
    print(
        f"sending {count} reminders at {rate:g} msg/s: {elapsed:.1f} s against a bound of {bound:.1f} s "
        f"({(elapsed / bound - 1) * 100:+.1f}%); delivered {delivered}, officials reached {len(per_chat)} of "
        f"{sent_to}, doubled {sum(1 for n in per_chat.values() if n > 1)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--send", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plan_bench(Path(folder))
        if args.send:
            asyncio.run(send_bench(Path(folder), args.send))


if __name__ == "__main__":
    main()
