"""The register on the command line: `cchc obligations`, `cchc tasks draft` -> `cchc tasks import`, `ask --unit`."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cchc.cli import cli
from office.tasks import ASSUMED
from tests.conftest import DATA, SAMPLE_DIRECTIVE

KEYS = {"doc_id", "loc", "label", "unit", "role", "action", "deadline", "recurrence", "term"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample directive and a test decree ingested through the CLI."""
    folder = tmp_path_factory.mktemp("register-cli")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLE_DIRECTIVE, corpus)
    shutil.copy(DATA / "obligations" / "nghi-dinh-bao-cao-mau.txt", corpus)
    result = CliRunner().invoke(cli, ["--data-dir", str(folder / "data"), "ingest", "--quiet", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "obligations read again: 2 document(s)" in result.output
    return folder / "data"


def run(data_dir: Path, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def rows(data_dir: Path, *args: str) -> list[dict]:
    result = run(data_dir, "obligations", "--json", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_obligations_json_contract(data_dir: Path) -> None:
    found = rows(data_dir)
    assert found and all(set(r) == KEYS for r in found)
    for r in found:
        assert r["role"] in {"chu-tri", "phoi-hop", "thuc-hien"} and isinstance(r["recurrence"], list)
        assert r["deadline"] is None or date.fromisoformat(r["deadline"])
        assert r["term"] is None or isinstance(r["term"], str)
    lead = [r for r in rows(data_dir, "--unit", "TP", "--doc", "nghi-dinh-bao-cao-mau") if r["loc"] == "4.2"]
    assert lead == [
        {
            "doc_id": "nghi-dinh-bao-cao-mau",
            "loc": "4.2",
            "label": "khoản 2 Điều 4 Nghị định 45/2099/NĐ-CP",
            "unit": "TP",
            "role": "chu-tri",
            "action": lead[0]["action"],
            "deadline": "2099-06-30",
            "recurrence": [],
            "term": None,
        }
    ]
    assert lead[0]["action"].startswith("Phòng Tư pháp chủ trì, phối hợp với Phòng Văn hóa và Thông tin")
    communes = {r["unit"] for r in rows(data_dir, "--unit", "xa-phuong", "--doc", "chi-thi-cchc-thi-xa")}
    assert communes == {"P1", "P2", "XAP", "XBH"}
    assert {r["unit"] for r in rows(data_dir, "--doc", "chi-thi-cchc-thi-xa") if r["loc"] == "5"} == {
        "VP",
        "NV",
        "TC",
        "TP",
        "VHTT",
    }


def test_obligations_refuses_what_it_does_not_know(data_dir: Path) -> None:
    assert run(data_dir, "obligations", "--unit", "Phòng Không Có").exit_code == 2
    missing = run(data_dir, "obligations", "--doc", "khong-co")
    assert missing.exit_code == 1 and "no document khong-co" in missing.output
    text = run(data_dir, "obligations", "--unit", "TP", "--doc", "nghi-dinh-bao-cao-mau").output
    assert "TP    chủ trì    Hạn 30/06/2099" in text and "khoản 2 Điều 4 Nghị định 45/2099/NĐ-CP" in text


def test_tasks_draft_is_imported_unchanged(data_dir: Path, tmp_path: Path) -> None:
    draft = tmp_path / "nhiem-vu.yaml"
    result = run(data_dir, "tasks", "draft", "nghi-dinh-bao-cao-mau", "--out", str(draft))
    assert result.exit_code == 0 and result.output.startswith("drafted: ")
    text = draft.read_text(encoding="utf-8")
    tasks = yaml.safe_load(text)["tasks"]
    by_clause = {t["can_cu"].split(":")[1]: t for t in reversed(tasks)}  # the first task of each clause
    assert by_clause["4.2"]["han"] == date(2099, 6, 30) and by_clause["4.2"]["don_vi"] == "TP"
    assert [t["don_vi"] for t in tasks if t["can_cu"].endswith(":4.2")] == ["TP", "VHTT"], "lead and partner"
    assert by_clause["3.2"]["lap_lai"] == "hang-quy" and by_clause["3.2"]["don_vi"] == "xa-phuong"
    assert by_clause["3.2"]["han"] == date(2099, 3, 20), "the text names the 20th of the quarter's last month"
    assert by_clause["4.1.b"]["don_vi"] == "phong-ban" and by_clause["4.1.b"]["han"] == date(2099, 2, 25)
    assumed = [line for line in text.splitlines() if ASSUMED in line]
    assert any("2099-02-25" in line for line in assumed) and not any("2099-03-20" in line for line in assumed)

    imported = run(data_dir, "tasks", "import", str(draft))
    assert imported.output == f"imported: {len(tasks)} added, 0 updated\n"
    exported = yaml.safe_load(run(data_dir, "tasks", "export", "--format", "yaml").output)["tasks"]
    marks = {t["ma"]: str(t["han"]).endswith(ASSUMED) for t in exported}
    assert marks[by_clause["4.1.b"]["ma"]] and not marks[by_clause["3.2"]["ma"]]
    assert not marks[by_clause["4.2"]["ma"]]


def test_ask_as_an_official_of_a_unit(data_dir: Path) -> None:
    result = run(data_dir, "ask", "--json", "--unit", "TP", "Đơn vị tôi phải làm gì theo nghị định 45/2099?")
    payload = json.loads(result.output)
    assert set(payload) == {"question", "answered", "answer", "direct", "citations", "suggestions"}, (
        "the contract of any answer"
    )
    keys = {"doc_id", "loc", "label", "text", "score", "document_title", "in_force", "amended_by"}
    assert set(payload["citations"][0]) == keys
    assert payload["citations"][0]["document_title"].startswith("Nghị định")
    assert payload["answered"] and payload["answer"].startswith("Việc của Phòng Tư pháp")
    assert [c["loc"] for c in payload["citations"]][:1] == ["4.2"]
    assert run(data_dir, "ask", "--unit", "XYZ", "đơn vị tôi phải làm gì").exit_code == 2


def test_chat_answers_as_ask_does(data_dir: Path) -> None:
    """The console chat answers duty questions from the register and the rest from the clauses, as `ask`."""
    questions = ["Phòng Tư pháp có nhiệm vụ gì theo chỉ thị?", "Hạn chót gửi báo cáo kiểm điểm là ngày nào?"]
    chat = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "chat"], input="\n".join(questions) + "\n\n")
    assert chat.exit_code == 0, chat.output
    for question in questions:
        asked = run(data_dir, "ask", question)
        assert asked.exit_code == 0 and asked.output.strip() in chat.output
    assert "Việc của Phòng Tư pháp" in chat.output
    mine = CliRunner().invoke(
        cli,
        ["--data-dir", str(data_dir), "chat", "--unit", "TP"],
        input="Đơn vị tôi phải làm gì theo nghị định 45/2099?\n",
    )
    assert mine.exit_code == 0 and "Việc của Phòng Tư pháp" in mine.output
    assert CliRunner().invoke(cli, ["--data-dir", str(data_dir), "chat", "--unit", "XYZ"]).exit_code == 2
