"""Which processes use a data directory right now: a bot answering from it, a command writing to it.

A serving process holds a shared lock on `serving.lock` in the data directory while it runs; `cchc ingest`
tries the exclusive lock to learn whether anyone is answering, and if so leaves them room. A writing
command (`cchc ingest`, the vector repair after `cchc restore`) holds `writing.lock` for its whole run, so
that two never write at once. The operating system drops a lock with the process, however it ends, so a
crash never leaves a stale mark.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

LOCK_FILE = "serving.lock"
WRITING_FILE = "writing.lock"


class SearchServerUnavailable(RuntimeError):
    """The search server (`lexical.mode: server`) did not answer as one should; the message says why and
    what to do."""


class ServingLock:
    """Held by a process that answers questions from a data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a+")  # noqa: SIM115  (held until release)
        fcntl.flock(self._handle, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def someone_serving(data_dir: Path) -> bool:
    """True while a bot answers from this data directory (another process holds the serving lock)."""
    path = data_dir / LOCK_FILE
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@contextmanager
def file_lock(path: Path, shared: bool = False, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock on `path` (created, with its folder) for the block, against other processes and other
    open handles of this one: alone, or (`shared`) beside other shared holders. When it is taken, call
    `waiting` first, then wait. Not re-entrant: a thread that holds it and asks again waits for itself."""
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:  # closing it lets go of the lock
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(handle, mode)
        yield


def one_writer(data_dir: Path, waiting: Callable[[], None]) -> AbstractContextManager[None]:
    """Hold the data directory's writer lock for a whole writing command; when another holds it, call
    `waiting` and wait for it to end. The second writer then opens the vector store as the first left it:
    had it opened the store before, it would save its older HNSW graph over the other's writes."""
    return file_lock(data_dir / WRITING_FILE, waiting=waiting)
