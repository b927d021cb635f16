"""The benefits log workbook the secretariat keeps, ``benefits.xlsx`` (made by ``cmrg init``).

Its columns are :data:`cmrg_excel.core.benefits.COLUMNS`, the same definition the reader uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..core.benefits import COLUMNS, SHEET, TYPES
from .files import write_atomic
from .styles import Styles, new_workbook, print_setup

EXAMPLE = ("EXAMPLE", "31/03/2027", "Re-procured the service on a standard form of contract",
           "£1.1m", "Cashable", "depending on prescribing patterns")
ROWS = 500


def write_benefits_log(path: Path, council: str = "", rows: Sequence[Sequence[str]] = ()) -> Path:
    """A log with headings, a guide, dropdowns and an example row (ignored on reading), and
    ``rows`` (text in COLUMNS order) below the example: blank for a new workspace."""
    wb, buffer = new_workbook()
    st = Styles(wb)
    sh = wb.add_worksheet(SHEET)
    guide = wb.add_worksheet("How to fill this in")
    for i, col in enumerate(COLUMNS):
        sh.write_string(0, i, col.heading, st.header)
        sh.set_column(i, i, col.width, st.text)
        opts: dict = {"input_title": col.heading[:32], "input_message": col.help[:255]}
        if col.key == "type":
            opts |= {"validate": "list", "source": list(TYPES), "error_title": "Type of benefit",
                     "error_message": "Choose Cashable, One-off or Non-cashable."}
        elif col.key == "description":
            opts |= {"validate": "length", "criteria": "<=", "value": 1000, "error_title": "Too long",
                     "error_message": "Keep the description to 1,000 characters."}
        else:
            opts |= {"validate": "any"}
        sh.data_validation(1, i, ROWS, i, opts)
    for i, value in enumerate(EXAMPLE):
        sh.write_string(1, i, value, st.note)
    for r, row in enumerate(rows, start=2):
        for i, value in enumerate(row):
            if value:
                sh.write_string(r, i, str(value))
    sh.freeze_panes(1, 1)
    sh.set_row(0, 30)
    print_setup(sh, landscape=True, repeat_to_row=0, left_footer="Benefits log", header=council)
    guide.set_column("A:A", 24)
    guide.set_column("B:B", 90)
    guide.write_string(0, 0, "The benefits log", st.title)
    guide.write_string(1, 0, "One row per benefit a review led to. The row with Contract ID EXAMPLE is ignored. "
                             "cmrg report reads this log and names any row it cannot use.", st.subtitle)
    guide.write_string(3, 0, "Column", st.header)
    guide.write_string(3, 1, "What to enter", st.header)
    for i, col in enumerate(COLUMNS):
        guide.write_string(4 + i, 0, col.heading + ("" if col.required else " (optional)"), st.locked_bold)
        guide.write_string(4 + i, 1, col.help, st.locked)
    print_setup(guide, landscape=False, left_footer="Benefits log guide", header=council)
    sh.activate()
    wb.close()
    write_atomic(path, buffer.getvalue())
    return path
