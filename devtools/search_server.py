"""A real `cchc search-server` on 127.0.0.1 for tests and benches (the lexical side out of the process)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.chroma_server import free_port, wait_until_answering

CCHC = Path(sys.executable).with_name("cchc")


@contextmanager
def search_server(config: Path, data_dir: Path) -> Iterator[tuple[int, int]]:
    """A `cchc search-server` for this data dir on a free port, answering /status: (port, pid); stopped
    afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [str(CCHC), "--config", str(config), "--data-dir", str(data_dir), "search-server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/status", process, "cchc search-server")
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
