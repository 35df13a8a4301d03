"""How well the extracted obligations match a hand annotation (tests/data/obligations/gold.yaml).

Scores per document:
- precision and recall of (clause, unit) pairs, and of (clause, unit, role) triples;
- deadlines, recurrences and relative terms: of the pairs the annotation gives one, how many the extraction
  gets exactly (the same set of dates, the same set of recurrences, each term found from its start), and
  the pairs where the extraction states one the annotation does not;
- units left out: pairs found in an annotated clause for a unit the clause does not oblige (a list that
  names some units, or a group that excludes them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from knowledge.obligations import Obligation
from knowledge.vietnamese import normalize

Pair = tuple[str, str]


@dataclass
class Facts:
    """What is owed by one unit in one clause: roles, dates, recurrences, terms."""

    roles: set[str] = field(default_factory=set)
    deadlines: set[date] = field(default_factory=set)
    recurrences: set[str] = field(default_factory=set)
    terms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GoldDocument:
    doc_id: str
    path: Path
    pairs: dict[Pair, Facts]


def load_gold(path: Path) -> list[GoldDocument]:
    """The annotated documents of a gold file, their text files resolved beside it."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    documents = []
    for doc_id, entry in data["documents"].items():
        pairs: dict[Pair, Facts] = defaultdict(Facts)
        for item in entry["obligations"]:
            for unit in item["units"]:
                facts = pairs[(str(item["loc"]), unit)]
                facts.roles.add(item["role"])
                facts.deadlines.update(item.get("deadline", []))
                facts.recurrences.update(item.get("recurrence", []))
                facts.terms += [normalize(t) for t in item.get("term", [])]
        documents.append(GoldDocument(doc_id, (path.parent / entry["file"]).resolve(), dict(pairs)))
    return documents


def facts_of(obligations: Iterable[Obligation]) -> dict[Pair, Facts]:
    """Extracted obligations gathered the way the annotation is: by clause and unit."""
    pairs: dict[Pair, Facts] = defaultdict(Facts)
    for o in obligations:
        facts = pairs[(o.loc, o.unit)]
        facts.roles.add(o.role)
        if o.deadline:
            facts.deadlines.add(o.deadline)
        facts.recurrences.update(o.recurrence)
        if o.term:
            facts.terms.append(normalize(o.term))
    return dict(pairs)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


@dataclass(frozen=True)
class Agreement:
    """Of `stated` pairs with a fact in the annotation, `right` match exactly; `spurious` are invented."""

    stated: int
    right: int
    spurious: int

    def line(self, name: str) -> str:
        return f"  {name:<12} {self.right}/{self.stated} right, {self.spurious} stated where the text states none"


def _agreement(gold: dict[Pair, Facts], found: dict[Pair, Facts], attribute: str) -> Agreement:
    stated = [p for p, f in gold.items() if getattr(f, attribute)]
    right = sum(1 for p in stated if p in found and _same(gold[p], found[p], attribute))
    invented = [p for p, f in found.items() if getattr(f, attribute) and p in gold and not getattr(gold[p], attribute)]
    return Agreement(len(stated), right, len(invented))


def _same(gold: Facts, found: Facts, attribute: str) -> bool:
    if attribute == "terms":
        return all(any(t.startswith(g) for t in found.terms) for g in gold.terms)
    return getattr(gold, attribute) == getattr(found, attribute)


@dataclass(frozen=True)
class DocumentScores:
    doc_id: str
    pair_precision: float
    pair_recall: float
    role_precision: float
    role_recall: float
    deadlines: Agreement
    recurrences: Agreement
    terms: Agreement
    left_out: list[Pair]
    missed: list[Pair]
    extra: list[Pair]

    @property
    def all_stated_right(self) -> bool:
        timing = (self.deadlines, self.recurrences)
        return all(a.right == a.stated and a.spurious == 0 for a in timing) and self.terms.right == self.terms.stated

    def lines(self) -> list[str]:
        return [
            f"{self.doc_id}",
            f"  (clause, unit)       precision {self.pair_precision:.3f}  recall {self.pair_recall:.3f}",
            f"  (clause, unit, role) precision {self.role_precision:.3f}  recall {self.role_recall:.3f}",
            self.deadlines.line("deadlines"),
            self.recurrences.line("recurrences"),
            self.terms.line("terms"),
            f"  units a clause leaves out given a duty: {len(self.left_out)}"
            + (f" {self.left_out}" if self.left_out else ""),
            *([f"  missed: {self.missed}"] if self.missed else []),
            *([f"  not in the annotation: {self.extra}"] if self.extra else []),
        ]


def score(doc_id: str, gold: dict[Pair, Facts], obligations: Iterable[Obligation]) -> DocumentScores:
    """Compare one document's extracted obligations with its annotation."""
    found = facts_of(obligations)
    right = set(gold) & set(found)
    gold_triples = {(*p, r) for p, f in gold.items() for r in f.roles}
    found_triples = {(*p, r) for p, f in found.items() for r in f.roles}
    annotated_clauses = {loc for loc, _ in gold}
    return DocumentScores(
        doc_id=doc_id,
        pair_precision=_ratio(len(right), len(found)),
        pair_recall=_ratio(len(right), len(gold)),
        role_precision=_ratio(len(gold_triples & found_triples), len(found_triples)),
        role_recall=_ratio(len(gold_triples & found_triples), len(gold_triples)),
        deadlines=_agreement(gold, found, "deadlines"),
        recurrences=_agreement(gold, found, "recurrences"),
        terms=_agreement(gold, found, "terms"),
        left_out=sorted(p for p in set(found) - set(gold) if p[0] in annotated_clauses),
        missed=sorted(set(gold) - set(found)),
        extra=sorted(set(found) - set(gold)),
    )
