"""Quality on question sets: ranking (hit@1, hit@3, MRR@10), the three outcomes, and k-fold
cross-validation of whatever was tuned on the sets.

Two formats are read: the YAML of `shared/eval/*.yaml` (doc_id at the top; each question with `loc`,
optional `also`, or `out_of_scope: true`) and the JSON of `shared/legal-bench/dev.json` (each question with
`gold: [{doc_id, loc}]`). A clause hits when it is the gold clause or lies inside it (gold `7` is hit by
`7.2.a`).

A question is asked once (`observe`): its ranked clauses and the decision's signals are kept, so that any
thresholds can be scored afterwards without asking again. Ranking is scored on every in-scope question,
whatever the outcome. Outcomes are scored as such: in scope, answered (and answered right: the gold
first), suggested (and the gold among the suggestions), refused; out of scope, answered, suggested,
refused.

Cross-validation (repeated stratified k-fold): the questions are split into k folds, a question's
accented and unaccented forms always in one fold and each gold clause spread over the folds; on each
fold the setting that does best on the other folds is chosen and scored on the held-out fold. The
held-out figure is the mean over repeats; it is what a new set of questions should see, while the
figure of the setting chosen on all questions ("tuned") flatters.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from base.settings import DecisionSettings
from knowledge.decision import Outcome, Signals, signals
from knowledge.index import Candidates, ClauseIndex
from knowledge.vietnamese import fold, normalize

OUTCOMES = (Outcome.ANSWER, Outcome.SUGGEST, Outcome.NOT_FOUND)
OUT_OF_SCOPE = "out of scope"


@dataclass(frozen=True)
class Question:
    text: str
    gold: tuple[tuple[str, str], ...]  # (doc_id, loc); empty when out of scope
    key: str = ""  # shared by a question's accented and unaccented forms; the text when empty
    source: str = ""  # the question file's name

    @property
    def in_scope(self) -> bool:
        return bool(self.gold)

    @property
    def group(self) -> str:
        """What keeps the forms of one question in one fold."""
        return self.key or self.text

    @property
    def stratum(self) -> str:
        """What folds are balanced on: the first gold clause, or 'out of scope'."""
        return ":".join(self.gold[0]) if self.gold else OUT_OF_SCOPE


def load_questions(path: Path) -> list[Question]:
    """Questions from a YAML or JSON question file."""
    raw = (
        yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.suffix in {".yaml", ".yml"}
        else json.loads(path.read_text(encoding="utf-8"))
    )
    default_doc = raw.get("doc_id", "")
    questions = []
    for number, item in enumerate(raw["questions"]):
        if item.get("out_of_scope"):
            gold: tuple[tuple[str, str], ...] = ()
        elif "gold" in item:
            gold = tuple((g["doc_id"], str(g["loc"])) for g in item["gold"])
        else:
            locs = [str(item["loc"])] + [str(x) for x in item.get("also", [])]
            gold = tuple((item.get("doc_id", default_doc), loc) for loc in locs)
        questions.append(Question(item["q"], gold, key=f"{path.name}#{number}", source=path.name))
    return questions


def unaccented(questions: list[Question]) -> list[Question]:
    """The same questions typed without diacritics, as on a phone (each keeps its fold key)."""
    return [Question(fold(normalize(q.text)), q.gold, q.group, f"{q.source} (unaccented)") for q in questions]


def is_gold(doc_id: str, loc: str, gold: tuple[tuple[str, str], ...]) -> bool:
    """True when the clause is a gold clause or lies inside one."""
    loc = normalize(loc)
    return any(doc_id == d and (loc == g or loc.startswith(g + ".")) for d, g in ((d, normalize(g)) for d, g in gold))


@dataclass(frozen=True)
class Trial:
    """One question asked: the clauses ranked for it (best first) and the decision's signals."""

    question: Question
    ranked: tuple[tuple[str, str], ...]
    signals: Signals | None  # None when nothing is loaded

    @property
    def rank(self) -> int | None:
        """1-based rank of the first gold clause among the ranked ones."""
        found = (i for i, (d, loc) in enumerate(self.ranked, 1) if is_gold(d, loc, self.question.gold))
        return next(found, None)

    def outcome(self, thresholds: DecisionSettings) -> Outcome:
        return self.signals.outcome(thresholds) if self.signals else Outcome.NOT_FOUND


