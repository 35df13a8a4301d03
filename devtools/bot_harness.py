"""Run the real Application against the Bot API stand-in, the way `cchc serve` runs it, and talk to it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from html import unescape
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from telegram.ext import Application

from base.settings import Settings
from bot.app import build_application
from devtools.botapi import BotApiStandIn, Sent, callback_update, message_update
from knowledge.index import ClauseIndex
from office.broadcasts import Outbox
from office.tasks import TaskStore
from office.users import UserStore

TOKEN = "123456:TEST-TOKEN-not-a-secret"
ADMIN = 1001  # the admin of the settings the bot tests use (telegram.admins)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@asynccontextmanager
async def running_bot(
    settings: Settings,
    stand_in: BotApiStandIn,
    index: ClauseIndex,
    users: UserStore,
    tasks: TaskStore | None = None,
    clock: Callable[[], datetime] | None = None,
    outbox: Outbox | None = None,
) -> AsyncIterator[Application]:
    """Polling bot, started in run_polling's order (initialize, post_init, polling, start) and stopped."""
    settings.telegram = settings.telegram.model_copy(update={"api_base_url": stand_in.base_url})
    extra = {"clock": clock} if clock else {}
    application = build_application(settings, TOKEN, index=index, users=users, tasks=tasks, outbox=outbox, **extra)
    await application.initialize()
    await application.post_init(application)  # type: ignore[misc]
    await application.updater.start_polling(poll_interval=0.0, timeout=1)  # type: ignore[union-attr]
    await application.start()
    try:
        yield application
    finally:  # run_polling's order: updater, application, post_stop, shutdown
        await application.updater.stop()  # type: ignore[union-attr]
        await application.stop()
        await application.post_stop(application)  # type: ignore[misc]
        await application.shutdown()


def add_officials(
    users: UserStore, count: int, units: list[str], positions: tuple[str, ...] = ("Công chức",), first_id: int = 50_000
) -> list[int]:
    """Insert `count` approved officials spread over `units` and `positions`; returns their Telegram ids."""
    rows = [
        {
            "telegram_id": first_id + i,
            "chat_id": first_id + i,
            "full_name": f"Cán bộ {i}",
            "unit_code": units[i % len(units)],
            "position": positions[i % len(positions)],
            "phone": "",
            "status": "approved",
            "source": "csv",
            "created_at": "",
            "updated_at": "",
            "blocked": 0,
        }
        for i in range(count)
    ]
    users.db.table("users").insert_all(rows)
    return [first_id + i for i in range(count)]


def approve(users: UserStore, telegram_id: int, unit: str = "TP", name: str = "Trần Thị B") -> None:
    user = users.register(telegram_id, telegram_id, name, unit, "Công chức", approved=True)
    assert user.status == "approved"


def answers_to(stand_in: BotApiStandIn, chat_id: int) -> list[Sent]:
    return [s for s in stand_in.to(chat_id, "sendMessage")]


class TagBalance(HTMLParser):
    """Checks that a message's HTML is well formed on its own (what Telegram's parser demands)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.ok = self.ok and bool(self.stack) and self.stack.pop() == tag


def well_formed(html: str) -> bool:
    checker = TagBalance()
    checker.feed(html)
    return checker.ok and not checker.stack


def as_text(messages: list[str]) -> str:
    """Telegram messages as the official reads them: tags gone, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", "\n\n".join(messages)))


def order_of(text: str, parts: list[str]) -> list[int]:
    """Where each part first appears in a rendered answer (-1 when missing)."""
    return [text.find(part) for part in parts]


async def ask(stand_in: BotApiStandIn, user_id: int, text: str, expect: str) -> Sent:
    """Send a question and wait for the reply containing `expect`."""
    before = len(stand_in.sent)
    stand_in.push_update(message_update(user_id, text))
    found = await stand_in.wait_for(lambda s: s in stand_in.sent[before:] and s.chat_id == user_id and expect in s.text)
    return found[0]


async def press(stand_in: BotApiStandIn, user_id: int, message: Sent, data: str) -> None:
    stand_in.push_update(callback_update(user_id, data, message))


async def settle(stand_in: BotApiStandIn, witness: int = 999_999) -> None:
    """Wait until the bot has handled the updates pushed so far: a /huongdan pushed after them (by a
    `witness` who writes nothing else) is answered, and updates are handled in the order they came."""
    await ask(stand_in, witness, "/huongdan", "/hoi câu hỏi")


async def until(predicate: Callable[[], bool], timeout: float = 60) -> None:
    """Wait until `predicate()` holds (checked every 50 ms), or fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


class Clock:
    """A settable clock for the bot (local time in Hồ Chí Minh City)."""

    def __init__(self, moment: str) -> None:
        self.set(moment)

    def set(self, moment: str) -> None:
        self.now = datetime.fromisoformat(moment).replace(tzinfo=HCM)

    def __call__(self) -> datetime:
        return self.now
