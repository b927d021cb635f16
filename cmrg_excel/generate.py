"""Generating the locked, data-validated self-assessment workbooks (xlsxwriter).

:func:`build_template` turns one :class:`TemplateSpec` (plain data) into workbook bytes;
:func:`generate_round` does a whole round for a workspace: reads the contract list,
writes ``outbox/ROUND/<contract>.xlsx``, records each file in the issue ledger and writes
the email hand-off files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import __version__, layout as L
from . import register as reg
from .contracts import COLUMNS, Contract, ContractList, read_contracts, safe_filename
from .framework import Framework
from .stamp import Stamper, build_in_worker, start_worker
from .styles import DATE_FORMAT, Styles, new_workbook, print_setup, row_height
from .workspace import Workspace

ROUND_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")
INPUT_MESSAGE_LIMIT = 255


class GenerateError(Exception):
    """Generation cannot go ahead (bad round name, already generated, bad contract list)."""


@dataclass
class TemplateSpec:
    """Everything one workbook shows; plain data, no workspace."""

    contract: Contract
    framework: Framework
    round: str
    token: str
    council: str
    review_group: str
    return_email: str
    password: str
    deadline: dt.date
    generated_at: str
    kind: str = "initial"
    # ref -> {"rating", "evidence", "action", "action_owner", "target_date"}: values written into the inputs
    answers: dict[str, dict] = field(default_factory=dict)
    # the round the answers were carried forward from (re-review), or None
    carried_from: str | None = None
    attestation: dict = field(default_factory=dict)
    corrections: dict = field(default_factory=dict)
    # (sheet, A1 cell) -> what is wrong there; highlighted and commented
    annotations: dict[tuple[str, str], str] = field(default_factory=dict)
    # plain-English fixes listed on a first "Fixes needed" sheet (correction workbooks)
    fixes: list[str] = field(default_factory=list)


def new_token() -> str:
    """A random issue token, unique to one workbook."""
    return secrets.token_urlsafe(18)


def check_round(name: str) -> str:
    name = name.strip()
    if not ROUND_RE.match(name):
        raise GenerateError(
            f"round {name!r} is not a valid name: use 1-40 letters, digits, spaces, '.', '_' or '-', "
            "for example 2026-27 or R1"
        )
    return name


def _score_formula(cell: str, fw: Framework) -> str:
    levels = fw.scale.levels
    scores = ",".join(str(lv.score) for lv in levels)
    labels = ",".join(f'"{lv.label}"' for lv in levels)
    na = fw.scale.not_applicable
    return (
        f'=IF({cell}="","",IF({cell}="{na}","n/a",'
        f"IFERROR(INDEX({{{scores}}},MATCH({cell},{{{labels}}},0)),\"?\")))"
    )


def _cached_score(value: str | None, fw: Framework) -> object:
    if not value:
        return ""
    label = fw.scale.normalise(value)
    if label is None:
        return "?"
    score = fw.scale.score_of(label)
    return "n/a" if score is None else score


def _mean_score(cached_scores: Iterable[object]) -> object:
    """The cached value of an AVERAGE over score cells: the mean of the numbers, else blank."""
    nums = [s for s in cached_scores if isinstance(s, (int, float))]
    return round(sum(nums) / len(nums), 10) if nums else ""


def _input_message(fw: Framework) -> str:
    lines = ["Pick from the list."] + [f"{lv.label}: {lv.descriptor}" for lv in fw.scale.levels]
    lines.append(f"{fw.scale.not_applicable}: give the reason in Evidence.")
    msg = "\n".join(lines)
    if len(msg) <= INPUT_MESSAGE_LIMIT:
        return msg
    short = ["Pick from the list (descriptors on the Instructions sheet)."]
    short += [lv.label for lv in fw.scale.levels] + [f"{fw.scale.not_applicable} (say why in Evidence)"]
    return "\n".join(short)[:INPUT_MESSAGE_LIMIT]


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def created_at(spec: TemplateSpec) -> dt.datetime:
    """The workbook's docProps created/modified time: when the spec was generated, in UTC.

    xlsxwriter would otherwise stamp the clock time, so two builds of one spec differed."""
    when = dt.datetime.fromisoformat(spec.generated_at)
    return when.astimezone(dt.timezone.utc) if when.tzinfo is not None else when


def build_template(spec: TemplateSpec) -> bytes:
    """The workbook for one contract, as .xlsx bytes."""
    wb, buffer = new_workbook()
    st = Styles(wb)
    c = spec.contract
    footer = f"{c.contract_id} | {spec.round} | {spec.council}"
    wb.set_properties(
        {
            "title": f"Contract management self-assessment: {c.contract_id}",
            "subject": c.title,
            "author": spec.review_group,
            "company": spec.council,
            "comments": f"Generated by cmrg-excel {__version__}",
            "created": created_at(spec),
        }
    )
    wb.set_custom_property("cmrg_issue_token", spec.token)
    wb.set_custom_property("cmrg_contract_id", c.contract_id)
    wb.set_custom_property("cmrg_round", spec.round)

    sheets = {}
    if spec.fixes:
        sheets["fixes"] = wb.add_worksheet("Fixes needed")
    for name in L.SHEETS:
        sheets[name] = wb.add_worksheet(name)

    protect_opts = {"format_columns": True, "format_rows": True, "select_locked_cells": True,
                    "select_unlocked_cells": True}
    if spec.fixes:
        _fixes_sheet(sheets["fixes"], st, spec, footer)
    _instructions_sheet(sheets[L.INSTRUCTIONS], st, spec, footer)
    _contract_sheet(sheets[L.CONTRACT], st, spec, footer)
    _assessment_sheet(sheets[L.ASSESSMENT], st, spec, footer)
    _attestation_sheet(sheets[L.ATTESTATION], st, spec, footer)
    _meta_sheet(sheets[L.META], spec)
    for ws in sheets.values():
        ws.protect(spec.password, protect_opts)
    for (sheet, cell), message in spec.annotations.items():
        target = sheets.get(sheet)
        if target is not None:
            target.write_comment(cell, message[:1000], {"x_scale": 2.2, "y_scale": 1.6, "author": spec.review_group})
    (sheets["fixes"] if spec.fixes else sheets[L.INSTRUCTIONS]).activate()
    wb.close()
    return buffer.getvalue()


def _fixes_sheet(ws, st: Styles, spec: TemplateSpec, footer: str) -> None:
    ws.set_column("A:A", 4)
    ws.set_column("B:B", 110)
    ws.set_row(0, 28)
    ws.write_string(0, 0, "Please fix these and send the workbook back", st.title)
    ws.write_string(
        1, 0,
        f"Your return for {spec.contract.contract_id} could not be accepted. Your answers have been copied into "
        "this workbook; the cells to fix are shaded red and carry a note.",
        st.subtitle,
    )
    for i, fix in enumerate(spec.fixes):
        ws.write_number(3 + i, 0, i + 1, st.bold)
        ws.write_string(3 + i, 1, fix, st.text)
        # tall enough for every line, so a long fix does not run under the next (estimated on the narrow side)
        ws.set_row(3 + i, row_height((fix, 110 * 0.85)))
    print_setup(ws, landscape=False, left_footer=footer, header=spec.council)
    ws.set_tab_color("#C00000")


def _instructions_sheet(ws, st: Styles, spec: TemplateSpec, footer: str) -> None:
    fw = spec.framework
    c = spec.contract
    ws.set_column("A:A", 3)
    ws.set_column("B:B", 22)
    ws.set_column("C:C", 95)
    ws.hide_gridlines(2)
    r = 0
    ws.set_row(r, 30)
    ws.write_string(r, 1, "Contract management self-assessment", st.title)
    r += 1
    ws.write_string(r, 1, f"{spec.council} | {spec.review_group}", st.subtitle)
    r += 2
    facts = [
        ("Contract", f"{c.contract_id}: {c.title}"),
        ("Supplier", c.supplier),
        ("Review round", spec.round),
        ("Please return by", spec.deadline),
        ("Return it to", spec.return_email or spec.review_group),
        ("Framework", f"{fw.title} (version {fw.version})"),
    ]
    for label, value in facts:
        ws.write_string(r, 1, label, st.bold)
        if isinstance(value, dt.date):
            ws.write_datetime(r, 2, dt.datetime.combine(value, dt.time()), st.date)
        else:
            ws.write_string(r, 2, str(value), st.text)
        r += 1
    r += 1
    ws.write_string(r, 1, "What to do", st.heading)
    r += 1
    steps = [
        "Check the Contract sheet. If a detail is wrong, write the correct value in the Correction column; do not change anything else.",
        "On the Assessment sheet, rate every key activity with the dropdown in the Rating column. The scale is below.",
        "For each rating, say in Evidence what exists and where it is held (a document, system or meeting record). "
        "Ratings of Better or Best need evidence. If you choose Not applicable, say why in Evidence.",
        "Where something should improve, write the Improvement action, who owns it and a Target date (dd/mm/yyyy).",
        "On the Attestation sheet, give your name, role and the date, and confirm the return is accurate.",
        f"Save the workbook as .xlsx (keep this file name) and email it to {spec.return_email or 'the review group'} by "
        f"{spec.deadline.strftime('%d/%m/%Y')}.",
    ]
    if spec.carried_from:
        steps.insert(
            2,
            f"Answers from the {spec.carried_from} review are filled in and shaded green. For each one, either update it "
            "or choose Yes in 'Still accurate?' to confirm it still holds.",
        )
    for i, step in enumerate(steps, start=1):
        ws.set_row(r, row_height((step, 95)))
        ws.write_string(r, 1, f"Step {i}", st.bold)
        ws.write_string(r, 2, step, st.text)
        r += 1
    r += 1
    ws.write_string(r, 1, "Maturity scale", st.heading)
    r += 1
    for lv in fw.scale.levels:
        ws.set_row(r, row_height((lv.descriptor, 95)))
        ws.write_string(r, 1, lv.label, st.locked_bold)
        ws.write_string(r, 2, lv.descriptor, st.locked)
        r += 1
    ws.write_string(r, 1, fw.scale.not_applicable, st.locked_bold)
    ws.write_string(r, 2, fw.scale.not_applicable_descriptor, st.locked)
    r += 2
    ws.write_string(r, 1, "Good to know", st.heading)
    r += 1
    tips = [
        "Only the white cells with a blue border can be edited; everything else is locked.",
        "Pasting from another document? Paste values only (Ctrl+Shift+V, or Paste Special > Values) so the dropdowns "
        "keep working. Every answer is checked again when the workbook comes back.",
        "Ratings still to give are shaded amber; a rating that is not on the list is shaded red.",
        "Excel, LibreOffice and Google Sheets all work. From Google Sheets, use File > Download > Microsoft Excel (.xlsx).",
        "Do not add password protection to open the file, and do not save it as .xlsm, .xls or .ods: such files cannot be accepted.",
    ]
    for tip in tips:
        ws.set_row(r, row_height((tip, 95)))
        ws.write_string(r, 1, "\u2022", st.text)
        ws.write_string(r, 2, tip, st.text)
        r += 1
    print_setup(ws, landscape=False, left_footer=footer, header=spec.council)


def _contract_sheet(ws, st: Styles, spec: TemplateSpec, footer: str) -> None:
    c = spec.contract
    ws.set_column("A:A", 36)
    ws.set_column("B:B", 48)
    ws.set_column("C:C", 44)
    ws.set_row(0, 28)
    ws.write_string(0, 0, "Contract details", st.title)
    ws.write_string(1, 0, "These are the details we hold. If one is wrong, write the correct value in column C.", st.subtitle)
    hr = L.CONTRACT_HEADER_ROW - 1
    ws.write_string(hr, 0, "Detail", st.header)
    ws.write_string(hr, 1, "As we hold it", st.header)
    ws.write_string(hr, 2, "Correction (only if this is wrong)", st.header)
    values = c.as_dict()
    for i, f in enumerate(L.CONTRACT_FIELDS):
        r = L.CONTRACT_FIRST_ROW - 1 + i
        ws.write_string(r, 0, f.label, st.locked_bold)
        value = values.get(f.key)
        if value is None or value == "":
            ws.write_blank(r, 1, None, st.locked)
        elif f.kind == "money":
            ws.write_number(r, 1, float(value), st.locked_money)
        elif f.kind == "date":
            ws.write_datetime(r, 1, dt.datetime.combine(value, dt.time()), st.locked_date)
        else:
            ws.write_string(r, 1, str(value), st.locked)
        correction = spec.corrections.get(f.key)
        fmt = st.problem if (L.CONTRACT, f"{L.CONTRACT_CORRECTION_COL}{r + 1}") in spec.annotations else st.input
        if correction:
            ws.write_string(r, 2, str(correction), fmt)
        else:
            ws.write_blank(r, 2, None, fmt)
    first = L.CONTRACT_FIRST_ROW - 1
    last = first + len(L.CONTRACT_FIELDS) - 1
    ws.data_validation(
        first, 2, last, 2,
        {
            "validate": "length", "criteria": "<=", "value": L.MAX_TEXT["correction"],
            "input_title": "Correction", "input_message": "Only if the detail in column B is wrong: the correct value.",
            "error_title": "Too long", "error_message": f"Keep a correction to {L.MAX_TEXT['correction']} characters.",
        },
    )
    ws.freeze_panes(L.CONTRACT_HEADER_ROW, 0)
    print_setup(ws, landscape=True, repeat_to_row=L.CONTRACT_HEADER_ROW - 1, left_footer=footer, header=spec.council)


def _assessment_sheet(ws, st: Styles, spec: TemplateSpec, footer: str) -> None:
    fw = spec.framework
    c = spec.contract
    carried = spec.carried_from is not None
    cols = [col for col in L.ASSESS_COLUMNS if carried or not col.prefill_only]
    for col in cols:
        ci = L.col_index(col.letter)
        ws.set_column(ci, ci, col.width)
    ws.set_row(0, 28)
    ws.write_string(0, 0, f"Self-assessment: {c.title}", st.title)
    ws.write_string(1, 0, f"{c.contract_id} | {c.supplier} | {c.directorate} | round {spec.round}", st.subtitle)
    ws.write_string(2, 0, "Rate every key activity, give your evidence, and note any improvement action. "
                    "Amber = still to rate; red = not a rating from the list.", st.subtitle)
    hr = L.ASSESS_HEADER_ROW - 1
    ws.set_row(hr, 45)
    for col in cols:
        ws.write_string(hr, L.col_index(col.letter), col.heading, st.header)

    rows = L.assessment_rows(fw)
    acts = {a.ref: a for a in fw.activities}
    by = L.ASSESS_BY_KEY
    ci = {k: L.col_index(v.letter) for k, v in by.items()}
    area_ranges: dict[int, tuple[int, int]] = {}
    for r in rows:
        if r.kind == "activity":
            lo, hi = area_ranges.get(r.area, (r.row, r.row))
            area_ranges[r.area] = (min(lo, r.row), max(hi, r.row))

    all_scores: list[object] = []
    for r in rows:
        r0 = r.row - 1
        if r.kind == "area":
            area = fw.area(r.area)
            lo, hi = area_ranges[r.area]
            ws.set_row(r0, 22)
            ws.write_string(r0, ci["ref"], str(area.number), st.area)
            ws.write_string(r0, ci["activity"], area.name, st.area)
            answered = sum(1 for ref in (x.ref for x in area.activities) if spec.answers.get(ref, {}).get("rating"))
            rating_rng = f"{by['rating'].letter}{lo}:{by['rating'].letter}{hi}"
            ws.write_formula(r0, ci["guidance"], f'=COUNTA({rating_rng})&" of {hi - lo + 1} rated"', st.area,
                             f"{answered} of {hi - lo + 1} rated")
            ws.write_blank(r0, ci["rating"], None, st.area)
            cached = _mean_score(_cached_score(spec.answers.get(x.ref, {}).get("rating"), fw)
                                 for x in area.activities)
            score_rng = f"{by['score'].letter}{lo}:{by['score'].letter}{hi}"
            ws.write_formula(r0, ci["score"], f'=IFERROR(AVERAGE({score_rng}),"")', st.area_score, cached)
            for col in cols[L.ASSESS_COLUMNS.index(by["evidence"]):]:
                ws.write_blank(r0, L.col_index(col.letter), None, st.area)
            continue
        if r.kind == "overall":
            ranges = ",".join(f"{by['score'].letter}{lo}:{by['score'].letter}{hi}" for lo, hi in area_ranges.values())
            cached = _mean_score(all_scores)
            ws.write_string(r0, ci["activity"], "Overall: mean score of all rated activities", st.area)
            ws.write_formula(r0, ci["score"], f'=IFERROR(AVERAGE({ranges}),"")', st.area_score, cached)
            continue
        act = acts[r.ref]
        ans = spec.answers.get(r.ref, {})
        ws.set_row(r0, row_height(
            (act.text, by["activity"].width), (act.guidance, by["guidance"].width * 1.1),
            (ans.get("evidence", ""), by["evidence"].width), (ans.get("action", ""), by["action"].width),
            minimum=45.0,
        ))
        ws.write_string(r0, ci["ref"], act.ref, st.locked_center)
        ws.write_string(r0, ci["activity"], act.text, st.locked)
        ws.write_string(r0, ci["guidance"], act.guidance, st.guidance)
        for key in L.ANSWER_KEYS:
            cell = f"{by[key].letter}{r.row}"
            flagged = (L.ASSESSMENT, cell) in spec.annotations
            is_date = key == "target_date"
            if flagged:
                fmt = st.problem_date if is_date else st.problem
            elif carried and ans:
                fmt = st.carried_date if is_date else st.carried
            else:
                fmt = st.input_date if is_date else (st.input_center if key == "rating" else st.input)
            value = ans.get(key)
            day = _as_date(value) if is_date else None
            if value in (None, ""):
                ws.write_blank(r0, ci[key], None, fmt)
            elif day:
                ws.write_datetime(r0, ci[key], dt.datetime.combine(day, dt.time()), fmt)
            else:
                ws.write_string(r0, ci[key], str(value), fmt)
        cached = _cached_score(ans.get("rating"), fw)
        all_scores.append(cached)
        rating_cell = f"{by['rating'].letter}{r.row}"
        ws.write_formula(r0, ci["score"], _score_formula(rating_cell, fw), st.locked_score, cached)
        if carried:
            prev = ans.get("previous") or ""
            ws.write_string(r0, ci["previous"], prev, st.locked)
            confirm_cell = f"{by['confirm'].letter}{r.row}"
            fmt = st.problem if (L.ASSESSMENT, confirm_cell) in spec.annotations else st.input_center
            if ans.get("confirm"):  # a corrections workbook keeps the owner's answer
                ws.write_string(r0, ci["confirm"], str(ans["confirm"]), fmt)
            else:
                ws.write_blank(r0, ci["confirm"], None, fmt)

    first_row = rows[0].row
    multi = lambda key: " ".join(f"{by[key].letter}{lo}:{by[key].letter}{hi}" for lo, hi in area_ranges.values())  # noqa: E731
    ws.data_validation(
        f"{by['rating'].letter}{first_row + 1}",
        {
            "validate": "list", "source": fw.scale.labels, "multi_range": multi("rating"),
            "input_title": "Rating", "input_message": _input_message(fw),
            "error_title": "Not a rating", "error_type": "stop",
            "error_message": "Choose a rating from the dropdown list. If you pasted, paste values only, or pick again.",
        },
    )
    for key, title, limit, message in (
        ("evidence", "Evidence", L.MAX_TEXT["evidence"],
         "What exists and where it is held: document names, systems, meeting records. If Not applicable, why."),
        ("action", "Improvement action", L.MAX_TEXT["action"], "What will be done to improve this activity."),
        ("action_owner", "Action owner", L.MAX_TEXT["action_owner"], "Who will make sure the action happens."),
    ):
        ws.data_validation(
            f"{by[key].letter}{first_row + 1}",
            {
                "validate": "length", "criteria": "<=", "value": limit, "multi_range": multi(key),
                "input_title": title, "input_message": message,
                "error_title": "Too long", "error_message": f"Please keep this to {limit} characters.",
            },
        )
    ws.data_validation(
        f"{by['target_date'].letter}{first_row + 1}",
        {
            "validate": "date", "criteria": "between",
            "minimum": dt.date(2000, 1, 1), "maximum": dt.date(2099, 12, 31), "multi_range": multi("target_date"),
            "input_title": "Target date", "input_message": "The date the action should be done by, as dd/mm/yyyy.",
            "error_title": "Not a date", "error_type": "stop",
            "error_message": "Enter a date as dd/mm/yyyy, for example 31/03/2027.",
        },
    )
    if carried:
        ws.data_validation(
            f"{by['confirm'].letter}{first_row + 1}",
            {
                "validate": "list", "source": [L.CONFIRM_YES], "multi_range": multi("confirm"),
                "input_title": "Still accurate?",
                "input_message": f"Choose Yes if the answer carried forward from {spec.carried_from} still holds. "
                                 "If it does not, update the rating or evidence instead.",
                "error_title": "Yes or blank", "error_type": "stop",
                "error_message": "Choose Yes from the list, or leave it blank and update the answer.",
            },
        )
    # One rule per kind over every area's rows (relative references follow each row).
    first_lo = next(iter(area_ranges.values()))[0]
    rating0 = f"{by['rating'].letter}{first_lo}"
    ws.conditional_format(rating0, {"type": "blanks", "format": st.cf_blank, "multi_range": multi("rating")})
    ws.conditional_format(rating0, {"type": "formula", "criteria": f'=${by["score"].letter}{first_lo}="?"',
                                    "format": st.cf_bad, "multi_range": multi("rating")})
    ws.conditional_format(
        f"{by['evidence'].letter}{first_lo}",
        {"type": "formula", "format": st.cf_blank, "multi_range": multi("evidence"),
         "criteria": f'=AND(${by["rating"].letter}{first_lo}="{fw.scale.not_applicable}",'
                     f'LEN(${by["evidence"].letter}{first_lo})=0)'},
    )
    ws.freeze_panes(L.ASSESS_HEADER_ROW, 2)
    print_setup(ws, landscape=True, repeat_to_row=L.ASSESS_HEADER_ROW - 1, left_footer=footer, header=spec.council)


def _attestation_sheet(ws, st: Styles, spec: TemplateSpec, footer: str) -> None:
    fw = spec.framework
    ws.set_column("A:A", 3)
    ws.set_column("B:B", 44)
    ws.set_column("C:C", 40)
    ws.hide_gridlines(2)
    ws.set_row(0, 28)
    ws.write_string(0, 1, "Attestation", st.title)
    ws.write_string(1, 1, "The person accountable for this contract signs off the return.", st.subtitle)
    ws.set_row(3, 32)
    ws.merge_range(3, 1, 3, 2, "By completing this sheet you confirm the self-assessment for "
                    f"{spec.contract.contract_id} ({spec.contract.title}) is accurate.", st.text)
    ws.write_string(4, 1, "Sign-off", st.header)
    ws.write_string(4, 2, "Your entry", st.header)
    for f in L.ATTEST_FIELDS:
        r0, c0 = L.rc(f.cell)
        ws.write_string(r0, c0 - 1, f.label, st.locked_bold)
        value = spec.attestation.get(f.key)
        flagged = (L.ATTESTATION, f.cell) in spec.annotations
        if f.kind == "date":
            fmt = st.problem_date if flagged else st.input_date
        else:
            fmt = st.problem if flagged else st.input
        day = _as_date(value) if f.kind == "date" else None
        if day:
            ws.write_datetime(r0, c0, dt.datetime.combine(day, dt.time()), fmt)
        elif value:
            ws.write_string(r0, c0, str(value), fmt)
        else:
            ws.write_blank(r0, c0, None, fmt)
        if f.kind == "text":
            ws.data_validation(r0, c0, r0, c0, {
                "validate": "length", "criteria": "between", "minimum": 1, "maximum": L.MAX_TEXT[f.key],
                "input_title": f.label, "input_message": f"{f.label}, as it should appear on the record.",
                "error_title": "Check the length", "error_message": f"Please keep this to {L.MAX_TEXT[f.key]} characters.",
            })
        elif f.kind == "date":
            ws.data_validation(r0, c0, r0, c0, {
                "validate": "date", "criteria": "between", "minimum": dt.date(2000, 1, 1),
                "maximum": dt.date(2099, 12, 31), "error_type": "stop",
                "input_title": "Date signed", "input_message": "Today's date, as dd/mm/yyyy.",
                "error_title": "Not a date", "error_message": "Enter the date as dd/mm/yyyy, for example 15/01/2027.",
            })
        else:
            ws.set_row(r0, 48)
            ws.data_validation(r0, c0, r0, c0, {
                "validate": "list", "source": [L.ATTEST_YES], "error_type": "stop",
                "input_title": "Confirmation", "input_message": "Choose Yes to confirm the return is accurate and that you are accountable for it.",
                "error_title": "Choose Yes", "error_message": "Choose Yes from the list to confirm.",
            })
            ws.conditional_format(r0, c0, r0, c0, {"type": "blanks", "format": st.cf_blank})
    # A read-out of progress, so the signer sees what they sign.
    rows = L.assessment_rows(fw)
    by = L.ASSESS_BY_KEY
    acts = [r for r in rows if r.kind == "activity"]
    overall = rows[-1]
    rating_col = by["rating"].letter
    r = L.rc(L.ATTEST_FIELDS[-1].cell)[0] + 2
    answered = sum(1 for x in acts if spec.answers.get(x.ref, {}).get("rating"))
    first, last = acts[0].row, acts[-1].row
    ws.write_string(r, 1, "Key activities rated", st.locked_bold)
    # Area rows leave the rating column empty, so one range counts only activity ratings.
    ws.write_formula(r, 2, f"=COUNTA('{L.ASSESSMENT}'!{rating_col}{first}:{rating_col}{last})&\" of {len(acts)}\"",
                     st.locked, f"{answered} of {len(acts)}")
    ws.write_string(r + 1, 1, "Overall mean score", st.locked_bold)
    cached = _mean_score(_cached_score(spec.answers.get(x.ref, {}).get("rating"), fw) for x in acts)
    ws.write_formula(r + 1, 2, f"='{L.ASSESSMENT}'!{by['score'].letter}{overall.row}", st.locked_score, cached)
    print_setup(ws, landscape=False, left_footer=footer, header=spec.council)


def _meta_sheet(ws, spec: TemplateSpec) -> None:
    fw = spec.framework
    values = {
        "issue_token": spec.token,
        "contract_id": spec.contract.contract_id,
        "round": spec.round,
        "framework_id": fw.id,
        "framework_version": fw.version,
        "framework_hash": fw.content_hash,
        "layout_version": L.LAYOUT_VERSION,
        "kind": spec.kind,
        "generated_at": spec.generated_at,
        "tool_version": __version__,
    }
    ws.set_column("A:A", 20)
    ws.set_column("B:B", 70)
    for i, key in enumerate(L.META_KEYS):
        ws.write_string(L.META_FIRST_ROW - 1 + i, 0, key)
        ws.write_string(L.META_FIRST_ROW - 1 + i, 1, values[key])
    ws.very_hidden()


# --- a whole round ---------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratedFile:
    contract_id: str
    path: Path
    token: str
    sha256: str
    eml: Path | None = None


@dataclass(frozen=True)
class GenerateResult:
    round: str
    folder: Path
    files: list[GeneratedFile]
    skipped: list  # ContractProblem of rows left out with --skip-invalid
    superseded: int
    deadline: dt.date
    mailmerge: Path | None
    already_issued: list[str] = field(default_factory=list)  # left out with skip_issued
    open_in_round: int = 0  # open workbooks of the round after this run (rows of mailmerge.csv)


def select_contracts(clist: ContractList, only: Iterable[str] | None, skip_invalid: bool) -> list[Contract]:
    """The contracts to generate for, after the list's checks and --only."""
    if clist.problems and not skip_invalid:
        lines = "\n".join(f"  {p}" for p in clist.problems)
        raise GenerateError(
            f"{clist.source} has {len(clist.problems)} problem(s) in {len(clist.bad_rows)} row(s); nothing was "
            f"generated. Fix them, or use --skip-invalid to generate the good rows only:\n{lines}"
        )
    contracts = list(clist.contracts)
    if only:
        wanted = {o.casefold(): o for o in only}
        known = {c.contract_id.casefold() for c in contracts}
        bad_ids = {str(p.value).casefold() for p in clist.problems if p.column == "contract_id"}
        missing = [o for k, o in wanted.items() if k not in known]
        if missing:
            hint = " (its row has problems)" if any(m.casefold() in bad_ids for m in missing) else ""
            raise GenerateError(f"not on the contract list{hint}: {', '.join(missing)}. Nothing was generated; check "
                                f"the ID in {Path(str(clist.source)).name}, or leave it out of --only")
        contracts = [c for c in contracts if c.contract_id.casefold() in wanted]
    if not contracts:
        raise GenerateError(f"{clist.source} has no contracts to generate for")
    return contracts


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write a file so that it is either complete or absent, never half-written.

    ``durable`` also forces it to disk before the rename; files that can simply be
    generated again skip that.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    tmp.replace(path)


