"""The rules of cmrg_excel.intake.check, one test per rejection reason, on workbooks filled with openpyxl."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from cmrg_excel.kit import layout as L
from cmrg_excel.core import contracts
from cmrg_excel.intake.check import check, parse_date
from cmrg_excel.issue.generate import generate_round
from cmrg_excel.intake.read import limits_for, read_bytes

from . import rulebuilder
from .returns import attestation, complete_answers, filled, framework_of, issue_of, ledger


def run(ws, data: bytes, name: str = "C-0001.xlsx", received=None):
    res = read_bytes(data, limits_for(10 * 1024 * 1024), name)
    assert res.raw is not None, (res.error, res.findings)
    return check(res.raw, ledger(ws), file_name=name, received=received)


def codes(result) -> list[str]:
    return [p.code for p in result.problems]


@pytest.fixture
def fw(issued):
    ws, _ = issued
    return framework_of(ws, issue_of(ws, "C-0001"))


def row_of(fw, ref):
    return L.activity_rows(fw)[ref]


def test_complete_return_is_accepted_with_recomputed_scores(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    result = run(ws, filled(ws, answers=answers))
    assert result.ok, [str(p) for p in result.problems]
    assert result.contract_id == "C-0001" and result.round == "R1"
    assert len(result.answers) == len(fw.activities)
    by_ref = {a.ref: a for a in result.answers}
    for ref, given in answers.items():
        a = by_ref[ref]
        assert a.rating == given["rating"]
        assert a.score == (None if given["rating"] == fw.scale.not_applicable else fw.scale.score_of(given["rating"]))
        assert a.evidence == given.get("evidence", "")
        assert a.row == row_of(fw, ref) and a.sheet == L.ASSESSMENT
    assert result.attested_name == "Jane Example" and result.attested_on == dt.date.today().isoformat()


def test_pasted_invalid_rating_names_cell_activity_and_choices(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.7"]["rating"] = "Good-ish"
    result = run(ws, filled(ws, answers=answers))
    assert codes(result) == ["bad-rating"]
    p = result.problems[0]
    assert (p.sheet, p.cell, p.ref, p.found) == (L.ASSESSMENT, f"D{row_of(fw, '1.7')}", "1.7", '"Good-ish"')
    assert str(p).startswith(f'Assessment!D{row_of(fw, "1.7")} (activity 1.7): "Good-ish" is not a rating; '
                             "choose one from the dropdown list")
    assert "2 Good" in p.expected


def test_rating_case_and_spaces_are_forgiven_numbers_are_not(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.1"]["rating"] = "  2   good "
    answers["1.2"]["rating"] = 2
    result = run(ws, filled(ws, answers=answers))
    assert codes(result) == ["bad-rating"]
    assert result.problems[0].ref == "1.2"
    answers["1.2"]["rating"] = "3 BETTER"
    result = run(ws, filled(ws, answers=answers))
    assert result.ok
    assert {a.ref: a.rating for a in result.answers}["1.1"] == "2 Good"


def test_every_rating_is_required(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    del answers["2.3"]
    result = run(ws, filled(ws, answers=answers))
    assert codes(result) == ["missing-rating"]
    assert str(result.problems[0]) == (f"Assessment!D{row_of(fw, '2.3')} (activity 2.3): no rating given; choose one "
                                       "from the dropdown list")


def test_not_applicable_needs_a_reason_but_better_without_evidence_is_accepted(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.1"] = {"rating": fw.scale.not_applicable}
    answers["1.2"] = {"rating": "4 Best"}
    result = run(ws, filled(ws, answers=answers))
    assert codes(result) == ["na-needs-reason"]
    p = result.problems[0]
    assert p.cell == f"F{row_of(fw, '1.1')}" and "needs a reason" in p.message


def test_action_needs_owner_and_target_date(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.1"] = {"rating": "1 Developing", "action": "Write a plan"}
    answers["1.2"] = {"rating": "1 Developing", "action_owner": "Sam"}
    result = run(ws, filled(ws, answers=answers))
    got = {(p.ref, p.code, p.cell) for p in result.problems}
    r1, r2 = row_of(fw, "1.1"), row_of(fw, "1.2")
    assert got == {("1.1", "missing-owner", f"H{r1}"), ("1.1", "missing-target-date", f"I{r1}"),
                   ("1.2", "missing-action", f"G{r2}"), ("1.2", "missing-target-date", f"I{r2}")}


@pytest.mark.parametrize("value, expected", [
    (dt.date(2027, 3, 31), dt.date(2027, 3, 31)),
    (46477.0, dt.date(2027, 3, 31)),
    ("31/03/2027", dt.date(2027, 3, 31)),
    ("2027-03-31", dt.date(2027, 3, 31)),
    ("31 March 2027", dt.date(2027, 3, 31)),
    ("1.4.2027", dt.date(2027, 4, 1)),
])
def test_target_date_forms_accepted(issued, fw, value, expected):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.1"] = {"rating": "1 Developing", "action": "Plan", "action_owner": "Sam", "target_date": value}
    result = run(ws, filled(ws, answers=answers))
    assert result.ok, [str(p) for p in result.problems]
    assert {a.ref: a for a in result.answers}["1.1"].target_date == expected.isoformat()


@pytest.mark.parametrize("value, words", [
    ("31/03/27", "two-digit year"), ("next spring", "is not a date"), ("31/02/2027", "there is no 31 February 2027"),
    ("1/1/1990", "not a plausible date"),
])
def test_target_date_refused(issued, fw, value, words):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.1"] = {"rating": "1 Developing", "action": "Plan", "action_owner": "Sam", "target_date": value}
    result = run(ws, filled(ws, answers=answers))
    assert codes(result) == ["bad-date"]
    assert result.problems[0].cell == f"I{row_of(fw, '1.1')}" and words in result.problems[0].message


def test_parse_date_edge_cases():
    assert parse_date(True)[0] is None
    assert parse_date(float("nan"))[0] is None
    assert parse_date(dt.datetime(2027, 1, 2, 13, 5))[0] == dt.date(2027, 1, 2)
    assert parse_date("2027-01-02 00:00:00")[0] == dt.date(2027, 1, 2)


def test_returns_read_dates_with_the_contract_lists_reader():
    # One implementation, called directly on the ingest path (no wrapper around it).
    assert parse_date is contracts.read_date


@pytest.mark.parametrize("value", [
    "31/03/2027", "31 - 03 - 2027", "31.03.2027", "31st March 2027", "31 Mar 2027", "2027-03-31",
    "2027-03-31 00:00:00", "2027-03-31T10:30", dt.datetime(2027, 3, 31, 13, 5), dt.date(2027, 3, 31), 46477,
    46477.75,
])
def test_returns_date_forms(value):
    assert parse_date(value) == (dt.date(2027, 3, 31), "")


@pytest.mark.parametrize("value, why", [
    ("31/03/27", "has a two-digit year; write the year in full"), ("31-03-27", "has a two-digit year; write the year in full"),
    ("31/02/2027", "is not a real date: there is no 31 February 2027"),
    ("2027-02-31", "is not a real date: there is no 31 February 2027"),
    ("29 February 2027", "is not a real date: there is no 29 February 2027"),
    ("12/13/2027", "is not a real date: there is no month 13 (months run from 1 to 12)"), ("31 Febuary 2027", "is not a date"),
    (True, "is not a date"), (float("nan"), "is not a date"), ("hello", "is not a date"), (0, "is not a date"),
    (None, "is not a date"),
])
def test_returns_refuse_with_the_reason(value, why):
    assert parse_date(value) == (None, why)


def test_text_too_long(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.1"]["evidence"] = "x" * (L.MAX_TEXT["evidence"] + 1)
    result = run(ws, filled(ws, answers=answers))
    assert codes(result) == ["too-long"] and result.problems[0].cell == f"F{row_of(fw, '1.1')}"


def test_attestation_problems_all_reported(issued, fw):
    ws, _ = issued
    future = dt.date.today() + dt.timedelta(days=10)
    result = run(ws, filled(ws, att={"name": "", "role": "Manager", "date": future, "confirm": "No"}))
    got = {(p.cell, p.code) for p in result.problems}
    assert got == {("C6", "attestation-incomplete"), ("C8", "attestation-date"), ("C9", "attestation-incomplete")}
    assert any("in the future" in p.message for p in result.problems)
    result = run(ws, filled(ws, att=attestation(date=dt.date(2020, 1, 1))))
    assert codes(result) == ["attestation-date"] and "before the workbook was issued" in result.problems[0].message
    result = run(ws, filled(ws, att={"name": "J", "role": "R"}))
    assert {p.cell for p in result.problems} == {"C8", "C9"}


def test_all_problems_of_a_file_at_once(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    answers["1.1"]["rating"] = "Good-ish"
    answers["3.2"] = {"rating": fw.scale.not_applicable}
    del answers["8.1"]
    result = run(ws, filled(ws, answers=answers, att=attestation(confirm="")))
    assert sorted(codes(result)) == ["attestation-incomplete", "bad-rating", "missing-rating", "na-needs-reason"]


def test_answer_outside_activity_rows_is_refused(issued, fw):
    ws, _ = issued
    area_row = L.ASSESS_FIRST_ROW  # the first area heading row
    result = run(ws, filled(ws, cells={(L.ASSESSMENT, f"D{area_row}"): "2 Good"}))
    assert codes(result) == ["stray-answer"] and result.problems[0].cell == f"D{area_row}"


def test_moved_rows_are_matched_by_ref(issued, fw):
    ws, _ = issued
    answers = complete_answers(fw)
    data = filled(ws, answers=answers)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    sh = wb[L.ASSESSMENT]
    r1, r2 = row_of(fw, "1.1"), row_of(fw, "1.2")
    for col in "ABCDEFGHI":
        a, b = sh[f"{col}{r1}"], sh[f"{col}{r2}"]
        a.value, b.value = b.value, a.value
    out = io.BytesIO()
    wb.save(out)
    result = run(ws, out.getvalue())
    assert result.ok, [str(p) for p in result.problems]
    by_ref = {a.ref: a for a in result.answers}
    assert by_ref["1.1"].row == r2 and by_ref["1.1"].rating == answers["1.1"]["rating"]
    assert [n.code for n in result.notes] == ["rows-moved"]


def test_deleted_row_is_reported(issued, fw):
    ws, _ = issued
    data = filled(ws)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb[L.ASSESSMENT].delete_rows(row_of(fw, "1.3"))
    out = io.BytesIO()
    wb.save(out)
    result = run(ws, out.getvalue())
    assert "missing-row" in codes(result)
    assert any(p.ref == "1.3" for p in result.problems if p.code == "missing-row")


# --- identity ---------------------------------------------------------------------------

def test_a_return_named_for_another_contract_is_its_workbooks_with_a_note(issued):
    """Identity comes from the workbook's token, never its file name: a note, not a refusal."""
    ws, _ = issued
    result = run(ws, filled(ws, "C-0001"), name="C-0002.xlsx")
    assert result.ok and result.contract_id == "C-0001"
    (note,) = [n for n in result.notes if n.code == "name-mismatch"]
    assert note.message.startswith("Needs a look: the file is named for C-0002")
    assert "cmrg decide withdraw C-0001 --round R1" in note.message


