"""A real `chroma run` on 127.0.0.1 for tests and benches (the Chroma server mode, tried for real)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMA = Path(sys.executable).with_name("chroma")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(url: str, process: subprocess.Popen, name: str, seconds: float = 60) -> None:
    """Return once `url` answers; RuntimeError when the process ends or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} did not start") from None
            time.sleep(0.2)


@contextmanager
def running_server(command: list[str], url: str, name: str) -> Iterator[int]:
    """A server process started with `command`, once `url` answers: its pid; stopped afterwards."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(url, process, name)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[int, int]]:
    """A `chroma run` storing under `path` on a free port, answering its heartbeat: (port, pid); stopped
    afterwards."""
    port = free_port()
    command = [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with running_server(command, f"http://127.0.0.1:{port}/api/v2/heartbeat", "chroma run") as pid:
        yield port, pid
