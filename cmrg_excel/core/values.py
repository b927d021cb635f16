"""Plain value helpers shared by the stages: how a cell's value reads as text."""

from __future__ import annotations

import datetime as dt


def text_of(value: object) -> str:
    """A text cell's value as the owner sees it (numbers without a trailing .0, dates as dd/mm/yyyy)."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M") if value.time() != dt.time() else value.strftime("%d/%m/%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()
