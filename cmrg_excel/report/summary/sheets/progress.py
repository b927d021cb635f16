"""The Progress sheet: change since each contract's earlier review."""

from __future__ import annotations

import pandas as pd

from ....kit.styles import BLUE, MID_GREY, NAVY, print_setup
from ..bulk import BulkColumn
from ..calc import UNCHANGED_WITHIN, rounded_change
from ..context import Summary
from ..look import area_header, paragraph, score_axis, score_column, wrapped_heights, write_scores
from ..rules import plural

NAME = "Progress"


def write(ws, s: Summary) -> None:
    """Write the Progress sheet."""
    fm, wb, bulk, data, info, progress, footer = s.fm, s.wb, s.bulk, s.data, s.info, s.progress, s.footer
    # one grid for the four tables: ID or area, title or name, a count or the previous round, one
    # column per area, all areas; the per-contract table's directorate follows, not printed
    widths = [10, 30, 10] + [12.5] * len(data.areas) + [10, 38]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    last_col = len(widths) - 2
    width = sum(widths)
    ws.write_string(0, 0, f"Progress: contracts reviewed before, round {data.round}", fm.title)
    ids = progress["contracts"]
    if not ids:
        paragraph(ws, 2, last_col, f"No contract in round {data.round} was reviewed in an earlier round, so there is "
                                   "no change to show yet. This sheet fills in when contracts are reviewed again.",
                  fm.note, width)
        print_setup(ws, left_footer=footer, widths=widths[: last_col + 1], marking=s.data.marking)
        return
    cols = [a for a, _ in data.areas]
    delta, before, after = progress["delta"], progress["before"], progress["after"]
    paragraph(ws, 1, last_col, f"{plural(len(ids), 'contract')} reviewed in round {data.round} had an earlier review. "
                               "Change is this round's average minus the previous review's, area by area: green "
                               f"improved, red declined, grey unchanged (less than {UNCHANGED_WITHIN} points either "
                               "way).", fm.note, width)

    # 1. change by area
    row = 3
    ws.write_string(row, 0, "Change by area", fm.section)
    row += 1
    ws.set_row(row, 32)
    ws.write_row(row, 0, ["Area", "Name", "Contracts compared", "Improved", "Unchanged", "Declined", "Average before",
                          "Average now", "Change"], fm.header_c)
    row += 1
    first_delta = row
    for key in cols + ["overall"]:
        d = delta[key].dropna()
        name = dict(data.areas).get(key, "All areas") if key != "overall" else "All areas"
        ws.write_string(row, 0, str(key) if key != "overall" else "All", fm.cell_center)
        ws.write_string(row, 1, name, fm.cell_bold if key == "overall" else fm.cell_nowrap)
        ws.write_row(row, 2, [len(d), int((d >= UNCHANGED_WITHIN).sum()), int((d.abs() < UNCHANGED_WITHIN).sum()),
                              int((d <= -UNCHANGED_WITHIN).sum())], fm.cell_int)
        b, a = before[key].mean(), after[key].mean()
        write_scores(ws, row, 6, [b, a], fm.cell_score, fm.cell_na)
        write_scores(ws, row, 8, [rounded_change(a - b) if pd.notna(a) and pd.notna(b) else float("nan")], fm.cell_delta,
                      fm.cell_na)
        row += 1
    _delta_colours(ws, fm, first_delta, 8, row - 1, 8)

    # 2. trend
    row += 1
    ws.write_string(row, 0, "Trend: average score of these contracts in each round", fm.section)
    row += 1
    trend = progress["trend"]
    ws.set_row(row, 48)
    ws.merge_range(row, 0, row, 1, "Round", fm.header_c)
    ws.write_string(row, 2, "Contracts", fm.header_c)
    ws.write_row(row, 3, [area_header(a, n) for a, n in data.areas] + ["All areas"], fm.header_c)
    trend_hdr = row
    row += 1
    trend_first = row
    contracts_in = data.all_answers[data.all_answers["contract_id"].isin(ids)].groupby("round")["contract_id"].nunique()
    for rnd, rec in trend.iterrows():
        ws.merge_range(row, 0, row, 1, str(rnd), fm.cell_bold)
        ws.write_number(row, 2, int(contracts_in.get(rnd, 0)), fm.cell_int)
        write_scores(ws, row, 3, rec.tolist(), fm.cell_score, fm.cell_na)
        row += 1
    trend_last = row - 1
    chart = wb.add_chart({"type": "column"})
    palette = [MID_GREY, "#8FAADC", BLUE, NAVY, "#2E75B6", "#9DC3E6"]
    n_tr = trend_last - trend_first + 1
    for k, r in enumerate(range(trend_first, trend_last + 1)):
        chart.add_series({
            "name": ["Progress", r, 0], "categories": ["Progress", trend_hdr, 3, trend_hdr, 2 + len(cols)],
            "values": ["Progress", r, 3, r, 2 + len(cols)],
            "fill": {"color": palette[(k + max(0, len(palette) - n_tr)) % len(palette)]}, "gap": 80,
        })
    chart.set_title({"name": "Average score by area, round by round (same contracts)",
                     "name_font": {"size": 12, "bold": True, "color": NAVY}})
    chart.set_y_axis({**score_axis(data.scale), "num_font": {"size": 11},
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_x_axis({"num_font": {"size": 11}})
    chart.set_legend({"position": "bottom", "font": {"size": 11}})
    chart.set_size({"width": 900, "height": 320})
    row += 1
    ws.insert_chart(row, 0, chart, {"x_offset": 4, "y_offset": 4})
    row += 18

    # 3. answers changed vs re-confirmed, on a new page rather than split across two
    ws.set_h_pagebreaks([row])
    ws.write_string(row, 0, f"How the answers were given in round {data.round}", fm.section)
    row += 1
    ch = progress["changes"]
    ws.set_row(row, 32)
    ws.write_row(row, 0, ["Area", "Name", "Changed", "Re-confirmed", "New", "Share changed"], fm.header_c)
    row += 1
    for a, name in data.areas:
        rec = ch.loc[a]
        tot = int(rec.sum())
        ws.write_string(row, 0, str(a), fm.cell_center)
        ws.write_string(row, 1, name, fm.cell_nowrap)
        ws.write_row(row, 2, [int(rec["changed"]), int(rec["re-confirmed"]), int(rec["new"])], fm.cell_int)
        write_scores(ws, row, 5, [rec["changed"] / tot if tot else float("nan")], fm.cell_pct, fm.cell_na)
        row += 1
    key = ("Changed: the owner altered an answer carried forward from the last review. Re-confirmed: carried "
           "forward and confirmed unchanged. New: no earlier answer to carry forward.")
    paragraph(ws, row, last_col, key, fm.note, width)
    row += 2

    # 4. per contract
    ws.write_string(row, 0, "Change by contract and area", fm.section)
    row += 1
    hdr = row
    headers = (["Contract ID", "Title", "Previous round"] + [area_header(a, n) for a, n in data.areas]
               + ["All areas", "Directorate"])
    ws.set_row(hdr, 48)
    first = hdr + 1
    last = first + len(ids) - 1
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by BulkRows
        "name": "ProgressByContract", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header_c} for h in headers],
    })
    sub = info.loc[ids]
    titles, directorates = sub["title"].astype(str).tolist(), sub["directorate"].astype(str).tolist()
    bulk.add(ws, first, [
        BulkColumn([str(i) for i in ids], "text", fm.cell_nowrap),
        BulkColumn(titles, "text", fm.cell),
        BulkColumn(progress["prev_round"].loc[ids].astype(str).tolist(), "text", fm.cell_center),
    ] + [score_column(delta.loc[ids, c], fm.cell_delta, fm.cell_na) for c in cols + ["overall"]]
      + [BulkColumn(directorates, "text", fm.cell_nowrap)],  # not printed: for filtering on screen
        table="ProgressByContract", heights=wrapped_heights((titles, widths[1])))
    _delta_colours(ws, fm, first, 3, last, 3 + len(cols))
    ws.print_area(0, 0, last, last_col)
    print_setup(ws, left_footer=footer, widths=widths[: last_col + 1], marking=s.data.marking)


def _delta_colours(ws, fm, r1, c1, r2, c2):
    ws.conditional_format(r1, c1, r2, c2, {"type": "cell", "criteria": ">=", "value": UNCHANGED_WITHIN,
                                           "format": fm.cf_good})
    ws.conditional_format(r1, c1, r2, c2, {"type": "cell", "criteria": "<=", "value": -UNCHANGED_WITHIN,
                                           "format": fm.cf_bad})
    ws.conditional_format(r1, c1, r2, c2, {"type": "cell", "criteria": "between", "minimum": -UNCHANGED_WITHIN,
                                           "maximum": UNCHANGED_WITHIN, "format": fm.cf_same})

