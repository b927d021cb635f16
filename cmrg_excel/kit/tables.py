"""Plain tables as workbooks: one or more sheets, each an Excel Table (the register export,
the ingest report).

Written with the house kit (:func:`cmrg_excel.kit.styles.new_workbook`), so people's text
is always text and comes back as written, and saved with :func:`cmrg_excel.kit.files.write_atomic`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..core.textsafe import visible
from .files import write_atomic
from .styles import Styles, new_workbook, print_setup, wrapped_height


def write_table_workbook(path: Path, sheet: str, columns: list[str], rows: list[list[object]],
                     widths: dict[str, float] | None = None, extra: list[tuple[str, list[str], list[list[object]]]] = ()
                     ) -> Path:
    """An .xlsx of one or more sheets, each an Excel Table with filters and a frozen header.
    Strings are always written as text (never formulas or links).

    A column not in ``widths`` is as wide as its longest value (at most 60 characters, or 40
    for text without spaces, such as file paths and hashes, which is not wrapped). Text in
    columns 40 or more wide wraps, in rows tall enough to show it. Each sheet prints landscape, one page wide,
    its header row repeated on every page and the file and sheet name in the footer."""
    path = Path(path)
    wb, buffer = new_workbook()
    header = Styles(wb).header
    # every cell at the top of its row, level with the first line of any wrapped text beside it
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy", "align": "left", "valign": "top"})
    dt_fmt = wb.add_format({"num_format": "dd/mm/yyyy hh:mm", "align": "left", "valign": "top"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    top = wb.add_format({"valign": "top"})
    for name, cols, data in [(sheet, columns, rows), *extra]:
        ws = wb.add_worksheet(name)
        longest = [len(h) for h in cols]
        spaced = [False] * len(cols)
        for r, row in enumerate(data, start=1):
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
        ws.add_table(0, 0, max(1, len(data)), max(0, len(cols) - 1), {
            "columns": [{"header": h, "header_format": header} for h in cols], "style": "Table Style Medium 2",
            "name": "".join(ch for ch in name if ch.isalnum()) or "Table1",
        })
        wrapped = []
        for c, h in enumerate(cols):
            if h in (widths or {}):
                width = widths[h]
                wraps = width >= 40
            else:  # text without spaces (a path, a hash) is cut at the edge rather than broken anywhere
                width = min(60 if spaced[c] else 40, max(10, longest[c] + 2))
                wraps = width >= 40 and spaced[c]
            ws.set_column(c, c, width, wrap if wraps else top)  # the format of the cells written without one
            if wraps:
                wrapped.append((c, width))
        for r, row in enumerate(data, start=1):
            height = wrapped_height(*[(row[c], width) for c, width in wrapped
                                      if c < len(row) and isinstance(row[c], str)])
            if height:
                ws.set_row(r, min(height, 409))  # Excel's tallest row
        ws.freeze_panes(1, 0)
        print_setup(ws, landscape=True, repeat_to_row=0, left_footer=f"{path.name} | {name}")
        # the table only: text running on past the last column (a hash) would shrink the page
        ws.print_area(0, 0, max(1, len(data)), max(0, len(cols) - 1))
    wb.close()
    write_atomic(path, buffer.getvalue())
    return path
