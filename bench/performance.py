"""Speed and memory of the knowledge core on the 18 laws, printed as figures (never asserted in tests).

    .venv/bin/python -m bench.performance [--work data/bench-perf] [--keep]

1. ingest of the 18 laws into a fresh data dir (`cchc ingest`, as an operator runs it): time and peak memory,
2. a no-change re-ingest,
3. warm query latency (p50/p95/max) of the full answer path over the laws' dev statements,
4. peak resident memory of `cchc chat` answering questions on the laws' index.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CCHC = Path(sys.executable).with_name("cchc")


def run_cli(*args: str, stdin: str = "") -> tuple[float, float]:
    """Run `cchc` with these arguments: its wall time (s) and its own peak RSS (MiB; RUSAGE_CHILDREN would give
    the largest child this process ever had)."""
    started = time.perf_counter()
    child = subprocess.Popen([str(CCHC), *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert child.stdin is not None
    try:
        child.stdin.write(stdin)  # a few KB at most: fits the pipe
        child.stdin.close()
    except BrokenPipeError:  # it died before reading: its exit code says why
        pass
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"cchc {' '.join(args)} exited with {child.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def query_latencies(data_dir: Path, questions: list[str], rounds: int) -> list[float]:
    from base.settings import load
    from knowledge.answer import answer
    from knowledge.index import ClauseIndex

    index = ClauseIndex(load(ROOT / "config.yaml", data_dir))
    answer(index, "khởi động")  # warm: model, Chroma, lexical index
    latencies = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            answer(index, question)
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def main() -> None:
    from knowledge.evaluation import load_questions

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-perf")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="Keep the data dir afterwards.")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    laws = SHARED / "legal-bench" / "laws"
    questions = [q.text for q in load_questions(SHARED / "legal-bench" / "dev.json")]

    ingest_s, ingest_mib = run_cli("--data-dir", str(args.work), "ingest", "--quiet", str(laws))
    print(f"ingest of 18 laws (fresh data dir): {ingest_s:.1f} s, peak memory {ingest_mib:.0f} MiB")
    reingest_s, _ = run_cli("--data-dir", str(args.work), "ingest", "--quiet", str(laws))
    print(f"no-change re-ingest: {reingest_s:.2f} s (whole command, model and store loading included)")

    latencies = sorted(query_latencies(args.work, questions, args.rounds))
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"warm query latency over {len(latencies)} questions: p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms"
    )
    _, chat_mib = run_cli("--data-dir", str(args.work), "chat", stdin="\n".join(questions[:30]) + "\n\n")
    print(f"peak memory of `cchc chat` answering 30 questions on the laws' index: {chat_mib:.0f} MiB")
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
