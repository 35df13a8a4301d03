"""A real `cchc search-server` on 127.0.0.1 for tests and benches (the lexical side out of the process)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.chroma_server import free_port, running_server

CCHC = Path(sys.executable).with_name("cchc")


@contextmanager
def search_server(config: Path, data_dir: Path) -> Iterator[tuple[int, int]]:
    """A `cchc search-server` for this data dir on a free port, answering /status: (port, pid); stopped
    afterwards."""
    port = free_port()
    command = [str(CCHC), "--config", str(config), "--data-dir", str(data_dir), "search-server", "--port", str(port)]
    with running_server(command, f"http://127.0.0.1:{port}/status", "cchc search-server") as pid:
        yield port, pid
