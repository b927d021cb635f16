"""The Directorates sheet: average score by directorate and area."""

from __future__ import annotations

from ....kit.styles import print_setup, wrapped_height
from ..context import Summary
from ..look import area_header, colour_scale, write_scores

NAME = "Directorates"


def write(ws, s: Summary) -> None:
    """Write the Directorates sheet."""
    fm, data, info, area_scores, overall, footer = s.fm, s.data, s.info, s.area_scores, s.overall, s.footer
    ws.write_string(0, 0, f"Directorates: average score by area, round {data.round}", fm.title)
    ws.write_string(1, 0, "Each contract counts equally: the mean of the contracts' own area averages.", fm.subtitle)
    cols = [a for a, _ in data.areas]
    frame = area_scores.copy()
    frame["overall"] = overall
    frame["directorate"] = info["directorate"]
    frame["value"] = info["annual_value_gbp"]
    grp = frame.groupby("directorate", sort=True)
    means = grp[cols + ["overall"]].mean()
    n = grp.size()
    value = grp["value"].sum()
    headers = ["Directorate", "Contracts", "Annual value (£)"] + [area_header(a, nm) for a, nm in data.areas] + \
        ["All areas"]
    widths = [36, 10, 15] + [12.5] * len(cols) + [10]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    hdr = 3
    ws.set_row(hdr, 48)
    ws.write_row(hdr, 0, headers, fm.header_c)
    r = hdr + 1
    for d, rec in means.iterrows():
        if height := wrapped_height((str(d), widths[0])):
            ws.set_row(r, height)
        ws.write_string(r, 0, str(d), fm.cell)
        ws.write_number(r, 1, int(n[d]), fm.cell_int)
        ws.write_number(r, 2, float(value[d]), fm.cell_money)
        write_scores(ws, r, 3, rec.tolist(), fm.cell_score, fm.cell_na)
        r += 1
    last = r - 1
    ws.write_string(r, 0, "All contracts", fm.cell_bold)
    ws.write_number(r, 1, len(info), fm.cell_int)
    ws.write_number(r, 2, float(info["annual_value_gbp"].fillna(0).sum()), fm.cell_money)
    write_scores(ws, r, 3, frame[cols + ["overall"]].mean().tolist(), fm.cell_score_bold, fm.cell_na)
    ws.autofilter(hdr, 0, last, len(headers) - 1)
    colour_scale(ws, hdr + 1, 3, last, 3 + len(cols), data.scale)
    ws.freeze_panes(hdr + 1, 1)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer, widths=widths, marking=s.data.marking)

