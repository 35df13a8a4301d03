"""The officials' store on its own: registration, lookup, who can be reached, blocking, answers and votes."""

from __future__ import annotations

from pathlib import Path

from knowledge.records import Citation
from office.users import ImportResult, UserStore, normalize_phone


def test_registration_is_pending_until_approved_and_audited(users: UserStore) -> None:
    pending = users.register(11, 11, "  Nguyễn Văn A ", "TP", "Công chức", approved=False)
    assert (pending.full_name, pending.status, pending.source) == ("Nguyễn Văn A", "pending", "telegram")
    decided = users.decide(pending.id, True, actor=1, by="Quản trị")
    assert decided is not None and decided.changed and decided.user.status == "approved"
    assert users.decide(999, True, actor=1, by="Quản trị") is None
    assert [e["action"] for e in users.audit_entries()] == ["register", "status:approved"]


def test_decisions_stand_until_an_explicit_unlock(users: UserStore, tmp_path: Path) -> None:
    from tests.conftest import make_settings

    pending = users.register(11, 11, "Nguyễn Văn A", "TP", "Công chức", approved=False)
    assert users.decide(pending.id, False, actor=1, by="Lan").changed  # rejected
    late = users.decide(pending.id, True, actor=2, by="Minh")  # an older button, pressed later
    assert late is not None and not late.changed and late.user.status == "rejected"
    assert late.standing is not None and (late.standing.actor, late.standing.by) == (1, "Lan")
    assert users.register(11, 11, "Nguyễn Văn A", "TP", "Công chức", approved=True).status == "rejected"
    staff = "ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\nNguyễn Văn Anh,NV,Thủ trưởng,,11\n"
    assert users.import_csv(staff, make_settings(tmp_path / "data")).kept_locked == 1
    assert (users.by_telegram(11).full_name, users.by_telegram(11).status) == ("Nguyễn Văn Anh", "rejected")
    unlocked = users.unlock(pending.id, actor=0, by="cchc (root)")
    assert unlocked is not None and unlocked.changed and unlocked.user.status == "approved"
    locked, again = users.lock(pending.id, actor=1, by="Lan"), users.lock(pending.id, actor=1, by="Lan")
    assert locked is not None and locked.changed and again is not None and not again.changed
    assert [u.id for u in users.resolve("#1")] == [u.id for u in users.resolve("1")] == [pending.id]
    assert users.resolve("0912345678") == [] and users.resolve("77") == []


def test_reachable_means_approved_on_telegram_and_not_blocked(users: UserStore) -> None:
    for telegram_id, unit, approved in ((11, "TP", True), (12, "TP", False), (21, "XAP", True), (22, "XAP", True)):
        users.register(telegram_id, telegram_id, f"Cán bộ {telegram_id}", unit, "Công chức", approved=approved)
    users.mark_blocked(22)
    assert [u.telegram_id for u in users.reachable()] == [11, 21]
    assert [u.telegram_id for u in users.reachable(unit_codes=["XAP"])] == [21]
    assert [u.telegram_id for u in users.find(status="pending")] == [12]
    users.mark_reachable(22)
    assert [u.telegram_id for u in users.reachable(unit_codes=["XAP"])] == [21, 22]


def test_phone_numbers_are_normalised_and_link_an_imported_official() -> None:
    assert normalize_phone("+84 912 345 678") == normalize_phone("0912.345.678") == "0912345678"
    assert normalize_phone("") == ""


def test_shared_phone_links_the_staff_row_and_drops_a_half_registration(users: UserStore, tmp_path: Path) -> None:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "data")
    header = "ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\n"
    assert users.import_csv(header + "Lê Văn C,TP,Công chức,0912 345 678,\n", settings) == ImportResult(1, 0, 0)
    users.register(55, 55, "Lê C", "TP", "Công chức", approved=False)  # started /start, then shared the phone
    linked = users.link_by_phone(55, 55, "+84912345678")
    assert linked is not None and (linked.full_name, linked.status, linked.telegram_id) == ("Lê Văn C", "approved", 55)
    assert len(users.find()) == 1
    assert users.link_by_phone(56, 56, "0900000000") is None


def test_answers_and_votes_make_the_feedback_csv(users: UserStore) -> None:
    cited = [Citation(doc_id="d", loc="3", label="khoản 3", text="...", score=1.0)]
    answer_id = users.record_answer(11, "Hạn nộp báo cáo?", True, cited)
    assert users.answer_record(answer_id) == ("Hạn nộp báo cáo?", cited)
    users.record_vote(answer_id, 11, -1)
    users.record_vote(answer_id, 11, 1)  # a second vote replaces the first
    rows = users.feedback_csv().splitlines()
    assert rows[0] == "at,telegram_id,vote,question,citations" and len(rows) == 2
    assert rows[1].endswith(",11,1,Hạn nộp báo cáo?,d:3")
    assert users.answer_record(answer_id + 1) is None
    formula = users.record_answer(11, "=1+1", True, cited)
    users.record_vote(formula, 11, 1)
    assert users.feedback_csv().splitlines()[2].endswith(",11,1,'=1+1,d:3")  # a spreadsheet shows it as text
