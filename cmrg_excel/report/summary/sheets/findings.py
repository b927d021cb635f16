"""The Findings sheet: strengths, issues, inconsistent practice and missing evidence in words."""

from __future__ import annotations

import numpy as np

from ....kit.styles import print_setup
from ..bulk import BulkColumn
from ..context import Summary
from ..look import text_height, wrapped_heights
from ..rules import above_good, good_score, id_list, level_name, pct, plural

NAME = "Findings"


def write(ws, s: Summary) -> None:
    """Write the Findings sheet."""
    fm, bulk, data, settings, footer = s.fm, s.bulk, s.data, s.settings, s.footer
    findings, outstanding = s.findings, s.outstanding
    good = good_score(data.scale)
    good_name = level_name(data.scale, good)
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 70)
    ws.set_column(3, 3, 11)
    ws.set_column(4, 4, 48)
    ws.write_string(0, 0, f"Findings, round {data.round}", fm.title)
    n = data.answers["contract_id"].nunique()
    intro = (f"Written from the {n:,} contract returns accepted for round {data.round}. Thresholds (set in cmrg.toml, "
             f"[summary]): a strength when at least {pct(settings.strength_share)} of contracts are at {good_name} or "
             f"better; an issue when at least {pct(settings.issue_share)} are below {good_name}; inconsistent when "
             f"the spread (standard deviation) across contracts is {settings.inconsistency_sd:g} points or more; "
             f"evidence is missing when a rating above {good_name} has fewer than {settings.evidence_min_chars} "
             "characters of it. For an area, a contract's average over the area's activities is used.")
    ws.merge_range(1, 0, 1, 4, intro, fm.note)
    ws.set_row(1, text_height(intro, 185))
    row = 3
    if outstanding:
        text = (f"{plural(len(outstanding), 'workbook')} issued for this round "
                f"{'has' if len(outstanding) == 1 else 'have'} not been returned yet: {id_list(outstanding)}.")
        ws.merge_range(row, 0, row, 4, text, fm.note)
        ws.set_row(row, text_height(text, 185))
        row += 2
    sections = [
        ("strength", "Strengths", "No area or activity meets the strength threshold."),
        ("issue", "Issues to address", "No area or activity meets the issue threshold."),
        ("inconsistency", "Inconsistent practice across contracts", "No area or activity is rated very differently "
                                                                       "across contracts."),
        ("evidence", f"{above_good(data.scale)} claimed without evidence", "Every rating above Good has evidence."),
    ]
    kind_label = {"strength": "Strength", "issue": "Issue", "inconsistency": "Inconsistent", "evidence": "No evidence"}
    for kind, title, empty in sections:
        items = findings[kind]
        ws.write_string(row, 0, f"{title} ({len(items)})", fm.section)
        for c in range(1, 5):
            ws.write_blank(row, c, None, fm.section)
        row += 1
        if not items:
            ws.merge_range(row, 0, row, 4, empty, fm.note)
            row += 2
            continue
        ws.write_row(row, 0, ["Finding", "About", "What we found", "Contracts",
                              "Contracts concerned" if kind != "inconsistency" else "Lowest and highest contracts"],
                     fm.header)
        row += 1
        for f in items:
            ids = id_list(f.contracts)
            ws.set_row(row, max(text_height(f.subject, 34 * 1.35), text_height(f.text, 70 * 1.35),
                                text_height(ids, 48 * 1.35)))
            ws.write_string(row, 0, kind_label[kind], fm.finding_kind[kind])
            ws.write_string(row, 1, f.subject, fm.cell)
            ws.write_string(row, 2, f.text, fm.cell)
            if kind == "evidence":
                ws.write_number(row, 3, int(f.share), fm.cell_int)
            else:
                ws.write_number(row, 3, f.count, fm.cell_int)
            ws.write_string(row, 4, ids, fm.cell)
            row += 1
        if kind == "evidence":
            ws.write_string(row, 3, "ratings", fm.note)
        row += 1
    # the detail of unsupported ratings
    short = findings["evidence_rows"]
    if len(short):
        ws.write_string(row, 0, f"{above_good(data.scale)} without enough evidence, one by one", fm.section)
        for c in range(1, 5):
            ws.write_blank(row, c, None, fm.section)
        row += 1
        ws.write_row(row, 0, ["Contract ID", "Activity", "Statement", "Rating", "Evidence given"], fm.header)
        row += 1
        ev = short["evidence"].astype(object).where(short["evidence"].notna(), "").astype(str)
        statements = short["activity"].astype(str).tolist()
        given = np.where(ev.str.strip() == "", "(none)", ev).tolist()
        bulk.add(ws, row, [
            BulkColumn(short["contract_id"].astype(str).tolist(), "text", fm.cell_nowrap),
            BulkColumn(short["ref"].astype(str).tolist(), "text", fm.cell_nowrap),
            BulkColumn(statements, "text", fm.cell),
            BulkColumn(short["rating"].astype(str).tolist(), "text", fm.cell_nowrap),
            BulkColumn(given, "text", fm.cell),
        ], heights=wrapped_heights((statements, 70), (given, 48)))
    print_setup(ws, left_footer=footer)

