"""The task table: duties with deadlines drawn from directive clauses, their recurrences and completion.

Pure date arithmetic and SQLite (sqlite-utils); no Telegram. `bot/reminders.py` sends what `due()` plans.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import sqlite_utils
import yaml
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlite_utils.migrations import Migrations

from base.database import utc_now
from base.records import Record
from base.settings import Settings
from office.rows import BadRows, FileRow, by_row, check_rows, numbered, repeated, settings_in

FIELDS = ["ma", "ten", "noi_dung", "can_cu", "don_vi", "han", "lap_lai", "nhac_truoc"]
OPTIONAL_FIELDS = ["tu_ngay"]  # a CSV may add them after FIELDS; an export always does
STEPS = {"hang-thang": 1, "hang-quy": 3, "6-thang": 6, "hang-nam": 12}  # months between occurrences
DEFAULT_LEADS = [7, 3, 1, 0]
ReminderKind = Literal["lead", "overdue", "snooze", "digest"]
OccurrenceState = Literal["open", "done", "overdue"]
LogKey = tuple[str, str, str, int, str, int]  # task code, occurrence, kind, lead, day, Telegram id
migrations = Migrations("cchc.tasks")


@migrations()
def m001_tasks(db: sqlite_utils.Database) -> None:
    db.table("tasks").create(
        {
            "code": str,
            "title": str,
            "detail": str,
            "clauses": str,
            "units": str,
            "first_deadline": str,
            "recurrence": str,
            "leads": str,
            "updated_at": str,
        },
        pk="code",
    )
    db.table("completions").create(
        {"task_code": str, "occurrence": str, "unit_code": str, "done_by": int, "done_at": str},
        pk=("task_code", "occurrence", "unit_code"),
    )
    db.table("reminder_log").create(
        {"task_code": str, "occurrence": str, "lead": int, "telegram_id": int, "sent_at": str, "message_id": int},
        pk=("task_code", "occurrence", "lead", "telegram_id"),
    )
    db.table("snoozes").create(
        {"task_code": str, "occurrence": str, "telegram_id": int, "remind_on": str},
        pk=("task_code", "occurrence", "telegram_id"),
    )


@migrations()
def m002_reminder_kind(db: sqlite_utils.Database) -> None:
    """The reminder log says what each entry was (lead-day reminder, overdue notice, snooze, digest)
    instead of encoding it in `lead` and a made-up task code; existing entries are converted."""
    log = db.table("reminder_log")
    log.add_column("kind", str, not_null_default="lead")
    log.add_column("day", str, not_null_default="")
    log.transform(pk=("task_code", "occurrence", "kind", "lead", "day", "telegram_id"))
    db.execute(
        "UPDATE reminder_log SET kind = 'digest', day = occurrence, occurrence = '', task_code = '', lead = 0 "
        "WHERE task_code = '#digest'"
    )
    db.execute("UPDATE reminder_log SET kind = 'overdue', lead = 0 WHERE kind = 'lead' AND lead = -1")
    for row in list(log.rows_where("kind = 'lead' AND lead < -1")):
        day = date.fromordinal(-row["lead"]).isoformat()
        keys = [row["task_code"], row["occurrence"], row["lead"], row["telegram_id"]]
        db.execute(
            "UPDATE reminder_log SET kind = 'snooze', day = ?, lead = 0 "
            "WHERE task_code = ? AND occurrence = ? AND kind = 'lead' AND lead = ? AND telegram_id = ?",
            [day, *keys],
        )


@migrations()
def m003_counted_from(db: sqlite_utils.Database) -> None:
    """The day each task's schedule counts from. A task already stored counts from its last import, or
    from an earlier deadline the bot already reminded about or a unit marked done, so nothing it has
    dealt with disappears while the year of deadlines before anyone used it is not owed."""
    db.table("tasks").add_column("counted_from", str, not_null_default="")
    for row in list(db.table("tasks").rows):
        sql = (
            "SELECT min(occurrence) FROM (SELECT occurrence FROM completions WHERE task_code = ? "
            "UNION SELECT occurrence FROM reminder_log WHERE task_code = ? AND occurrence != '')"
        )
        earliest = db.execute(sql, [row["code"], row["code"]]).fetchone()[0]
        imported = (row["updated_at"] or "")[:10] or row["first_deadline"]
        db.table("tasks").update(row["code"], {"counted_from": min(filter(None, [imported, earliest]))})


@migrations()
def m004_assumed_day(db: sqlite_utils.Database) -> None:
    """Whether the first deadline's day was assumed (a drafted task whose text names no day)."""
    db.table("tasks").add_column("assumed_day", int, not_null_default=0)


