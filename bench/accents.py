"""Accent restoration: how many syllables of a question typed without accents come back as its author wrote
them, with and without the everyday phrases (knowledge/data/everyday.yaml).

    .venv/bin/python -m bench.accents      # builds the two knowledge bases if missing (as retrieval_quality)

Every question written with accents is folded, restored from the knowledge base's own spellings (the
directive sets on the sample directive, the laws' statements on the 18 laws) and compared syllable by
syllable with the original, case aside.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.retrieval_quality import DIRECTIVE_SETS, LAWS, LAWS_SET, SHARED, knowledge_base, quality_arguments
from knowledge.accents import AccentTable, everyday_pairs
from knowledge.evaluation import Question, load_questions
from knowledge.index import ClauseIndex
from knowledge.vietnamese import fold, has_diacritics, words


def restored_share(accents: AccentTable, questions: Sequence[Question]) -> tuple[int, int]:
    """(syllables restored as written, syllables) over the questions written with accents."""
    right = total = 0
    for question in questions:
        if not has_diacritics(question.text):
            continue
        written = words(question.text)
        restored = words(accents.restore(fold(" ".join(written))))
        right += sum(a == b for a, b in zip(written, restored, strict=True))
        total += len(written)
    return right, total


def compare(name: str, index: ClauseIndex, questions: Sequence[Question]) -> None:
    for label, phrases in (("without everyday phrases", dict), ("with everyday phrases", everyday_pairs)):
        right, total = restored_share(AccentTable(index.store.db, phrases=phrases), questions)
        print(f"  {name:<34s} {label:<26s} {right}/{total} syllables as written ({right / total:.1%})")


def main() -> None:
    args = quality_arguments(__doc__.split("\n")[0]).parse_args()
    directive = knowledge_base(args.work / "directive", SHARED / "corpus")
    compare("directive sets (four)", directive, [q for path in DIRECTIVE_SETS for q in load_questions(path)])
    laws = knowledge_base(args.work / "laws", LAWS)
    compare("laws' statements (dev.json)", laws, load_questions(LAWS_SET))


if __name__ == "__main__":
    main()
