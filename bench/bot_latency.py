"""Bot latency and memory: `cchc serve` as its own process against the Bot API stand-in on 127.0.0.1.

    .venv/bin/python -m bench.bot_latency [--questions 100] [--duties 60] [--officials 20] [--rounds 10]
                                          [--staff 12000]

Prints the time from an update arriving at the stand-in to the bot's reply reaching it (p50/p95/max):
1. one approved official asking one question after another (sample corpus), and the same for `/viec` and
   for questions about the asker's duties ("Đơn vị tôi phải làm gì?", answered from the obligation register)
   from an official of a phòng and one of a xã;
2. `--officials` officials asking at once, `--rounds` times, while `cchc users import` loads a staff list of
   `--staff` rows into the same database again and again (each import holds SQLite's write lock for seconds);
and the resident memory of the `cchc serve` process (peak, sampled every 50 ms). On a shared machine wall
times are noisy: the CPU time `cchc serve` and the imports spent in phase 2 is printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

from devtools.botapi import BotApiStandIn, message_update
from knowledge.evaluation import load_questions

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CCHC = Path(sys.executable).with_name("cchc")
OFFICIAL = 4242
OFFICIAL_XA = 4243
DUTY_QUESTIONS = ["Đơn vị tôi phải làm gì?", "Việc nào sắp đến hạn?", "Phòng Tư pháp có nhiệm vụ gì theo chỉ thị?"]
FIRST_COLLEAGUE = 5000
STAFF_HEADER = "ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\n"


def prepare(work: Path, officials: int, staff: int) -> tuple[Path, Path]:
    """A config with a generous per-user limit, the sample corpus ingested, approved officials; and a staff
    list of `staff` rows (phone numbers, no Telegram ids yet) for the import that runs meanwhile."""
    work.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["telegram"]["rate_limit"] = {"questions": 1000, "per_seconds": 1}
    config["data_dir"] = str(work / "data")
    config["corpus"] = [str(SHARED / "corpus")]
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    approved = work / "approved.csv"
    rows = [f"Người Đo,NV,Công chức,,{OFFICIAL}", f"Người Đo Xã,XAP,Công chức,,{OFFICIAL_XA}"]
    rows += [f"Cán bộ {i},TP,Công chức,,{FIRST_COLLEAGUE + i}" for i in range(officials)]
    approved.write_text(STAFF_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    units = [u["code"] for u in config["units"]]
    big = work / "staff.csv"
    lines = [f"Cán bộ số {i},{units[i % len(units)]},Công chức,09{i:08d}," for i in range(staff)]
    big.write_text(STAFF_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    for args in (["ingest", "--quiet"], ["users", "import", str(approved)]):
        subprocess.run([str(CCHC), "--config", str(path), *args], check=True, stdout=subprocess.DEVNULL)
    return path, big


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


async def reply_latencies(stand_in: BotApiStandIn, asked: list[tuple[int, str]]) -> list[float | None]:
    """Push the questions at once (one per official); ms from each update to the answer with buttons, None
    for a question not answered within 30 s."""
    before = len(stand_in.sent)
    pushed = {}
    for official, text in asked:
        pushed[official] = time.monotonic()
        stand_in.push_update(message_update(official, text))

    def answered() -> dict[int, float]:
        return {s.chat_id: s.at for s in stand_in.sent[before:] if s.method == "sendMessage" and bool(s.buttons)}

    deadline = time.monotonic() + 30
    while len(answered()) < len(pushed) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    replies = answered()
    return [(replies[chat] - at) * 1000 if chat in replies else None for chat, at in pushed.items()]


async def import_again_and_again(config: Path, staff: Path, stop: asyncio.Event, took: list[float]) -> None:
    """`cchc users import` of the big staff list, over and over, until asked to stop."""
    while not stop.is_set():
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            str(CCHC), "--config", str(config), "users", "import", str(staff), stdout=subprocess.DEVNULL
        )
        await process.wait()
        took.append(time.monotonic() - started)


async def measure(
    config: Path, staff: Path, one_by_one: list[tuple[str, int, str]], officials: int, rounds: int
) -> dict:
    """Latencies of each (kind, user, text) asked one after another, by kind; then of officials asking at
    once during imports; the imports' durations and the peak RSS."""
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
    serving = psutil.Process(server.pid)
    sampler = asyncio.create_task(sample_rss(serving, peak, stop))
    try:
        deadline = time.monotonic() + 120
        while ("getUpdates", None) not in stand_in.calls:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("cchc serve did not start polling")
            await asyncio.sleep(0.1)
        alone: dict[str, list[float | None]] = {}
        for kind, user, text in one_by_one:
            alone.setdefault(kind, []).extend(await reply_latencies(stand_in, [(user, text)]))
        importing, imports = asyncio.Event(), list[float]()
        cpu_before, imports_cpu_before, started = cpu_seconds(serving), children_cpu_seconds(), time.monotonic()
        importer = asyncio.create_task(import_again_and_again(config, staff, importing, imports))
        await asyncio.sleep(2)  # the first import is parsing and writing
        together: list[float | None] = []
        pool = questions(officials * rounds)
        for r in range(rounds):
            asked = [(FIRST_COLLEAGUE + i, pool[r * officials + i]) for i in range(officials)]
            together += await reply_latencies(stand_in, asked)
            await asyncio.sleep(0.5)
        importing.set()
        await importer
        cpu = {
            "wall": time.monotonic() - started,
            "serve": cpu_seconds(serving) - cpu_before,
            "imports": children_cpu_seconds() - imports_cpu_before,
        }
        return {"one_by_one": alone, "together": together, "imports": imports, "rss": peak[0], "cpu": cpu}
    finally:
        stop.set()
        await sampler
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        await stand_in.stop()


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time a running process has spent so far."""
    times = process.cpu_times()
    return times.user + times.system


def children_cpu_seconds() -> float:
    """User + system CPU time of this script's finished child processes (the imports)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(latencies: list[float | None]) -> str:
    """p50/p95/max of the answered questions, and how many got no answer within 30 s."""
    ordered = sorted(x for x in latencies if x is not None)
    missing = len(latencies) - len(ordered)
    if not ordered:
        return f"none of {missing} answered"
    p95 = statistics.quantiles(ordered, n=20, method="inclusive")[-1] if len(ordered) > 1 else ordered[0]
    figures = f"p50 {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms"
    return figures + (f"; {missing} not answered within 30 s" if missing else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--questions", type=int, default=100, help="Questions asked one after another.")
    parser.add_argument("--duties", type=int, default=60, help="/viec commands and duty questions of each kind.")
    parser.add_argument("--officials", type=int, default=20, help="Officials asking at once.")
    parser.add_argument("--rounds", type=int, default=10, help="Times they all ask at once.")
    parser.add_argument("--staff", type=int, default=12_000, help="Rows of the staff list imported meanwhile.")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-bot")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    config, staff = prepare(args.work, args.officials, args.staff)
    asked = [("questions", OFFICIAL, q) for q in questions(args.questions)]
    for i in range(args.duties):
        asked += [("/viec, official of a phòng", OFFICIAL, "/viec"), ("/viec, official of a xã", OFFICIAL_XA, "/viec")]
        asked.append(("questions about my duties", OFFICIAL_XA, DUTY_QUESTIONS[i % len(DUTY_QUESTIONS)]))
    found = asyncio.run(measure(config, staff, asked, args.officials, args.rounds))
    for kind, latencies in found["one_by_one"].items():
        print(f"one official, {len(latencies)} {kind} one after another: {summary(latencies)}")
    imports = found["imports"]
    print(
        f"{args.officials} officials asking at once, {len(found['together'])} questions, while a "
        f"{args.staff}-row staff import ran {len(imports)} time(s) "
        f"({statistics.mean(imports):.1f} s each): {summary(found['together'])}"
    )
    cpu = found["cpu"]
    print(
        f"  CPU time meanwhile ({cpu['wall']:.0f} s of wall time): `cchc serve` {cpu['serve']:.1f} s "
        f"({cpu['serve'] / len(found['together']) * 1000:.0f} ms a question, polling and sending included), "
        f"the imports {cpu['imports']:.1f} s"
    )
    print(f"peak resident memory of `cchc serve`: {found['rss'] / 2**20:.0f} MiB")
    print(f"load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
