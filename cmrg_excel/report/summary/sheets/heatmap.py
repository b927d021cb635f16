"""The Heatmap: each contract's average score in each area, on one landscape page."""

from __future__ import annotations

import pandas as pd

from ....kit.styles import print_setup
from ..bulk import BulkColumn
from ..context import Summary
from ..look import area_header, colour_scale, paragraph, scale_text, score_column, wrapped_heights

NAME = "Heatmap"


def write(ws, s: Summary) -> None:
    """Write the Heatmap sheet."""
    fm, bulk, data, footer = s.fm, s.bulk, s.data, s.footer
    info, area_scores, overall = s.info, s.area_scores, s.overall
    hdr = 3
    # Printed: ID to Overall, one line a contract. Directorate, value and supplier follow, for
    # filtering on screen (the Directorates sheet compares directorates on paper).
    lead = ["Contract ID", "Title", "Risk"]
    area_cols = [area_header(a, n) for a, n in data.areas]
    tail = ["Directorate", "Annual value (£)", "Supplier"]
    headers = lead + area_cols + ["Overall"] + tail
    widths = [10, 40, 8] + [12.5] * len(area_cols) + [9] + [38, 15, 44]
    printed = len(lead) + len(area_cols)  # index of Overall, the last printed column
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.write_string(0, 0, f"Heatmap: average score by contract and area, round {data.round}", fm.title)
    paragraph(ws, 1, printed, f"Each cell is the contract's mean rating for the area ({scale_text(data.scale)}); n/a means "
                              "every activity was Not applicable. Red is weak, yellow mid-way, green strong. Use the "
                              "filter buttons to pick a directorate or risk level.", fm.subtitle_wrap,
              sum(widths[: printed + 1]))
    ws.set_row(hdr, 48)
    n = len(info)
    first = hdr + 1
    last = hdr + n
    s0 = len(lead)
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by BulkRows
        "name": "Heatmap", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header_c} for h in headers],
    })
    titles, directorates, suppliers = (info[c].astype(str).tolist() for c in ("title", "directorate", "supplier"))
    cols = [
        BulkColumn(info.index.astype(str).tolist(), "text", fm.cell_nowrap),
        BulkColumn(titles, "text", fm.cell),
        BulkColumn(info["risk"].astype(str).tolist(), "text", fm.cell_center),
    ]
    for number, _name in data.areas:
        cols.append(score_column(area_scores[number], fm.cell_score, fm.cell_na))
    cols.append(score_column(overall, fm.cell_score_bold, fm.cell_na))
    cols += [  # not printed: wide enough not to wrap, so they leave the rows one line high
        BulkColumn(directorates, "text", fm.cell_nowrap),
        BulkColumn(pd.to_numeric(info["annual_value_gbp"], errors="coerce").to_numpy(), "number", fm.cell_money),
        BulkColumn(suppliers, "text", fm.cell_nowrap),
    ]
    bulk.add(ws, first, cols, table="Heatmap",
             heights=wrapped_heights((titles, widths[1])))
    colour_scale(ws, first, s0, last, s0 + len(area_cols), data.scale)
    ws.freeze_panes(first, 2)
    ws.print_area(0, 0, last, printed)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer, widths=widths[: printed + 1], marking=s.data.marking)
