"""Bot latency and memory: `cchc serve` as its own process against the Bot API stand-in on 127.0.0.1.

    .venv/bin/python bench/bot_latency.py [--questions 200]

Prints the time from an update arriving at the stand-in to the bot's reply reaching it (p50/p95/max over
the questions, sample corpus, one approved official asking one question after another), the same for
`/viec` and for questions about the asker's duties ("Đơn vị tôi phải làm gì?", answered from the
obligation register) from an official of a phòng and one of a xã, and the resident memory of the
`cchc serve` process (peak, sampled every 50 ms).
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
OFFICIAL_XA = 4243
DUTY_QUESTIONS = ["Đơn vị tôi phải làm gì?", "Việc nào sắp đến hạn?", "Phòng Tư pháp có nhiệm vụ gì theo chỉ thị?"]

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
    staff.write_text(
        "ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\n"
        f"Người Đo,NV,Công chức,,{OFFICIAL}\nNgười Đo Xã,XAP,Công chức,,{OFFICIAL_XA}\n"
    )
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


async def measure(config: Path, asked: list[tuple[str, int, str]]) -> tuple[dict[str, list[float]], int]:
    """Latency of each (kind, user, text) asked one after another, by kind; and the peak RSS."""
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
        latencies: dict[str, list[float]] = {}
        for kind, user, text in asked:
            before = len(stand_in.sent)
            pushed = time.monotonic()
            stand_in.push_update(message_update(user, text))
            replies = await stand_in.wait_for(
                lambda s, before=before: s in stand_in.sent[before:] and s.method == "sendMessage" and bool(s.buttons)
            )
            latencies.setdefault(kind, []).append((replies[0].at - pushed) * 1000)
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
    parser.add_argument("--duties", type=int, default=60, help="/viec commands and duty questions of each kind")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-bot")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    config = prepare(args.work)
    asked = [("questions", OFFICIAL, q) for q in questions(args.questions)]
    for i in range(args.duties):
        asked += [("/viec, official of a phòng", OFFICIAL, "/viec"), ("/viec, official of a xã", OFFICIAL_XA, "/viec")]
        asked.append(("questions about my duties", OFFICIAL_XA, DUTY_QUESTIONS[i % len(DUTY_QUESTIONS)]))
    latencies, rss = asyncio.run(measure(config, asked))
    for kind, found in latencies.items():
        ordered = sorted(found)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(
            f"update -> reply over {len(ordered)} {kind}: p50 {statistics.median(ordered):.0f} ms, "
            f"p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms"
        )
    print(f"peak resident memory of `cchc serve`: {rss / 2**20:.0f} MiB")
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