def observe(index: ClauseIndex, question: Question, k: int = 10) -> Trial:
    """Ask a question once: its k best clauses and the signals the answer decision uses."""
    hits = index.search(question.text, k=k)
    if not hits:
        return Trial(question, (), None)
    text = index.query_text(question.text)
    ranked = tuple((h.clause.doc_id, h.clause.loc) for h in hits)
    return Trial(question, ranked, signals(index, text, hits[0]))


def signal_rows(trials: Sequence[Trial]) -> list[dict[str, object]]:
    """One plain row per trial (set, question, rank of the gold, best clause and the decision's signals),
    to compare two versions of the pipeline question by question."""
    rows: list[dict[str, object]] = []
    for t in trials:
        s = t.signals
        rows.append(
            {
                "set": t.question.source,
                "question": t.question.text,
                "in_scope": t.question.in_scope,
                "rank": t.rank,
                "best": ":".join(t.ranked[0]) if t.ranked else None,
                "coverage": s.coverage if s else None,
                "vocabulary": s.vocabulary if s else None,
                "margin": s.margin if s else None,
            }
        )
    return rows


# ------------------------------------------------------------------------------------------ scores


@dataclass(frozen=True)
class Scores:
    """Ranking and outcome shares of a set (shares may be fractional: means over cross-validation repeats)."""

    questions: int
    in_scope: int
    hit_at_1: float
    hit_at_3: float
    mrr_at_10: float
    answered: float  # share of in-scope questions answered
    answered_right: float  # ... answered with a gold clause first
    suggested: float  # share of in-scope questions given suggestions
    suggested_with_gold: float  # ... with a gold clause among them
    refused: float  # share of in-scope questions told nothing was found
    out_of_scope_answered: float
    out_of_scope_suggested: float
    out_of_scope_refused: float

    HEADER = "hit@1 hit@3 MRR@10 | answered (right) suggested (gold) refused | OOS answered suggested refused"

    def row(self) -> str:
        """The scores on one line, in the columns of HEADER."""
        return (
            f"{self.hit_at_1:.3f} {self.hit_at_3:.3f} {self.mrr_at_10:.3f}  | {self.answered:.3f} "
            f"({self.answered_right:.3f}) {self.suggested:.3f} ({self.suggested_with_gold:.3f}) {self.refused:.3f}"
            f"  | {self.out_of_scope_answered:.3f} {self.out_of_scope_suggested:.3f} {self.out_of_scope_refused:.3f}"
        )

    def lines(self, name: str) -> list[str]:
        out = self.questions - self.in_scope
        return [
            f"{name}: {self.questions} questions ({self.in_scope} in scope, {out} out of scope)",
            f"  ranking       hit@1 {self.hit_at_1:.3f}  hit@3 {self.hit_at_3:.3f}  MRR@10 {self.mrr_at_10:.3f}",
            f"  in scope      answered {self.answered:.3f} (right {self.answered_right:.3f})  suggested"
            f" {self.suggested:.3f} (gold among them {self.suggested_with_gold:.3f})  refused {self.refused:.3f}",
            f"  out of scope  answered {self.out_of_scope_answered:.3f}  suggested {self.out_of_scope_suggested:.3f}"
            f"  refused {self.out_of_scope_refused:.3f}",
        ]


def outcome_shares(trials: Sequence[Trial], thresholds: DecisionSettings) -> np.ndarray:
    """One row per trial: 1 in the column of its outcome (answer, suggest, not found)."""
    shares = np.zeros((len(trials), len(OUTCOMES)))
    for row, trial in enumerate(trials):
        shares[row, OUTCOMES.index(trial.outcome(thresholds))] = 1.0
    return shares


