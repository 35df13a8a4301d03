"""Evaluation: question files, scores of the three outcomes, folds and cross-validation on a small set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from base.settings import DecisionSettings
from knowledge.decision import Outcome, Signals
from knowledge.evaluation import (
    CrossValidated,
    Question,
    Trial,
    best_point,
    choose_thresholds,
    cross_validate,
    cross_validate_ranking,
    fold_choices,
    folds,
    held_out,
    load_questions,
    near_best_point,
    outcome_shares,
    rank_metrics,
    score,
    signal_rows,
    standard_errors,
    unaccented,
)

DOC = "chi-thi"


def trial(n: int, gold: str | None, rank: int, coverage: float, vocabulary: float, margin: float | None) -> Trial:
    """A question asked: gold at `rank` (0 = not in the top 10) with the given signals."""
    golden = ((DOC, gold),) if gold else ()
    ranked = [(DOC, f"x{i}") for i in range(10)]
    if gold and rank:
        ranked[rank - 1] = (DOC, gold)
    question = Question(f"câu hỏi {n}", golden, key=f"q{n}", source="set.yaml")
    return Trial(question, tuple(ranked), Signals(coverage, vocabulary, margin))


def small_set(seed: int = 0) -> list[Trial]:
    """40 in-scope questions with high coverage and 20 out-of-scope ones with low coverage (plus noise)."""
    rng = np.random.default_rng(seed)
    trials = [
        trial(i, str(i % 5 + 1), 2 - bool(i % 4), rng.uniform(0.45, 0.9), rng.uniform(0.6, 1), rng.uniform(-0.02, 0.05))
        for i in range(40)
    ]
    trials += [
        trial(100 + i, None, 0, rng.uniform(0.0, 0.3), rng.uniform(0.0, 0.6), rng.uniform(-0.1, 0.0)) for i in range(20)
    ]
    return trials


def test_question_files_of_both_formats(tmp_path: Path) -> None:
    directive = tmp_path / "set.yaml"
    directive.write_text(
        "doc_id: d\nquestions:\n  - {q: 'Hạn nộp?', loc: '3', also: ['5']}\n  - {q: 'Giá vàng?', out_of_scope: true}\n",
        encoding="utf-8",
    )
    laws = tmp_path / "dev.json"
    laws.write_text('{"questions": [{"q": "Luật", "gold": [{"doc_id": "l", "loc": 7}]}]}', encoding="utf-8")
    first, second = load_questions(directive)
    assert first.gold == (("d", "3"), ("d", "5")) and first.stratum == "d:3" and first.source == "set.yaml"
    assert not second.in_scope and second.stratum == "out of scope"
    assert load_questions(laws)[0].gold == (("l", "7"),)
    typed = unaccented([first])[0]
    assert typed.text == "han nop?" and typed.group == first.group and typed.source == "set.yaml (unaccented)"


def test_rank_counts_a_clause_inside_the_gold_one() -> None:
    question = Question("q", ((DOC, "2"),))
    assert Trial(question, ((DOC, "1"), (DOC, "2.c")), None).rank == 2
    assert Trial(question, ((DOC, "1"), (DOC, "20")), None).rank is None
    assert Trial(question, (), None).outcome(DecisionSettings()) is Outcome.NOT_FOUND


def test_scores_count_each_outcome_as_such() -> None:
    trials = [
        trial(1, "3", 1, 0.9, 0.9, 0.02),  # answered right
        trial(2, "3", 2, 0.9, 0.9, 0.02),  # answered, gold second
        trial(3, "3", 3, 0.1, 0.9, 0.0),  # suggested, gold among the three
        trial(4, "3", 5, 0.1, 0.9, 0.0),  # suggested, gold not among them
        trial(5, "3", 0, 0.0, 0.1, -0.2),  # refused
        trial(6, None, 0, 0.9, 0.9, 0.02),  # out of scope, answered
        trial(7, None, 0, 0.0, 0.0, -0.2),  # out of scope, refused
    ]
    scores = score(trials, outcome_shares(trials, DecisionSettings()))
    assert (scores.questions, scores.in_scope) == (7, 5)
    assert scores.hit_at_1 == pytest.approx(0.2) and scores.hit_at_3 == pytest.approx(0.6)
    assert scores.mrr_at_10 == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 5) / 5)
    assert (scores.answered, scores.answered_right) == (pytest.approx(0.4), pytest.approx(0.2))
    assert (scores.suggested, scores.suggested_with_gold) == (pytest.approx(0.4), pytest.approx(0.2))
    assert scores.refused == pytest.approx(0.2)
    assert (scores.out_of_scope_answered, scores.out_of_scope_refused) == (0.5, 0.5)
    assert "answered 0.400 (right 0.200)" in "\n".join(scores.lines("set"))


def test_folds_keep_a_questions_forms_together_and_spread_each_gold_clause() -> None:
    questions = [t.question for t in small_set()]
    questions += unaccented(questions)
    test_folds = folds(questions, k=5, seed=3)
    assert sorted(np.concatenate(test_folds).tolist()) == list(range(len(questions)))
    for fold in test_folds:
        groups = {questions[i].group for i in fold}
        assert sum(q.group in groups for q in questions) == len(fold)  # both forms of each question
        per_stratum = Counter(questions[i].stratum for i in fold)
        assert per_stratum["out of scope"] == 8  # 20 questions x 2 forms over 5 folds
        # 8 questions per gold clause over 5 folds: 1 or 2 in each, in both forms
        assert all(n in (2, 4) for s, n in per_stratum.items() if s != "out of scope")
    assert [f.tolist() for f in folds(questions, 5, seed=3)] == [f.tolist() for f in test_folds]
    assert [f.tolist() for f in folds(questions, 5, seed=4)] != [f.tolist() for f in test_folds]


def test_thresholds_chosen_between_the_classes() -> None:
    trials = small_set()
    chosen = choose_thresholds(trials, np.arange(len(trials)))
    out_cov = max(t.signals.coverage for t in trials if t.signals and not t.question.in_scope)
    in_cov = min(t.signals.coverage for t in trials if t.signals and t.question.in_scope)
    assert out_cov < chosen.answer_coverage <= in_cov
    assert out_cov < chosen.answer_coverage_alone <= in_cov
    shares = outcome_shares(trials, chosen)
    scope = np.array([t.question.in_scope for t in trials])
    assert shares[scope, 0].all() and not shares[~scope, 0].any()


def test_trials_without_margin_use_the_thresholds_alone() -> None:
    thresholds = DecisionSettings(answer_coverage=0.9, answer_coverage_alone=0.3, suggest_vocabulary_alone=0.5)
    assert Signals(0.5, 0.9, None).outcome(thresholds) is Outcome.ANSWER
    assert Signals(0.2, 0.6, None).outcome(thresholds) is Outcome.SUGGEST
    assert Signals(0.2, 0.4, None).outcome(thresholds) is Outcome.NOT_FOUND
    assert Signals(0.5, 0.9, 0.0).outcome(thresholds) is Outcome.SUGGEST


def test_a_covered_question_near_another_law_gets_suggestions_not_nothing() -> None:
    thresholds = DecisionSettings(
        answer_coverage=0.4, answer_margin=-0.06, suggest_vocabulary=0.3, suggest_margin=-0.04
    )
    assert Signals(0.6, 0.6, -0.05).outcome(thresholds) is Outcome.ANSWER
    assert Signals(0.6, 0.6, -0.07).outcome(thresholds) is Outcome.SUGGEST  # covered: offered, never "not found"
    assert Signals(0.3, 0.6, -0.07).outcome(thresholds) is Outcome.NOT_FOUND  # nearer another law, not covered
    assert Signals(0.3, 0.6, -0.03).outcome(thresholds) is Outcome.SUGGEST
    assert Signals(0.6, 0.2, 0.05).outcome(thresholds) is Outcome.ANSWER
    assert Signals(0.3, 0.2, 0.05).outcome(thresholds) is Outcome.NOT_FOUND  # the loaded texts barely hold its words


def test_cross_validation_scores_each_question_held_out() -> None:
    trials = small_set()
    # one out-of-scope question looks in scope: tuned on all, the thresholds may fit it; held out, it is
    # answered whenever the thresholds were chosen without it
    trials[-1] = trial(999, None, 0, 0.8, 0.9, 0.03)
    validated = cross_validate(trials, k=5, repeats=4)
    assert validated.shares.shape == (len(trials), 3)
    assert np.allclose(validated.shares.sum(axis=1), 1.0)
    assert sum(validated.picks.values()) == 20
    assert validated.shares[-1, 0] == 1.0  # the look-alike is answered when held out
    scope = np.array([t.question.in_scope for t in trials])
    assert validated.shares[scope, 0].mean() > 0.95
    assert validated.shares[~scope][:-1, 0].max() == 0.0


def test_held_out_values_come_from_settings_chosen_without_the_question() -> None:
    questions = [t.question for t in small_set()]
    # setting 0 is best on every question but one; setting 1 only on that one
    table = np.zeros((2, len(questions)))
    table[0, :] = 1.0
    table[0, 7], table[1, 7] = 0.0, 1.0
    choices = fold_choices(table, questions, k=5, repeats=3)
    assert len(choices) == 15 and all(c.setting == 0 for c in choices)
    values = held_out(table, choices)
    assert values[7] == 0.0 and values[np.arange(len(questions)) != 7].min() == 1.0


def test_ranking_figures_of_a_grid_are_scored_held_out() -> None:
    questions = [t.question for t in small_set() if t.question.in_scope]
    # point 1 ranks every gold first but one question's; point 0 ranks them second
    ranks = np.full((2, len(questions)), 2)
    ranks[1, :] = 1
    ranks[1, 3], ranks[0, 3] = 0, 1
    hit1, hit3, reciprocal = rank_metrics(ranks)
    assert (hit1[0].sum(), hit3[0].mean(), reciprocal[0].mean()) == (
        1.0,
        1.0,
        pytest.approx(0.5 + 0.5 / len(questions)),
    )
    validated = cross_validate_ranking(ranks, questions, k=5, repeats=2)
    assert validated.picks == Counter({1: 10})
    assert validated.hit_at_1[3] == 0.0 and validated.reciprocal[3] == 0.0  # what point 1 does to it
    assert validated.hit_at_1.sum() == len(questions) - 1 and validated.hit_at_3.sum() == len(questions) - 1


def test_a_point_ahead_by_a_single_question_does_not_outweigh_a_plateau() -> None:
    groups = np.array([f"q{i}" for i in range(20)])
    # five grid points, twenty questions: points 0-3 gain the same on every question; point 4 gains as much
    # and one question more (an out-of-scope question it alone refuses, say)
    gains = np.full((5, 20), 0.05)
    gains[4, 7] = 0.1
    utility = gains.sum(axis=1)
    assert best_point(utility, (5,)) == (4,)
    assert near_best_point(gains, groups, (5,)) in {(1,), (2,)}  # the plateau's centre
    # ahead on many questions, it is chosen
    gains[4, :12] = 0.1
    assert near_best_point(gains, groups, (5,)) == (4,)


def test_standard_errors_count_a_questions_forms_as_one_question() -> None:
    gains = np.zeros((2, 6))
    gains[1, :2] = 0.1  # point 1 ahead on the two forms of one question
    apart = standard_errors(gains, np.array(["a", "b", "c", "d", "e", "f"]))
    together = standard_errors(gains, np.array(["a", "a", "b", "c", "d", "e"]))
    assert apart[1] == 0.0 and together[1] == 0.0  # the best point's own difference is nil
    assert together[0] == pytest.approx(0.2) and apart[0] < together[0]


def look_alike_set(look_alikes: int) -> list[Trial]:
    """small_set with out-of-scope questions that look answerable but sit a little nearer another law."""
    trials = small_set()
    rng = np.random.default_rng(1)
    trials[:40] = [
        trial(i, str(i % 5 + 1), 1, t.signals.coverage, t.signals.vocabulary, rng.uniform(-0.06, 0.05))
        for i, t in enumerate(trials[:40])
        if t.signals
    ]
    return trials + [trial(500 + i, None, 0, 0.8, 0.9, -0.041 - 0.002 * i) for i in range(look_alikes)]


def test_thresholds_are_not_fitted_to_a_single_look_alike() -> None:
    trials = look_alike_set(1)
    chosen = choose_thresholds(trials, np.arange(len(trials)))
    scope = np.array([t.question.in_scope for t in trials])
    assert outcome_shares(trials, chosen)[scope, 0].all()  # every in-scope question still answered
    several = look_alike_set(4)
    chosen = choose_thresholds(several, np.arange(len(several)))
    assert chosen.answer_margin > -0.041  # four of them are evidence: the margin threshold shuts them out


def test_the_spread_of_the_folds_picks() -> None:
    low, high = DecisionSettings(answer_coverage=0.3), DecisionSettings(answer_coverage=0.4)
    validated = CrossValidated(np.zeros((1, 3)), Counter({low: 3, high: 1}))
    spread = validated.spread()
    assert (spread["answer_coverage"].low, spread["answer_coverage"].high) == (0.3, 0.4)
    assert str(spread["answer_coverage"]) == "0.3..0.4 (mode 0.3 in 3 of 4)"
    margin = f"{low.answer_margin:g}"
    assert str(spread["answer_margin"]) == f"{margin}..{margin} (mode {margin} in 4 of 4)"


def test_signal_rows_name_each_question_and_its_signals() -> None:
    rows = signal_rows([trial(1, "3", 2, 0.5, 0.6, -0.01), Trial(Question("x", ()), (), None)])
    assert rows[0] == {
        "set": "set.yaml",
        "question": "câu hỏi 1",
        "in_scope": True,
        "rank": 2,
        "best": f"{DOC}:x0",
        "coverage": 0.5,
        "vocabulary": 0.6,
        "margin": -0.01,
    }
    assert rows[1]["best"] is None and rows[1]["margin"] is None and rows[1]["rank"] is None
