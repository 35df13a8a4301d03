"""Retrieval quality: our pipeline beside a plain BM25 over whole articles, on the development sets.

    .venv/bin/python bench/retrieval_quality.py            # builds the two knowledge bases if missing
    .venv/bin/python bench/retrieval_quality.py --sweep    # also scores other fusion weights

Prints hit@1, hit@3, MRR@10 and abstentions for the sample directive (accented and unaccented) and for the
18 laws, plus the plain BM25 article baseline on the laws, all in one run. With --sweep it re-scores the
same questions under other fusion weights (without re-embedding), which is how config.yaml's weights
were chosen.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import bm25s
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from base.settings import load  # noqa: E402
from ingest.pipeline import Ingester  # noqa: E402
from knowledge.answer import answer  # noqa: E402
from knowledge.evaluation import Question, load_questions, score, unaccented  # noqa: E402
from knowledge.index import Candidates, ClauseIndex  # noqa: E402

SHARED = ROOT.parent / "shared"
DIRECTIVE_SET = SHARED / "eval" / "dev-chithi.yaml"
LAWS_SET = SHARED / "legal-bench" / "dev.json"
CALIBRATION_SET = ROOT / "tests" / "data" / "calibration-chithi.yaml"  # the developers' own paraphrases


def knowledge_base(data_dir: Path, corpus: Path) -> ClauseIndex:
    """Open the knowledge base in data_dir, ingesting the corpus if anything changed."""
    index = ClauseIndex(load(ROOT / "config.yaml", data_dir))
    started = time.perf_counter()
    report = Ingester(index, show_progress=True).run([corpus])
    if report.added or report.updated:
        print(f"  ingested {corpus.name} in {time.perf_counter() - started:.0f} s")
    return index


def plain_bm25_mrr(laws: Path, questions: list[Question]) -> float:
    """MRR@10 of BM25 (bm25s defaults) over whole articles, lower-cased words, no folding."""
    articles: list[tuple[str, str]] = []
    texts: list[list[str]] = []
    for path in sorted(laws.glob("*.txt")):
        for block in re.split(r"\n(?=Điều \d+)", path.read_text(encoding="utf-8")):
            if m := re.match(r"Điều (\d+)", block):
                articles.append((path.stem, m.group(1)))
                texts.append(re.findall(r"\w+", block.lower()))
    retriever = bm25s.BM25()
    retriever.index(texts, show_progress=False)
    total = 0.0
    for q in questions:
        ids = [
            retriever.vocab_dict[t]
            for t in dict.fromkeys(re.findall(r"\w+", q.text.lower()))
            if t in retriever.vocab_dict
        ]
        scores = retriever.get_scores(ids) if ids else np.zeros(len(texts))
        ranked = [articles[i] for i in np.argsort(-scores)[:10]]
        rank = next((i + 1 for i, a in enumerate(ranked) if a in q.gold), None)
        total += 1 / rank if rank else 0.0
    return total / len(questions)


def report(name: str, index: ClauseIndex, questions: list[Question]) -> None:
    for line in score(questions, lambda text: answer(index, text, top_k=10)).lines(name):
        print(line)


def components(index: ClauseIndex, questions: list[Question]) -> list[Candidates]:
    """Per question: the clause, article and dense signals, computed once for every weight."""
    return [index.candidates(q.text) for q in questions]


def sweep_mrr(index: ClauseIndex, questions: list[Question], rows, dense_w: float, clause_w: float) -> float:
    total = 0.0
    day = index.today()
    for q, found in zip(questions, rows, strict=True):
        hits = index.ranked(found, 10, dense_w, clause_w, day)
        rank = next(
            (
                i + 1
                for i, hit in enumerate(hits)
                if any(
                    hit.clause.doc_id == gd and (hit.clause.loc == gl or hit.clause.loc.startswith(gl + "."))
                    for gd, gl in q.gold
                )
            ),
            None,
        )
        total += 1 / rank if rank else 0.0
    return total / len(questions)


def sweep(sets: list[tuple[str, ClauseIndex, list[Question]]]) -> None:
    print("\nFusion sweep (MRR@10; in-scope questions only)")
    prepared = [(name, index, qs, components(index, qs)) for name, index, qs in sets]
    print("dense_w clause_w  " + "  ".join(f"{name:>14s}" for name, *_ in prepared))
    for dense_w in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0):
        for clause_w in (0.0, 0.3, 0.5, 0.7, 1.0):
            values = [sweep_mrr(index, qs, rows, dense_w, clause_w) for _, index, qs, rows in prepared]
            print(f"{dense_w:7.1f} {clause_w:8.1f}  " + "  ".join(f"{v:14.3f}" for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench", help="Where the bench data dirs live.")
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    directive = knowledge_base(args.work / "directive", SHARED / "corpus")
    laws = knowledge_base(args.work / "laws", SHARED / "legal-bench" / "laws")
    directive_qs = load_questions(DIRECTIVE_SET)
    laws_qs = load_questions(LAWS_SET)
    report("directive dev (accented)", directive, directive_qs)
    report("directive dev (unaccented)", directive, unaccented(directive_qs))
    report("laws dev, our pipeline", laws, laws_qs)
    print(f"laws dev, plain BM25 over articles: MRR@10 {plain_bm25_mrr(SHARED / 'legal-bench' / 'laws', laws_qs):.3f}")
    if args.sweep:
        in_scope = [q for q in directive_qs if q.in_scope]
        own = [q for q in load_questions(CALIBRATION_SET) if q.in_scope]
        sweep(
            [
                ("directive", directive, in_scope),
                ("directive-unacc", directive, unaccented(in_scope)),
                ("own-paraphrase", directive, own + unaccented(own)),
                ("laws", laws, laws_qs),
            ]
        )


if __name__ == "__main__":
    main()
