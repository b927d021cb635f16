"""The corrections workbook as the owner who made a mistake sees it (issues 17.4 and 17.17)."""

from __future__ import annotations

import datetime as dt

import openpyxl

from cmrg_excel.intake.corrections import corrections_path
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.kit import layout as L
from cmrg_excel.programme.simulate import fill_return

from .returns import attestation, complete_answers, drop, filled, framework_of, issue_of

TODAY = dt.date.today()
DATE_CELL = L.ATTEST_BY_KEY["date"].cell
CONFIRM_CELL = L.ATTEST_BY_KEY["confirm"].cell


def _rejected_with_corrections(ws, att=None):
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = complete_answers(fw)
    answers["1.7"]["rating"] = "Good-ish"
    drop(ws, "C-0001.xlsx", filled(ws, answers=answers, att=att))
    run = ingest(ws, corrections=True)
    assert run.files[0].outcome == "rejected"
    return fw, corrections_path(ws, "R1", "C-0001")


def test_fixing_only_the_marked_cells_is_enough_when_the_signature_was_older(issued):
    ws, _ = issued
    signed_before = TODAY - dt.timedelta(days=10)  # after the workbook was issued (02/11/2026), before the fix
    fw, path = _rejected_with_corrections(ws, attestation(date=signed_before))
    at = openpyxl.load_workbook(path)[L.ATTESTATION]
    # the date is left for the owner to sign again, marked like every cell to fix
    assert at[DATE_CELL].value is None and at[DATE_CELL].comment is not None
    assert "date" in at[DATE_CELL].comment.text.lower()
    assert at[DATE_CELL].fill.fgColor.rgb == openpyxl.load_workbook(path)[L.ASSESSMENT][
        f"D{L.activity_rows(fw)['1.7']}"].fill.fgColor.rgb
    fixes = [c.value for c in openpyxl.load_workbook(path)["Fixes needed"]["B"] if c.value]
    assert any(x.startswith("Attestation sheet, Date signed") and f"(cell {DATE_CELL})" in x for x in fixes), fixes
    # the owner fixes the red cells only: the rating, and the date they sign again
    drop(ws, "fixed.xlsx", fill_return(path, {"1.7": {"rating": "2 Good"}}, {"date": TODAY}))
    done = ingest(ws, corrections=True)
    assert done.files[0].outcome == "accepted", [str(p) for p in done.files[0].problems]


def test_corrections_workbook_keeps_the_examples_of_evidence(issued):
    ws, _ = issued
    _, path = _rejected_with_corrections(ws)
    fw = ws.framework()  # the definition as written, with its guidance
    col = L.ASSESS_BY_KEY["guidance"].letter
    issued_sheet = openpyxl.load_workbook(ws.root / issue_of(ws, "C-0002").file_path)[L.ASSESSMENT]
    sheet = openpyxl.load_workbook(path)[L.ASSESSMENT]
    rows = L.activity_rows(fw)
    for act in fw.activities:
        assert act.guidance
        assert issued_sheet[f"{col}{rows[act.ref]}"].value == act.guidance, act.ref
        assert sheet[f"{col}{rows[act.ref]}"].value == act.guidance, act.ref


def _cf_ranges(sheet) -> list[str]:
    return [str(rng.sqref) for rng in sheet.conditional_formatting]


def test_a_confirm_cell_to_fix_is_red_not_amber(issued):
    ws, _ = issued
    _, path = _rejected_with_corrections(ws, attestation(confirm=None))
    at = openpyxl.load_workbook(path)[L.ATTESTATION]
    assert at[CONFIRM_CELL].comment is not None
    # the amber "fill me in" highlight would cover the red: it is not put on a cell to fix
    assert not any(CONFIRM_CELL in r.split() for r in _cf_ranges(at))
    blank = openpyxl.load_workbook(ws.root / issue_of(ws, "C-0002").file_path)[L.ATTESTATION]
    assert any(CONFIRM_CELL in r.split() for r in _cf_ranges(blank))


def test_a_workbook_returned_blank_is_one_sentence_and_no_corrections_workbook(issued):
    ws, _ = issued
    issue = issue_of(ws, "C-0001")
    drop(ws, "C-0001.xlsx", fill_return(ws.root / issue.file_path, {}, {}))
    run = ingest(ws, corrections=True)
    (f,) = run.files
    assert f.outcome == "rejected"
    assert len(f.problems) == 1 and f.problems[0].code == "empty-return"
    assert "came back empty" in f.first_reason
    assert run.corrections == [] and not corrections_path(ws, "R1", "C-0001").exists()