class Task(Record):
    """One duty: a fixed deadline or a recurrence counted from the first deadline.

    Deadlines before `counted_from` are not owed: a town that loads its task table today does not owe
    the year of deadlines before it (a `tu_ngay` column or `cchc tasks import --from` tracks an earlier
    period)."""

    code: str = Field(pattern=r"^[\w.-]{1,30}$")
    title: str
    detail: str = ""
    clauses: list[str] = Field(description="Clause ids `<doc_id>:<loc>` the duty comes from.")
    units: list[str] = Field(description="Unit codes, or the groups tat-ca, phong-ban, xa-phuong.")
    first_deadline: date
    recurrence: str = Field("", description="'', hang-thang, hang-quy, 6-thang, hang-nam or an RRULE.")
    leads: list[int] = Field(default_factory=lambda: list(DEFAULT_LEADS))
    counted_from: date | None = Field(
        None, description="Deadlines before this day are not owed (None: every deadline from the first)."
    )
    assumed_day: bool = Field(False, description="The day of the deadlines was assumed: the text names none.")

    def occurrences(self, start: date, end: date) -> list[date]:
        """Deadlines owed between start and end (inclusive): none before `counted_from`."""
        if self.counted_from is not None:
            start = max(start, self.counted_from)
        if not self.recurrence:
            return [self.first_deadline] if start <= self.first_deadline <= end else []
        if self.recurrence in STEPS:
            step = STEPS[self.recurrence]
            months = max(0, (start.year - self.first_deadline.year) * 12 + start.month - self.first_deadline.month)
            n = max(0, months // step - 1)
            found = []
            while (day := self.first_deadline + relativedelta(months=step * n)) <= end:
                if day >= start:
                    found.append(day)
                n += 1
            return found
        rule = rrulestr(self.recurrence, dtstart=datetime.combine(self.first_deadline, time()))
        return [
            d.date() for d in rule.between(datetime.combine(start, time()), datetime.combine(end, time()), inc=True)
        ]


class Reminder(NamedTuple):
    """One message to one official: what it is, for which task occurrence, to whom.

    A NamedTuple because a town's morning can hold a hundred thousand of them."""

    task_code: str  # "" for the digest
    occurrence: date  # the deadline; for the digest, the day it summarises
    kind: ReminderKind
    lead: int  # days before the deadline, for kind "lead"; else 0
    unit_code: str
    telegram_id: int
    chat_id: int
    day: str = ""  # the day a snoozed reminder comes back for, or the digest's day (ISO)

    def log_key(self) -> LogKey:
        """What the reminder log remembers it by: the same key is never sent twice."""
        occurrence = "" if self.kind == "digest" else self.occurrence.isoformat()
        return (self.task_code, occurrence, self.kind, self.lead, self.day, self.telegram_id)


@dataclass(frozen=True, slots=True)
class UnitDue:
    """A task's occurrence that a unit should hear about today, before expanding to its officials."""

    task_code: str
    occurrence: date
    kind: ReminderKind
    lead: int
    unit_code: str


@dataclass(frozen=True, slots=True)
class UnitOccurrence:
    """One deadline of a task for one owner unit, and where the unit stands with it."""

    task: Task
    deadline: date
    unit_code: str
    state: OccurrenceState


def occurrence_state(
    done: set[tuple[str, str, str]], task_code: str, deadline: date, unit: str, today: date
) -> OccurrenceState:
    """done when the unit marked it, else overdue once its deadline has passed, else open."""
    if (task_code, deadline.isoformat(), unit) in done:
        return "done"
    return "overdue" if deadline < today else "open"


def parse_day(text: str) -> date:
    """'2026-04-15' or '15/04/2026'."""
    text = text.strip()
    if "/" in text:
        day, month, year = text.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(text)


class TaskStore:
    """Tasks, completions, snoozes and the durable log of reminders Telegram accepted."""

    def __init__(self, db: sqlite_utils.Database, settings: Settings) -> None:
        migrations.apply(db)
        self.db = db
        self.settings = settings

    # ------------------------------------------------------------------------------------ reading

    def tasks(self) -> list[Task]:
        return [_task_from_row(r) for r in self.db.table("tasks").rows_where(order_by="code")]

    def task(self, code: str) -> Task | None:
        rows = list(self.db.table("tasks").rows_where("code = ?", [code]))
        return _task_from_row(rows[0]) if rows else None

    def owner_units(self, task: Task) -> list[str]:
        """Unit codes a task falls to, groups expanded against config.yaml."""
        return self.owners()(task)

    def owners(self) -> Callable[[Task], list[str]]:
        """A fast `owner_units` for many tasks: each unit or group of config.yaml is expanded once."""
        expanded: dict[str, list[str]] = {}

        def owner_units(task: Task) -> list[str]:
            codes: list[str] = []
            for spec in task.units:
                if spec not in expanded:
                    expanded[spec] = self.settings.unit_codes(spec) or []
                codes += expanded[spec]
            return list(dict.fromkeys(codes))

        return owner_units

    def done(self) -> set[tuple[str, str, str]]:
        """(task_code, occurrence ISO, unit_code) of every completed occurrence."""
        return {(r[0], r[1], r[2]) for r in self.db.execute("SELECT task_code, occurrence, unit_code FROM completions")}

    def completion(self, code: str, occurrence: date, unit_code: str) -> dict | None:
        rows = list(
            self.db.table("completions").rows_where(
                "task_code = ? AND occurrence = ? AND unit_code = ?", [code, occurrence.isoformat(), unit_code]
            )
        )
        return rows[0] if rows else None

    def occurrences(self, start: date, end: date, today: date, unit_code: str | None = None) -> list[UnitOccurrence]:
        """Every deadline between start and end of every task, per owner unit (or just `unit_code`),
        with its state on `today`; by deadline, then task code."""
        done, owners = self.done(), self.owners()
        found = [
            UnitOccurrence(task, deadline, unit, occurrence_state(done, task.code, deadline, unit, today))
            for task in self.tasks()
            for unit in owners(task)
            if unit_code in (None, unit)
            for deadline in task.occurrences(start, end)
        ]
        return sorted(found, key=lambda o: (o.deadline, o.task.code, o.unit_code))

    def sent_keys(self) -> set[LogKey]:
        """The log keys (`Reminder.log_key`) of every reminder Telegram accepted."""
        sql = "SELECT task_code, occurrence, kind, lead, day, telegram_id FROM reminder_log"
        return {(r[0], r[1], r[2], r[3], r[4], r[5]) for r in self.db.execute(sql)}

    def snoozed(self, until: date) -> list[dict[str, Any]]:
        """Snoozes due by `until` that have not been delivered yet (a missed sending day is not lost)."""
        return list(self.db.table("snoozes").rows_where("remind_on <= ?", [until.isoformat()]))

    # ------------------------------------------------------------------------------------ writing

    def import_rows(
        self,
        rows: list[dict[str, Any]],
        clause_exists: Callable[[str], bool],
        imported_on: date | None = None,
        counted_from: date | None = None,
    ) -> tuple[int, int]:
        """Validate every row, then write all or nothing. Returns (added, updated).

        Each task's schedule counts from its row's `tu_ngay`, else `counted_from` (`--from`), else, for a
        task already stored, the day it counted from before, else `imported_on` (today in the town)."""
        context = {"settings": self.settings, "clause_exists": clause_exists}
        valid, problems = check_rows(TaskRow, numbered(rows), context)
        problems = by_row(problems + repeated(valid, "ma", says="{column} '{value}'"))
        if problems:
            raise BadRows(problems)
        existing = {t.code: t for t in self.tasks()}
        today = imported_on or self.today()
        tasks = []
        for _, row in valid:
            kept = existing[row.ma].counted_from if row.ma in existing else None
            tasks.append(row.task(row.tu_ngay or counted_from or kept or today))
        self.save(tasks)
        updated = sum(t.code in existing for t in tasks)
        return len(tasks) - updated, updated

    def save(self, tasks: Iterable[Task]) -> None:
        """Write tasks as they are (already checked), each replacing the stored one of its code."""
        with self.db.atomic():
            self.db.table("tasks").upsert_all([_task_row(task) for task in tasks], pk="code")

    def today(self) -> date:
        """Today in the town's time zone."""
        return datetime.now(ZoneInfo(self.settings.reminders.timezone)).date()

    def mark_done(self, code: str, occurrence: date, unit_code: str, by: int) -> bool:
        """Mark a unit's occurrence done; False if it already was."""
        if self.completion(code, occurrence, unit_code):
            return False
        self.db.table("completions").insert(
            {
                "task_code": code,
                "occurrence": occurrence.isoformat(),
                "unit_code": unit_code,
                "done_by": by,
                "done_at": utc_now(),
            }
        )
        return True

    def snooze(self, code: str, occurrence: date, telegram_id: int, until: date) -> None:
        self.db.table("snoozes").upsert(
            {
                "task_code": code,
                "occurrence": occurrence.isoformat(),
                "telegram_id": telegram_id,
                "remind_on": until.isoformat(),
            },
            pk=("task_code", "occurrence", "telegram_id"),
        )

    def log_sent(self, reminder: Reminder, message_id: int) -> None:
        """Record a reminder Telegram accepted (durably: the next run will not send it again)."""
        task_code, occurrence, kind, lead, day, telegram_id = reminder.log_key()
        entry = {"task_code": task_code, "occurrence": occurrence, "kind": kind, "lead": lead, "day": day}
        self.db.table("reminder_log").insert(
            {**entry, "telegram_id": telegram_id, "sent_at": utc_now(), "message_id": message_id}, replace=True
        )
        if reminder.kind == "snooze":  # delivered: the snooze is used up
            self.db.execute(
                "DELETE FROM snoozes WHERE task_code = ? AND occurrence = ? AND telegram_id = ?",
                [reminder.task_code, reminder.occurrence.isoformat(), reminder.telegram_id],
            )


def _task_from_row(row: dict) -> Task:
    """A stored task (validated when it was imported, so not validated again)."""
    return Task.model_construct(
        code=row["code"],
        title=row["title"],
        detail=row["detail"],
        clauses=json.loads(row["clauses"]),
        units=json.loads(row["units"]),
        first_deadline=date.fromisoformat(row["first_deadline"]),
        recurrence=row["recurrence"],
        leads=json.loads(row["leads"]),
        counted_from=date.fromisoformat(row["counted_from"]) if row.get("counted_from") else None,
        assumed_day=bool(row.get("assumed_day")),
    )


def _task_row(task: Task) -> dict:
    return {
        "code": task.code,
        "title": task.title,
        "detail": task.detail,
        "clauses": json.dumps(task.clauses, ensure_ascii=False),
        "units": json.dumps(task.units, ensure_ascii=False),
        "first_deadline": task.first_deadline.isoformat(),
        "recurrence": task.recurrence,
        "leads": json.dumps(task.leads),
        "counted_from": task.counted_from.isoformat() if task.counted_from else "",
        "assumed_day": int(task.assumed_day),
        "updated_at": utc_now(),
    }


def _split(value: object) -> list[str]:
    """A list cell: a YAML list, or text with items separated by ';'."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(";") if v.strip()]


EXTRA = "(extra fields)"  # where csv.DictReader puts the fields of a row longer than its header
ASSUMED = "# ASSUMED"  # after `han`: the day is assumed (the text names none); a YAML comment or in the CSV cell


def _assumed_mark(value: object) -> tuple[object, bool]:
    """'2023-03-15 # ASSUMED: …' -> ('2023-03-15', True); other values as they are."""
    if isinstance(value, str) and "#" in value:
        day, comment = value.split("#", 1)
        return day.strip(), comment.strip().upper().startswith("ASSUMED")
    return value, False


class TaskRow(FileRow):
    """One row of a task file (CSV or YAML), checked against config.yaml and the loaded clauses."""

    ma: str
    ten: str
    noi_dung: str = ""
    can_cu: list[str]
    don_vi: list[str]
    han: date
    lap_lai: str = ""
    nhac_truoc: list[int] = Field(default_factory=lambda: list(DEFAULT_LEADS))
    tu_ngay: date | None = Field(None, description="Deadlines before this day are not owed (default: import day).")
    han_gia_dinh: bool = Field(False, description="The day of `han` is assumed (also: '# ASSUMED' after han).")

    @model_validator(mode="before")
    @classmethod
    def _fields_counted(cls, row: Any) -> Any:
        if isinstance(row, dict) and EXTRA in row:
            expected = len(row) - 1
            raise ValueError(f"expected {expected} fields, found {expected + len(row[EXTRA])}")
        if isinstance(row, dict):
            row = {k: ("" if v is None else v) for k, v in row.items()}
            row["han"], marked = _assumed_mark(row.get("han"))
            if marked:
                row["han_gia_dinh"] = True
        return row

    @field_validator("ma", mode="before")
    @classmethod
    def _code(cls, value: object) -> str:
        code = str(value or "").strip()
        if not code:
            raise ValueError("ma is empty")
        if not re.fullmatch(r"[\w.-]{1,30}", code):
            raise ValueError(f"ma '{code}' must be 1 to 30 letters, digits, '.', '_' or '-', without spaces")
        return code

    @field_validator("ten", mode="before")
    @classmethod
    def _title(cls, value: object) -> str:
        if not str(value or "").strip():
            raise ValueError("ten is empty")
        return str(value).strip()

    @field_validator("noi_dung", "lap_lai", mode="before")
    @classmethod
    def _text(cls, value: object) -> str:
        return str(value or "").strip()

    @field_validator("can_cu", mode="before")
    @classmethod
    def _clauses(cls, value: object, info: ValidationInfo) -> list[str]:
        clauses = _split(value)
        if not clauses:
            raise ValueError("can_cu is empty (name the clause the duty comes from, e.g. chi-thi-cchc-thi-xa:3)")
        exists: Callable[[str], bool] = (info.context or {})["clause_exists"]
        if missing := [c for c in clauses if not exists(c)]:
            raise ValueError(f"can_cu {', '.join(missing)} is not a clause in the index (see `cchc docs`, `cchc show`)")
        return clauses

    @field_validator("don_vi", mode="before")
    @classmethod
    def _units(cls, value: object, info: ValidationInfo) -> list[str]:
        settings = settings_in(info)
        units = _split(value)
        if not units:
            raise ValueError("don_vi is empty")
        if bad := [u for u in units if settings.unit_codes(u) is None]:
            groups = ", ".join(g.code for g in settings.unit_groups)
            raise ValueError(f"don_vi {', '.join(bad)} is not a unit name, code or group ({groups})")
        return [unit.code if (unit := settings.unit(u)) else u for u in units]

    @field_validator("han", "tu_ngay", mode="before")
    @classmethod
    def _day(cls, value: object, info: ValidationInfo) -> date | None:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if info.field_name == "tu_ngay" and not str(value or "").strip():
            return None
        try:
            return parse_day(str(value or ""))
        except (ValueError, TypeError):
            raise ValueError(f"{info.field_name} '{value}' is not a date (YYYY-MM-DD or DD/MM/YYYY)") from None

    @field_validator("nhac_truoc", mode="before")
    @classmethod
    def _leads(cls, value: object) -> list[int]:
        try:
            leads = [int(x) for x in _split(value)] or list(DEFAULT_LEADS)
        except ValueError:
            raise ValueError(f"nhac_truoc '{value}' must be days such as 7;3;1;0") from None
        if any(lead < 0 or lead > 365 for lead in leads):
            raise ValueError("nhac_truoc days must be between 0 and 365")
        return sorted(set(leads), reverse=True)

    @model_validator(mode="after")
    def _recurrence(self) -> TaskRow:
        if self.lap_lai and self.lap_lai not in STEPS:
            try:
                rrulestr(self.lap_lai, dtstart=datetime.combine(self.han, time()))
            except (ValueError, TypeError):
                raise ValueError(
                    f"lap_lai '{self.lap_lai}' is not hang-thang, hang-quy, 6-thang, hang-nam or an RRULE"
                ) from None
        return self

    def task(self, counted_from: date) -> Task:
        """The task this row describes, its schedule counted from `counted_from`."""
        return Task(
            code=self.ma,
            title=self.ten,
            detail=self.noi_dung,
            clauses=self.can_cu,
            units=self.don_vi,
            first_deadline=self.han,
            recurrence=self.lap_lai,
            leads=self.nhac_truoc,
            counted_from=counted_from,
            assumed_day=self.han_gia_dinh,
        )


def yaml_problem(error: yaml.YAMLError) -> str:
    """'not valid YAML at line 3, column 1: expected ...' (the parser's own words)."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    return f"not valid YAML: {error}"


def _assumed_in_yaml(text: str) -> list[bool]:
    """For each task of a YAML task file, whether its `han` line ends with the comment '# ASSUMED'."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if k.value == "tasks"), None)
    if not isinstance(node, yaml.SequenceNode):
        return []
    lines = text.splitlines()
    marks = []
    for item in node.value:
        han = next((v for k, v in item.value if k.value == "han"), None) if isinstance(item, yaml.MappingNode) else None
        after = lines[han.end_mark.line][han.end_mark.column :] if han and han.end_mark.line < len(lines) else ""
        marks.append(after.strip().upper().startswith(ASSUMED))
    return marks


def read_task_file(text: str, suffix: str) -> list[dict]:
    """Rows of a CSV (header ma,ten,...) or YAML (a list, or `tasks:` holding one) task file.

    A `han` followed by '# ASSUMED' (a YAML comment, or in the CSV cell) marks a day the text did not state.
    """
    if suffix in {".yaml", ".yml"}:
        try:  # every value read as text: the row model parses dates and numbers and names what is wrong
            data = yaml.load(text, Loader=yaml.BaseLoader) or []
        except yaml.YAMLError as exc:
            raise BadRows([yaml_problem(exc)]) from None
        rows = data.get("tasks", []) if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadRows(["the YAML file must hold a list of tasks (or `tasks:` with one)"])
        for row, assumed in zip(rows, _assumed_in_yaml(text), strict=False):
            if assumed:
                row["han_gia_dinh"] = True
        return rows
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), restkey=EXTRA)
    header = [f.strip() for f in reader.fieldnames or []]
    if header not in (FIELDS, FIELDS + OPTIONAL_FIELDS):
        raise BadRows([f"row 1: header must be {','.join(FIELDS)} (optionally followed by ,tu_ngay)"])
    reader.fieldnames = header
    return list(reader)


def export_rows(tasks: Iterable[Task]) -> list[dict]:
    return [
        {
            "ma": t.code,
            "ten": t.title,
            "noi_dung": t.detail,
            "can_cu": ";".join(t.clauses),
            "don_vi": ";".join(t.units),
            "han": t.first_deadline.isoformat() + (f" {ASSUMED}" if t.assumed_day else ""),
            "lap_lai": t.recurrence,
            "nhac_truoc": ";".join(map(str, t.leads)),
            "tu_ngay": t.counted_from.isoformat() if t.counted_from else "",
        }
        for t in tasks
    ]