def test_contract_sheet_showing_another_contract(issued):
    ws, _ = issued
    data = filled(ws, "C-0001", cells={(L.CONTRACT, L.contract_cell("contract_id")): "C-0002"})
    result = run(ws, data, name="return.xlsx")
    assert codes(result) == ["wrong-contract"] and result.problems[0].cell == "B5"


def test_altered_contract_details(issued):
    ws, _ = issued
    data = filled(ws, cells={(L.CONTRACT, L.contract_cell("supplier")): "Other Ltd"})
    result = run(ws, data)
    assert codes(result) == ["altered-contract"]
    assert result.problems[0].cell == L.contract_cell("supplier") and "Correction" in result.problems[0].message


def test_corrections_are_kept_not_refused(issued):
    ws, _ = issued
    result = run(ws, filled(ws, corrections={"owner_name": "New Owner"}))
    assert result.ok and result.corrections == {"owner_name": "New Owner"}


def test_altered_metadata(issued):
    ws, _ = issued
    result = run(ws, filled(ws, cells={(L.META, L.meta_cell("round")): "R9"}))
    assert codes(result) == ["altered-metadata"] and result.problems[0].cell == L.meta_cell("round")


def test_unknown_token(issued):
    ws, _ = issued
    result = run(ws, filled(ws, cells={(L.META, L.meta_cell("issue_token")): "not-a-real-token"}))
    assert codes(result) == ["unknown-token"] and "never issued" in result.problems[0].message


