"""The services every handler uses: opened once at start, kept on the Application, closed at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import sqlite_utils
from telegram.ext import Application, CallbackContext

from base.database import DatabaseThread
from base.serving import ServingLock
from base.settings import Settings
from bot.quota import QuestionQuota
from knowledge.index import ClauseIndex
from knowledge.register import ObligationRegister
from office.broadcasts import Outbox
from office.reminders import local_now
from office.tasks import TaskStore
from office.users import UserStore

log = logging.getLogger(__name__)
KEY = "services"
RETRIEVAL_WORKERS = 2  # questions answered at once (retrieval is CPU-bound; the town's server has ~2 cores)
Result = TypeVar("Result")


@dataclass(frozen=True)
class Stores:
    """The town office's stores on one connection."""

    users: UserStore
    tasks: TaskStore
    outbox: Outbox

    @classmethod
    def on(cls, db: sqlite_utils.Database, settings: Settings) -> Stores:
        return cls(UserStore(db), TaskStore(db, settings), Outbox(db, settings))


@dataclass
class Services:
    """Settings, stores and clock of one running bot.

    `users`, `tasks` and `outbox` serve quick reads on the event loop; writes and heavy reads go through
    `on_db` (the one database thread), retrieval through `on_index` (a small pool), so no handler blocks
    the loop for the others."""

    settings: Settings
    index: ClauseIndex
    register: ObligationRegister
    users: UserStore
    tasks: TaskStore
    outbox: Outbox
    clock: Callable[[], datetime]
    questions: QuestionQuota
    refusals: QuestionQuota  # at most one refusal per window to someone who may not use the bot
    database: DatabaseThread[Stores]
    answer_ids: Iterator[int]  # numbers answers before they are recorded (one bot per data directory)
    retrieval: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(RETRIEVAL_WORKERS, thread_name_prefix="cchc-retrieval")
    )
    reminder_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    opened: list[sqlite_utils.Database] = field(default_factory=list)  # connections to close at shutdown
    serving: ServingLock | None = None  # tells `cchc ingest` that a bot is answering from the data dir

    async def on_db(self, work: Callable[[Stores], Result]) -> Result:
        """Run `work(stores)` on the database thread: the bot's writes go one at a time, off the loop."""
        return await self.database.run(work)

    def write_behind(self, work: Callable[[Stores], object], what: str) -> None:
        """Queue a write on the database thread and go on without waiting (a failure is logged with `what`).
        Whatever later goes through `on_db` runs after it, so it sees the write."""

        def report(done: Future[object]) -> None:
            if (error := done.exception()) is not None:
                log.warning("%s not recorded: %s", what, error)

        self.database.submit(work).add_done_callback(report)

    def mark_blocked(self, chat_id: int) -> None:
        """Record, behind the send, that a chat blocked the bot (a busy database holds up no reply)."""
        self.write_behind(lambda s: s.users.mark_blocked(chat_id), f"chat {chat_id} blocked the bot")

    async def on_index(self, work: Callable[[ClauseIndex], Result]) -> Result:
        """Run `work(index)` (retrieval, full texts) in the retrieval pool, off the loop."""
        return await asyncio.get_running_loop().run_in_executor(self.retrieval, work, self.index)

    def close(self) -> None:
        """Stop the worker threads; close the SQLite connections opened for the bot (injected stores belong
        to their owner)."""
        self.retrieval.shutdown()
        self.database.close()
        for database in self.opened:
            database.close()
        self.opened.clear()
        if self.serving is not None:
            self.serving.release()

    def today(self) -> date:
        """Today in the town's time zone, by the bot's clock."""
        return local_now(self.clock(), self.settings.reminders).date()


def services(holder: CallbackContext[Any, Any, Any, Any] | Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services of the running bot (a handler's context or the Application itself)."""
    found: Services = holder.bot_data[KEY]
    return found
