"""Writing files safely: complete or absent, never half-written.

Every file the tool writes for people (workbooks, CSV, mail drafts, the plan's record) goes
through :func:`write_atomic`. Ingest's copies into archive/ and inbox/rejected/ are the one
other way: created exclusively (never replacing a file) and made durable in batches before
the inbox copy is removed (see :mod:`cmrg_excel.intake.ingest`).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable, Mapping

from ..core.textsafe import csv_safe


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write a file so that it is either complete or absent, never half-written.

    ``durable`` also forces it to disk before the rename; files that can simply be
    generated again skip that.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    tmp.replace(path)


def write_csv(path: Path, columns: list[str], rows: Iterable[Mapping[str, object]]) -> Path:
    """Write rows as UTF-8 CSV with a BOM (so Excel shows £ and accents correctly), every cell
    that a spreadsheet might run as a formula made text (:func:`cmrg_excel.core.textsafe.csv_safe`)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(row.get(c, "")) for c in columns])
    write_atomic(path, text.getvalue().encode("utf-8-sig"))
    return path