def test_missing_metadata_sheet(issued):
    ws, _ = issued
    wb = openpyxl.load_workbook(io.BytesIO(filled(ws)))
    del wb[L.META]
    out = io.BytesIO()
    wb.save(out)
    result = run(ws, out.getvalue())
    assert codes(result) == ["no-metadata"] and "C-0001.xlsx" in result.problems[0].message


@pytest.mark.parametrize("state", ["hidden", "visible"])
def test_metadata_sheet_visibility_does_not_matter(issued, state):
    ws, _ = issued
    wb = openpyxl.load_workbook(io.BytesIO(filled(ws)))
    wb[L.META].sheet_state = state
    out = io.BytesIO()
    wb.save(out)
    assert run(ws, out.getvalue()).ok


def test_superseded_issue_names_the_newer_file(issued):
    ws, _ = issued
    old = issue_of(ws, "C-0001")
    data = filled(ws, issue=old)
    generate_round(ws, "R1", only=["C-0001"], force=True)
    result = run(ws, data)
    assert codes(result) == ["superseded"]
    assert "C-0001.xlsx" in result.problems[0].message and "newer" in result.problems[0].message


def test_old_round(issued):
    ws, _ = issued
    data = filled(ws, "C-0001")
    generate_round(ws, "R2")
    result = run(ws, data)
    assert codes(result) == ["old-round"]
    assert "earlier review round (R1)" in result.problems[0].message and "R2" in result.problems[0].message


