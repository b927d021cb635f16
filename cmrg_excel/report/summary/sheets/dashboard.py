"""The Dashboard: the figures that matter, on two portrait pages.

Page one has the four headline figures, each area's average score with how its key
activities were rated, and a chart of those ratings; page two says in words what is strong
and what needs attention. Everything is sized for A4 portrait at full scale, so nothing on
it prints smaller than it shows on screen.
"""

from __future__ import annotations

from ....kit.styles import FONT, MID_GREY, NAVY, print_setup, row_height
from ..context import Summary
from ..look import LEVEL_COLOURS, NA_COLOUR, colour_scale, score_figure, section, write_scores
from ..rules import above_good, good_score, level_name, pct, plural

NAME = "Dashboard"

# A 4, B 23, C 9, then one column per rating label wide enough for "Developing" in bold: A4 portrait at 93%.
AREA_W, NAME_W, AVG_W, COUNT_W = 4, 22, 9, 9.5
CHART_PX = (660, 330)
KPI_SCORE_COL, KPI_LAST_COL = 7, 8  # the headline figures take A:B, C:E, F:G and H:I (at least)


def write(ws, s: Summary) -> None:
    """Write the Dashboard sheet."""
    fm, wb, data, settings = s.fm, s.wb, s.data, s.settings
    area_scores, overall, counts, findings, actions = s.area_scores, s.overall, s.counts, s.findings, s.actions
    labels = data.scale.labels
    # At least nine columns: the four headline figures take columns A to I whatever the scale
    # (a three-level scale's table alone is seven columns wide, and the last figure lost its place).
    last_col = max(2 + len(labels), KPI_LAST_COL)
    widths = [AREA_W, NAME_W, AVG_W] + [COUNT_W] * (last_col - 2)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    width_chars = sum(widths)

    def paragraph(row: int, text: str, fmt, factor: float = 1.0) -> None:
        ws.merge_range(row, 0, row, last_col, text, fmt)
        ws.set_row(row, row_height((text, width_chars * factor)))

    ws.set_row(0, 26)
    ws.write_string(0, 0, f"Contract management review: summary of round {data.round}", fm.title)
    paragraph(1, f"{data.council}. Produced {data.today:%d/%m/%Y} from the returns accepted so far. Ratings run from "
                 f"{labels[0]} to {data.scale.levels[-1].label} against the NAO good practice contract management "
                 "framework.", fm.subtitle_wrap)

    value = float(s.info["annual_value_gbp"].fillna(0).sum())
    ws.set_row(3, 34)
    ws.set_row(4, 32)
    score_format, score_size, score_range = score_figure(data.scale, sum(widths[KPI_SCORE_COL:last_col + 1]))
    kpi_score = wb.add_format({"font_name": FONT, "bold": True, "font_size": score_size, "font_color": NAVY,
                               "num_format": score_format, "align": "left", "valign": "bottom"})
    kpis = [
        (0, 1, len(s.info), fm.kpi, "contracts reviewed"),
        (2, 4, len(s.outstanding), fm.kpi_alert if s.outstanding else fm.kpi,
         "returns outstanding" + (f" ({len(s.rejected)} rejected, awaiting correction)" if s.rejected else "")),
        (5, 6, value, fm.kpi_money_m if value >= 1_000_000 else fm.kpi_money, "annual value covered"),
        (KPI_SCORE_COL, last_col, float(overall.mean()) if overall.notna().any() else 0.0, kpi_score,
         "average maturity (all areas" + (f", {score_range})" if score_range else ")")),
    ]
    for c1, c2, v, f, label in kpis:
        ws.merge_range(3, c1, 3, c2, None, f)
        ws.write_number(3, c1, v, f)
        ws.merge_range(4, c1, 4, c2, label, fm.kpi_label)

    top = 6
    section(ws, fm, top, last_col, "Average maturity by area")
    hdr = top + 1
    ws.set_row(hdr, 45)
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
    last = first + len(data.areas) - 1
    colour_scale(ws, first, 2, last, 2, data.scale)
    paragraph(last + 1, "Average score: each contract's mean for the area (Not applicable left out), averaged over "
                        "contracts. Other columns: how many key-activity ratings of each kind.", fm.note)

    chart_row = last + 3
    chart = wb.add_chart({"type": "bar", "subtype": "percent_stacked"})
    colours = LEVEL_COLOURS[: len(data.scale.levels)]
    colours += [NAVY] * (len(data.scale.levels) - len(colours))
    cats = [NAME, first, 1, last, 1]
    for j, colour in enumerate([*colours, NA_COLOUR]):
        chart.add_series({
            "name": [NAME, hdr, 3 + j], "categories": cats, "values": [NAME, first, 3 + j, last, 3 + j],
            "fill": {"color": colour}, "border": {"color": "#FFFFFF"}, "gap": 50, "overlap": 100,
        })
    chart.set_title({"name": "How the key activities were rated, by area",
                     "name_font": {"size": 12, "bold": True, "color": NAVY}})
    chart.set_x_axis({"num_format": "0%", "num_font": {"size": 10},
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 10}})
    chart.set_legend({"position": "bottom", "font": {"size": 10}})
    chart.set_size({"width": CHART_PX[0], "height": CHART_PX[1]})
    chart.set_chartarea({"border": {"color": MID_GREY}})
    ws.insert_chart(chart_row, 0, chart, {"x_offset": 2, "y_offset": 0, "object_position": 3})

    # page two: the findings in words
    row = chart_row + CHART_PX[1] // 20 + 2
    ws.set_h_pagebreaks([row])
    good_name = level_name(data.scale, good_score(data.scale))
    names = dict(data.areas)
    means = area_scores.mean()
    rated = means.notna().any()
    best, worst = (means.idxmax(), means.idxmin()) if rated else (None, None)

    def block(title: str, items, empty: str) -> None:
        nonlocal row
        section(ws, fm, row, last_col, title)
        row += 1
        for text in [f"\u2022 {f.text}" for f in items[: settings.top_n]] or [empty]:
            paragraph(row, text, fm.bullet)
            row += 1
        row += 1

    block("Top strengths", findings["strength"],
          f"No area or activity reached the strength threshold ({pct(settings.strength_share)} of contracts at "
          f"{good_name} or better)."
          + (f" The highest-rated area is {names[best]} (average {means[best]:.1f})." if best is not None else ""))
    block("Top issues to address", findings["issue"],
          f"No area or activity reached the issue threshold ({pct(settings.issue_share)} of contracts below "
          f"{good_name})."
          + (f" The lowest-rated area is {names[worst]} (average {means[worst]:.1f})." if worst is not None else ""))
    overdue = int((actions["status"] == "Overdue").sum()) if len(actions) else 0
    paragraph(row, f"Also: {plural(len(findings['inconsistency']), 'area or activity', 'areas or activities')} rated "
                   f"very differently across contracts; {plural(len(findings['evidence']), 'contract')} claiming "
                   f"{above_good(data.scale)} without evidence; {plural(len(actions), 'improvement action')} ({overdue:,} "
                   "overdue). The Findings, Actions and Heatmap sheets give the detail.", fm.note)
    ws.print_area(0, 0, row, last_col)
    print_setup(ws, landscape=False, left_footer=s.footer, widths=widths, marking=s.data.marking)
    ws.center_horizontally()
