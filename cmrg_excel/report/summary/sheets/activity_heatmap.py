"""The Activity heatmap: each contract's rating of each key activity."""

from __future__ import annotations

from ....kit.styles import column_points, print_setup, printable_points
from ..bulk import BulkColumn
from ..calc import activity_scores
from ..context import Summary
from ..look import area_header, colour_scale, paragraph, score_column, wrapped_heights

NAME = "Activity heatmap"
ACTIVITY_W = 4.6
LEAD = [9, 42]  # Contract ID, Title
# Printed at 85%: about twenty activities a page, and 11-point text still prints at 9.4 points.
SCALE = 85


def write(ws, s: Summary) -> None:
    """Write the Activity heatmap sheet."""
    fm, bulk, data, info, footer = s.fm, s.bulk, s.data, s.info, s.footer
    ans = data.answers
    refs = [r for r, _a, _t in data.activities]
    ws.write_string(0, 0, f"Activity heatmap: each contract's rating of each key activity, round {data.round}",
                    fm.title)
    lead = LEAD
    groups = page_groups(data.activities)
    widest = max((len(g) for g in groups), default=0)
    paragraph(ws, 1, len(lead) - 1 + widest,
              "Columns are key activities (area.number); each statement is on the Findings and Data sheets, and on "
              "screen in the note on its heading. n/a: Not applicable. Red is weak, green strong. It prints one page "
              "per area or group of areas.", fm.subtitle_wrap, sum(lead) + widest * ACTIVITY_W)
    hdr = 3
    ws.set_column(0, 0, lead[0])
    ws.set_column(1, 1, lead[1])
    ws.set_column(2, 1 + len(refs), ACTIVITY_W)
    # each area's name over its activities
    ws.set_row(hdr - 1, 45)
    spans: dict[int, list[int]] = {}
    for j, (_ref, area, _text) in enumerate(data.activities):
        spans.setdefault(area, []).append(2 + j)
    for area, cols_ in spans.items():
        name = area_header(area, dict(data.areas).get(area, ""))
        if len(cols_) > 1:
            ws.merge_range(hdr - 1, cols_[0], hdr - 1, cols_[-1], name, fm.area_band)
        else:
            ws.write_string(hdr - 1, cols_[0], name, fm.area_band)
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
    bulk.add(ws, hdr + 1, cols, table="ActivityHeatmap", heights=wrapped_heights((titles, lead[1])))
    colour_scale(ws, hdr + 1, 2, hdr + len(info), 1 + len(refs), data.scale)
    ws.freeze_panes(hdr + 1, 2)
    ws.set_v_pagebreaks([2 + sum(len(g) for g in groups[:k]) for k in range(1, len(groups))])
    print_setup(ws, repeat_to_row=hdr, left_footer=footer, scale=SCALE, marking=s.data.marking)
    ws.repeat_columns(0, 1)


def page_groups(activities: list[tuple[str, int, str]]) -> list[list[str]]:
    """The activities on each printed page: whole areas, as many as fit across a landscape page
    beside the contract columns at the sheet's scale (an area too wide for a page is split)."""
    room = printable_points(True) * 100 / SCALE * 0.97 - sum(column_points(w) for w in LEAD)
    per_page = max(1, int(room // column_points(ACTIVITY_W)))
    by_area: dict[int, list[str]] = {}
    for ref, area, _text in activities:
        by_area.setdefault(area, []).append(ref)
    groups: list[list[str]] = []
    for refs in by_area.values():
        while refs:
            chunk, refs = refs[:per_page], refs[per_page:]
            if groups and len(groups[-1]) + len(chunk) <= per_page:
                groups[-1] += chunk
            else:
                groups.append(list(chunk))
    return groups

