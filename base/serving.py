"""Whether a bot (`cchc serve` or `cchc chat`) is answering from a data directory right now.

A serving process holds a shared lock on `serving.lock` in the data directory while it runs; `cchc ingest`
tries the exclusive lock to learn whether anyone is answering, and if so leaves them room. The operating
system drops the lock with the process, however it ends, so a crash never leaves a stale mark.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

LOCK_FILE = "serving.lock"


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
