"""People's text made safe for a CSV cell, where a spreadsheet might run it (formula injection, CWE-1236).

The CSV files themselves are written by :func:`cmrg_excel.kit.files.write_csv`."""

from __future__ import annotations

import datetime as dt

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value
