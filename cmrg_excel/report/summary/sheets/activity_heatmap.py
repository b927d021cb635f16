"""The Activity heatmap: each contract's rating of each key activity."""

from __future__ import annotations

from ....kit.styles import print_setup
from ..bulk import BulkColumn
from ..calc import activity_scores
from ..context import Summary
from ..look import area_header, colour_scale, score_column, wrapped_heights

NAME = "Activity heatmap"


def write(ws, s: Summary) -> None:
    """Write the Activity heatmap sheet."""
    fm, bulk, data, info, footer = s.fm, s.bulk, s.data, s.info, s.footer
    ans = data.answers
    refs = [r for r, _a, _t in data.activities]
    ws.write_string(0, 0, f"Activity heatmap: each contract's rating of each key activity, round {data.round}",
                    fm.title)
    ws.write_string(1, 0, "Columns are key activities (area.number); hover over a heading for its statement, or see "
                          "the Data sheet. n/a: Not applicable. Red is weak, green strong.", fm.subtitle)
    hdr = 3
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 1 + len(refs), 5.2)
    # area names over the first activity of each area
    seen = set()
    for j, (ref, area, text) in enumerate(data.activities):
        if area not in seen:
            seen.add(area)
            ws.write_string(hdr - 1, 2 + j, area_header(area, dict(data.areas).get(area, "")), fm.heading)
    headers = ["Contract ID", "Title"] + refs
    ws.set_row(hdr, 20)
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by BulkRows
        "name": "ActivityHeatmap", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header_c} for h in headers],
    })
    for j, (ref, area, text) in enumerate(data.activities):
        ws.write_comment(hdr, 2 + j, f"{ref} {text}", {"x_scale": 2, "y_scale": 1.2, "font_size": 9})
    wide = activity_scores(ans).reindex(index=info.index, columns=refs)
    titles = info["title"].astype(str).tolist()
    cols = [BulkColumn(info.index.astype(str).tolist(), "text", fm.cell_nowrap),
            BulkColumn(titles, "text", fm.cell)]
    cols += [score_column(wide[ref], fm.cell_score, fm.cell_na) for ref in refs]
    bulk.add(ws, hdr + 1, cols, table="ActivityHeatmap", heights=wrapped_heights((titles, 30)))
    colour_scale(ws, hdr + 1, 2, hdr + len(info), 1 + len(refs), data.scale)
    ws.freeze_panes(hdr + 1, 2)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer)
    ws.set_paper(8)  # A3: seventy activity columns
    ws.repeat_columns(0, 1)

