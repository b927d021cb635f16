"""The Data sheet: every answer with its source file and cell, as an Excel Table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ....kit.styles import print_setup
from ..bulk import BulkColumn, excel_serial
from ..calc import ref_order
from ..context import Summary
from ..look import paragraph

NAME = "Data"


DATA_COLUMNS = [
    # header, answers column, kind, format attribute
    ("Contract ID", "contract_id", "text", "cell_nowrap"),
    ("Title", "title", "text", "cell_nowrap"),
    ("Supplier", "supplier", "text", "cell_nowrap"),
    ("Directorate", "directorate", "text", "cell_nowrap"),
    ("Contract owner", "owner_name", "text", "cell_nowrap"),
    ("Annual value (£)", "annual_value_gbp", "number", "cell_money"),
    ("Risk", "risk", "text", "cell_nowrap"),
    ("Complexity", "complexity", "text", "cell_nowrap"),
    ("Round", "round", "text", "cell_nowrap"),
    ("Area", "area", "number", "cell_center"),
    ("Area name", "area_name", "text", "cell_nowrap"),
    ("Activity", "ref", "text", "cell_nowrap"),
    ("Statement", "activity", "text", "cell_nowrap"),
    ("Rating", "rating", "text", "cell_nowrap"),
    ("Score", "score", "number", "cell_center"),
    ("Not applicable", "not_applicable", "text", "cell_nowrap"),
    ("Evidence", "evidence", "text", "cell_nowrap"),
    ("Action", "action", "text", "cell_nowrap"),
    ("Action owner", "action_owner", "text", "cell_nowrap"),
    ("Target date", "target_date", "date", "cell_date"),
    ("Answer", "change", "text", "cell_nowrap"),
    ("Framework", "framework", "text", "cell_nowrap"),
    ("Submission", "submission_id", "number", "cell_center"),
    ("File SHA-256", "file_sha256", "text", "cell_nowrap"),
    ("Sheet", "sheet", "text", "cell_nowrap"),
    ("Rating cell", "rating_cell", "text", "cell_nowrap"),
    ("Evidence cell", "evidence_cell", "text", "cell_nowrap"),
    ("Received (UTC)", "received_at", "datetime", "cell_datetime"),
    ("Attested by", "attested_name", "text", "cell_nowrap"),
    ("Attested on", "attested_on", "date", "cell_date"),
]


def write(ws, s: Summary) -> None:
    """Write the Data sheet."""
    fm, bulk, data, footer = s.fm, s.bulk, s.data, s.footer
    ans = data.answers.copy()
    ans["framework"] = ans["framework_id"].astype(str) + " v" + ans["framework_version"].astype(str)
    ans["not_applicable"] = np.where(ans["not_applicable"].astype(bool), "Yes", "No")
    ans["_k"] = ref_order(ans["ref"])
    ans = ans.sort_values(["contract_id", "_k"], kind="stable")
    widths = {"Title": 28, "Supplier": 22, "Directorate": 24, "Statement": 50, "Evidence": 40, "Action": 30,
              "Area name": 22, "File SHA-256": 20, "Contract owner": 18, "Received (UTC)": 16}
    headers = [h for h, *_ in DATA_COLUMNS]
    for j, h in enumerate(headers):
        ws.set_column(j, j, widths.get(h, 12))
    n = len(ans)
    hdr = 3
    ws.write_string(0, 0, f"Data: every accepted answer of round {data.round}, with where it came from", fm.title)
    note_cols = 5  # A to F
    paragraph(ws, 1, note_cols,
              f"This sheet is not set to print: its {n:,} rows are for filters, sorting and pivot tables (the table "
              "is named Answers), and on paper would run to hundreds of pages. To print it anyway, clear the print "
              "area first (Excel: Page Layout > Print Area > Clear Print Area; LibreOffice Calc: Format > Print "
              "Ranges > Clear).", fm.note, sum(widths.get(h, 12) for h in headers[: note_cols + 1]))
    ws.set_row(hdr, 30)
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by BulkRows
        "name": "Answers", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header} for h in headers],
    })
    cols = []
    for header, src, kind, fmt in DATA_COLUMNS:
        values = ans[src] if src in ans else pd.Series([None] * n)
        f = getattr(fm, fmt)
        if kind == "text":
            cols.append(BulkColumn(values.where(values.notna(), "").astype(str).tolist(), "text", f))
        elif kind in ("date", "datetime"):
            serial = excel_serial(values)
            typed = values.notna().to_numpy().copy()
            if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
                typed &= np.asarray([isinstance(v, str) and v.strip() != "" for v in values.tolist()], dtype=bool)
            if (typed & np.isnan(serial)).any():
                # some values are not dates (free text): keep them all as text rather than lose them
                cols.append(BulkColumn(values.where(values.notna(), "").astype(str).tolist(), "text", fm.cell_nowrap))
            else:
                cols.append(BulkColumn(serial, "number", f))
        else:
            cols.append(BulkColumn(pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64"), "number", f))
    bulk.add(ws, hdr + 1, cols, table="Answers")
    ws.freeze_panes(hdr + 1, 1)
    ws.print_area(0, 0, 1, note_cols)
    print_setup(ws, left_footer=footer, last_col=note_cols, marking=s.data.marking)
