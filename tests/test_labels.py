"""Short names of documents (lists, citations, reminders) and their whole titles (once per answer, /nguon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.database import open_database
from ingest.pipeline import Sidecar, document_meta
from ingest.readers import read_text
from ingest.structure import parse
from knowledge.labels import cited_together, full_title, short_name
from knowledge.store import ClauseStore
from tests.conftest import DATA, SAMPLE_DIRECTIVE


@pytest.mark.parametrize(
    ("doc_type", "number", "subject", "name", "short"),
    [
        ("Nghị định", "107/2021/NĐ-CP", "Sửa đổi, bổ sung một số điều của Nghị định số 61/2018/NĐ-CP", "", None),
        ("", "61/2018/NĐ-CP", "Về thực hiện cơ chế một cửa", "", "Nghị định 61/2018/NĐ-CP"),
        ("Luật", "", "", "Luật An ninh mạng 2018", "Luật An ninh mạng 2018"),
        ("Chỉ thị", "", "Về tăng cường kỷ luật, kỷ cương hành chính", "", "Chỉ thị về kỷ luật, kỷ cương hành chính"),
        ("Chỉ thị", "", "Về đẩy mạnh chuyển đổi số trong hoạt động của cơ quan nhà nước", "", None),
        ("Quyết định", "", "Về việc ban hành Quy chế làm việc của Ủy ban nhân dân thị xã", "", None),
        ("Kế hoạch", "", "Cải cách hành chính năm 2099 (văn bản mẫu để kiểm thử)", "", None),
        ("Chỉ thị", "", "", "", "Chỉ thị"),
    ],
)
def test_short_name(doc_type: str, number: str, subject: str, name: str, short: str | None) -> None:
    expected = {
        "107/2021/NĐ-CP": "Nghị định 107/2021/NĐ-CP",
        "Về đẩy mạnh chuyển đổi số trong hoạt động của cơ quan nhà nước": "Chỉ thị về chuyển đổi số",
        "Về việc ban hành Quy chế làm việc của Ủy ban nhân dân thị xã": "Quyết định về Quy chế làm việc",
        "Cải cách hành chính năm 2099 (văn bản mẫu để kiểm thử)": "Kế hoạch cải cách hành chính năm 2099",
    }
    found = short_name(doc_type, number, subject, name)
    assert found == (short or expected.get(number) or expected[subject])
    assert len(found.split()) <= 12


def test_full_title_keeps_the_whole_subject() -> None:
    assert (
        full_title("Nghị định", "107/2021/NĐ-CP", "Sửa đổi, bổ sung một số điều")
        == "Nghị định số 107/2021/NĐ-CP sửa đổi, bổ sung một số điều"
    )
    assert full_title("Chỉ thị", "", "Về việc lưu trữ điện tử") == "Chỉ thị về việc lưu trữ điện tử"
    assert full_title("Luật", "", "", "Luật Cư trú 2020") == "Luật Cư trú 2020"


def test_a_document_is_named_once_for_a_run_of_its_clauses() -> None:
    labels = [
        ("điểm đ khoản 2", "Chỉ thị A"),
        ("khoản 5", "Chỉ thị A"),
        ("Điều 3", "Nghị định B"),
        ("khoản 1", "Chỉ thị A"),
    ]
    assert cited_together(labels) == "điểm đ khoản 2, khoản 5 Chỉ thị A; Điều 3 Nghị định B; khoản 1 Chỉ thị A"
    assert cited_together([]) == ""


def test_the_sample_directive_is_short_named_and_keeps_its_whole_title() -> None:
    meta = document_meta(SAMPLE_DIRECTIVE, parse(read_text(SAMPLE_DIRECTIVE), "ct"), Sidecar())
    assert meta.title == "Chỉ thị về cải cách hành chính thị xã"
    assert meta.full_title == (
        "Chỉ thị về việc tiếp tục tăng cường, nâng cao hiệu quả công tác cải cách hành chính trên địa bàn thị xã"
    )


def test_the_sidecars_ten_is_the_short_name() -> None:
    path = DATA / "nghi-dinh-sua-doi-mau.txt"
    meta = document_meta(path, parse(read_text(path), "nd"), Sidecar(ten="NĐ 34 (mẫu)"))
    assert meta.title == "NĐ 34 (mẫu)"
    assert meta.full_title.startswith("Nghị định số 34/2099/NĐ-CP sửa đổi, bổ sung một số điều")


def test_documents_stored_before_keep_their_title_as_the_whole_one(tmp_path: Path) -> None:
    db = open_database(tmp_path / "cchc.db")
    from knowledge.store import m001_documents_and_clauses, m002_clause_division, migrations

    db.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, applied_at TEXT)")
    for step in (m001_documents_and_clauses, m002_clause_division):
        step(db)
        db.table("_sqlite_migrations").insert(
            {"migration_set": migrations.name, "name": step.__name__, "applied_at": ""}
        )
    facts = dict.fromkeys(("doc_type", "number", "issued", "issuer", "subject", "effect", "source"), "")
    db.table("documents").insert(
        {"doc_id": "ct", "title": "Chỉ thị về việc tiếp tục tăng cường", "amends": "[]", **facts}
    )
    document = ClauseStore(db).document("ct")
    assert document is not None and document.full_title == document.title == "Chỉ thị về việc tiếp tục tăng cường"
