"""The Findings sheet: strengths, issues, inconsistent practice and missing evidence in words."""

from __future__ import annotations

import numpy as np

from ....kit.styles import print_setup, row_height
from ..bulk import BulkColumn
from ..context import Summary
from ..look import paragraph, section, wrapped_heights
from ..rules import above_good, good_score, id_list, level_name, pct, plural, spread_text

NAME = "Findings"

# Finding, About, What we found, Contracts, Contracts concerned: one landscape page wide.
WIDTHS = [13, 40, 52, 10, 40]
LAST = len(WIDTHS) - 1


def write(ws, s: Summary) -> None:
    """Write the Findings sheet."""
    fm, bulk, data, settings, footer = s.fm, s.bulk, s.data, s.settings, s.footer
    findings = s.findings
    good_name = level_name(data.scale, good_score(data.scale))
    for j, w in enumerate(WIDTHS):
        ws.set_column(j, j, w)
    width = sum(WIDTHS)
    ws.write_string(0, 0, f"Findings, round {data.round}", fm.title)
    n = data.answers["contract_id"].nunique()
    paragraph(ws, 1, LAST,
              f"Written from the {n:,} contract returns accepted for round {data.round}. An area or activity is a "
              f"strength when at least {pct(settings.strength_share)} of contracts are at {good_name} or better; an "
              f"issue when at least {pct(settings.issue_share)} are below {good_name}; inconsistent when the spread "
              f"(standard deviation) across contracts is {spread_text(settings, data.scale)} or more. Evidence is "
              f"missing when a rating above {good_name} has fewer than {settings.evidence_min_chars} characters of "
              "it. For an area, a contract's average over the area's activities is used.", fm.note, width)
    row = 3
    for sentence in _not_in(s):
        paragraph(ws, row, LAST, sentence, fm.note, width)
        row += 1
    row += 1 if row > 3 else 0
    sections = [
        ("strength", "Strengths", "No area or activity meets the strength threshold."),
        ("issue", "Issues to address", "No area or activity meets the issue threshold."),
        ("inconsistency", "Inconsistent practice across contracts", "No area or activity is rated very differently "
                                                                       "across contracts."),
        ("evidence", f"{above_good(data.scale)} claimed without evidence",
         f"Every rating above {good_name} has evidence."),
    ]
    kind_label = {"strength": "Strength", "issue": "Issue", "inconsistency": "Inconsistent", "evidence": "No evidence"}
    for kind, title, empty in sections:
        items = findings[kind]
        section(ws, fm, row, LAST, f"{title} ({len(items)})")
        row += 1
        if not items:
            paragraph(ws, row, LAST, empty, fm.note, width)
            row += 2
            continue
        ws.write_row(row, 0, ["Finding", "About", "What we found",
                              "Ratings" if kind == "evidence" else "Contracts",
                              "Contracts concerned" if kind != "inconsistency" else "Lowest and highest contracts"],
                     fm.header)
        row += 1
        for f in items:
            ids = (f"Lowest: {id_list(f.lowest)}.\nHighest: {id_list(f.highest)}." if kind == "inconsistency"
                   else id_list(f.contracts))
            detail = f.detail or f.text
            ws.set_row(row, row_height((f.subject, WIDTHS[1]), (detail, WIDTHS[2]), (ids, WIDTHS[4])))
            ws.write_string(row, 0, kind_label[kind], fm.finding_kind[kind])
            ws.write_string(row, 1, f.subject, fm.cell)
            ws.write_string(row, 2, detail, fm.cell)
            ws.write_number(row, 3, int(f.share) if kind == "evidence" else f.count, fm.cell_int)
            ws.write_string(row, 4, ids, fm.cell)
            row += 1
        row += 1
    # the detail of unsupported ratings
    short = findings["evidence_rows"]
    if len(short):
        section(ws, fm, row, LAST, f"{above_good(data.scale)} without enough evidence, one by one")
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
        ], heights=wrapped_heights((statements, WIDTHS[2]), (given, WIDTHS[4])))
    print_setup(ws, left_footer=footer, widths=WIDTHS, marking=s.data.marking)


def _not_in(s: Summary) -> list[str]:
    """What the findings leave out: returns rejected and awaiting correction, and workbooks
    not returned at all, said apart (a rejected return was sent, just not accepted)."""
    rejected = set(s.rejected)
    missing = [cid for cid in s.outstanding if cid not in rejected]
    out = []
    if s.rejected:
        out.append(f"Not included: {plural(len(s.rejected), 'return')} sent back to the owner for correction "
                   f"(rejected, awaiting a corrected return): {id_list(s.rejected)}.")
    if missing:
        out.append(f"Not included: {plural(len(missing), 'workbook')} issued for this round "
                   f"{'has' if len(missing) == 1 else 'have'} not been returned yet: {id_list(missing)}.")
    return out
