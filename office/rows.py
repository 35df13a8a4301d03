"""Rows of the files the town office imports (staff lists, task tables), checked one pydantic model per row.

Every row is checked before anything is written; each bad row gives one line naming its number (the header
is row 1) and its first problem, in the words of the validator that found it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo

from base.settings import Settings

Row = TypeVar("Row", bound="FileRow")


class BadRows(Exception):
    """A file with bad rows; nothing was written. `problems` holds one line per bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class FileRow(BaseModel):
    """One row of an imported file: surrounding spaces dropped, unknown columns refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def row_problem(error: ValidationError) -> str:
    """The first problem of a row: the validator's own sentence, or '<column>: <reason>'."""
    errors = error.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"unknown column(s) {', '.join(unknown)}"
    first = errors[0]
    column = str(first["loc"][0]) if first["loc"] else ""
    message = first["msg"].removeprefix("Value error, ")
    return message if message.startswith(column) else f"{column}: {message}"


def numbered(rows: Iterable[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Rows with their numbers in the file: the header is row 1, the first data row is row 2."""
    return list(enumerate(rows, start=2))


def settings_in(info: ValidationInfo) -> Settings:
    """The town's settings, passed to a row's validators as validation context."""
    settings: Settings = (info.context or {})["settings"]
    return settings


def check_rows(
    model: type[Row], rows: Iterable[tuple[int, dict[str, Any]]], context: dict[str, Any]
) -> tuple[list[tuple[int, Row]], list[str]]:
    """(row number, valid row) pairs and one problem line per bad row."""
    valid: list[tuple[int, Row]] = []
    problems: list[str] = []
    for number, raw in rows:
        try:
            valid.append((number, model.model_validate(raw, context=context)))
        except ValidationError as error:
            problems.append(f"row {number}: {row_problem(error)}")
    return valid, problems


def repeated(rows: list[tuple[int, Row]], column: str, says: str = "{column} {value}") -> list[str]:
    """One problem line for each row whose non-empty `column` repeats an earlier row's (`says` names it)."""
    seen: dict[object, int] = {}
    problems = []
    for number, row in rows:
        value = getattr(row, column)
        if value in (None, ""):
            continue
        if value in seen:
            problems.append(f"row {number}: {says.format(column=column, value=value)} repeats row {seen[value]}")
        else:
            seen[value] = number
    return problems


def by_row(problems: Iterable[str]) -> list[str]:
    """Problem lines in row order, one per row (the first found for a row wins)."""
    first: dict[int, str] = {}
    for problem in problems:
        number = int(problem.split(":", 1)[0].removeprefix("row "))
        first.setdefault(number, problem)
    return [first[n] for n in sorted(first)]
