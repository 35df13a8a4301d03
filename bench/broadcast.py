"""Announcement figures: delivery time for 1,000 and 5,000 recipients against the rate-limit bound, and the
latency of questions asked while a broadcast goes out.

    .venv/bin/python -m bench.broadcast [--sizes 1000 5000]

The real Application (PTB's AIORateLimiter at telegram.messages_per_second) sends to the Bot API stand-in
on 127.0.0.1; the bound is recipients / messages_per_second. While the largest broadcast runs, an official
asks a question every 2 seconds; the time from the update reaching the stand-in to the answer is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from base.database import open_database
from base.settings import load
from devtools.bot_harness import add_officials, running_bot
from devtools.botapi import BotApiStandIn, message_update
from ingest.pipeline import Ingester
from knowledge.index import ClauseIndex
from office.broadcasts import Audience, Outbox
from office.users import UserStore

ROOT = Path(__file__).resolve().parent.parent
ASKER = 4242
QUESTIONS = [
    "Báo cáo kiểm điểm gửi về đâu?",
    "han nop bao cao kiem diem",
    "tinh gian bien che",
    "Tuyên truyền về cải cách hành chính cho người dân",
    "chinh quyen so chuyen doi so",
]


async def run_size(work: Path, index: ClauseIndex, size: int, ask: bool) -> None:
    settings = index.settings.model_copy(deep=True)
    settings.telegram = settings.telegram.model_copy(
        update={"rate_limit": settings.telegram.rate_limit.model_copy(update={"questions": 1000})}
    )
    db = open_database(work / f"b{size}.db")
    users, box = UserStore(db), Outbox(db, settings)
    add_officials(users, size, [u.code for u in settings.units], first_id=100_000)
    users.register(ASKER, ASKER, "Người hỏi", "NV", "Công chức", approved=True)
    recipients = [u for u in box.recipients(users, Audience()) if u.telegram_id != ASKER]
    stand_in = BotApiStandIn()
    await stand_in.start()
    latencies: list[float] = []
    async with running_bot(settings, stand_in, index, users, outbox=box):
        started = time.perf_counter()
        broadcast_id = box.create(0, "Thông báo đo tốc độ.", recipients, Audience(), False)
        while box.report(broadcast_id).pending:
            if ask:
                before, pushed = len(stand_in.sent), time.monotonic()
                stand_in.push_update(message_update(ASKER, QUESTIONS[len(latencies) % len(QUESTIONS)]))
                found = await stand_in.wait_for(
                    lambda s, before=before: s in stand_in.sent[before:] and s.chat_id == ASKER and bool(s.buttons)
                )
                latencies.append((found[0].at - pushed) * 1000)
            await asyncio.sleep(2 if ask else 0.2)
        elapsed = time.perf_counter() - started
    await stand_in.stop()
    per_chat = Counter(s.chat_id for s in stand_in.sent if s.method == "sendMessage" and "Thông báo" in s.text)
    bound = size / settings.telegram.messages_per_second
    print(
        f"{size} recipients: {elapsed:.1f} s against a bound of {bound:.1f} s ({(elapsed / bound - 1) * 100:+.1f}%); "
        f"reached {len(per_chat)}, doubled {sum(n > 1 for n in per_chat.values())}"
    )
    if latencies:
        ordered = sorted(latencies)
        print(
            f"questions during the {size}-recipient broadcast: {len(ordered)} asked, p50 "
            f"{statistics.median(ordered):.0f} ms, p95 {ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms, "
            f"max {ordered[-1]:.0f} ms"
        )


async def main_async(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        settings = load(ROOT / "config.yaml", work / "data")
        index = ClauseIndex(settings)
        Ingester(index, show_progress=False).run([ROOT.parent / "shared" / "corpus"])
        for size in sizes:
            await run_size(work, index, size, ask=size == max(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    asyncio.run(main_async(parser.parse_args().sizes))


if __name__ == "__main__":
    main()
