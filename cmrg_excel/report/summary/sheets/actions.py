"""The Actions sheet: every improvement action, overdue first."""

from __future__ import annotations

from xlsxwriter.utility import xl_col_to_name

from ....kit.styles import print_setup
from ..bulk import BulkColumn, excel_serial
from ..context import Summary
from ..look import wrapped_heights
from ..rules import plural

NAME = "Actions"


def write(ws, s: Summary) -> None:
    """Write the Actions sheet."""
    fm, bulk, data, actions, footer = s.fm, s.bulk, s.data, s.actions, s.footer
    # Printed: ID to Status. Title and directorate follow, for filtering on screen (the Heatmap names each contract).
    headers = ["Contract ID", "Activity", "Statement", "Current rating", "Action", "Action owner", "Target date",
               "Status", "Title", "Directorate"]
    widths = [8.5, 7, 74, 11, 46, 14, 10.5, 9, 44, 38]
    printed = headers.index("Status")
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.write_string(0, 0, f"Improvement actions, round {data.round}", fm.title)
    overdue = int((actions["status"] == "Overdue").sum()) if len(actions) else 0
    ws.write_string(1, 0, f"{plural(len(actions), 'action')} recorded by contract owners; {overdue:,} overdue "
                          f"(target date before {data.today:%d/%m/%Y}), listed first.", fm.subtitle)
    hdr = 3
    if actions.empty:
        ws.write_string(hdr, 0, f"No improvement actions were recorded in round {data.round}.", fm.note)
        print_setup(ws, left_footer=footer, widths=widths[: printed + 1], marking=s.data.marking)
        return
    ws.set_row(hdr, 32)
    n = len(actions)
    ws.add_table(hdr, 0, hdr + 1, len(headers) - 1, {  # widened by BulkRows
        "name": "Actions", "style": "Table Style Light 1", "autofilter": True,
        "columns": [{"header": h, "header_format": fm.header} for h in headers],
    })
    text = {c: actions[c].fillna("").astype(str).tolist()
            for c in ("title", "directorate", "activity", "rating", "action", "action_owner")}
    bulk.add(ws, hdr + 1, [
        BulkColumn(actions["contract_id"].astype(str).tolist(), "text", fm.cell_nowrap),
        BulkColumn(actions["ref"].astype(str).tolist(), "text", fm.cell_center),
        BulkColumn(text["activity"], "text", fm.cell),
        BulkColumn(text["rating"], "text", fm.cell),
        BulkColumn(text["action"], "text", fm.cell),
        BulkColumn(text["action_owner"], "text", fm.cell),
        BulkColumn(excel_serial(actions["target_date"]), "number", fm.cell_date),
        BulkColumn(actions["status"].astype(str).tolist(), "text", fm.cell_center),
        BulkColumn(text["title"], "text", fm.cell_nowrap),  # not printed: one line, so the row stays low
        BulkColumn(text["directorate"], "text", fm.cell_nowrap),
    ], table="Actions", heights=wrapped_heights(*[(text[c], widths[headers.index(h)]) for h, c in (
        ("Statement", "activity"), ("Current rating", "rating"), ("Action", "action"),
        ("Action owner", "action_owner"))]))
    status_col = xl_col_to_name(printed)
    ws.conditional_format(hdr + 1, 0, hdr + n, len(headers) - 1, {
        "type": "formula", "criteria": f'=${status_col}{hdr + 2}="Overdue"', "format": fm.cf_bad})
    ws.freeze_panes(hdr + 1, 1)
    ws.print_area(0, 0, hdr + n, printed)
    print_setup(ws, repeat_to_row=hdr, left_footer=footer, widths=widths[: printed + 1], marking=s.data.marking)