def _ledger_entry(ws: Workspace, spec: TemplateSpec, path: Path, sha: str, reissue_of: int | None,
                  prefill: dict | None) -> reg.Issue:
    return reg.Issue(
        token=spec.token, contract_id=spec.contract.contract_id, round=spec.round,
        framework_id=spec.framework.id, framework_version=spec.framework.version,
        framework_hash=spec.framework.content_hash, layout_version=L.LAYOUT_VERSION, kind=spec.kind,
        file_path=path.relative_to(ws.root).as_posix(), file_sha256=sha, generated_at=spec.generated_at,
        deadline=spec.deadline.isoformat(), contract_snapshot=reg.contract_details(spec.contract),
        reissue_of=reissue_of, prefill_round=spec.carried_from, prefill=prefill,
    )


def _record(conn, entries: list[tuple[TemplateSpec, reg.Issue]]) -> None:
    """Record issued workbooks in the ledger, all or none."""
    with reg.transaction(conn):
        stored: set[str] = set()
        for spec, issue in entries:
            if spec.framework.content_hash not in stored:  # one JSON copy per definition, not per file
                reg.store_framework(conn, spec.framework)
                stored.add(spec.framework.content_hash)
            reg.upsert_contract(conn, spec.contract)
            reg.record_issue(conn, issue)


