"""A task-table draft from a document's register: its dated and recurring obligations, in the import format.

One task per obligation and unit group (and per recurrence, since a task repeats one way). A recurring duty
whose text names no day gets the configured default day, and the file says so beside `han` with
`# ASSUMED`; `cchc tasks import` reads that mark, and reminders tell officials the day was assumed.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import yaml

from base.settings import TaskDraftSettings
from knowledge.obligations import Obligation
from knowledge.timing import RECURRENCE_NAMES, stated_day
from knowledge.units import UnitDirectory
from office.tasks import ASSUMED

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_ROLE_NOTE = {"chu-tri": "Vai trò: chủ trì.", "phoi-hop": "Vai trò: phối hợp.", "thuc-hien": ""}
_TITLE_LIMIT = 90
_CODE_PART = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class DraftTask:
    """One row of the draft, with why its first deadline is that day."""

    code: str
    title: str
    detail: str
    clause_id: str
    units: list[str]
    first_deadline: date
    recurrence: str
    leads: list[int]
    assumed: bool
    why: str


def _on_day(year: int, month: int, day: int) -> date:
    """That day of the month, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _first_in_months(months: Sequence[int], day: int, start: date) -> date:
    """The first day `day` of one of `months` on or after `start`."""
    for year in (start.year, start.year + 1):
        for month in months:
            candidate = _on_day(year, month, day)
            if candidate >= start:
                return candidate
    raise ValueError("no month given")


def first_deadline(
    recurrence: str, term: str | None, start: date, defaults: TaskDraftSettings
) -> tuple[date, str, bool]:
    """First deadline on or after `start`, the RRULE or step name for the task file, and whether it is assumed."""
    stated = stated_day(term)
    if recurrence == "hang-tuan":
        weekday = WEEKDAYS.index(defaults.weekly)
        day = start + timedelta(days=(weekday - start.weekday()) % 7)
        return day, f"FREQ=WEEKLY;BYDAY={_RRULE_DAYS[weekday]}", True
    if recurrence == "hang-nam":
        default_day, default_month = (int(x) for x in defaults.yearly.split("/"))
        if stated and stated[1]:
            return _first_in_months([stated[1]], stated[0], start), recurrence, False
        return _first_in_months([default_month], default_day, start), recurrence, True
    months, default = {
        "hang-thang": (range(1, 13), defaults.monthly),
        "hang-quy": ((3, 6, 9, 12), defaults.quarterly),
        "6-thang": ((6, 12), defaults.half_yearly),
    }[recurrence]
    if stated and stated[1] is None:
        return _first_in_months(months, stated[0], start), recurrence, False
    return _first_in_months(months, default, start), recurrence, True


def draft_start(issued: str, obligations: Sequence[Obligation], today: date) -> date:
    """Where recurrences start: the document's date (DD/MM/YYYY), else 1 January of the first year it
    names a deadline in, else today."""
    try:
        day, month, year = (int(x) for x in issued.split("/"))
        return date(year, month, day)
    except ValueError:
        pass
    years = [o.deadline.year for o in obligations if o.deadline]
    return date(min(years), 1, 1) if years else today


def _title(action: str) -> str:
    first = re.split(r"(?<=[.;])\s", action, maxsplit=1)[0].rstrip(".;,")
    if len(first) > _TITLE_LIMIT:
        first = first[: _TITLE_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return first[:1].upper() + first[1:]


def _units_field(units: list[str], directory: UnitDirectory) -> list[str]:
    group = directory.group_of(units)
    return [group] if group else sorted(units)


def _groups(obligations: Sequence[Obligation]) -> list[tuple[Obligation, list[str]]]:
    """Dated and recurring obligations, each with every unit that owes it, in document order."""
    grouped: dict[tuple, tuple[Obligation, list[str]]] = {}
    for o in sorted(obligations, key=lambda o: (o.order, o.loc)):
        if o.deadline is None and not o.recurrence:
            continue
        key = (o.doc_id, o.loc, o.role, o.action, o.deadline, tuple(o.recurrence), o.term)
        grouped.setdefault(key, (o, []))[1].append(o.unit)
    return list(grouped.values())


def _prefix(doc_id: str) -> str:
    letters = "".join(part[0] for part in re.split(r"[-_.\s]+", doc_id) if part)
    return _CODE_PART.sub("", letters.upper())[:10] or "VB"


def draft(
    obligations: Sequence[Obligation], directory: UnitDirectory, defaults: TaskDraftSettings, start: date
) -> list[DraftTask]:
    """Task rows for one document's dated and recurring obligations; recurrences start on or after `start`."""
    tasks: list[DraftTask] = []
    numbers: dict[str, int] = {}
    for o, units in _groups(obligations):
        term = f"Thời hạn: {o.term}." if o.term else ""
        detail = " ".join(x for x in (o.action + ".", _ROLE_NOTE[o.role], term) if x)
        for recurrence in o.recurrence or [""]:
            if o.deadline is not None:
                first, rule, assumed, why = o.deadline, recurrence, False, "stated in the text"
            else:
                first, rule, assumed = first_deadline(recurrence, o.term, start, defaults)
                why = "the text names no day" if assumed else f"stated: {o.term}"
            loc = _CODE_PART.sub("", o.loc)
            numbers[loc] = numbers.get(loc, 0) + 1
            tasks.append(
                DraftTask(
                    code=f"{_prefix(o.doc_id)}-{loc}-{numbers[loc]}"[:30],
                    title=_title(o.action) + (f" ({RECURRENCE_NAMES[recurrence]})" if len(o.recurrence) > 1 else ""),
                    detail=detail,
                    clause_id=f"{o.doc_id}:{o.loc}",
                    units=_units_field(units, directory),
                    first_deadline=first,
                    recurrence=rule,
                    leads=list(defaults.leads),
                    assumed=assumed,
                    why=why,
                )
            )
    return tasks


def _scalar(value: object) -> str:
    """A YAML scalar as safe_dump would write it, on one line."""
    text = yaml.safe_dump(value, allow_unicode=True, width=10**9, default_flow_style=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def render(tasks: Sequence[DraftTask], title: str, doc_id: str) -> str:
    """The draft as a YAML task file, importable unchanged; assumed days marked beside `han`."""
    lines = [
        "# Tasks drafted by `cchc tasks draft` from",
        f"#   {title} ({doc_id})",
        "# one per dated or recurring obligation and unit group. Review them, then load with:",
        "#   cchc tasks import FILE",
        f"# A day the text does not state is the configured default, marked {ASSUMED} beside `han`.",
        "tasks:",
    ]
    for task in tasks:
        han = f"{task.first_deadline.isoformat()}  {ASSUMED}: {task.why}" if task.assumed else ""
        han = han or f"{task.first_deadline.isoformat()}  # {task.why}"
        lines += [
            f"  - ma: {_scalar(task.code)}",
            f"    ten: {_scalar(task.title)}",
            f"    noi_dung: {_scalar(task.detail)}",
            f"    can_cu: {_scalar(task.clause_id)}",
            f"    don_vi: {_scalar(';'.join(task.units))}",
            f"    han: {han}",
            f"    lap_lai: {_scalar(task.recurrence)}",
            f"    nhac_truoc: {_scalar(';'.join(map(str, task.leads)))}",
            "",
        ]
    if not tasks:
        lines[-1] = "tasks: []"
    return "\n".join(lines)
