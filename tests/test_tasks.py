"""Task table and reminder planning: recurrences, lead days, local hours, import validation, the sent log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from base.database import open_database
from base.settings import ReminderSettings
from office.reminders import due, lead_day, overdue, progress, sending_open, unit_agenda
from office.rows import BadRows
from office.tasks import Reminder, Task, TaskStore, read_task_file
from office.users import UserStore
from tests.conftest import ROOT, make_settings

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CLAUSES = {
    "chi-thi-cchc-thi-xa:3",
    "chi-thi-cchc-thi-xa:4",
    "chi-thi-cchc-thi-xa:5",
    "chi-thi-cchc-thi-xa:2.đ",
    "chi-thi-cchc-thi-xa:closing",
}
HEADER = "ma,ten,noi_dung,can_cu,don_vi,han,lap_lai,nhac_truoc\n"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HCM)


def task(**fields) -> Task:
    base = {"code": "T", "title": "Việc", "clauses": ["d:1"], "units": ["TP"], "first_deadline": date(2026, 1, 31)}
    return Task(**{**base, **fields})


@pytest.fixture
def stores(tmp_path: Path) -> tuple[TaskStore, UserStore]:
    settings = make_settings(tmp_path / "data")
    db = open_database(settings.database_path)
    users = UserStore(db)
    for telegram_id, unit in ((11, "TP"), (12, "TP"), (21, "XAP"), (31, "NV")):
        users.register(telegram_id, telegram_id, f"Cán bộ {telegram_id}", unit, "Công chức", approved=True)
    return TaskStore(db, settings), users


def import_text(
    store: TaskStore, text: str, suffix: str = ".csv", imported_on: date = date(2026, 1, 1), **since: date
) -> tuple[int, int]:
    return store.import_rows(read_task_file(text, suffix), CLAUSES.__contains__, imported_on, **since)


# -------------------------------------------------------------------------------------- recurrences


def test_monthly_recurrence_clamps_to_month_ends_across_the_year() -> None:
    monthly = task(recurrence="hang-thang")
    assert monthly.occurrences(date(2026, 1, 1), date(2026, 4, 30)) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert monthly.occurrences(date(2026, 12, 1), date(2027, 2, 28)) == [
        date(2026, 12, 31),
        date(2027, 1, 31),
        date(2027, 2, 28),
    ]


def test_quarterly_six_monthly_yearly_and_rrule() -> None:
    quarterly = task(first_deadline=date(2023, 3, 15), recurrence="hang-quy")
    assert quarterly.occurrences(date(2026, 11, 1), date(2027, 4, 1)) == [date(2026, 12, 15), date(2027, 3, 15)]
    half = task(first_deadline=date(2023, 6, 15), recurrence="6-thang")
    assert half.occurrences(date(2026, 1, 1), date(2026, 12, 31)) == [date(2026, 6, 15), date(2026, 12, 15)]
    leap = task(first_deadline=date(2024, 2, 29), recurrence="hang-nam")
    assert leap.occurrences(date(2025, 1, 1), date(2028, 12, 31)) == [
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]
    last_friday = task(first_deadline=date(2026, 1, 1), recurrence="FREQ=MONTHLY;BYDAY=-1FR")
    assert last_friday.occurrences(date(2026, 11, 1), date(2027, 1, 31)) == [
        date(2026, 11, 27),
        date(2026, 12, 25),
        date(2027, 1, 29),
    ]
    once = task(first_deadline=date(2026, 4, 15))
    assert once.occurrences(date(2026, 1, 1), date(2026, 12, 31)) == [date(2026, 4, 15)]
    assert once.occurrences(date(2026, 5, 1), date(2026, 12, 31)) == []


def test_lead_days_move_off_weekends_to_the_friday_before() -> None:
    deadline = date(2026, 12, 15)  # a Tuesday
    assert lead_day(deadline, 3, weekends=False) == date(2026, 12, 11)  # Saturday 12/12 -> Friday 11/12
    assert lead_day(deadline, 3, weekends=True) == date(2026, 12, 12)
    assert lead_day(deadline, 7, weekends=False) == date(2026, 12, 8)


def test_sending_hours_in_local_time_at_the_day_boundary() -> None:
    settings = ReminderSettings()
    # 00:59 UTC is 07:59 in Hồ Chí Minh City: not yet; 01:00 UTC is 08:00: open.
    assert not sending_open(datetime(2026, 12, 1, 0, 59, tzinfo=UTC), settings)
    assert sending_open(datetime(2026, 12, 1, 1, 0, tzinfo=UTC), settings)
    # 23:30 UTC on 30/11 is already 1 December, 06:30 local: night, nothing goes out.
    assert not sending_open(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), settings)
    assert not sending_open(at("2026-12-01 20:00"), settings)
    assert not sending_open(at("2026-12-05 09:00"), settings)  # Saturday
    assert sending_open(at("2026-12-05 09:00"), settings.model_copy(update={"weekends": True}))
    assert not sending_open(at("2026-12-01 08:30"), settings.model_copy(update={"send_at": time(9, 0)}))


# ------------------------------------------------------------------------------------------- import


def test_import_validates_every_row_and_writes_nothing_on_error(stores) -> None:
    store, _ = stores
    text = (
        HEADER
        + "BC,Báo cáo quý,,chi-thi-cchc-thi-xa:5,TP;xa-phuong,15/12/2026,hang-quy,7;1\n"
        + "X1,Không căn cứ,,chi-thi-cchc-thi-xa:9.z,TP,2026-12-01,,\n"
        + "X2,Sai đơn vị,,chi-thi-cchc-thi-xa:3,Phòng Không Có,2026-12-01,,\n"
        + "X3,Sai ngày,,chi-thi-cchc-thi-xa:3,TP,31/02/2026,,\n"
        + "X4,Sai lặp,,chi-thi-cchc-thi-xa:3,TP,2026-12-01,hang-tuan-le,\n"
        + "X5,Sai nhắc,,chi-thi-cchc-thi-xa:3,TP,2026-12-01,,7;ba\n"
        + "BC,Trùng mã,,chi-thi-cchc-thi-xa:3,TP,2026-12-01,,\n"
    )
    with pytest.raises(BadRows) as error:
        import_text(store, text)
    assert error.value.problems == [
        "row 3: can_cu chi-thi-cchc-thi-xa:9.z is not a clause in the index (see `cchc docs`, `cchc show`)",
        "row 4: don_vi Phòng Không Có is not a unit name, code or group (tat-ca, phong-ban, xa-phuong)",
        "row 5: han '31/02/2026' is not a date (YYYY-MM-DD or DD/MM/YYYY)",
        "row 6: lap_lai 'hang-tuan-le' is not hang-thang, hang-quy, 6-thang, hang-nam or an RRULE",
        "row 7: nhac_truoc '7;ba' must be days such as 7;3;1;0",
        "row 8: ma 'BC' repeats row 2",
    ]
    assert store.tasks() == []


def test_import_then_update_by_code_and_groups_expand(stores) -> None:
    store, _ = stores
    assert import_text(store, HEADER + "BC,Báo cáo quý,,chi-thi-cchc-thi-xa:5,TP;xa-phuong,15/12/2026,hang-quy,\n") == (
        1,
        0,
    )
    bc = store.task("BC")
    assert bc.leads == [7, 3, 1, 0] and bc.units == ["TP", "xa-phuong"]
    assert store.owner_units(bc) == ["TP", "P1", "P2", "XAP", "XBH"]
    assert import_text(store, HEADER + "BC,Báo cáo quý (sửa),,chi-thi-cchc-thi-xa:5,Phòng Tư pháp,2026-12-15,,3\n") == (
        0,
        1,
    )
    assert store.task("BC").title == "Báo cáo quý (sửa)" and store.task("BC").units == ["TP"]


def test_shipped_task_file_cites_real_clauses_of_the_sample_directive(sample_index, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    store = TaskStore(open_database(settings.database_path), settings)
    text = (ROOT / "samples" / "tasks" / "chi-thi-cchc-thi-xa.yaml").read_text(encoding="utf-8")
    added, _ = store.import_rows(read_task_file(text, ".yaml"), lambda c: sample_index.store.clause(c) is not None)
    assert added == 9
    assert {c for t in store.tasks() for c in t.clauses} == CLAUSES
    assert store.owner_units(store.task("TU-DANH-GIA-XA")) == ["P1", "P2", "XAP", "XBH"]
    assert all(t.assumed_day for t in store.tasks()), "the directive states no day beyond 2023"


def test_yaml_task_file_with_dates(stores) -> None:
    store, _ = stores
    text = "tasks:\n  - {ma: A, ten: Việc A, can_cu: chi-thi-cchc-thi-xa:4, don_vi: [XAP], han: 2026-12-01}\n"
    assert import_text(store, text, ".yaml") == (1, 0)
    with pytest.raises(BadRows, match="unknown column"):
        import_text(
            store, "- {ma: B, ten: B, can_cu: chi-thi-cchc-thi-xa:4, don_vi: TP, han: 2026-12-01, x: 1}\n", ".yaml"
        )


# ------------------------------------------------------------------------------------------ planning


def test_due_reminders_follow_lead_days_and_units(stores) -> None:
    store, users = stores
    import_text(store, HEADER + "BC,Báo cáo,,chi-thi-cchc-thi-xa:5,TP,2026-12-15,,7;3;1;0\n")
    settings = ReminderSettings()
    assert due(store, users, at("2026-12-07 08:00"), settings) == []  # 8 days before: nothing
    first = due(store, users, at("2026-12-08 08:00"), settings)
    assert {(r.telegram_id, r.lead) for r in first} == {(11, 7), (12, 7)}  # both TP officials, not XAP or NV
    assert due(store, users, at("2026-12-08 07:59"), settings) == []  # before the sending hour
    assert {r.lead for r in due(store, users, at("2026-12-11 08:00"), settings)} == {3}  # Saturday 12 -> Friday 11
    assert {r.lead for r in due(store, users, at("2026-12-15 10:00"), settings)} == {0}
    assert {(r.kind, r.lead) for r in due(store, users, at("2026-12-16 08:00"), settings)} == {("overdue", 0)}
    assert due(store, users, at("2026-12-30 08:00"), settings) == []  # past overdue_days


def test_sent_reminders_are_not_sent_again_and_catch_up_sends_only_the_latest(stores) -> None:
    store, users = stores
    import_text(store, HEADER + "BC,Báo cáo,,chi-thi-cchc-thi-xa:5,TP,2026-12-15,,7;3;1;0\n")
    settings = ReminderSettings()
    for reminder in due(store, users, at("2026-12-08 08:00"), settings):
        store.log_sent(reminder, message_id=1)
    assert due(store, users, at("2026-12-08 08:00"), settings) == []  # a restart the same day: nothing again
    assert due(store, users, at("2026-12-09 08:00"), settings) == []  # the 7-day one is not repeated
    # Down from 10 to 14 December: on start on the 14th only the latest lead (1 day) goes, once.
    catch_up = due(store, users, at("2026-12-14 15:00"), settings)
    assert {(r.telegram_id, r.lead) for r in catch_up} == {(11, 1), (12, 1)}


def test_done_by_one_official_stops_the_units_reminders(stores) -> None:
    store, users = stores
    import_text(store, HEADER + "BC,Báo cáo,,chi-thi-cchc-thi-xa:5,TP;XAP,2026-12-15,,\n")
    store.mark_done("BC", date(2026, 12, 15), "TP", by=11)
    assert {r.unit_code for r in due(store, users, at("2026-12-14 08:00"), ReminderSettings())} == {"XAP"}
    assert not store.mark_done("BC", date(2026, 12, 15), "TP", by=12)  # already done


def test_snooze_brings_the_reminder_back_the_next_day_once(stores) -> None:
    store, users = stores
    import_text(store, HEADER + "BC,Báo cáo,,chi-thi-cchc-thi-xa:5,TP,2026-12-15,,7\n")
    settings = ReminderSettings()
    for reminder in due(store, users, at("2026-12-08 08:00"), settings):
        store.log_sent(reminder, message_id=1)
    store.snooze("BC", date(2026, 12, 15), 11, until=date(2026, 12, 9))
    again = due(store, users, at("2026-12-09 08:00"), settings)
    assert again == [Reminder("BC", date(2026, 12, 15), "snooze", 0, "TP", 11, 11, "2026-12-09")]
    store.log_sent(again[0], message_id=2)
    assert due(store, users, at("2026-12-09 09:00"), settings) == []


def test_snooze_due_on_a_day_nothing_went_out_comes_on_the_next_sending_day(stores) -> None:
    store, users = stores
    import_text(store, HEADER + "BC,Báo cáo,,chi-thi-cchc-thi-xa:5,TP,2026-12-22,,7\n")
    settings = ReminderSettings()
    for reminder in due(store, users, at("2026-12-15 08:00"), settings):
        store.log_sent(reminder, message_id=1)
    store.snooze("BC", date(2026, 12, 22), 11, until=date(2026, 12, 19))  # a Saturday: nothing is sent
    assert due(store, users, at("2026-12-19 09:00"), settings) == []
    monday = [r for r in due(store, users, at("2026-12-21 08:00"), settings) if r.kind == "snooze"]
    assert monday == [Reminder("BC", date(2026, 12, 22), "snooze", 0, "TP", 11, 11, "2026-12-19")]
    store.log_sent(monday[0], message_id=2)
    assert [r for r in due(store, users, at("2026-12-22 08:00"), settings) if r.kind == "snooze"] == []


def test_reminder_log_of_an_older_database_gets_its_kinds(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    db = open_database(settings.database_path)
    from office.tasks import migrations

    db.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, applied_at TEXT)")
    db.table("reminder_log").create(
        {"task_code": str, "occurrence": str, "lead": int, "telegram_id": int, "sent_at": str, "message_id": int},
        pk=("task_code", "occurrence", "lead", "telegram_id"),
    )
    for name in ("m001_tasks",):
        db.table("_sqlite_migrations").insert({"migration_set": migrations.name, "name": name, "applied_at": ""})
    for table in ("tasks", "completions", "snoozes"):
        db.execute(f"CREATE TABLE {table} (x TEXT)")
    old = [("BC", "2026-12-15", 7), ("BC", "2026-12-15", -1), ("#digest", "2026-12-16", -1)]
    old.append(("BC", "2026-12-15", -date(2026, 12, 9).toordinal()))
    for code, occurrence, lead in old:
        db.table("reminder_log").insert(
            {
                "task_code": code,
                "occurrence": occurrence,
                "lead": lead,
                "telegram_id": 11,
                "sent_at": "",
                "message_id": 1,
            }
        )
    keys = TaskStore(db, settings).sent_keys()
    assert keys == {
        ("BC", "2026-12-15", "lead", 7, "", 11),
        ("BC", "2026-12-15", "overdue", 0, "", 11),
        ("", "", "digest", 0, "2026-12-16", 11),
        ("BC", "2026-12-15", "snooze", 0, "2026-12-09", 11),
    }


def test_overdue_and_progress_by_unit(stores) -> None:
    store, _ = stores
    import_text(store, HEADER + "BC,Báo cáo,,chi-thi-cchc-thi-xa:5,TP;XAP,2026-10-15,hang-thang,\n")
    store.mark_done("BC", date(2026, 10, 15), "TP", by=11)
    late = overdue(store, date(2026, 11, 28))
    assert sorted((o.unit_code, o.deadline) for o in late) == [
        ("TP", date(2026, 11, 15)),
        ("XAP", date(2026, 10, 15)),
        ("XAP", date(2026, 11, 15)),
    ]
    counts = progress(store, date(2026, 11, 28), days_ahead=40)
    assert counts["TP"] == {"done": 1, "open": 1, "overdue": 1}
    assert counts["XAP"] == {"done": 0, "open": 1, "overdue": 2}


# -------------------------------------------------------------------------- counted from the import


SAMPLE_TASKS = ROOT / "samples" / "tasks" / "chi-thi-cchc-thi-xa.yaml"


def test_a_task_file_with_past_first_deadlines_imported_today_owes_nothing_from_before(stores) -> None:
    store, users = stores
    today = date(2026, 5, 10)  # the sample's first deadlines are in 2023
    import_text(store, SAMPLE_TASKS.read_text(encoding="utf-8"), ".yaml", imported_on=today)
    assert {t.counted_from for t in store.tasks()} == {today}
    assert overdue(store, today) == []
    assert all(c["overdue"] == 0 for c in progress(store, today).values())
    agenda = unit_agenda(store, "XAP", today)
    assert agenda.late == []
    assert [(o.task.code, o.deadline) for o in agenda.coming] == [
        ("BAO-CAO-6-THANG", date(2026, 6, 15)),
        ("BAO-CAO-QUY", date(2026, 6, 15)),
        ("TU-DANH-GIA-XA", date(2026, 12, 1)),
        ("BAO-CAO-NAM", date(2026, 12, 15)),
        ("DANG-KY-DOT-PHA", date(2027, 4, 15)),
        ("KIEM-DIEM", date(2027, 4, 15)),
    ]  # the next deadline of each task, none from before the import
    assert [r for r in due(store, users, at("2026-05-11 08:00"), ReminderSettings())] == []  # no overdue notices
    # a month on, what fell due since the import and was not done is overdue, and summarised per task
    store.mark_done("BAO-CAO-QUY", date(2026, 6, 15), "XAP", by=21)
    later = unit_agenda(store, "XAP", date(2026, 7, 1))
    assert [(o.task.code, o.deadline) for o in later.late] == [("BAO-CAO-6-THANG", date(2026, 6, 15))]
    assert ("BAO-CAO-QUY", date(2026, 9, 15)) in [(o.task.code, o.deadline) for o in later.coming]


def test_tu_ngay_and_from_track_an_earlier_period_and_a_reimport_keeps_it(stores) -> None:
    store, _ = stores
    row = "BC,Báo cáo,,chi-thi-cchc-thi-xa:5,TP,2025-01-15,hang-thang,"
    import_text(store, HEADER.replace("\n", ",tu_ngay\n") + row + ",2026-03-01\n", imported_on=date(2026, 5, 10))
    assert store.task("BC").counted_from == date(2026, 3, 1)
    late = [o.deadline for o in overdue(store, date(2026, 5, 10))]
    assert late == [date(2026, 3, 15), date(2026, 4, 15)]
    import_text(store, HEADER + row + "\n", imported_on=date(2026, 6, 1))  # a later edit of the file
    assert store.task("BC").counted_from == date(2026, 3, 1)  # the schedule still counts from where it did
    import_text(store, HEADER + row + "\n", imported_on=date(2026, 6, 1), counted_from=date(2026, 1, 1))
    assert store.task("BC").counted_from == date(2026, 1, 1)  # --from
    assert overdue(store, date(2026, 2, 1)) and overdue(store, date(2026, 2, 1))[0].deadline == date(2026, 1, 15)
    with pytest.raises(BadRows, match="row 2: tu_ngay 'hôm qua' is not a date"):
        import_text(store, HEADER.replace("\n", ",tu_ngay\n") + row + ",hôm qua\n")


def test_tasks_of_an_older_database_count_from_their_import_or_what_was_dealt_with(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    db = open_database(settings.database_path)
    from office.tasks import m001_tasks, m002_reminder_kind, migrations

    db.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, applied_at TEXT)")
    for step in (m001_tasks, m002_reminder_kind):
        step(db)
        db.table("_sqlite_migrations").insert(
            {"migration_set": migrations.name, "name": step.__name__, "applied_at": ""}
        )
    for code in ("OLD", "USED"):
        db.table("tasks").insert(
            {
                "code": code,
                "title": code,
                "detail": "",
                "clauses": "[]",
                "units": '["TP"]',
                "first_deadline": "2023-03-15",
                "recurrence": "hang-quy",
                "leads": "[7]",
                "updated_at": "2026-05-10T01:00:00+00:00",
            }
        )
    db.table("completions").insert(
        {"task_code": "USED", "occurrence": "2026-03-15", "unit_code": "TP", "done_by": 1, "done_at": ""}
    )
    store = TaskStore(db, settings)
    assert store.task("OLD").counted_from == date(2026, 5, 10)  # its last import
    assert store.task("USED").counted_from == date(2026, 3, 15)  # the deadline a unit already marked done
    assert [o.state for o in store.occurrences(date(2026, 1, 1), date(2026, 6, 30), date(2026, 5, 20), "TP")] == [
        "done",
        "open",
        "open",
    ]  # USED 15/3 done, OLD and USED 15/6 to come; nothing of 2023-2025 owed


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=FR", ["2026-11-20", "2026-11-27", "2026-12-04"]),
        ("FREQ=DAILY;INTERVAL=3", ["2026-11-21", "2026-11-24", "2026-11-27", "2026-11-30", "2026-12-03"]),
        ("FREQ=WEEKLY;COUNT=5", []),  # its five Tuesdays were in March and April 2025
    ],
)
def test_rrule_occurrences_far_from_the_first_deadline(rule: str, expected: list[str]) -> None:
    window = (date(2026, 11, 20), date(2026, 12, 5))
    occurrences = task(first_deadline=date(2025, 3, 4), recurrence=rule).occurrences(*window)
    assert [d.isoformat() for d in occurrences] == expected
