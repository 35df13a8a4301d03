"""The obligation register in SQLite: built from the clause store, rebuilt only where something changed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from base.database import open_database
from base.settings import Settings
from ingest.structure import parse
from knowledge.records import DocumentMeta
from knowledge.register import ObligationRegister
from knowledge.store import ClauseStore
from knowledge.units import UnitDirectory
from tests.conftest import OBLIGATIONS, SAMPLE_DIRECTIVE
from tests.conftest import store_document as put


@pytest.fixture
def store(tmp_path: Path) -> ClauseStore:
    return ClauseStore(open_database(tmp_path / "cchc.db"))


def test_register_is_built_once_and_rebuilt_where_a_document_changed(store: ClauseStore, town) -> None:
    put(store, SAMPLE_DIRECTIVE, "chi-thi", "a1")
    put(store, OBLIGATIONS / "nghi-dinh-bao-cao-mau.txt", "nd45", "b1")
    register = ObligationRegister(store, town)
    assert sorted(register.sync()) == ["chi-thi", "nd45"]
    assert register.sync() == [], "nothing changed"
    tp = register.obligations(units=["TP"])
    assert {o.doc_id for o in tp} == {"chi-thi", "nd45"}
    assert any(o.loc == "4.2" and o.role == "chu-tri" and o.label == "khoản 2 Điều 4 Văn bản nd45" for o in tp)

    put(store, OBLIGATIONS / "nghi-dinh-so-hoa-mau.txt", "nd45", "b2")  # the file was replaced
    assert register.sync() == ["nd45"]
    assert any(o.loc == "3.3" and o.recurrence == ["hang-tuan"] for o in register.obligations(["KT"], "nd45"))

    store.remove_document("chi-thi")
    assert register.sync() == []
    assert register.obligations(doc_id="chi-thi") == []


def test_changed_units_rebuild_everything(store: ClauseStore, town, settings: Settings) -> None:
    put(store, SAMPLE_DIRECTIVE, "chi-thi", "a1")
    ObligationRegister(store, town).sync()
    settings.units = [
        u.model_copy(update={"name": f"{u.name} - Hạ tầng"}) if u.code == "KT" else u for u in settings.units
    ]
    register = ObligationRegister(store, UnitDirectory.of(settings))
    assert register.sync() == ["chi-thi"]
    assert register.obligations(units=["KT"]), "Phòng Kinh tế - Hạ tầng still owes the directive's duties"


def test_the_register_follows_the_amendment(store: ClauseStore, town) -> None:
    """Nghị định 46/2099 adds điểm d khoản 1 Điều 4 and repeals khoản 3 Điều 3 of 45/2099 from 01/3/2099."""
    for name, doc_id in (("nghi-dinh-bao-cao-mau.txt", "nd45"), ("nghi-dinh-sua-doi-bao-cao-mau.txt", "nd46")):
        parsed = parse((OBLIGATIONS / name).read_text(encoding="utf-8"), doc_id)
        meta = DocumentMeta(
            doc_id=doc_id, number=parsed.number, issued=parsed.issued, effect=parsed.effect, amends=parsed.amends
        )
        store.replace_document(meta, parsed.clauses, [""] * len(parsed.clauses), doc_id, has_articles=True)
    register = ObligationRegister(store, town)
    register.sync(date(2099, 2, 25))
    before = {o.loc for o in register.obligations(doc_id="nd45")}
    assert "3.3" in before and "4.1.d" not in before
    assert register.sync(date(2099, 2, 26)) == [], "nothing changes before the amendment takes effect"
    assert "nd45" in register.sync(date(2099, 3, 1))
    after = {(o.loc, o.unit): o for o in register.obligations(doc_id="nd45")}
    assert not any(loc == "3.3" for loc, _ in after), "the repealed khoản obliges nobody"
    added = after[("4.1.d", "TP")]
    assert added.recurrence == ["hang-quy"] and added.action.startswith("Hằng quý, công khai kết quả")
    assert {unit for loc, unit in after if loc == "4.1.d"} == {"VP", "NV", "TC", "TP", "VHTT", "KT"}
    assert register.obligations(doc_id="nd46") == [], "the amending decree's own text obliges nobody"