def score(trials: Sequence[Trial], shares: np.ndarray, suggestions: int = 3) -> Scores:
    """Scores of trials whose outcomes are given as shares (rows of answer, suggest, not found)."""
    scope = np.array([t.question.in_scope for t in trials], dtype=bool)
    ranks = np.array([t.rank or 0 for t in trials])
    found = scope & (ranks > 0)
    first = (ranks == 1) & scope
    among = found & (ranks <= suggestions)
    n_in, n_out = int(scope.sum()), int((~scope).sum())

    def share(values: np.ndarray, mask: np.ndarray, n: int) -> float:
        return float(values[mask].sum() / n) if n else 0.0

    answer, suggest, refuse = shares[:, 0], shares[:, 1], shares[:, 2]
    return Scores(
        questions=len(trials),
        in_scope=n_in,
        hit_at_1=share(first.astype(float), scope, n_in),
        hit_at_3=share((found & (ranks <= 3)).astype(float), scope, n_in),
        mrr_at_10=share(np.where(found & (ranks <= 10), 1 / np.maximum(ranks, 1), 0.0), scope, n_in),
        answered=share(answer, scope, n_in),
        answered_right=share(answer * first, scope, n_in),
        suggested=share(suggest, scope, n_in),
        suggested_with_gold=share(suggest * among, scope, n_in),
        refused=share(refuse, scope, n_in),
        out_of_scope_answered=share(answer, ~scope, n_out),
        out_of_scope_suggested=share(suggest, ~scope, n_out),
        out_of_scope_refused=share(refuse, ~scope, n_out),
    )


# -------------------------------------------------------------------------------- cross-validation


def folds(questions: Sequence[Question], k: int, seed: int) -> list[np.ndarray]:
    """k test folds of question positions: one question's forms together, each stratum spread over the folds."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    strata: dict[str, list[str]] = {}
    for i, q in enumerate(questions):
        if q.group not in groups:
            strata.setdefault(q.stratum, []).append(q.group)
        groups.setdefault(q.group, []).append(i)
    out: list[list[int]] = [[] for _ in range(k)]
    offset = int(rng.integers(k))
    names = sorted(strata)
    rng.shuffle(names)
    for name in names:
        members = [strata[name][j] for j in rng.permutation(len(strata[name]))]
        for j, group in enumerate(members):
            out[(offset + j) % k].extend(groups[group])
        offset = (offset + len(members)) % k
    return [np.array(sorted(f), dtype=int) for f in out]


def best_point(utility: np.ndarray, shape: tuple[int, ...], tolerance: np.ndarray | float = 1e-9) -> tuple[int, ...]:
    """The grid point of highest utility; among the points that tie with it (within `tolerance`, one value or
    one per point), the one nearest their centre (away from the edges of the plateau, where a new question is
    likeliest to fall on the wrong side)."""
    tied = np.argwhere((utility >= utility.max() - tolerance).reshape(shape))
    centre = tied.mean(axis=0)
    return tuple(int(x) for x in tied[np.argmin(((tied - centre) ** 2).sum(axis=1))])


def standard_errors(gains: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per grid point (gains[point, trial] summing to its utility): the standard error of its utility's
    difference from the best point's, over independent questions (`groups`: a question's forms together)."""
    _, member = np.unique(groups, return_inverse=True)
    count = int(member.max()) + 1 if len(member) else 0
    if count < 2:
        return np.zeros(gains.shape[0])
    differences = gains - gains[int(np.argmax(gains.sum(axis=1)))]
    per_question = differences @ np.eye(count)[member]
    return np.sqrt(count) * per_question.std(axis=1, ddof=1)


