"""Retrieval quality on question sets: hit@1, hit@3, MRR@10 and abstentions.

Two formats are read: the YAML of `shared/eval/*.yaml` (doc_id at the top; each question with `loc`,
optional `also`, or `out_of_scope: true`) and the JSON of `shared/legal-bench/dev.json` (each question with
`gold: [{doc_id, loc}]`). A citation hits when it is the gold clause or lies inside it (gold `7` is hit by
`7.2.a`). An in-scope question the assistant abstains on counts as a miss.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.records import Answer
from knowledge.vietnamese import fold, normalize


@dataclass(frozen=True)
class Question:
    text: str
    gold: tuple[tuple[str, str], ...]  # (doc_id, loc); empty when out of scope

    @property
    def in_scope(self) -> bool:
        return bool(self.gold)


@dataclass(frozen=True)
class Scores:
    questions: int
    in_scope: int
    hit_at_1: float
    hit_at_3: float
    mrr_at_10: float
    abstention_rate: float
    out_of_scope_abstained: float  # share of out-of-scope questions abstained on (1.0 is right)
    in_scope_abstained: float  # share of in-scope questions wrongly abstained on

    def lines(self, name: str) -> list[str]:
        return [
            f"{name}: {self.questions} questions ({self.in_scope} in scope)",
            f"  hit@1   {self.hit_at_1:.3f}",
            f"  hit@3   {self.hit_at_3:.3f}",
            f"  MRR@10  {self.mrr_at_10:.3f}",
            f"  abstention rate {self.abstention_rate:.3f} (out of scope abstained {self.out_of_scope_abstained:.3f},"
            f" in scope abstained {self.in_scope_abstained:.3f})",
        ]


def load_questions(path: Path) -> list[Question]:
    """Questions from a YAML or JSON question file."""
    raw = (
        yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.suffix in {".yaml", ".yml"}
        else json.loads(path.read_text(encoding="utf-8"))
    )
    default_doc = raw.get("doc_id", "")
    questions = []
    for item in raw["questions"]:
        if item.get("out_of_scope"):
            gold: tuple[tuple[str, str], ...] = ()
        elif "gold" in item:
            gold = tuple((g["doc_id"], str(g["loc"])) for g in item["gold"])
        else:
            locs = [str(item["loc"])] + [str(x) for x in item.get("also", [])]
            gold = tuple((item.get("doc_id", default_doc), loc) for loc in locs)
        questions.append(Question(item["q"], gold))
    return questions


def unaccented(questions: list[Question]) -> list[Question]:
    """The same questions typed without diacritics, as on a phone."""
    return [Question(fold(normalize(q.text)), q.gold) for q in questions]


def _hits(answer: Answer, gold: tuple[tuple[str, str], ...]) -> list[bool]:
    normalized = [(d, normalize(loc)) for d, loc in gold]
    return [
        any(c.doc_id == d and (c.loc == loc or c.loc.startswith(loc + ".")) for d, loc in normalized)
        for c in answer.citations
    ]


def score(questions: list[Question], ask: Callable[[str], Answer]) -> Scores:
    """Ask every question and score the cited clauses against the gold ones."""
    hit1 = hit3 = rr = abstained_in = abstained_out = 0.0
    for question in questions:
        answer = ask(question.text)
        if not question.in_scope:
            abstained_out += not answer.answered
            continue
        if not answer.answered:
            abstained_in += 1
            continue
        hits = _hits(answer, question.gold)
        rank = next((i + 1 for i, hit in enumerate(hits[:10]) if hit), None)
        hit1 += rank == 1
        hit3 += rank is not None and rank <= 3
        rr += 1 / rank if rank else 0.0
    n_in = sum(q.in_scope for q in questions)
    n_out = len(questions) - n_in
    return Scores(
        questions=len(questions),
        in_scope=n_in,
        hit_at_1=hit1 / n_in if n_in else 0.0,
        hit_at_3=hit3 / n_in if n_in else 0.0,
        mrr_at_10=rr / n_in if n_in else 0.0,
        abstention_rate=(abstained_in + abstained_out) / len(questions) if questions else 0.0,
        out_of_scope_abstained=abstained_out / n_out if n_out else 1.0,
        in_scope_abstained=abstained_in / n_in if n_in else 0.0,
    )
