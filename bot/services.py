"""The services every handler uses: opened once at start, kept on the Application, closed at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlite_utils
from telegram.ext import Application, CallbackContext

from base.settings import Settings
from bot.quota import QuestionQuota
from knowledge.index import ClauseIndex
from knowledge.register import ObligationRegister
from office.broadcasts import Outbox
from office.reminders import local_now
from office.tasks import TaskStore
from office.users import UserStore

KEY = "services"


@dataclass
class Services:
    """Settings, stores and clock of one running bot."""

    settings: Settings
    index: ClauseIndex
    register: ObligationRegister
    users: UserStore
    tasks: TaskStore
    outbox: Outbox
    clock: Callable[[], datetime]
    questions: QuestionQuota
    refusals: QuestionQuota  # at most one refusal per window to someone who may not use the bot
    reminder_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    opened: list[sqlite_utils.Database] = field(default_factory=list)  # connections to close at shutdown

    def close(self) -> None:
        """Close the SQLite connections opened for the bot (injected services belong to their owner)."""
        for database in self.opened:
            database.close()
        self.opened.clear()

    def today(self) -> date:
        """Today in the town's time zone, by the bot's clock."""
        return local_now(self.clock(), self.settings.reminders).date()


def services(holder: CallbackContext[Any, Any, Any, Any] | Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services of the running bot (a handler's context or the Application itself)."""
    found: Services = holder.bot_data[KEY]
    return found
