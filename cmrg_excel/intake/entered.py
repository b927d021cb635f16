"""What the owner typed into a return, as plain JSON-ready data.

:func:`entered_values` keeps the answers, attestation and contract corrections of a
return exactly as entered (right or wrong), so a rejected return's corrections workbook
can be pre-filled with them (:mod:`cmrg_excel.intake.corrections`). Every value becomes text:
dates as ISO ``YYYY-MM-DD`` (the workbook writes them back as dates), anything else as the
owner saw it. Blank cells are left out.
"""

from __future__ import annotations

import datetime as dt

from ..core.contracts import read_date
from ..core.values import text_of
from ..kit import layout as L



def entered_value(value: object, key: str) -> str:
    """One cell's value as kept: dates as ISO text, anything else as the owner saw it."""
    if isinstance(value, (dt.date, dt.datetime)):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if key in ("target_date", "date") and isinstance(value, (int, float)) and not isinstance(value, bool):
        day, _ = read_date(value)  # an Excel serial number in a date cell
        if day is not None:
            return day.isoformat()
    return text_of(value)


def entered_values(raw, activity_refs) -> dict:
    """{"answers": {ref: {key: text}}, "attestation": {...}, "corrections": {...}} of a RawReturn.

    Rows are matched by their Ref (moved rows included); when a Ref appears twice the first
    row wins. Rows that are not activities of ``activity_refs`` are left out."""
    refs = set(activity_refs)
    answers: dict[str, dict[str, str]] = {}
    for row in raw.rows:
        ref = text_of(row.ref)
        if ref not in refs or ref in answers:
            continue
        values = {k: entered_value(row.values.get(k), k) for k in L.INPUT_KEYS}
        answers[ref] = {k: v for k, v in values.items() if v}
    attestation = {k: entered_value(v, k) for k, v in raw.attestation.items()}
    corrections = {k: text_of(v) for k, v in raw.corrections.items()}
    return {
        "answers": answers,
        "attestation": {k: v for k, v in attestation.items() if v},
        "corrections": {k: v for k, v in corrections.items() if v},
    }

