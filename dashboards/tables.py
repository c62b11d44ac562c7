"""Tables shown on the dashboards: one definition serves the HTML and the CSV export.

Cells hold raw values (numbers, None, text); each column's kind says how a value is
shown on the page. The CSV carries the raw values, so spreadsheets get numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse

NO_DATA = "—"


def _number(digits: int, suffix: str = "") -> Callable[[Any], str]:
    return lambda v: f"{v:,.{digits}f}{suffix}"


def _percent(v: Any) -> str:
    return f"{v * 100:.2f} %"


def _change(v: Any) -> str:
    return f"{v * 100:+.1f} %"


def _money(v: Any) -> str:
    return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.2f}"


FORMATS: dict[str, Callable[[Any], str]] = {
    "text": str,
    "int": _number(0),
    "ms": _number(0, " ms"),
    "qps": _number(1),
    "ratio": _percent,
    "change": _change,
    "money": _money,
    "wh": _number(3, " Wh"),
    "tokens": _number(1),
}


def show(kind: str, value: Any) -> str:
    if value is None or value == "":
        return NO_DATA
    return FORMATS[kind](value)


# A column of this kind takes each row's own kind (Table.row_kinds): a table with a
# metric per row, such as a comparison, keeps raw numbers and still shows units.
BY_ROW = "by-row"


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"

    def show(self, value: Any) -> str:
        return show(self.kind, value)


@dataclass
class Table:
    key: str  # names the CSV export: ?export=<key>
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    # Per row, per cell: an extra CSS class (e.g. a flagged lifecycle); optional.
    marks: list[list[str]] = field(default_factory=list)
    export_href: str = ""  # set by the view: this page's URL asking for the CSV
    row_kinds: list[str] = field(default_factory=list)  # for BY_ROW columns

    def shown(self) -> list[list[tuple[str, str, str]]]:
        """Rows for the template: (text, kind, mark) per cell."""
        out = []
        for r, row in enumerate(self.rows):
            marks = self.marks[r] if r < len(self.marks) else [""] * len(row)
            kinds = [self.row_kinds[r] if col.kind == BY_ROW else col.kind for col in self.columns]
            out.append([(show(kind, value), kind, mark) for kind, value, mark in zip(kinds, row, marks, strict=True)])
        return out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # A name starting with these would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(table: Table, filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_cell(col.label) for col in table.columns])
    for row in table.rows:
        writer.writerow([_cell(value) for value in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
