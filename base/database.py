"""The one SQLite database of a data directory, opened the same way by every store.

The bot keeps SQLite off its event loop with one discipline: its writes (and its heavy reads) run one at a
time on one `DatabaseThread`, which owns its own connection; quick reads may use another connection on the
loop, since in WAL mode a reader never waits for a writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

import sqlite_utils

BUSY_TIMEOUT_MS = 5000
Stores = TypeVar("Stores")
Result = TypeVar("Result")


def open_database(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the data directory's database in WAL mode; each store applies its migrations.

    The connection may be handed to another thread (the bot reads the knowledge base from its retrieval
    workers); writes through one connection are never made from two threads at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a database that may be in use (SQLite's online backup API): the copy is one
    moment of the source, whatever other processes write meanwhile."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)) as live,
        closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)


class DatabaseUnavailable(Exception):
    """The database cannot be written (locked by another program, read-only, not a database); the message
    says which and what to do."""


def check_writable(path: Path) -> None:
    """Take the database's write lock once (waiting the busy timeout) and let it go; DatabaseUnavailable
    says why it cannot be had."""
    try:
        db = open_database(path)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        finally:
            db.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise DatabaseUnavailable(
                f"the database {path} is locked by another program (held longer than {BUSY_TIMEOUT_MS // 1000} s); "
                "close it or wait until it finishes, then start again"
            ) from None
        raise DatabaseUnavailable(f"the database {path} cannot be written: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailable(f"{path} is not a usable SQLite database: {exc}") from None


def database_file(db: sqlite_utils.Database) -> Path:
    """The file a connection is open on (an in-memory database has none: another connection could not reach it)."""
    row = db.execute("PRAGMA database_list").fetchone()
    if not row[2]:
        raise ValueError("the database is in memory; the bot needs it in a file")
    return Path(row[2])


class DatabaseThread(Generic[Stores]):
    """One thread with its own connection and stores: whatever runs here runs one at a time, off the loop."""

    def __init__(self, path: Path, make_stores: Callable[[sqlite_utils.Database], Stores]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cchc-database")
        self._db = self._executor.submit(open_database, path).result()
        self._stores = self._executor.submit(make_stores, self._db).result()

    async def run(self, work: Callable[[Stores], Result]) -> Result:
        """Run `work(stores)` on the database thread and wait for it without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, self._stores)

    def submit(self, work: Callable[[Stores], Result]) -> Future[Result]:
        """Queue `work(stores)` without waiting for it; work queued later runs after it."""
        return self._executor.submit(work, self._stores)

    def close(self) -> None:
        """Close the connection (after the work already queued) and end the thread."""
        self._executor.submit(self._db.close).result()
        self._executor.shutdown()


def utc_now() -> str:
    """The current moment as stored in every table: UTC, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
