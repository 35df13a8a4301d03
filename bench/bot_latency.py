"""Bot latency and memory: `cchc serve` as its own process against the Bot API stand-in on 127.0.0.1.

    .venv/bin/python bench/bot_latency.py [--questions 200]

Prints the time from an update arriving at the stand-in to the bot's reply reaching it (p50/p95/max over
the questions, sample corpus, one approved official asking one question after another) and the resident
memory of the `cchc serve` process (peak, sampled every 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
CCHC = Path(sys.executable).with_name("cchc")
OFFICIAL = 4242

from knowledge.evaluation import load_questions  # noqa: E402
from tests.botapi import BotApiStandIn, message_update  # noqa: E402


def prepare(work: Path) -> Path:
    """A config with a generous per-user limit, the sample corpus ingested, one approved official."""
    work.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["telegram"]["rate_limit"] = {"questions": 1000, "per_seconds": 1}
    config["data_dir"] = str(work / "data")
    config["corpus"] = [str(SHARED / "corpus")]
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    staff = work / "staff.csv"
    staff.write_text(f"ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\nNgười Đo,NV,Công chức,,{OFFICIAL}\n")
    for args in (["ingest", "--quiet"], ["users", "import", str(staff)]):
        subprocess.run([str(CCHC), "--config", str(path), *args], check=True, stdout=subprocess.DEVNULL)
    return path


def questions(count: int) -> list[str]:
    pool = [q.text for q in load_questions(SHARED / "eval" / "dev-chithi.yaml")]
    pool += [q.text for q in load_questions(ROOT / "tests" / "data" / "calibration-chithi.yaml")]
    return [pool[i % len(pool)] for i in range(count)]


async def sample_rss(process: psutil.Process, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], process.memory_info().rss)
        except psutil.NoSuchProcess:
            return
        await asyncio.sleep(0.05)


async def measure(config: Path, asked: list[str]) -> tuple[list[float], int]:
    stand_in = BotApiStandIn()
    await stand_in.start()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "1:bench",
        "TELEGRAM_API_BASE_URL": stand_in.base_url,
        "CCHC_CONFIG": str(config),
    }
    server = subprocess.Popen([str(CCHC), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, stop = [0], asyncio.Event()
    sampler = asyncio.create_task(sample_rss(psutil.Process(server.pid), peak, stop))
    try:
        deadline = time.monotonic() + 120
        while ("getUpdates", None) not in stand_in.calls:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("cchc serve did not start polling")
            await asyncio.sleep(0.1)
        latencies = []
        for text in asked:
            before = len(stand_in.sent)
            pushed = time.monotonic()
            stand_in.push_update(message_update(OFFICIAL, text))
            replies = await stand_in.wait_for(
                lambda s, before=before: s in stand_in.sent[before:] and s.method == "sendMessage" and bool(s.buttons)
            )
            latencies.append((replies[0].at - pushed) * 1000)
        return latencies, peak[0]
    finally:
        stop.set()
        await sampler
        server.terminate()
        server.wait(timeout=30)
        await stand_in.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-bot")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    config = prepare(args.work)
    latencies, rss = asyncio.run(measure(config, questions(args.questions)))
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"update -> reply over {len(ordered)} questions: p50 {statistics.median(ordered):.0f} ms, "
        f"p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms"
    )
    print(f"peak resident memory of `cchc serve`: {rss / 2**20:.0f} MiB")
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
