"""Accent restoration from counts kept in SQLite: incremental counts equal a fresh count, ties are settled
the same way whatever the loading order, the shipped background spells only what the loaded texts lack,
and everyday question words keep their own spelling."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import sqlite_utils
import yaml

from knowledge.accents import AccentTable, accent_counts, best_forms, everyday_pairs, restore_with
from knowledge.background import accent_forms
from knowledge.evaluation import load_questions, unaccented
from knowledge.vietnamese import fold, words
from tests.conftest import SAMPLE_DIRECTIVE, SHARED

SHIPPED_EVERYDAY = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "everyday.yaml"
DIRECTIVE_TEXTS = [p for p in SAMPLE_DIRECTIVE.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def table(*texts: str) -> AccentTable:
    accents = AccentTable(sqlite_utils.Database(memory=True))
    accents.add(texts)
    return accents


def own_only(*texts: str) -> AccentTable:
    accents = AccentTable(sqlite_utils.Database(memory=True), fallback=dict)
    accents.add(texts)
    return accents


EXAMS = "Phòng Nội vụ tổ chức kỳ thi tuyển công chức; người dự thi nộp tờ khai tại Bộ phận Một cửa."


def test_accents_come_back_from_the_loaded_texts() -> None:
    accents = table("Hạn nộp báo cáo kiểm điểm trước ngày 15 tháng 4.", "Nộp hồ sơ trễ hạn.")
    assert accents.restore("han nop bao cao kiem diem") == "hạn nộp báo cáo kiểm điểm"
    assert accents.restore("Hạn chót") == "Hạn chót"  # typed with accents: left alone
    assert accents.restore("xyz bao cao") == "xyz báo cáo"


def test_words_the_loaded_texts_lack_take_the_laws_spelling() -> None:
    question = "nguoi du thi nop giay phep xay dung"
    assert own_only(EXAMS).restore(question) == "người dự thi nộp giay phep xay dung"
    assert table(EXAMS).restore(question) == "người dự thi nộp giấy phép xây dựng"


def test_the_loaded_texts_spelling_wins_where_the_laws_differ() -> None:
    laws = accent_forms()
    assert (laws["thi"], laws["ky thi"], laws["to khai"]) == ("thì", "ký thì", "tờ khai")
    exams = table(EXAMS)
    assert exams.restore("ai to chuc thi") == "ai tổ chức thi"  # a syllable the loaded texts have
    assert exams.restore("ky thi tuyen cong chuc") == "kỳ thi tuyển công chức"  # a pair they have
    assert exams.restore("to khai") == "tờ khai"
    exams.add(["Tổ khai giảng lớp bồi dưỡng."])  # a tie in the loaded texts, settled by their own counts
    assert exams.restore("to khai") == "tổ khai"


def test_pairs_the_loaded_texts_know_come_before_the_fallbacks() -> None:
    own = {"danh gia": "đánh giá", "danh": "danh"}
    fallback = {"vao danh": "vào danh", "vao": "vào", "ket qua": "kết quả"}
    assert restore_with(own, "vao danh gia ket qua", fallback) == "vào đánh giá kết quả"
    assert restore_with(own, "vao danh sach", fallback) == "vào danh sach"
    assert restore_with(own, "vao danh gia", {}) == "vao đánh giá"


def test_ties_do_not_depend_on_loading_order() -> None:
    texts = ["bàn giao", "ban giao", "bán hàng", "ban hành", "ban hành"]
    orders = (texts, texts[::-1], sorted(texts))
    # "bàn giao" and "ban giao" are as frequent: the pair whose syllables are commoner alone wins
    assert {table(*order).restore("ban giao") for order in orders} == {"ban giao"}
    # a full tie goes to the first form in alphabetical order
    assert {table(*order).restore("ban giao") for order in (["bán giao", "bàn giao"], ["bàn giao", "bán giao"])} == {
        "bàn giao"
    }


def test_counts_kept_per_document_equal_a_fresh_count() -> None:
    accents = table()
    accents.add(DIRECTIVE_TEXTS[:40])
    accents.add(DIRECTIVE_TEXTS[40:])
    accents.add(["Văn bản tạm thời sẽ được gỡ bỏ."])
    accents.remove(["Văn bản tạm thời sẽ được gỡ bỏ."])
    stored = sorted(accents.db.execute("SELECT folded, accented, n FROM accent").fetchall())
    fresh = sorted((f, a, n) for (f, a), n in accent_counts(DIRECTIVE_TEXTS).items())
    assert stored == fresh


def test_stored_and_in_memory_restoration_agree_on_the_dev_questions() -> None:
    shuffled = random.Random(7).sample(DIRECTIVE_TEXTS, len(DIRECTIVE_TEXTS))
    accents = table(*shuffled)
    forms = best_forms((f, a, n) for (f, a), n in accent_counts(DIRECTIVE_TEXTS).items())
    questions = unaccented(load_questions(SHARED / "eval" / "dev-chithi-paraphrase.yaml"))
    for question in questions:
        assert accents.restore(question.text) == restore_with(forms, question.text, accent_forms(), everyday_pairs())


def test_question_words_are_spelt_as_spoken_not_from_the_texts_syllables() -> None:
    # the texts hold "bảo" and "nhiều" (and the laws never write "bao nhiêu"): word by word it read "bảo nhiều"
    texts = ["Bảo đảm nhiều hồ sơ được giải quyết đúng hạn.", "Ngày mai nộp báo cáo."]
    word_by_word = AccentTable(sqlite_utils.Database(memory=True), fallback=dict, phrases=dict)
    word_by_word.add(texts[:1])
    assert word_by_word.restore("bao nhieu ho so") == "bảo nhiều hồ sơ"
    accents = table(*texts)
    assert accents.restore("mot nam co bao nhieu bao cao") == "một năm có bao nhiêu báo cáo"
    assert accents.restore("han nop la khi nao, ngay mai a?") == "hạn nộp là khi nào ngày mai a"
    assert restore_with({"bao": "bảo", "nhieu": "nhiều"}, "bao nhieu", {}, {"bao nhieu": "bao nhiêu"}) == "bao nhiêu"


def test_legal_pairs_keep_their_spelling_beside_everyday_phrases() -> None:
    accents = table(
        "Phạm tội có tổ chức thì bị phạt nặng hơn.",
        "Gửi báo cáo cho Hội đồng nhân dân.",
        "Văn bản này áp dụng cho các cơ quan.",
        "Diện tích hình chữ nhật.",
        "Bãi bỏ thủ tục thì có phải sửa quy trình không?",
    )
    assert accents.restore("nguoi pham toi co to chuc") == "người phạm tội có tổ chức"
    assert accents.restore("gui bao cao cho hoi dong") == "gửi báo cáo cho hội đồng"
    assert accents.restore("van ban la gi") == "văn bản là gì"
    assert accents.restore("co duoc ap dung khong") == "có được áp dụng không"
    # a phrase's pair the loaded texts spell otherwise gives way ("chủ nhật" is a phrase)
    assert accents.restore("dien tich hinh chu nhat") == "diện tích hình chữ nhật"
    assert table().restore("lam ca chu nhat") == "làm cả chủ nhật"
    # a phrase may share a syllable a pair of the texts spelt the same way
    assert accents.restore("bai bo thu tuc thi co phai sua") == "bãi bỏ thủ tục thì có phải sửa"


def test_a_phrase_never_overrides_an_overlapping_pair_of_the_loaded_texts() -> None:
    accents = table("Thực hiện chỉ đạo của Thủ tướng.", "Công dân Việt Nam.", "Quy định cụ thể.", "Hiệu lực thi hành.")
    assert accents.restore("thuc hien chi dao nay") == "thực hiện chỉ đạo này"
    assert accents.restore("cong dan viet nam sau khi ket hon").startswith("công dân việt nam sau")
    assert accents.restore("quy dinh cu the nao") == "quy định cụ thể nào"
    assert accents.restore("hieu luc the nao") == "hiệu lực thế nào"


def test_each_everyday_pair_has_one_spelling_and_few_read_otherwise_in_the_laws() -> None:
    phrases = yaml.safe_load(SHIPPED_EVERYDAY.read_text(encoding="utf-8"))
    spellings: dict[str, set[str]] = {}
    for phrase in phrases:
        for a, b in itertools.pairwise(words(phrase)):
            spellings.setdefault(fold(f"{a} {b}"), set()).add(f"{a} {b}")
    assert {pair: forms for pair, forms in spellings.items() if len(forms) > 1} == {}
    assert everyday_pairs()["bao nhieu"] == "bao nhiêu"
    assert len(everyday_pairs()) == len(spellings)
    # where the laws spell a pair otherwise, a question means the everyday word; a new one is a choice to make
    laws = accent_forms()
    overridden = {pair for pair, form in everyday_pairs().items() if laws.get(pair, form) != form}
    assert overridden == {"phai khong", "co khong", "chu nhat", "buoi chieu"}