def test_re_review_answers_must_be_confirmed_or_updated(issued, fw):
    from cmrg_excel.intake.ingest import ingest

    from .returns import drop

    ws, _ = issued
    answers = complete_answers(fw)
    drop(ws, "C-0001.xlsx", filled(ws, "C-0001", answers=answers))
    assert ingest(ws).files[0].outcome == "accepted"
    generate_round(ws, "R2", only=["C-0001"], prefill_from="R1")
    issue2 = issue_of(ws, "C-0001", "R2")
    assert issue2.prefill and issue2.prefill["1.1"]["rating"] == answers["1.1"]["rating"]
    # Untouched: every carried-forward answer needs Yes or an update.
    result = run(ws, filled(ws, "C-0001", "R2", answers={}))
    assert {p.code for p in result.problems} == {"unconfirmed"}
    assert len(result.problems) == len(fw.activities)
    assert result.problems[0].cell == f"K{row_of(fw, fw.activities[0].ref)}"
    # Confirmed everywhere, one rating changed, one bad confirm value.
    refs = [a.ref for a in fw.activities]
    new = {ref: {"confirm": "Yes"} for ref in refs}
    new[refs[1]] = {"rating": "4 Best", "evidence": "Plan rewritten and approved by the board in 2027"}
    result = run(ws, filled(ws, "C-0001", "R2", answers=new))
    assert result.ok, [str(p) for p in result.problems[:3]]
    change = {a.ref: a.change for a in result.answers}
    assert change[refs[1]] == "changed" and change[refs[0]] == "re-confirmed"
    new[refs[2]] = {"confirm": "Maybe"}
    result = run(ws, filled(ws, "C-0001", "R2", answers=new))
    assert [p.code for p in result.problems] == ["bad-confirm"]


def test_duplicate_rows_are_reported(issued, fw):
    ws, _ = issued
    r2 = row_of(fw, "1.2")
    result = run(ws, filled(ws, cells={(L.ASSESSMENT, f"A{r2}"): "1.1"}))
    got = {p.code for p in result.problems}
    assert got == {"duplicate-row", "missing-row"}


# --- the plain-data builder of tests/test_rules_check.py is held to the reader -------------------

def test_builder_speaks_the_readers_language(issued):
    """The same answers written into an issued workbook and read back give the builder's RawReturn."""
    ws, _ = issued
    iss = issue_of(ws, "C-0001")
    fw = framework_of(ws, iss)
    answers = complete_answers(fw, seed=3)
    answers["1.2"] = {"rating": "1 Developing", "action": "Plan", "action_owner": "Sam", "target_date": "31/03/2027"}
    A = L.ASSESSMENT
    cells = {(A, "D5"): "2 Good", (L.CONTRACT, "C6"): "A better title"}
    att = attestation(date=dt.date.today())
    read = read_bytes(filled(ws, answers=answers, att=att, cells=cells), limits_for(10 * 1024 * 1024), "x.xlsx").raw
    built = rulebuilder.ret(iss, fw, answers=answers, att=att, cells=cells)
    assert read.sheets == built.sheets
    assert read.meta == built.meta and read.meta_labels == built.meta_labels
    assert read.contract == built.contract and read.corrections == built.corrections
    assert read.attestation == built.attestation
    assert read.rows == built.rows
    assert read.outside == built.outside == [] and read.formulas == built.formulas == {}


# --- formulas, text outside the table, extra sheets, the Ref column re-ordered (issues 11.4, 11.6) --------

