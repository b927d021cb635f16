"""The corrections workbook as an owner meets it (issue 17, items 4 and 17): the cells to fix
are red and fixing them is enough; it keeps what the original showed; a blank return gets one
sentence, not a list of every cell and an empty workbook."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from cmrg_excel import register as reg
from cmrg_excel.intake.corrections import corrections_path
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.kit import layout as L
from cmrg_excel.kit.styles import AMBER_FILL, RED_FILL
from cmrg_excel.programme.simulate import fill_return

from .returns import attestation, complete_answers, drop, filled, framework_of, issue_of

RED = "FF" + RED_FILL.lstrip("#").upper()
AMBER = "FF" + AMBER_FILL.lstrip("#").upper()


def _red_cells(wb) -> dict[tuple[str, str], object]:
    """Every cell shaded red by its own format, with its value: the cells an owner is told to fix."""
    out = {}
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                if c.fill is not None and c.fill.fgColor is not None and c.fill.fgColor.rgb == RED:
                    out[(sheet.title, c.coordinate)] = c.value
    return out


def _amber_rules_over(sheet, coordinate: str) -> list[str]:
    """Conditional formats that would paint ``coordinate`` amber (they win over the cell's own fill)."""
    col, row = openpyxl.utils.cell.coordinate_from_string(coordinate)
    ci = openpyxl.utils.cell.column_index_from_string(col)
    found = []
    for cf in sheet.conditional_formatting:
        for rule in cf.rules:
            fill = rule.dxf.fill if rule.dxf is not None else None
            colours = {getattr(fill.bgColor, "rgb", None), getattr(fill.fgColor, "rgb", None)} if fill else set()
            if AMBER not in colours:
                continue
            for rng in cf.sqref.ranges:
                c1, r1, c2, r2 = range_boundaries(rng.coord)
                if c1 <= ci <= c2 and r1 <= row <= r2:
                    found.append(f"{rng.coord}: {rule.type}")
    return found


def _issued_days_ago(ws, monkeypatch, days: int) -> None:
    """Round R1 generated ``days`` ago (the register's clock moved back while it is issued)."""
    then = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).replace(microsecond=0).isoformat()
    with monkeypatch.context() as m:
        m.setattr(reg, "now", lambda: then)
        generate_round(ws, "R1", today=dt.date.today() - dt.timedelta(days=days))


def test_fixing_the_red_cells_is_enough_even_days_later(small_workspace, monkeypatch):
    """17.4: the owner signed on day 2; the corrections workbook is issued on day 10. The
    attestation must be signed again for the corrected return (an old date would attest to
    answers that were wrong), so its date is left blank and marked like every cell to fix;
    an owner who fills in only the red cells is accepted."""
    ws = small_workspace
    _issued_days_ago(ws, monkeypatch, 10)
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = complete_answers(fw)
    answers["1.2"]["rating"] = "Good-ish"
    signed = dt.date.today() - dt.timedelta(days=8)
    drop(ws, "C-0001.xlsx", filled(ws, answers=answers, att=attestation(date=signed)))
    first = ingest(ws, corrections=True)
    assert first.files[0].outcome == "rejected" and len(first.corrections) == 1

    path = corrections_path(ws, "R1", "C-0001")
    wb = openpyxl.load_workbook(path)
    red = _red_cells(wb)
    date_cell = L.ATTEST_BY_KEY["date"].cell
    assert (L.ATTESTATION, date_cell) in red and red[(L.ATTESTATION, date_cell)] is None
    note = wb[L.ATTESTATION][date_cell].comment.text
    assert "sign" in note.lower() and f"{signed:%d/%m/%Y}" in note
    fixes = [c.value for c in wb["Fixes needed"]["B"] if c.value]
    assert any(x.startswith(f"{L.ATTESTATION}!{date_cell}") for x in fixes), fixes
    # name, role and the confirmation stay as the owner gave them
    at = wb[L.ATTESTATION]
    assert at[L.ATTEST_BY_KEY["name"].cell].value == "Jane Example"
    assert at[L.ATTEST_BY_KEY["confirm"].cell].value == "Yes"

    # The owner fills in exactly the red cells, nothing else.
    fix = {}
    for (sheet, cell), _ in red.items():
        if sheet == L.ATTESTATION:
            fix[(sheet, cell)] = dt.date.today()
        elif sheet == L.ASSESSMENT:
            assert cell.startswith(L.ASSESS_BY_KEY["rating"].letter), cell
            fix[(sheet, cell)] = fw.scale.levels[1].label
    assert set(s for s, _ in fix) == {L.ASSESSMENT, L.ATTESTATION} and len(fix) == 2
    drop(ws, "C-0001 fixed.xlsx", fill_return(path, {}, None, None, fix))
    done = ingest(ws, corrections=True)
    (g,) = done.files
    assert g.outcome == "accepted", [str(p) for p in g.problems]


