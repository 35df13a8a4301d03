"""Obligation register figures: extraction quality on the hand annotations, build time on the 18 laws.

    .venv/bin/python -m bench.obligations

1. for each annotated document of tests/data/obligations/gold.yaml: precision and recall of (clause, unit)
   pairs and of (clause, unit, role) triples, deadlines / recurrences / terms right, units a list leaves out;
2. the 18 laws of ../shared/legal-bench/laws parsed into a fresh SQLite clause store (as `cchc ingest` leaves
   them, vectors aside), then the register built from it (`ObligationRegister.sync`, median of 3 fresh
   builds), and a second sync with nothing changed (what every ingest and bot start costs).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from base.database import open_database
from base.settings import load
from ingest.structure import parse
from knowledge.obligation_eval import load_gold, score
from knowledge.obligations import extract
from knowledge.records import DocumentMeta
from knowledge.register import ObligationRegister
from knowledge.store import ClauseStore
from knowledge.units import UnitDirectory

ROOT = Path(__file__).resolve().parent.parent
LAWS = ROOT.parent / "shared" / "legal-bench" / "laws"
OBLIGATIONS = ROOT / "tests" / "data" / "obligations"  # the hand annotations and their documents


def quality(directory) -> None:
    print("Extraction against the hand annotations")
    for document in load_gold(OBLIGATIONS / "gold.yaml"):
        clauses = parse(document.path.read_text(encoding="utf-8"), document.doc_id).clauses
        found = extract(clauses, directory, document.doc_id)
        print("\n".join(score(document.doc_id, document.pairs, found).lines()))


def laws_store(work: Path) -> tuple[ClauseStore, int]:
    store = ClauseStore(open_database(work / "cchc.db"))
    count = 0
    for path in sorted(LAWS.glob("*.txt")):
        clauses = parse(path.read_text(encoding="utf-8"), path.stem).clauses
        meta = DocumentMeta(doc_id=path.stem, title=path.stem)
        store.replace_document(meta, clauses, [""] * len(clauses), path.stem, has_articles=True)
        count += len(clauses)
    return store, count


def build_time(directory) -> None:
    timings, noop = [], []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as work:
            store, clauses = laws_store(Path(work))
            register = ObligationRegister(store, directory)
            start = time.perf_counter()
            register.sync()
            timings.append(time.perf_counter() - start)
            start = time.perf_counter()
            register.sync()
            noop.append(time.perf_counter() - start)
            rows = register.count()
    print(f"\nRegister of the 18 laws ({clauses} clauses): {rows} obligation rows")
    runs = ", ".join(f"{t:.2f}" for t in timings)
    print(f"  full build     {statistics.median(timings):.2f} s (median of 3 fresh builds: {runs})")
    print(f"  no-change sync {statistics.median(noop) * 1000:.1f} ms")


def main() -> None:
    directory = UnitDirectory.of(load(ROOT / "config.yaml"))
    quality(directory)
    build_time(directory)


if __name__ == "__main__":
    main()
