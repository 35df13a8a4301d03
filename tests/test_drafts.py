"""Task-table drafts from the register: dated and recurring duties, assumed days marked."""

from __future__ import annotations

from datetime import date

import yaml

from base.settings import TaskDraftSettings
from ingest.structure import parse
from knowledge.obligations import extract
from office.drafts import ASSUMED, draft, first_deadline, render
from tests.conftest import ROOT, SAMPLE_DIRECTIVE

DEFAULTS = TaskDraftSettings()


def test_first_deadlines_take_the_stated_day_else_the_default() -> None:
    start = date(2099, 2, 10)
    assert first_deadline("hang-quy", "trước ngày 20 của tháng cuối quý", start, DEFAULTS) == (
        date(2099, 3, 20),
        "hang-quy",
        False,
    )
    assert first_deadline("hang-quy", None, start, DEFAULTS) == (date(2099, 3, 15), "hang-quy", True)
    assert first_deadline("hang-nam", "trước ngày 15 tháng 12 hằng năm", start, DEFAULTS)[::2] == (
        date(2099, 12, 15),
        False,
    )
    assert first_deadline("6-thang", None, date(2099, 6, 16), DEFAULTS)[0] == date(2099, 12, 15)
    assert first_deadline("hang-thang", None, date(2099, 2, 26), TaskDraftSettings(monthly=31))[0] == date(2099, 2, 28)
    weekly = first_deadline("hang-tuan", None, start, DEFAULTS)
    assert weekly == (date(2099, 2, 13), "FREQ=WEEKLY;BYDAY=FR", True) and weekly[0].weekday() == 4


def test_a_draft_holds_one_task_per_dated_or_recurring_duty_and_unit_group(town) -> None:
    clauses = parse(SAMPLE_DIRECTIVE.read_text(encoding="utf-8"), "chi-thi-cchc-thi-xa").clauses
    tasks = draft(extract(clauses, town, "Chỉ thị"), town, DEFAULTS, date(2023, 1, 1))
    by_clause: dict[str, list] = {}
    for task in tasks:
        by_clause.setdefault(task.clause_id.split(":")[1], []).append(task)
    assert {(t.recurrence, t.units[0]) for t in by_clause["2.đ"]} == {
        ("hang-quy", "tat-ca"),
        ("6-thang", "tat-ca"),
        ("hang-nam", "tat-ca"),
    }
    assert [t.units for t in by_clause["4"]] == [["xa-phuong"]]
    assert {tuple(t.units) for t in by_clause["5"]} == {("NV", "TC", "TP", "VHTT", "VP")}
    dated = [t for t in by_clause["3"] if not t.recurrence]
    assert [(t.first_deadline, t.assumed) for t in dated] == [(date(2023, 4, 15), False)] * 2
    assert all(t.assumed for t in by_clause["2.đ"]), "the directive names no day for its reports"

    text = render(tasks, "Chỉ thị", "chi-thi-cchc-thi-xa")
    rows = yaml.safe_load(text)["tasks"]
    assert len(rows) == len(tasks) and len({r["ma"] for r in rows}) == len(rows)
    marked = [line for line in text.splitlines() if line.strip().startswith("han:") and ASSUMED in line]
    assert len(marked) == sum(t.assumed for t in tasks)
    assert rows[0]["can_cu"].startswith("chi-thi-cchc-thi-xa:")


def test_the_shipped_task_file_is_traceable_to_the_register(town) -> None:
    """Every unit the sample task file reminds owes, by the register, a duty in a clause the task cites."""
    clauses = parse(SAMPLE_DIRECTIVE.read_text(encoding="utf-8"), "chi-thi-cchc-thi-xa").clauses
    owed = {(f"{o.doc_id}:{o.loc}", o.unit) for o in extract(clauses, town, "Chỉ thị")}
    tasks = yaml.safe_load((ROOT / "samples" / "tasks" / "chi-thi-cchc-thi-xa.yaml").read_text(encoding="utf-8"))
    for task in tasks["tasks"]:
        units = [code for spec in task["don_vi"].split(";") for code in town.expand(spec)]
        for unit in units:
            assert any((clause, unit) in owed for clause in task["can_cu"].split(";")), (task["ma"], unit)
