"""Writing people's text where a spreadsheet might run it (CSV formula injection, CWE-1236)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Iterable, Mapping

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def write_csv(path: Path, columns: list[str], rows: Iterable[Mapping[str, object]]) -> Path:
    """Write rows as UTF-8 CSV with a BOM (so Excel shows £ and accents correctly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_safe(row.get(c, "")) for c in columns])
    tmp.replace(path)
    return path