def near_best_point(gains: np.ndarray, groups: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The grid point a new set of questions should find best: every point whose utility is within one
    standard error of the highest is as good as it on the evidence (points that win by a question or two
    win by chance), and of those the one nearest their centre is taken (see best_point)."""
    return best_point(gains.sum(axis=1), shape, standard_errors(gains, groups) + 1e-9)


@dataclass(frozen=True)
class ThresholdGrid:
    """Candidate thresholds: coverage, vocabulary and margin values tried."""

    coverage: np.ndarray = field(default_factory=lambda: np.round(np.arange(0.0, 0.72, 0.02), 2))
    vocabulary: np.ndarray = field(default_factory=lambda: np.round(np.arange(0.0, 0.82, 0.02), 2))
    margin: np.ndarray = field(default_factory=lambda: np.round(np.arange(-0.15, 0.065, 0.005), 3))


def _signal_arrays(trials: Sequence[Trial]) -> dict[str, np.ndarray]:
    """coverage, vocabulary and margin of each trial (a trial without signals has none of them)."""
    sig = [t.signals or Signals(0.0, 0.0, None) for t in trials]
    margin = [s.margin if s.margin is not None else np.nan for s in sig]
    return {
        "coverage": np.array([s.coverage for s in sig]),
        "vocabulary": np.array([s.vocabulary for s in sig]),
        "margin": np.array(margin, dtype=float),
        "in_scope": np.array([t.question.in_scope for t in trials], dtype=bool),
    }


def _gains(chosen: np.ndarray, wanted: np.ndarray, unwanted: np.ndarray, cost: float) -> np.ndarray:
    """Per grid point and trial, what the trial adds to the point's utility: the share of `wanted` trials
    chosen minus `cost` times the share of `unwanted` ones."""
    gains = np.zeros(chosen.shape)
    if wanted.any():
        gains[:, wanted] = chosen[:, wanted] / wanted.sum()
    if unwanted.any():
        gains[:, unwanted] = -cost * chosen[:, unwanted] / unwanted.sum()
    return gains


def choose_thresholds(
    trials: Sequence[Trial], train: np.ndarray, cost: float = 5.0, grid: ThresholdGrid | None = None
) -> DecisionSettings:
    """The thresholds that do best on the `train` trials.

    Answering an out-of-scope question costs `cost` times what answering an in-scope one gains; telling an
    in-scope question "not found" costs `cost` times what telling an out-of-scope one gains. The answer
    thresholds are chosen first, then the "not found" ones given them. Thresholds with the margin are
    chosen on trials that have one; the `_alone` ones on every trial, margin ignored. Each is the near-best
    point of its grid (near_best_point), not the one of highest utility on these very trials.
    """
    g = grid or ThresholdGrid()
    s = {name: values[train] for name, values in _signal_arrays(trials).items()}
    groups = np.array([trials[i].question.group for i in train])
    scope, has_margin = s["in_scope"], ~np.isnan(s["margin"])
    margin = np.where(has_margin, s["margin"], -np.inf)
    cov = s["coverage"][None, None, :] >= g.coverage[:, None, None]
    voc = s["vocabulary"][None, None, :] < g.vocabulary[:, None, None]
    steep = margin[None, None, :] >= g.margin[None, :, None]
    answer = (cov & steep).reshape(-1, len(train))
    inside, outside = scope & has_margin, ~scope & has_margin
    a = near_best_point(_gains(answer, inside, outside, cost), groups, (len(g.coverage), len(g.margin)))
    covered = s["coverage"] >= g.coverage[a[0]]
    refuse = (voc | (~steep & ~covered[None, None, :])).reshape(-1, len(train))
    r = near_best_point(_gains(refuse, outside, inside, cost), groups, (len(g.vocabulary), len(g.margin)))
    alone_a = near_best_point(_gains(cov[:, 0, :], scope, ~scope, cost), groups, (len(g.coverage),))
    alone_r = near_best_point(_gains(voc[:, 0, :], ~scope, scope, cost), groups, (len(g.vocabulary),))
    return DecisionSettings(
        answer_coverage=float(g.coverage[a[0]]),
        answer_margin=float(g.margin[a[1]]),
        suggest_vocabulary=float(g.vocabulary[r[0]]),
        suggest_margin=float(g.margin[r[1]]),
        answer_coverage_alone=float(g.coverage[alone_a[0]]),
        suggest_vocabulary_alone=float(g.vocabulary[alone_r[0]]),
    )


@dataclass(frozen=True)
class CrossValidated:
    """Held-out outcome shares of every trial (mean over repeats) and the thresholds chosen fold by fold."""

    shares: np.ndarray
    picks: Counter[DecisionSettings]

    def common(self, n: int = 2) -> list[tuple[DecisionSettings, int]]:
        return self.picks.most_common(n)

    def spread(self) -> dict[str, PickSpread]:
        """Per threshold: how far the folds' picks of it range, and its most frequent value."""
        chosen = list(self.picks.elements())
        out = {}
        for name in DecisionSettings.model_fields:
            values = Counter(float(getattr(p, name)) for p in chosen)
            mode, count = values.most_common(1)[0]
            out[name] = PickSpread(min(values), max(values), mode, count, len(chosen))
        return out


@dataclass(frozen=True)
class PickSpread:
    """The values the folds chose for one threshold."""

    low: float
    high: float
    mode: float
    mode_count: int
    folds: int

    def __str__(self) -> str:
        return f"{self.low:g}..{self.high:g} (mode {self.mode:g} in {self.mode_count} of {self.folds})"


def cross_validate(
    trials: Sequence[Trial], k: int = 5, repeats: int = 10, cost: float = 5.0, grid: ThresholdGrid | None = None
) -> CrossValidated:
    """Each trial's outcome under thresholds chosen on the other folds, averaged over the repeats."""
    questions = [t.question for t in trials]
    shares = np.zeros((len(trials), len(OUTCOMES)))
    picks: Counter[DecisionSettings] = Counter()
    everyone = np.arange(len(trials))
    for repeat in range(repeats):
        for test in folds(questions, k, seed=repeat):
            chosen = choose_thresholds(trials, np.setdiff1d(everyone, test), cost, grid)
            picks[chosen] += 1
            shares[test] += outcome_shares([trials[i] for i in test], chosen)
    return CrossValidated(shares / repeats, picks)


def fold_choices(table: np.ndarray, questions: Sequence[Question], k: int = 5, repeats: int = 10) -> list[Choice]:
    """For a grid of settings scored per question (table[setting, question], higher is better): every fold
    of every repeat with the setting that does best on the other folds."""
    everyone = np.arange(table.shape[1])
    choices = []
    for repeat in range(repeats):
        for test in folds(questions, k, seed=repeat):
            best = best_point(table[:, np.setdiff1d(everyone, test)].mean(axis=1), (table.shape[0],))[0]
            choices.append(Choice(test, best))
    return choices


@dataclass(frozen=True)
class Choice:
    """One fold of a cross-validation: the held-out positions and the setting chosen without them."""

    held_out: np.ndarray
    setting: int


def held_out(values: np.ndarray, choices: Sequence[Choice]) -> np.ndarray:
    """Each question's value (values[setting, question]) under the settings chosen without it, averaged
    over the repeats."""
    total = np.zeros(values.shape[1])
    count = np.zeros(values.shape[1])
    for choice in choices:
        total[choice.held_out] += values[choice.setting, choice.held_out]
        count[choice.held_out] += 1
    return total / np.maximum(count, 1)


# ----------------------------------------------------------------------------- ranking over a grid


def fusion_ranks(index: ClauseIndex, questions: Sequence[Question], points: Sequence[dict[str, float]]) -> np.ndarray:
    """ranks[point, question]: rank of the first gold clause in the top 10 with the retrieval settings of
    each point (0 when absent or out of scope). A question's signals are gathered once for every point that
    gathers them alike (same thesaurus weight and dense candidates), and only re-fused per point."""
    configured = index.settings.retrieval
    day = index.today()
    ranks = np.zeros((len(points), len(questions)), dtype=int)
    try:
        for q, question in enumerate(questions):
            gathered: dict[tuple[float, int], Candidates] = {}
            for p, point in enumerate(points if question.in_scope else []):
                weights = index.settings.retrieval = configured.model_copy(update=point)
                signature = (weights.thesaurus_weight, weights.dense_candidates)
                if signature not in gathered:
                    gathered[signature] = index.candidates(question.text)
                hits = index.ranked(gathered[signature], 10, weights, day)
                found = (i for i, h in enumerate(hits, 1) if is_gold(h.clause.doc_id, h.clause.loc, question.gold))
                ranks[p, q] = next(found, 0)
    finally:
        index.settings.retrieval = configured
    return ranks


def rank_metrics(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """hit@1, hit@3 and reciprocal rank @10 of ranks (0 = not in the top 10), element by element."""
    found = ranks > 0
    reciprocal = np.where(found, 1 / np.maximum(ranks, 1), 0.0)
    return (ranks == 1).astype(float), (found & (ranks <= 3)).astype(float), reciprocal


@dataclass(frozen=True)
class RankingCV:
    """Per question: hit@1, hit@3 and reciprocal rank under the grid point chosen (by MRR@10) on the other
    folds, averaged over the repeats; and the points chosen."""

    hit_at_1: np.ndarray
    hit_at_3: np.ndarray
    reciprocal: np.ndarray
    picks: Counter[int]


def cross_validate_ranking(
    ranks: np.ndarray, questions: Sequence[Question], k: int = 5, repeats: int = 10
) -> RankingCV:
    """Held-out ranking figures of a grid of settings (ranks[point, question], in-scope questions only)."""
    tables = rank_metrics(ranks)
    choices = fold_choices(tables[2], questions, k=k, repeats=repeats)
    hit1, hit3, reciprocal = (held_out(table, choices) for table in tables)
    return RankingCV(hit1, hit3, reciprocal, Counter(c.setting for c in choices))
