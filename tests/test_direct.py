"""The direct answer line: what a question asks, and the short span of the clause that answers it."""

from __future__ import annotations

import pytest

from knowledge.direct import LIMIT, asks, direct_line

REPORTS = (
    "1. Bộ phận Một cửa báo cáo định kỳ hàng quý, 6 tháng, hàng năm về tình hình tiếp nhận hồ sơ.\n"
    "Báo cáo quý gửi Ủy ban nhân dân huyện trước ngày 20 của tháng cuối quý; báo cáo năm gửi trước ngày 15 "
    "tháng 12 năm 2026; giao Văn phòng Ủy ban nhân dân huyện đôn đốc, tổng hợp báo cáo của các xã."
)
DUTY = (
    "Trên cơ sở nhiệm vụ được phân công, Thủ trưởng các phòng chuyên môn (Văn phòng, các phòng: Nội vụ, Tư pháp) "
    "có trách nhiệm hướng dẫn, kiểm tra việc thực hiện công tác cải cách hành chính."
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Hạn chót gửi báo cáo năm là ngày nào?", "when"),
        ("han nop bao cao nam", "when"),
        ("Hồ sơ trễ hạn thì sao?", ""),  # late, overdue, on time: a state, not a question of when
        ("ho so qua han xu ly the nao", ""),
        ("Giải quyết đúng hạn có được khen thưởng không?", "whether"),
        ("Công chức kiểm tra hồ sơ trong bao lâu?", "when"),
        ("Báo cáo định kỳ thế nào?", "often"),
        ("Bao lâu một lần phải báo cáo?", "often"),
        ("Một năm phải nộp mấy kỳ báo cáo?", "often"),  # how many periods: how often, not an amount
        ("Cán bộ có được dùng máy ký số không?", "whether"),  # a signing device, not a period
        ("Cần mấy kỹ năng?", "many"),
        ("Văn bản nào quy định Bộ phận Một cửa?", "document"),  # "văn bản nào" holds "bản nào", not "ban nào"
        ("Ban nào phụ trách?", "who"),
        ("Ai tổng hợp báo cáo của các xã?", "who"),
        ("Đơn vị nào chủ trì?", "who"),
        ("Số hóa hồ sơ theo nghị định nào?", "document"),
        ("Hội đồng có mấy thành viên?", "many"),
        ("Phải hoàn thành bao nhiêu phần trăm chỉ tiêu?", "many"),
        ("Có được thu phí bằng tiền mặt không?", "whether"),
        ("Tuyên truyền về cải cách hành chính", ""),
        ("Trách nhiệm của người đứng đầu trong cải cách hành chính", ""),
    ],
)
def test_what_a_question_asks(question: str, kind: str) -> None:
    assert asks(question) == kind


def test_when_the_nearest_deadline_to_the_question() -> None:
    assert direct_line("Hạn gửi báo cáo năm là ngày nào?", REPORTS) == "Hạn: trước ngày 15 tháng 12 năm 2026"
    assert direct_line("Báo cáo quý gửi khi nào?", REPORTS) == "Hạn: trước ngày 20 của tháng cuối quý"


def test_how_long_gives_the_time_limit() -> None:
    text = "1. Công chức tiếp nhận kiểm tra hồ sơ trong thời hạn 02 giờ làm việc kể từ khi nhận hồ sơ."
    assert direct_line("Kiểm tra hồ sơ trong bao lâu?", text) == (
        "Thời hạn: trong thời hạn 02 giờ làm việc kể từ khi nhận hồ sơ"
    )


def test_how_often_lists_the_periods() -> None:
    assert direct_line("Bộ phận Một cửa báo cáo định kỳ ra sao?", REPORTS) == "Định kỳ: hàng quý, 6 tháng, hàng năm"
    assert direct_line("Báo cáo bao lâu một lần?", "Kết quả quá 03 tháng thì chuyển lưu trữ.") == ""


def test_who_prefers_the_assignment_then_the_subject_of_a_duty() -> None:
    assert direct_line("Ai tổng hợp báo cáo của các xã?", REPORTS) == (
        "Giao: Văn phòng Ủy ban nhân dân huyện đôn đốc, tổng hợp báo cáo của các xã"
    )
    assert direct_line("Phòng nào có trách nhiệm hướng dẫn, kiểm tra cải cách hành chính?", DUTY) == (
        "Trách nhiệm: Thủ trưởng các phòng chuyên môn (Văn phòng, các phòng: Nội vụ, Tư pháp)"
    )


def test_which_document_names_the_one_cited_else_the_answer_itself() -> None:
    text = "Đẩy nhanh số hóa hồ sơ theo quy định tại Nghị định số 107/2021/NĐ-CP ngày 06 tháng 12 năm 2021."
    assert direct_line("Theo nghị định nào?", text) == "Văn bản: Nghị định số 107/2021/NĐ-CP ngày 06 tháng 12 năm 2021"
    assert direct_line("Quy định nào về số hóa?", "Đẩy nhanh số hóa hồ sơ.", title="Chỉ thị 1/CT") == (
        "Văn bản: Chỉ thị 1/CT"
    )


def test_how_many_and_whether() -> None:
    text = "a) Hằng năm đảm bảo hoàn thành 100% các chỉ tiêu theo đúng tiến độ đề ra."
    assert direct_line("Phải hoàn thành bao nhiêu phần trăm chỉ tiêu?", text) == "Mức: 100% các chỉ tiêu"
    point = "c) Không được yêu cầu nộp giấy tờ ngoài thành phần hồ sơ đã công bố."
    assert direct_line("Có được yêu cầu nộp thêm giấy tờ không?", point) == (
        "Không: Không được yêu cầu nộp giấy tờ ngoài thành phần hồ sơ đã công bố."
    )


def test_the_line_is_verbatim_and_short() -> None:
    long_text = "Giao phòng Nội vụ " + "đôn đốc, tổng hợp, " * 30 + "báo cáo."
    line = direct_line("Ai đôn đốc?", long_text)
    assert len(line) <= LIMIT and line.startswith("Giao: phòng Nội vụ đôn đốc") and line.endswith("…")
    assert line.removeprefix("Giao: ").removesuffix("…") in long_text


def test_nothing_narrow_asked_or_found_gives_an_empty_line() -> None:
    assert direct_line("Tuyên truyền cải cách hành chính", REPORTS) == ""
    assert direct_line("Khi nào?", "Tăng cường tuyên truyền.") == ""
