"""The blank (or filled) contract list workbook the secretariat keeps, ``contracts.xlsx``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable

from ..core.contracts import COLUMNS, Contract
from .files import write_atomic
from .styles import DATE_FORMAT, Styles, new_workbook, print_setup


def write_contract_list(path: Path, contracts: Iterable[Contract] = ()) -> Path:
    """contracts.xlsx for the secretariat: headings, help, validation and an example row."""
    wb, buffer = new_workbook()
    st = Styles(wb)
    sh = wb.add_worksheet("Contracts")
    guide = wb.add_worksheet("How to fill this in")
    contracts = list(contracts)
    last = max(1000, len(contracts) + 200)
    for i, col in enumerate(COLUMNS):
        sh.write_string(0, i, col.heading, st.header)
        width = {"title": 40, "supplier": 28, "directorate": 28, "owner_email": 30, "owner_name": 22}.get(col.name, 16)
        fmt = {"money": st.money, "date": st.date}.get(col.kind, st.text)
        sh.set_column(i, i, width, fmt)
        opts = {"input_title": col.heading[:32], "input_message": (col.help + ("" if col.required else " Optional."))[:255]}
        if col.kind == "level":
            opts |= {"validate": "list", "source": ["Low", "Medium", "High"], "error_type": "stop",
                     "error_title": "Low, Medium or High", "error_message": "Choose Low, Medium or High."}
        elif col.kind == "yesno":
            opts |= {"validate": "list", "source": ["Yes", "No"], "error_title": "Yes or No",
                     "error_message": "Choose Yes or No."}
        elif col.kind == "date":
            opts |= {"validate": "date", "criteria": "between", "minimum": dt.date(1990, 1, 1),
                     "maximum": dt.date(2099, 12, 31), "error_title": "Not a date",
                     "error_message": "Enter a date as dd/mm/yyyy.", "error_type": "warning"}
        elif col.kind == "money":
            opts |= {"validate": "decimal", "criteria": ">=", "value": 0, "error_type": "warning",
                     "error_title": "Not an amount", "error_message": "Enter pounds as a number, e.g. 1200000."}
        else:
            opts |= {"validate": "length", "criteria": "<=", "value": 255, "error_title": "Too long",
                     "error_message": "Keep this to 255 characters."}
        sh.data_validation(1, i, last, i, opts)
    rows = contracts or [None]
    for r, c in enumerate(rows, start=1):
        for i, col in enumerate(COLUMNS):
            value = getattr(c, col.name) if c is not None else col.example
            if c is None and col.name == "contract_id":
                value = "EXAMPLE"
            fmt = st.note if c is None else None
            if value is None:
                continue
            if isinstance(value, bool):
                sh.write_string(r, i, "Yes" if value else "No", fmt)
            elif isinstance(value, dt.date):
                sh.write_datetime(r, i, dt.datetime.combine(value, dt.time()),
                                  st.date if c is not None else wb.add_format({"italic": True, "font_color": "#595959", "num_format": DATE_FORMAT, "align": "left"}))
            elif isinstance(value, (int, float)):
                sh.write_number(r, i, value, st.money if c is not None else wb.add_format({"italic": True, "font_color": "#595959", "num_format": "£#,##0"}))
            else:
                sh.write_string(r, i, str(value), fmt)
    sh.freeze_panes(1, 1)
    sh.autofilter(0, 0, max(1, len(rows)), len(COLUMNS) - 1)
    sh.set_row(0, 32)
    print_setup(sh, landscape=True, repeat_to_row=0, left_footer="Contract list")
    guide.set_column("A:A", 34)
    guide.set_column("B:B", 90)
    guide.write_string(0, 0, "The contract list", st.title)
    guide.write_string(1, 0, "One row per contract. The row with Contract ID EXAMPLE is ignored: overwrite or delete it.", st.subtitle)
    guide.write_string(3, 0, "Column", st.header)
    guide.write_string(3, 1, "What to enter", st.header)
    for i, col in enumerate(COLUMNS):
        guide.write_string(4 + i, 0, col.heading + ("" if col.required else " (optional)"), st.locked_bold)
        guide.write_string(4 + i, 1, col.help, st.locked)
    print_setup(guide, landscape=False, left_footer="Contract list guide")
    sh.activate()
    wb.close()
    write_atomic(path, buffer.getvalue())
    return path
