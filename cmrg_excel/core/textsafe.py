"""Writing people's text where a spreadsheet might run it (CSV formula injection, CWE-1236)."""

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
