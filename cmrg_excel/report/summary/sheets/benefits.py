"""The Benefits sheet: every benefit the reviews led to, with its totals by type.

The rows come from the benefits log (``benefits.xlsx``, as it is now) and from the review
group's meeting records in the register (:attr:`SummaryData.benefits`). The sheet prints as
one page or more of the pack; Directorate and Source follow the printed columns.
"""

from __future__ import annotations

import datetime as dt

from ....core.benefits import CASHABLE, NON_CASHABLE, ONE_OFF
from ....kit.styles import print_setup, row_height
from ..context import Summary
from ..rules import plural

NAME = "Benefits"

HEADERS = ["Date", "Contract ID", "Contract", "Description", "Amount (£)", "Type", "Caveat", "Directorate",
           "Source"]
WIDTHS = [10.5, 10, 26, 52, 13, 12, 26, 30, 24]
PRINTED = HEADERS.index("Caveat")


def totals_line(benefits) -> str:
    """"3 benefits recorded: £1,185,000 cashable (a year), £85,000 one-off, 1 non-cashable."."""
    if benefits is None or not len(benefits):
        return "No benefits have been recorded yet."
    cash = benefits.loc[benefits["kind"] == CASHABLE, "amount_gbp"].sum()
    once = benefits.loc[benefits["kind"] == ONE_OFF, "amount_gbp"].sum()
    other = int((benefits["kind"] == NON_CASHABLE).sum())
    return (f"{plural(len(benefits), 'benefit')} recorded: £{cash:,.0f} cashable (a year), £{once:,.0f} one-off, "
            f"{other:,} non-cashable.")


def write(ws, s: Summary) -> None:
    """Write the Benefits sheet."""
    fm, data, footer = s.fm, s.data, s.footer
    benefits = data.benefits
    for j, w in enumerate(WIDTHS):
        ws.set_column(j, j, w)
    ws.write_string(0, 0, "Benefits the reviews led to", fm.title)
    ws.write_string(1, 0, totals_line(benefits) + " From the benefits log (benefits.xlsx) and the review "
                          "group's meeting records.", fm.subtitle)
    hdr = 3
    if data.benefits_note:
        ws.merge_range(2, 0, 2, PRINTED, data.benefits_note, fm.note)
        ws.set_row(2, row_height((data.benefits_note, sum(WIDTHS[: PRINTED + 1]))))
    if benefits is None or not len(benefits):
        empty = ("No benefits have been recorded yet: add them to benefits.xlsx in the workspace, or record them "
                 "in a meeting record.")
        ws.merge_range(hdr, 0, hdr, PRINTED, empty, fm.note)
        ws.set_row(hdr, row_height((empty, sum(WIDTHS[: PRINTED + 1]))))
        print_setup(ws, left_footer=footer, widths=WIDTHS[: PRINTED + 1], marking=data.marking)
        return
    n = len(benefits)
    ws.set_row(hdr, 30)
    ws.add_table(hdr, 0, hdr + n, len(HEADERS) - 1, {
        "name": "Benefits", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header} for h in HEADERS],
    })
    for r, b in enumerate(benefits.itertuples(index=False), start=hdr + 1):
        when = b.benefit_date
        if isinstance(when, dt.date):
            ws.write_datetime(r, 0, dt.datetime.combine(when, dt.time()), fm.cell_date)
        else:
            ws.write_string(r, 0, str(when or ""), fm.cell)
        texts = [str(b.contract_id or ""), str(b.title or ""), str(b.description or "")]
        for j, text in enumerate(texts, start=1):
            ws.write_string(r, j, text, fm.cell)
        amount = b.amount_gbp
        if amount is not None and amount == amount:
            ws.write_number(r, 4, float(amount), fm.cell_money)
        else:
            ws.write_blank(r, 4, None, fm.cell_money)
        for j, text in ((5, b.kind), (6, b.caveat), (7, b.directorate), (8, b.source)):
            ws.write_string(r, j, str(text or "") if text == text else "", fm.cell)
        ws.set_row(r, row_height((texts[1], WIDTHS[2]), (texts[2], WIDTHS[3]), (str(b.caveat or ""), WIDTHS[6])))
    ws.freeze_panes(hdr + 1, 0)
    ws.print_area(0, 0, hdr + n, PRINTED)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer, widths=WIDTHS[: PRINTED + 1], marking=data.marking)