def issue_workbook(ws: Workspace, conn, spec: TemplateSpec, path: Path, *, reissue_of: int | None = None,
                   prefill: dict | None = None) -> GeneratedFile:
    """Build one workbook, write it to ``path`` and record it in the ledger (one transaction)."""
    data = build_template(spec)
    sha = hashlib.sha256(data).hexdigest()
    write_atomic(path, data)
    _record(conn, [(spec, _ledger_entry(ws, spec, path, sha, reissue_of, prefill))])
    return GeneratedFile(spec.contract.contract_id, path, spec.token, sha)


PARALLEL_FROM = 40  # below this, starting worker processes costs more than it saves
LEDGER_BATCH = 100


def build_many(specs: list[TemplateSpec], workers: int | None = None) -> Iterable[bytes]:
    """Workbook bytes for each spec, in order; on every core for a large round.

    Fresh templates are stamped from one base workbook per round and contract shape
    (cmrg_excel/stamp.py), about 3 ms each instead of 25; the rest (carried-forward
    answers, corrections) are built by build_template.
    """
    workers = workers or min(4, os.cpu_count() or 1)
    if len(specs) < PARALLEL_FROM or workers < 2:
        yield from map(Stamper().build, specs)
        return
    from concurrent.futures import ProcessPoolExecutor

    # Measured on 2 cores, 1,000 fresh templates: 2.7 s stamped in two workers while this
    # process writes and records the files, 4.5 s all stamped here.
    with ProcessPoolExecutor(max_workers=workers, initializer=start_worker) as pool:
        yield from pool.map(build_in_worker, specs, chunksize=16)


