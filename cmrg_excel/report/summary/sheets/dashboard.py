"""The Dashboard: the figures that matter on one page, with two charts."""

from __future__ import annotations

from ....kit.styles import BLUE, MID_GREY, NAVY, print_setup
from ..context import Summary
from ..look import LEVEL_COLOURS, NA_COLOUR, colour_scale, text_height, write_scores
from ..rules import good_score, level_name, pct, plural

NAME = "Dashboard"


def write(ws, s: Summary) -> None:
    """Write the Dashboard sheet."""
    fm, wb, data, settings, footer = s.fm, s.wb, s.data, s.settings, s.footer
    info, area_scores, overall, counts = s.info, s.area_scores, s.overall, s.counts
    findings, outstanding, actions = s.findings, s.outstanding, s.actions
    labels = data.scale.labels
    n_areas = len(data.areas)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 11)
    ws.set_column(3, 2 + len(labels), 10.5)
    last_col = 2 + len(labels)
    ws.set_column(last_col + 1, last_col + 1, 2)
    ws.set_column(last_col + 2, last_col + 12, 9)
    ws.set_row(0, 26)
    ws.write_string(0, 0, f"Contract management review: summary of round {data.round}", fm.title)
    ws.write_string(1, 0, f"{data.council}. Produced {data.today:%d/%m/%Y} from the returns accepted so far. "
                          f"Ratings run from {labels[0]} to {data.scale.levels[-1].label} against the NAO good "
                          "practice contract management framework.", fm.subtitle)

    value = float(info["annual_value_gbp"].fillna(0).sum())
    ws.set_row(3, 32)
    kpis = [
        (0, 1, len(info), fm.kpi, "contracts reviewed"),
        (2, 3, len(outstanding), fm.kpi_alert if outstanding else fm.kpi, "returns outstanding"),
        (4, 5, value, fm.kpi_money_m if value >= 1_000_000 else fm.kpi_money, "annual value covered"),
        (6, last_col, float(overall.mean()) if overall.notna().any() else 0.0, fm.kpi_score,
         "average maturity (all areas)"),
    ]
    for c1, c2, v, f, label in kpis:
        ws.merge_range(3, c1, 3, c2, None, f)
        ws.write_number(3, c1, v, f)
        ws.merge_range(4, c1, 4, c2, label, fm.kpi_label)

    top = 6
    ws.write_string(top, 0, "Average maturity by area", fm.section)
    for c in range(1, last_col + 1):
        ws.write_blank(top, c, None, fm.section)
    hdr = top + 1
    ws.set_row(hdr, 32)
    ws.write_row(hdr, 0, ["Area", "Name", "Average score"], fm.header_c)
    ws.write_row(hdr, 3, labels, fm.header_c)
    first = hdr + 1
    for i, (number, name) in enumerate(data.areas):
        r = first + i
        ws.write_number(r, 0, number, fm.cell_center)
        ws.write_string(r, 1, name, fm.cell_nowrap)
        avg = area_scores[number].mean() if number in area_scores else float("nan")
        write_scores(ws, r, 2, [avg], fm.cell_score_bold, fm.cell_na)
        ws.write_row(r, 3, [int(x) for x in counts.loc[number].tolist()], fm.cell_int)
    last = first + n_areas - 1
    colour_scale(ws, first, 2, last, 2, data.scale)
    ws.merge_range(last + 1, 0, last + 1, last_col,
                   "Average score: each contract's mean for the area (Not applicable left out), averaged over "
                   "contracts. Other columns: how many key-activity ratings of each kind.", fm.note)
    ws.set_row(last + 1, 30)

    # strengths and issues in words
    width_chars = 5 + 30 + 11 + 10.5 * len(labels)
    row = last + 3

    def block(title, items, empty):
        nonlocal row
        ws.write_string(row, 0, title, fm.section)
        for c in range(1, last_col + 1):
            ws.write_blank(row, c, None, fm.section)
        row += 1
        lines = [f"\u2022 {f.text}" for f in items[: settings.top_n]] or [empty]
        for text in lines:
            ws.merge_range(row, 0, row, last_col, text, fm.bullet)
            ws.set_row(row, text_height(text, width_chars * 1.2))
            row += 1
        row += 1

    best_area = area_scores.mean().idxmax() if area_scores.notna().any().any() else None
    worst_area = area_scores.mean().idxmin() if area_scores.notna().any().any() else None
    names = dict(data.areas)
    block("Top strengths", findings["strength"],
          f"No area or activity reached the strength threshold ({pct(settings.strength_share)} of contracts at "
          f"{level_name(data.scale, good_score(data.scale))} or better)."
          + (f" The highest-rated area is {names[best_area]} (average {area_scores[best_area].mean():.1f})."
             if best_area is not None else ""))
    block("Top issues to address", findings["issue"],
          f"No area or activity reached the issue threshold ({pct(settings.issue_share)} of contracts below "
          f"{level_name(data.scale, good_score(data.scale))})."
          + (f" The lowest-rated area is {names[worst_area]} (average {area_scores[worst_area].mean():.1f})."
             if worst_area is not None else ""))
    overdue = int((actions["status"] == "Overdue").sum()) if len(actions) else 0
    more = (f"Also: {plural(len(findings['inconsistency']), 'area or activity', 'areas or activities')} rated very "
            f"differently across contracts; {plural(len(findings['evidence']), 'contract')} claiming Better or Best "
            f"without evidence; {plural(len(actions), 'improvement action')} ({overdue:,} overdue). "
            "See the Findings, Actions and Heatmap sheets for the detail.")
    ws.merge_range(row, 0, row, last_col, more, fm.note)
    ws.set_row(row, text_height(more, width_chars * 1.2))
    end_row = row

    # charts, to the right of the table
    cats = ["Dashboard", first, 1, last, 1]
    c1 = wb.add_chart({"type": "bar"})
    c1.add_series({
        "name": "Average score", "categories": cats, "values": ["Dashboard", first, 2, last, 2],
        "fill": {"color": BLUE}, "gap": 60,
        "data_labels": {"value": True, "num_format": "0.0", "font": {"size": 9}},
    })
    c1.set_title({"name": "Average maturity by area", "name_font": {"size": 12, "bold": True, "color": NAVY}})
    c1.set_x_axis({"min": 0, "max": data.scale.max_score, "major_unit": 1, "num_format": "0",
                   "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}, "num_font": {"size": 9}})
    c1.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 9}})
    c1.set_legend({"none": True})
    c1.set_size({"width": 620, "height": 290})
    c1.set_chartarea({"border": {"color": MID_GREY}})
    ws.insert_chart(top, last_col + 2, c1, {"x_offset": 4, "y_offset": 0})

    c2 = wb.add_chart({"type": "bar", "subtype": "percent_stacked"})
    colours = LEVEL_COLOURS[: len(data.scale.levels)]
    if len(colours) < len(data.scale.levels):
        colours = colours + [BLUE] * (len(data.scale.levels) - len(colours))
    for j, colour in enumerate([*colours, NA_COLOUR]):
        c2.add_series({
            "name": ["Dashboard", hdr, 3 + j], "categories": cats, "values": ["Dashboard", first, 3 + j, last, 3 + j],
            "fill": {"color": colour}, "border": {"color": "#FFFFFF"}, "gap": 50, "overlap": 100,
        })
    c2.set_title({"name": "How the key activities were rated, by area",
                  "name_font": {"size": 12, "bold": True, "color": NAVY}})
    c2.set_x_axis({"num_format": "0%", "num_font": {"size": 9},
                   "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    c2.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 9}})
    c2.set_legend({"position": "bottom", "font": {"size": 9}})
    c2.set_size({"width": 620, "height": 330})
    c2.set_chartarea({"border": {"color": MID_GREY}})
    ws.insert_chart(top, last_col + 2, c2, {"x_offset": 4, "y_offset": 305})

    ws.print_area(0, 0, max(end_row, top + 33), last_col + 11)
    print_setup(ws, left_footer=footer)
    ws.fit_to_pages(1, 1)
    ws.center_horizontally()

