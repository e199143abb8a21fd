"""CSV files that a spreadsheet opens as data, never as formulas (CSV injection).

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula, and a leading tab or carriage return can hide such a character from a
naive check. A user-chosen value (a name like ``=HYPERLINK("http://evil","Click")``)
written as is would run when a reviewer opens the export. OWASP's advice: prefix such a
cell with a single quote, which spreadsheets show as text and do not evaluate. Every CSV
the panel writes goes through ``writer`` here (``grep csv.writer`` finds only this file).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

# What makes a spreadsheet read a cell as a formula, or hides a character that does.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Data that starts like a formula but cannot run: a plain number, or a dash placeholder
# (the access review's "no access" cell).
HARMLESS = re.compile(r"[+-]?\d+(\.\d+)?|-+")


def safe_cell(value: Any) -> Any:
    """The value, with a ``'`` in front when it is text that would start a formula.
    Numbers and dash placeholders are left alone (``-5`` and ``-`` are data)."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not HARMLESS.fullmatch(value)
    ):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every text cell is neutralised with ``safe_cell``. A row with a
    carriage return in a cell is written fully quoted: ``csv`` quotes only the characters
    of its own line terminator, and a bare CR left unquoted splits the row for readers."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)
        self._quoted = csv.writer(out, **{**options, "quoting": csv.QUOTE_ALL})

    def writerow(self, row: Iterable[Any]):
        cells = [safe_cell(value) for value in row]
        if any(isinstance(cell, str) and "\r" in cell for cell in cells):
            return self._quoted.writerow(cells)
        return self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out, **options) -> SafeWriter:
    """A CSV writer for ``out`` (options as ``csv.writer``'s) that never writes a formula."""
    return SafeWriter(out, **options)
