"""Plain tables as workbooks: one or more sheets, each an Excel Table (the register export,
the ingest report).

Written with the house kit (:func:`cmrg_excel.kit.styles.new_workbook`), so people's text
is always text and comes back as written, and saved with :func:`cmrg_excel.kit.files.write_atomic`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..core.textsafe import visible
from .files import write_atomic
from .styles import Styles, new_workbook, print_setup, row_height, wrapped_height


@dataclass
class TableSheet:
    """One sheet of a :func:`write_table_workbook` workbook.

    ``title`` and ``note`` go above the table (rows 1 and 2, the table from row 4). Only the
    first ``printed`` columns print (all of them when None; none, just the title and note,
    when 0: a data sheet that would run to hundreds of pages says so instead)."""

    name: str
    columns: list[str]
    rows: list[list[object]]
    widths: dict[str, float] | None = None
    title: str | None = None
    note: str | None = None
    printed: int | None = None


def write_table_workbook(path: Path, sheet: str | TableSheet, columns: list[str] | None = None,
                         rows: list[list[object]] | None = None, widths: dict[str, float] | None = None,
                         extra: list = ()) -> Path:
    """An .xlsx of one or more sheets, each an Excel Table with filters and a frozen header.
    Strings are always written as text (never formulas or links).

    Sheets are :class:`TableSheet` (or ``(name, columns, rows)`` tuples in ``extra``). A
    column not in ``widths`` is as wide as its longest value (at most 60 characters, or 40
    for text without spaces, such as file paths and hashes, which is not wrapped). Text in
    columns 40 or more wide wraps, in rows tall enough to show it. Each sheet prints
    landscape, scaled to fit its printed columns across the page, its header row repeated on
    every page and the file and sheet name in the footer."""
    first = sheet if isinstance(sheet, TableSheet) else TableSheet(sheet, list(columns or []), list(rows or []), widths)
    sheets = [first] + [x if isinstance(x, TableSheet) else TableSheet(*x) for x in extra]
    path = Path(path)
    wb, buffer = new_workbook()
    st = Styles(wb)
    header = st.header
    # every cell at the top of its row, level with the first line of any wrapped text beside it
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy", "align": "left", "valign": "top"})
    dt_fmt = wb.add_format({"num_format": "dd/mm/yyyy hh:mm", "align": "left", "valign": "top"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    top = wb.add_format({"valign": "top"})
    for spec in sheets:
        name, cols, data = spec.name, spec.columns, spec.rows
        ws = wb.add_worksheet(name)
        hdr = 3 if (spec.title or spec.note) else 0
        longest = [len(h) for h in cols]
        spaced = [False] * len(cols)
        for r, row in enumerate(data, start=hdr + 1):
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, dt.datetime):
                    if v.tzinfo is not None:
                        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
                    plain = v.time() == dt.time()
                    ws.write_datetime(r, c, v, date_fmt if plain else dt_fmt)
                    shown = 10 if plain else 16
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), date_fmt)
                    shown = 10
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                    shown = 5
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                    shown = len(f"{v:g}") if isinstance(v, float) else len(str(v))
                else:
                    text = visible(str(v), lines=True)  # a control character shown, never stored raw
                    ws.write_string(r, c, text)
                    shown = max(len(line) for line in text.split("\n"))
                    spaced[c] = spaced[c] or any(ch.isspace() for ch in text)
                if c < len(longest):
                    longest[c] = max(longest[c], shown)
        ws.add_table(hdr, 0, hdr + max(1, len(data)), max(0, len(cols) - 1), {
            "columns": [{"header": h, "header_format": header} for h in cols], "style": "Table Style Medium 2",
            "name": "".join(ch for ch in name if ch.isalnum()) or "Table1",
        })
        wrapped = []
        col_widths = []
        for c, h in enumerate(cols):
            if h in (spec.widths or {}):
                width = spec.widths[h]
                wraps = width >= 40
            else:  # text without spaces (a path, a hash) is cut at the edge rather than broken anywhere
                width = min(60 if spaced[c] else 40, max(10, longest[c] + 2))
                wraps = width >= 40 and spaced[c]
            ws.set_column(c, c, width, wrap if wraps else top)  # the format of the cells written without one
            col_widths.append(width)
            if wraps:
                wrapped.append((c, width))
        for r, row in enumerate(data, start=hdr + 1):
            height = wrapped_height(*[(row[c], width) for c, width in wrapped
                                      if c < len(row) and isinstance(row[c], str)])
            if height:
                ws.set_row(r, min(height, 409))  # Excel's tallest row
        printed = len(cols) if spec.printed is None else spec.printed
        span = max(printed, 1) - 1 if printed else min(len(cols), 6) - 1
        if spec.title:
            ws.set_row(0, 24)
            ws.write_string(0, 0, spec.title, st.title)
        if spec.note:
            if span > 0:
                ws.merge_range(1, 0, 1, span, spec.note, st.note)
            else:
                ws.write_string(1, 0, spec.note, st.note)
            ws.set_row(1, row_height((spec.note, sum(col_widths[: span + 1]))))
        ws.freeze_panes(hdr + 1, 0)
        footer = f"{path.name} | {name}"
        if printed:
            # the table's printed columns only: text running on past them (a hash) would widen the page
            ws.print_area(0, 0, hdr + max(1, len(data)), printed - 1)
            print_setup(ws, landscape=True, repeat_to_row=hdr, left_footer=footer, widths=col_widths[:printed])
        else:
            ws.print_area(0, 0, 1, span)
            print_setup(ws, landscape=True, left_footer=footer, widths=col_widths[: span + 1])
    wb.close()
    write_atomic(path, buffer.getvalue())
    return path