def spec_for(ws: Workspace, contract: Contract, fw: Framework, round: str, deadline: dt.date,
             **extra) -> TemplateSpec:
    """A TemplateSpec with the workspace's settings filled in."""
    cfg = ws.config
    return TemplateSpec(
        contract=contract, framework=fw, round=round, token=new_token(), council=cfg.council_name,
        review_group=cfg.review_group, return_email=cfg.return_email, password=cfg.password,
        deadline=deadline, generated_at=reg.now(), **extra,
    )


def generate_round(
    ws: Workspace,
    round: str,
    *,
    only: Iterable[str] | None = None,
    force: bool = False,
    skip_invalid: bool = False,
    skip_issued: bool = False,
    eml: bool = False,
    prefill_from: str | None = None,
    today: dt.date | None = None,
    progress: Callable[[Contract], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Generate a round's workbooks into ``outbox/ROUND/`` and record them in the ledger.

    ``skip_issued`` leaves out contracts that already have an open workbook in the round
    (after a month of the plan, or contracts added to the list) instead of refusing.
    ``on_start(total)`` is called once the contracts are chosen, ``progress(contract)``
    after each workbook is written."""
    round = check_round(round)
    fw = ws.framework()
    clist = read_contracts(ws.contracts_path)
    contracts = select_contracts(clist, only, skip_invalid)
    today = today or dt.date.today()
    deadline = ws.config.deadline_from(today)
    folder = ws.outbox / round
    conn = reg.open_register(ws)
    try:
        if prefill_from is not None:
            prefill_from = check_round(prefill_from)
            if prefill_from == round:
                raise GenerateError("--prefill-from must name an earlier round, not the one being generated")
            if prefill_from not in reg.rounds(conn):
                raise GenerateError(f"round {prefill_from!r} has never been issued, so there is nothing to carry forward")
        open_before = {i.contract_id: i for i in reg.list_issues(conn, round, open_only=True)}
        clash = [c.contract_id for c in contracts if c.contract_id in open_before]
        already: list[str] = []
        if clash and skip_issued and not force:
            already, clash = clash, []
            contracts = [c for c in contracts if c.contract_id not in open_before]
            if not contracts:
                raise GenerateError(f"every one of these contracts already has a workbook in round {round}; "
                                    "nothing to generate")
        if clash and not force:
            shown = ", ".join(clash[:8]) + (f" and {len(clash) - 8} more" if len(clash) > 8 else "")
            raise GenerateError(
                f"round {round} already has workbooks for {len(clash)} of these contracts ({shown}). Nothing was "
                "overwritten. Use --skip-issued to issue only the contracts without one, or --force to issue new "
                "ones for all: the old ones are then marked superseded, and returns made on them will be rejected."
            )
        letter_template = None
        if eml:  # read once; a workspace template that cannot be used stops the run here, before anything is issued
            from .mail import load_template

            letter_template = load_template("email-issue.txt", ws.root)
        carried = _carried_answers(conn, prefill_from, fw) if prefill_from else {}
        specs: list[TemplateSpec] = []
        paths: list[Path] = []
        used_names: set[str] = set()
        for contract in contracts:
            stem = safe_filename(contract.contract_id)
            while stem.casefold() in used_names:
                stem += "_"
            used_names.add(stem.casefold())
            answers = carried.get(contract.contract_id, {})
            specs.append(spec_for(
                ws, contract, fw, round, deadline,
                kind="reissue" if contract.contract_id in open_before else "initial",
                answers=answers, carried_from=prefill_from if answers else None,
            ))
            paths.append(folder / f"{stem}.xlsx")
        if on_start:
            on_start(len(specs))
        files: list[GeneratedFile] = []
        pending: list[tuple[TemplateSpec, reg.Issue]] = []
        for spec, path, data in zip(specs, paths, build_many(specs)):
            sha = hashlib.sha256(data).hexdigest()
            write_atomic(path, data, durable=False)
            prefill = {ref: {k: v for k, v in a.items() if k != "previous"}
                       for ref, a in spec.answers.items()} or None
            pending.append((spec, _ledger_entry(ws, spec, path, sha, None, prefill)))
            files.append(GeneratedFile(spec.contract.contract_id, path, spec.token, sha))
            if len(pending) >= LEDGER_BATCH:
                _record(conn, pending)
                pending = []
            if progress:
                progress(spec.contract)
        if pending:
            _record(conn, pending)
        mailmerge = write_mailmerge(ws, conn, round)
        open_in_round = len(reg.list_issues(conn, round, open_only=True))
        if eml:
            by_id = {c.contract_id: c for c in contracts}
            files = [write_issue_eml(ws, f, by_id[f.contract_id], deadline, round, letter_template) for f in files]
    finally:
        conn.close()
    return GenerateResult(round, folder, files, list(clist.problems) if skip_invalid else [],
                          len(clash), deadline, mailmerge, already, open_in_round)


def _carried_answers(conn, from_round: str, fw: Framework) -> dict[str, dict[str, dict]]:
    """Accepted answers of an earlier round, by contract and reference, for pre-filling."""
    df = reg.answers_frame(conn, from_round)
    refs = {a.ref for a in fw.activities}
    out: dict[str, dict[str, dict]] = {}
    for row in df.itertuples(index=False):
        if row.ref not in refs:
            continue
        target = row.target_date.date().isoformat() if not _isnull(row.target_date) else None
        out.setdefault(row.contract_id, {})[row.ref] = {
            "rating": row.rating, "evidence": row.evidence or "", "action": row.action or "",
            "action_owner": row.action_owner or "", "target_date": target,
            "previous": f"{from_round}: {row.rating}",
        }
    return out


def _isnull(value: object) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def write_mailmerge(ws: Workspace, conn, round: str) -> Path:
    """outbox/ROUND/mailmerge.csv: one row per open issue of the round, for mail merge.

    A round issued a month at a time holds workbooks sent earlier: ``issued_on`` lets a
    mail merge pick out the latest ones."""
    from .textsafe import write_csv

    rows = []
    folders: dict[Path, Path] = {}
    for issue in reg.list_issues(conn, round, open_only=True):
        snap = issue.contract_snapshot
        rows.append({
            "owner_name": snap.get("owner_name", ""), "owner_email": snap.get("owner_email", ""),
            "contract_id": issue.contract_id, "title": snap.get("title", ""),
            "attachment_path": str(_resolved(ws.root / issue.file_path, folders)),
            "deadline": dt.date.fromisoformat(issue.deadline) if issue.deadline else "",
            "issued_on": _issued_on(issue.generated_at),
        })
    from .mail import MAILMERGE_COLUMNS

    return write_csv(ws.outbox / round / "mailmerge.csv", MAILMERGE_COLUMNS + ["issued_on"], rows)


def _issued_on(generated_at: str | None) -> dt.date | str:
    """The UK date a workbook was generated (the ledger keeps UTC times)."""
    if not generated_at:
        return ""
    from zoneinfo import ZoneInfo

    when = dt.datetime.fromisoformat(generated_at)
    if when.tzinfo is None:
        return when.date()
    try:
        return when.astimezone(ZoneInfo("Europe/London")).date()
    except Exception:  # no time zone data on this system: the UTC date
        return when.date()


def _resolved(path: Path, folders: dict[Path, Path]) -> Path:
    """``path.resolve()``, resolving each folder once (a round's files share one or two)."""
    if path.name in ("", ".", "..") or path.is_symlink():
        return path.resolve()
    if path.parent not in folders:
        folders[path.parent] = path.parent.resolve()
    return folders[path.parent] / path.name


def write_issue_eml(ws: Workspace, f: GeneratedFile, contract: Contract, deadline: dt.date, round: str,
                    template: str) -> GeneratedFile:
    """A ready-to-send draft beside the workbook, with it attached (``template``: the text of
    email-issue.txt, read once by the caller)."""
    from dataclasses import replace

    from .mail import make_eml, render

    cfg = ws.config
    letter = render(template, {
        **reg.contract_details(contract), "round": round, "deadline": deadline.strftime("%d/%m/%Y"),
        "attachment_name": f.path.name, "return_email": cfg.return_email, "review_group": cfg.review_group,
        "council": cfg.council_name,
    })
    data = make_eml(cfg.return_email, contract.owner_name, contract.owner_email, letter, [f.path])
    target = f.path.with_suffix(".eml")
    write_atomic(target, data)
    return replace(f, eml=target)


# --- the blank contract list -----------------------------------------------------------
def write_contract_list(path: Path, contracts: Iterable[Contract] = ()) -> Path:
    """contracts.xlsx for the secretariat: headings, help, validation and an example row."""
    from .styles import Styles, new_workbook

    wb, buffer = new_workbook()
    st = Styles(wb)
    sh = wb.add_worksheet("Contracts")
    guide = wb.add_worksheet("How to fill this in")
    contracts = list(contracts)
    last = max(1000, len(contracts) + 200)
    for i, col in enumerate(COLUMNS):
        sh.write_string(0, i, col.heading, st.header)
        width = {"title": 40, "supplier": 28, "directorate": 28, "owner_email": 30, "owner_name": 22}.get(col.name, 16)
        fmt = {"money": st.money, "date": st.date}.get(col.kind, st.text)
        sh.set_column(i, i, width, fmt)
        opts = {"input_title": col.heading[:32], "input_message": (col.help + ("" if col.required else " Optional."))[:255]}
        if col.kind == "level":
            opts |= {"validate": "list", "source": ["Low", "Medium", "High"], "error_type": "stop",
                     "error_title": "Low, Medium or High", "error_message": "Choose Low, Medium or High."}
        elif col.kind == "yesno":
            opts |= {"validate": "list", "source": ["Yes", "No"], "error_title": "Yes or No",
                     "error_message": "Choose Yes or No."}
        elif col.kind == "date":
            opts |= {"validate": "date", "criteria": "between", "minimum": dt.date(1990, 1, 1),
                     "maximum": dt.date(2099, 12, 31), "error_title": "Not a date",
                     "error_message": "Enter a date as dd/mm/yyyy.", "error_type": "warning"}
        elif col.kind == "money":
            opts |= {"validate": "decimal", "criteria": ">=", "value": 0, "error_type": "warning",
                     "error_title": "Not an amount", "error_message": "Enter pounds as a number, e.g. 1200000."}
        else:
            opts |= {"validate": "length", "criteria": "<=", "value": 255, "error_title": "Too long",
                     "error_message": "Keep this to 255 characters."}
        sh.data_validation(1, i, last, i, opts)
    rows = contracts or [None]
    for r, c in enumerate(rows, start=1):
        for i, col in enumerate(COLUMNS):
            value = getattr(c, col.name) if c is not None else col.example
            if c is None and col.name == "contract_id":
                value = "EXAMPLE"
            fmt = st.note if c is None else None
            if value is None:
                continue
            if isinstance(value, bool):
                sh.write_string(r, i, "Yes" if value else "No", fmt)
            elif isinstance(value, dt.date):
                sh.write_datetime(r, i, dt.datetime.combine(value, dt.time()),
                                  st.date if c is not None else wb.add_format({"italic": True, "font_color": "#595959", "num_format": DATE_FORMAT, "align": "left"}))
            elif isinstance(value, (int, float)):
                sh.write_number(r, i, value, st.money if c is not None else wb.add_format({"italic": True, "font_color": "#595959", "num_format": "£#,##0"}))
            else:
                sh.write_string(r, i, str(value), fmt)
    sh.freeze_panes(1, 1)
    sh.autofilter(0, 0, max(1, len(rows)), len(COLUMNS) - 1)
    sh.set_row(0, 32)
    print_setup(sh, landscape=True, repeat_to_row=0, left_footer="Contract list")
    guide.set_column("A:A", 34)
    guide.set_column("B:B", 90)
    guide.write_string(0, 0, "The contract list", st.title)
    guide.write_string(1, 0, "One row per contract. The row with Contract ID EXAMPLE is ignored: overwrite or delete it.", st.subtitle)
    guide.write_string(3, 0, "Column", st.header)
    guide.write_string(3, 1, "What to enter", st.header)
    for i, col in enumerate(COLUMNS):
        guide.write_string(4 + i, 0, col.heading + ("" if col.required else " (optional)"), st.locked_bold)
        guide.write_string(4 + i, 1, col.help, st.locked)
    print_setup(guide, landscape=False, left_footer="Contract list guide")
    sh.activate()
    wb.close()
    write_atomic(path, buffer.getvalue())
    return path