def _patched(data: bytes, fn) -> bytes:
    """A filled return with its Assessment sheet's XML rewritten by ``fn`` (as another program would save it)."""
    from .hostile import members, rezip

    parts = members(data)
    wb = parts["xl/workbook.xml"].decode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    import re

    rid = re.search(r'<sheet[^>]*name="Assessment"[^>]*r:id="(rId\d+)"', wb).group(1)
    target = re.search(rf'Id="{rid}"[^>]*Target="/?(?:xl/)?([^"]+)"', rels) or \
        re.search(rf'Target="/?(?:xl/)?([^"]+)"[^>]*Id="{rid}"', rels)
    part = "xl/" + target.group(1)
    return rezip(data, {part: fn(parts[part].decode()).encode()})


def _formula(data: bytes, cell: str, formula: str, cached: str | None) -> bytes:
    """The cell turned into a formula cell, with ``cached`` as its cached value (None: no cached value,
    as openpyxl and Google Sheets write formulas)."""
    import re
    from xml.sax.saxutils import escape

    def rewrite(xml: str) -> str:
        old = re.search(rf'<c r="{cell}"(?: [^>]*)?(?:/>|>.*?</c>)', xml).group(0)
        style = re.search(r' s="\d+"', old)
        value = "" if cached is None else f"<v>{escape(cached)}</v>"
        new = f'<c r="{cell}"{style.group(0) if style else ""} t="str"><f>{escape(formula)}</f>{value}</c>'
        return xml.replace(old, new)

    return _patched(data, rewrite)


def test_a_rating_formula_with_a_misleading_cached_value_is_refused(issued, fw):
    ws, _ = issued
    r = row_of(fw, "1.3")
    # Excel would show 0 Not in place; the cached value says 4 Best, as a stale or hand-made file can
    data = _formula(filled(ws), f"D{r}", 'IF(TODAY()>0,"0 Not in place","4 Best")', "4 Best")
    result = run(ws, data)
    assert codes(result) == ["formula"], [str(p) for p in result.problems]
    p = result.problems[0]
    assert (p.sheet, p.cell, p.ref) == (L.ASSESSMENT, f"D{r}", "1.3")
    assert p.message == ('the rating cell holds a formula (=IF(TODAY()>0,"0 Not in place","4 Best")), not a value: '
                         "type the value, not a formula")


def test_an_evidence_formula_without_a_cached_value_is_refused_not_stored_as_blank(issued, fw):
    ws, _ = issued
    cell = f"F{row_of(fw, '1.4')}"
    result = run(ws, _formula(filled(ws), cell, "Notes!A1", None))
    assert codes(result) == ["formula"], [str(p) for p in result.problems]
    assert (result.problems[0].cell, result.problems[0].ref, result.problems[0].found) == (cell, "1.4", "=Notes!A1")


def test_text_beside_the_table_and_an_extra_sheet_are_not_lost_without_a_word(issued, fw):
    ws, _ = issued
    data = filled(ws, cells={(L.ASSESSMENT, f"M{row_of(fw, '2.1')}"): "see the contract file",
                             (L.CONTRACT, "E7"): "Title changed in 2025"})
    book = openpyxl.load_workbook(io.BytesIO(data))
    book.create_sheet("My notes")["A1"] = "Supporting notes"
    out = io.BytesIO()
    book.save(out)
    result = run(ws, out.getvalue())
    assert codes(result) == ["outside-table", "outside-table"]
    assert {(p.sheet, p.cell) for p in result.problems} == {(L.ASSESSMENT, f"M{row_of(fw, '2.1')}"), (L.CONTRACT, "E7")}
    assert [n.code for n in result.notes] == ["extra-sheet"] and "'My notes'" in result.notes[0].message


def test_a_reference_column_reordered_on_its_own_is_refused(issued, fw):
    """As a Google Sheets download or an unprotected copy allows: the Refs sorted, nothing else."""
    ws, _ = issued
    book = openpyxl.load_workbook(io.BytesIO(filled(ws)))
    sh = book[L.ASSESSMENT]
    rows = [row_of(fw, a.ref) for a in fw.activities if a.area == 1]
    refs = [sh[f"A{r}"].value for r in rows]
    for r, ref in zip(rows, reversed(refs)):
        sh[f"A{r}"] = ref
    out = io.BytesIO()
    book.save(out)
    result = run(ws, out.getvalue())
    moved = [ref for ref, r in zip(refs, rows) if ref != sh[f"A{r}"].value]
    assert codes(result) == ["ref-mismatch"] * len(moved) and moved
    assert all("copy your answers into a fresh copy" in p.message for p in result.problems)
