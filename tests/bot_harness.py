"""Run the real Application against the Bot API stand-in, the way `cchc serve` runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from telegram.ext import Application

from base.settings import Settings
from bot.app import build_application
from knowledge.index import ClauseIndex
from office.broadcasts import Outbox
from office.tasks import TaskStore
from office.users import UserStore
from tests.botapi import BotApiStandIn

TOKEN = "123456:TEST-TOKEN-not-a-secret"


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
    users.db["users"].insert_all(rows)
    return [r["telegram_id"] for r in rows]