@pytest.mark.parametrize("stored", ["now", "before"])
def test_corrections_workbook_keeps_the_examples_of_evidence(issued, stored):
    """17.17: column C ("Examples of evidence") is what the original showed, row by row; also
    for a register whose stored definition predates the examples being kept ("before": the
    workspace's framework of the same content supplies them)."""
    ws, _ = issued
    issue = issue_of(ws, "C-0001")
    if stored == "before":
        conn = sqlite3.connect(ws.register_path)
        (text,) = conn.execute("SELECT definition FROM frameworks WHERE hash=?", (issue.framework_hash,)).fetchone()
        d = json.loads(text)
        legacy = {k: d[k] for k in ("id", "version", "title", "upgrades")}
        legacy["scale"] = {k: d["scale"][k] for k in ("levels", "not_applicable")}
        legacy["areas"] = [{k: a[k] for k in ("number", "name", "activities")} for a in d["areas"]]
        with conn:
            conn.execute("UPDATE frameworks SET definition=? WHERE hash=?", (json.dumps(legacy), issue.framework_hash))
        conn.close()
        assert not any(a.guidance for a in framework_of(ws, issue).activities)
    fw = framework_of(ws, issue)
    assert any(a.guidance for a in ws.framework().activities)
    answers = complete_answers(fw)
    answers["1.2"]["rating"] = "Good-ish"
    drop(ws, "C-0001.xlsx", filled(ws, answers=answers))
    ingest(ws, corrections=True)
    original = openpyxl.load_workbook(ws.root / issue.file_path)[L.ASSESSMENT]
    fixed = openpyxl.load_workbook(corrections_path(ws, "R1", "C-0001"))[L.ASSESSMENT]
    col = L.ASSESS_BY_KEY["guidance"].letter
    assert fixed[f"{col}{L.ASSESS_HEADER_ROW}"].value == "Examples of evidence"
    rows = L.activity_rows(fw)
    shown = {ref: fixed[f"{col}{r}"].value for ref, r in rows.items()}
    assert shown == {ref: original[f"{col}{r}"].value for ref, r in rows.items()}
    assert all(shown.values())
    # the scale's Not applicable descriptor on the Instructions sheet also survives
    na = ws.framework().scale.not_applicable_descriptor
    texts = [c.value for row in openpyxl.load_workbook(corrections_path(ws, "R1", "C-0001"))[L.INSTRUCTIONS]
             .iter_rows() for c in row if c.value]
    assert na in texts


def test_cells_to_fix_are_red_not_amber(issued):
    """17.17: a blank confirmation (and a blank rating) to fix is red: no amber conditional
    format paints over the red of a cell to fix."""
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    answers = complete_answers(fw)
    del answers["1.3"]
    answers["2.1"] = {"rating": fw.scale.not_applicable}
    drop(ws, "C-0001.xlsx", filled(ws, answers=answers, att=attestation(confirm=None)))
    ingest(ws, corrections=True)
    wb = openpyxl.load_workbook(corrections_path(ws, "R1", "C-0001"))
    rows = L.activity_rows(fw)
    confirm = L.ATTEST_BY_KEY["confirm"].cell
    rating = f"{L.ASSESS_BY_KEY['rating'].letter}{rows['1.3']}"
    evidence = f"{L.ASSESS_BY_KEY['evidence'].letter}{rows['2.1']}"
    red = _red_cells(wb)
    for sheet, cell in ((L.ATTESTATION, confirm), (L.ASSESSMENT, rating), (L.ASSESSMENT, evidence)):
        assert (sheet, cell) in red, (sheet, cell)
        assert wb[sheet][cell].comment is not None
        assert _amber_rules_over(wb[sheet], cell) == [], (sheet, cell)
    # cells not to fix keep their amber reminders
    other = f"{L.ASSESS_BY_KEY['rating'].letter}{rows['1.4']}"
    assert _amber_rules_over(wb[L.ASSESSMENT], other)


def test_a_blank_return_gets_one_sentence_and_no_corrections_workbook(issued):
    """17.17: the workbook sent back untouched: one problem ("the workbook came back empty"),
    no corrections workbook, and the workbook sent stays the one to fill in."""
    ws, _ = issued
    issue = issue_of(ws, "C-0001")
    drop(ws, "C-0001.xlsx", fill_return(ws.root / issue.file_path, {}, None))
    res = ingest(ws, corrections=True)
    (f,) = res.files
    assert f.outcome == "rejected"
    assert len(f.problems) == 1 and f.problems[0].code == "empty-return"
    assert "came back empty" in str(f.problems[0])
    assert issue.file_path.rsplit("/", 1)[-1] in str(f.problems[0])
    assert res.corrections == [] and not corrections_path(ws, "R1", "C-0001").exists()
    note = (ws.root / f"{f.stored}.problems.txt").read_text()
    assert "came back empty" in note and len(note.splitlines()) < 12
    assert issue_of(ws, "C-0001").token == issue.token  # still open, not superseded


def test_a_return_with_one_answer_is_not_empty(issued):
    """One rating typed is not a blank return: the full list, and a corrections workbook."""
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    drop(ws, "C-0001.xlsx", filled(ws, answers={"1.1": {"rating": fw.scale.levels[0].label}}, att={}))
    res = ingest(ws, corrections=True)
    (f,) = res.files
    assert f.outcome == "rejected" and len(f.problems) > 10
    assert all(p.code != "empty-return" for p in f.problems)
    assert len(res.corrections) == 1


def test_a_re_review_sent_back_as_carried_is_empty_too(issued):
    """A re-review's carried answers are ours, not the owner's: sent back untouched (no 'Still
    accurate?', no attestation) it came back empty; one confirmation typed and it did not."""
    ws, _ = issued
    fw = framework_of(ws, issue_of(ws, "C-0001"))
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001"))
    assert ingest(ws).files[0].outcome == "accepted"
    generate_round(ws, "R2", only=["C-0001"], prefill_from="R1")
    r2 = issue_of(ws, "C-0001", "R2")
    drop(ws, "R2 untouched.xlsx", fill_return(ws.root / r2.file_path, {}, None))
    (f,) = ingest(ws, corrections=True).files
    assert [p.code for p in f.problems] == ["empty-return"]
    one = {fw.activities[0].ref: {"confirm": "Yes"}}
    drop(ws, "R2 one.xlsx", fill_return(ws.root / r2.file_path, one, None))
    res = ingest(ws, corrections=True)
    assert "empty-return" not in {p.code for p in res.files[0].problems} and len(res.corrections) == 1
