"""The one SQLite database of a data directory, opened the same way by every store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 5000


def open_database(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the data directory's database in WAL mode; each store applies its migrations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
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


def utc_now() -> str:
    """The current moment as stored in every table: UTC, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
