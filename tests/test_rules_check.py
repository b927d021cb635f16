"""Every rule of cmrg_excel.intake.check, one quick assertion each, on returns built as plain data.

Each test names the problem code and the words of the message, so a rule that stops firing, or
fires from another rule, fails here (tests/test_check.py keeps proving the same rules through
real workbooks). The builder is tests/rulebuilder.py; tests/test_check.py::test_builder_speaks_the_readers_language
proves it hands check() exactly what the reader does.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cmrg_excel.kit import layout as L
from cmrg_excel.intake.check import Ledger, Problem, shown
from cmrg_excel.core.values import text_of
from cmrg_excel.core.framework import from_dict

from .rulebuilder import (FW, ISSUE, RECEIVED, SIGNED, answer, cell, codes, issue, ledger, only, ret,
                          run, table, with_status)

A = L.ASSESSMENT
ATT = L.ATTESTATION


def test_a_complete_return_is_accepted_with_every_answer_and_the_attestation():
    result = run(ret())
    assert result.ok and result.notes == []
    assert (result.token, result.contract_id, result.round, result.framework_hash) == (
        ISSUE.token, "C-0001", "R1", FW.content_hash)
    assert result.issue is ISSUE and result.corrects is None and result.entered is None
    assert [a.ref for a in result.answers] == [a.ref for a in FW.activities]
    assert (result.attested_name, result.attested_role, result.attested_on) == (
        "Jane Example", "Contract manager", SIGNED.isoformat())


def test_an_answer_carries_its_place_and_recomputed_score():
    result = run(ret(rows=table("""
        | ref | rating          | evidence      |
        | 1.1 | 3 Better        | Board minutes |
        | 2.3 | Not applicable  | No assets     |
    """)))
    a = answer(result, "1.1")
    assert a == (  # an Answer is a tuple: every field at once
        "1.1", 1, "3 Better", 3.0, False, "Board minutes", "", "", None, "new", "1.1", A, L.activity_rows(FW)["1.1"])
    na = answer(result, "2.3")
    assert (na.score, na.not_applicable, na.area) == (None, True, 2)
    assert [a.score for a in result.answers if a.rating == "0 Not in place"][0] == 0.0


# --- identity -------------------------------------------------------------------------------

@pytest.mark.parametrize("sheet", [L.CONTRACT, L.ASSESSMENT, L.ATTESTATION])
def test_a_missing_sheet_is_named(sheet):
    result = run(ret(drop=(sheet,)))
    p = next(p for p in result.problems if p.code == "missing-sheet")
    assert (p.sheet, p.expected) == (sheet, f"a sheet named {sheet}")
    assert p.message.startswith(f"The {sheet} sheet is missing (it may have been renamed or deleted).")
    assert [p.code for p in result.problems].count("missing-sheet") == 1


def test_without_the_attestation_sheet_only_the_missing_sheet_is_reported():
    assert codes(run(ret(drop=(L.ATTESTATION,)))) == ["missing-sheet"]


def test_without_the_metadata_sheet_the_workbook_sent_is_named():
    p = only(run(ret(drop=(L.META,))), "no-metadata")
    assert (p.sheet, p.found) == (L.META, "(missing)") and str(p) == p.message
    assert "This is not a workbook we issued" in p.message
    assert p.message.endswith("The workbook sent for C-0001 is C-0001.xlsx.")


def test_the_hint_names_the_newest_open_workbook_of_the_contract():
    r1 = issue(round="R1", file_path="outbox/R1/C-0001.xlsx", generated_at="2026-11-02T09:00:00+00:00")
    r2 = issue(round="R2", file_path="outbox/R2/C-0001-R2.xlsx", generated_at="2027-05-02T09:00:00+00:00")
    for order in ((r1, r2), (r2, r1)):
        p = only(run(ret(r2, drop=(L.META,)), ledger(*order)), "no-metadata")
        assert p.message.endswith("The workbook sent for C-0001 is C-0001-R2.xlsx.")


def test_latest_open_is_the_newest_issue_in_the_round_asked_for():
    old = issue(round="R1", generated_at="2026-11-02T09:00:00+00:00")
    new = issue(round="R1", generated_at="2026-11-09T09:00:00+00:00")
    r2 = issue(round="R2", generated_at="2027-05-02T09:00:00+00:00")
    closed = issue(round="R3", generated_at="2027-09-02T09:00:00+00:00", status="superseded")
    for order in ((old, new, r2, closed), (closed, r2, new, old)):
        led = ledger(*order)
        assert led.latest_open("C-0001", "R1") is new
        assert led.latest_open("C-0001") is r2
        assert led.latest_open("C-0001", "R3") is None and led.latest_open("C-0009") is None
        assert led.latest_round("C-0001") == "R3" and led.latest_round("C-0009") is None


def test_without_metadata_and_an_unknown_contract_there_is_no_hint():
    raw = ret(drop=(L.META,), cells={(L.CONTRACT, "B5"): "C-0999"})
    assert only(run(raw), "no-metadata").message.endswith("Please send back the workbook we sent you, filled in.")


def test_an_unknown_token_is_refused_naming_the_workbook_sent():
    raw = ret(cells={(L.META, L.meta_cell("issue_token")): "not-ours"})
    p = only(run(raw), "unknown-token")
    assert (p.cell, p.found) == (L.meta_cell("issue_token"), '"not-ours"')
    assert "never issued from this register" in p.message
    assert p.message.endswith("The workbook we sent for C-0001 is C-0001.xlsx (round R1).")
    assert run(raw).token is None and run(raw).contract_id is None


def test_answers_of_a_return_with_an_unknown_token_are_still_checked():
    """The owner hears every problem at once: a stray token does not hide a bad rating."""
    raw = ret(rows={"1.1": {"rating": "Good-ish"}}, cells={(L.META, L.meta_cell("issue_token")): "not-ours"})
    assert codes(run(raw)) == ["unknown-token", "bad-rating"]


def test_an_unknown_token_on_an_unknown_framework_reports_only_the_token():
    raw = ret(rows={"1.1": {"rating": "Good-ish"}}, cells={
        (L.META, L.meta_cell("issue_token")): "not-ours", (L.META, L.meta_cell("framework_hash")): "f" * 64})
    assert codes(run(raw)) == ["unknown-token"]


def test_a_framework_missing_from_the_register_stops_the_check():
    p = only(run(ret(rows={"1.1": {"rating": "Good-ish"}}), ledger(frameworks={})), "framework-missing")
    assert p.found == FW.content_hash[:12] and "missing from the register" in p.message


@pytest.mark.parametrize("key", [k for k in L.META_KEYS if k not in ("tool_version", "issue_token")])
def test_every_metadata_value_must_be_as_issued(key):
    raw = ret(cells={(L.META, L.meta_cell(key)): "changed"})
    result = run(raw)
    p = next(p for p in result.problems if p.code == "altered-metadata")
    assert (p.sheet, p.cell, p.found) == (L.META, L.meta_cell(key), '"changed"')
    assert p.message.startswith(f"The hidden identity sheet was changed: {key} is \"changed\" but this workbook")


@pytest.mark.parametrize("key", [k for k in L.META_KEYS if k != "tool_version"])
def test_every_metadata_label_must_be_as_issued(key):
    raw = ret(cells={(L.META, "A" + L.meta_cell(key)[1:]): "something else"})
    p = only(run(raw), "altered-metadata")
    assert p.cell == L.meta_cell(key)


def test_the_tool_version_may_differ():
    """A return made by an older or newer cmrg is the same workbook."""
    raw = ret(cells={(L.META, L.meta_cell("tool_version")): "0.0.1", (L.META, "A10"): "tool"})
    assert run(raw).ok


def test_another_contracts_id_on_the_contract_sheet():
    other = issue("C-0002", file_path="outbox/R1/C-0002.xlsx")
    p = only(run(ret(cells={(L.CONTRACT, "B5"): "C-0002"}), ledger(ISSUE, other)), "wrong-contract")
    assert (p.sheet, p.cell, p.found, p.expected) == (L.CONTRACT, "B5", '"C-0002"', '"C-0001"')
    assert p.message.startswith("This is another contract's workbook: it was issued for C-0001 (Highways maintenance)")
    assert p.message.endswith("The workbook for C-0002 is C-0002.xlsx.")


def test_the_contract_id_is_compared_as_text_forgiving_case_and_spaces():
    assert run(ret(cells={(L.CONTRACT, "B5"): "  c-0001 "})).ok
    numeric = issue("12345")
    assert run(ret(numeric, cells={(L.CONTRACT, "B5"): 12345.0}), ledger(numeric), file_name="r.xlsx").ok


@pytest.mark.parametrize("key", ["title", "supplier", "directorate"])
def test_identity_details_must_not_change(key):
    p = only(run(ret(cells={(L.CONTRACT, L.contract_cell(key)): "Changed Ltd"})), "altered-contract")
    assert (p.cell, p.found) == (L.contract_cell(key), '"Changed Ltd"')
    label = next(f.label for f in L.CONTRACT_FIELDS if f.key == key).lower()
    assert p.message.startswith(f"The {label} was changed from \"{ISSUE.contract_snapshot[key]}\" to \"Changed Ltd\".")
    assert "write the correct value in column C (Correction)" in p.message


def test_other_details_may_change_and_case_and_spaces_are_forgiven():
    raw = ret(cells={(L.CONTRACT, L.contract_cell("owner_name")): "Someone Else",
                     (L.CONTRACT, L.contract_cell("title")): "  HIGHWAYS   maintenance"})
    assert run(raw).ok


def test_a_file_named_for_another_contract():
    other = issue("C-0002", file_path="outbox/R1/C-0002.xlsx")
    led = ledger(ISSUE, other)
    p = only(run(ret(), led, file_name="C-0002 return.xlsx"), "wrong-contract")
    assert (p.found, p.expected) == ("C-0002 return.xlsx", "C-0001")
    assert "the file is named for C-0002, but it is the workbook issued for C-0001" in p.message
    assert p.message.endswith("The workbook for C-0002 is C-0002.xlsx.")
    for fine in ("C-0001.xlsx", "C-0001 and C-0002.xlsx", "return.xlsx", "XC-0002.xlsx"):
        assert run(ret(), led, file_name=fine).ok, fine


def test_a_workbook_of_an_earlier_round():
    r2 = issue(round="R2", file_path="outbox/R2/C-0001.xlsx", generated_at="2027-05-02T09:00:00+00:00")
    p = only(run(ret(), ledger(ISSUE, r2)), "old-round")
    assert (p.cell, p.found, p.expected) == (L.meta_cell("round"), "R1", "R2")
    assert "from an earlier review round (R1). Round R2 has started" in p.message
    assert "(C-0001.xlsx, sent 2027-05-02)" in p.message


def test_a_replaced_workbook_names_the_newer_file():
    newer = issue(file_path="outbox/R1/C-0001-v2.xlsx", generated_at="2026-11-05T09:00:00+00:00")
    old = with_status(ISSUE, status="superseded", superseded_by=newer.token)
    p = only(run(ret(old), ledger(old, newer)), "superseded")
    assert (p.found, p.expected) == ("issued 2026-11-02", "the workbook issued 2026-11-05")
    assert "replaced by a newer one for C-0001: C-0001-v2.xlsx (sent 2026-11-05)" in p.message
    lost = with_status(ISSUE, status="superseded", superseded_by="gone")
    assert "a newer workbook." in only(run(ret(lost), ledger(lost)), "superseded").message


def test_a_workbook_replaced_by_a_corrections_workbook_points_to_it():
    corr = issue(kind="correction", file_path="outbox/R1/corrections/C-0001.xlsx",
                 generated_at="2026-11-15T09:00:00+00:00", reissue_of=7)
    old = with_status(ISSUE, status="superseded", superseded_by=corr.token)
    p = only(run(ret(old), ledger(old, corr)), "superseded")
    assert "A corrections workbook was sent for C-0001 on 2026-11-15 (C-0001.xlsx)" in p.message
    fixed = run(ret(corr, att={"date": dt.date(2026, 11, 16)}), ledger(old, corr))
    assert fixed.ok and fixed.corrects == 7


# --- the Contract sheet's corrections ---------------------------------------------------------

def test_corrections_are_kept_up_to_their_limit():
    limit = L.MAX_TEXT["correction"]
    result = run(ret(corrections={"owner_name": "x" * limit, "risk": 3.0, "title": "  "}))
    assert result.ok and result.corrections == {"owner_name": "x" * limit, "risk": "3"}
    p = only(run(ret(corrections={"owner_name": "x" * (limit + 1)})), "too-long")
    assert (p.sheet, p.cell, p.found) == (L.CONTRACT, L.contract_cell("owner_name", "C"), f"{limit + 1} characters")
    assert p.message == f"The correction to contract owner is {limit + 1} characters long; keep it to {limit}."


# --- the Assessment sheet -------------------------------------------------------------------

def test_every_activity_needs_a_rating():
    p = only(run(ret(rows={"2.3": {"evidence": "some"}})), "missing-rating")
    assert (p.cell, p.ref, p.found) == (cell("2.3", "rating"), "2.3", "(blank)")
    assert str(p) == f"Assessment!{cell('2.3', 'rating')} (activity 2.3): no rating given; choose one from the dropdown list"


@pytest.mark.parametrize("value", ["Good-ish", 2, 2.0, True, "2", "Good"])
def test_a_rating_must_be_one_of_the_list(value):
    p = only(run(ret(rows={"1.7": {"rating": value, "evidence": "e"}})), "bad-rating")
    assert (p.cell, p.ref, p.found) == (cell("1.7", "rating"), "1.7", shown(value))
    assert p.expected == ", ".join(FW.scale.labels)
    assert p.message == f"{shown(value)} is not a rating; choose one from the dropdown list ({p.expected})"


def test_rating_case_and_spaces_are_forgiven():
    result = run(ret(rows={"1.1": {"rating": "  2   gOOd "}, "1.2": {"rating": "not APPLICABLE", "evidence": "x"}}))
    assert result.ok
    assert answer(result, "1.1").rating == "2 Good" and answer(result, "1.2").rating == "Not applicable"


def test_not_applicable_needs_its_reason_and_better_needs_no_evidence():
    p = only(run(ret(rows={"1.1": {"rating": "Not applicable", "evidence": "   "}, "1.2": {"rating": "4 Best"}})),
             "na-needs-reason")
    assert (p.cell, p.found) == (cell("1.1", "evidence"), "(blank)")
    assert p.message.startswith("Not applicable needs a reason: say in Evidence why")


@pytest.mark.parametrize("key", ["evidence", "action", "action_owner"])
@pytest.mark.parametrize("target", [dt.date(2027, 3, 31), "31/03/2027"], ids=["date-cell", "text-date"])
def test_text_must_fit_its_limit(key, target):
    """On both paths through the rules: a date cell (the common case) and a date typed as text."""
    limit = L.MAX_TEXT[key]
    row = {"rating": "1 Developing", "evidence": "e", "action": "Plan", "action_owner": "Sam", "target_date": target}
    assert run(ret(rows={"1.1": {**row, key: "x" * limit}})).ok
    p = only(run(ret(rows={"1.1": {**row, key: "x" * (limit + 1)}})), "too-long")
    heading = L.ASSESS_BY_KEY[key].heading.split(":")[0].lower()
    assert (p.cell, p.found, p.expected) == (cell("1.1", key), f"{limit + 1} characters", f"at most {limit}")
    assert p.message == f"the {heading} is {limit + 1} characters long; keep it to {limit}"


@pytest.mark.parametrize("given, missing", [
    ({"action": "Plan"}, ["missing-owner", "missing-target-date"]),
    ({"action_owner": "Sam"}, ["missing-action", "missing-target-date"]),
    ({"target_date": dt.date(2027, 3, 31)}, ["missing-action", "missing-owner"]),
    ({"target_date": "31/03/2027"}, ["missing-action", "missing-owner"]),
    ({"action": "Plan", "action_owner": "Sam"}, ["missing-target-date"]),
    ({"action": "Plan", "target_date": dt.date(2027, 3, 31)}, ["missing-owner"]),
    ({"action_owner": "Sam", "target_date": dt.date(2027, 3, 31)}, ["missing-action"]),
    ({"action": "  ", "action_owner": "Sam", "target_date": dt.date(2027, 3, 31)}, ["missing-action"]),
])
def test_an_action_needs_all_three_of_action_owner_and_date(given, missing):
    result = run(ret(rows={"1.1": {"rating": "1 Developing", **given}}))
    assert codes(result) == missing
    words = {"missing-action": "no improvement action", "missing-owner": "needs an action owner",
             "missing-target-date": "needs a target date"}
    for p in result.problems:
        assert p.cell == cell("1.1", {"missing-action": "action", "missing-owner": "action_owner",
                                      "missing-target-date": "target_date"}[p.code])
        assert words[p.code] in p.message


def test_a_complete_action_is_kept_trimmed():
    result = run(ret(rows={"1.1": {"rating": "1 Developing", "action": " Plan ", "action_owner": " Sam ",
                                   "target_date": dt.datetime(2027, 3, 31, 15, 30)}}))
    a = answer(result, "1.1")
    assert (a.action, a.action_owner, a.target_date) == ("Plan", "Sam", "2027-03-31")
    assert a in result.actions and all(x.action for x in result.actions)
    assert len(result.actions) == sum(1 for x in result.answers if x.action) < len(result.answers)


@pytest.mark.parametrize("day, ok", [
    (dt.date(1999, 12, 31), False), (dt.date(2000, 1, 1), True), (dt.date(2099, 12, 31), True),
    (dt.date(2100, 1, 1), False), (dt.datetime(1999, 12, 31, 23, 59), False), (dt.datetime(2100, 1, 1), False),
])
@pytest.mark.parametrize("form", ["date-cell", "text"])
def test_a_target_date_must_be_in_2000_to_2099(day, ok, form):
    value = day if form == "date-cell" else day.strftime("%d/%m/%Y")
    result = run(ret(rows={"1.1": {"rating": "1 Developing", "action": "Plan", "action_owner": "Sam",
                                   "target_date": value}}))
    if ok:
        assert result.ok and answer(result, "1.1").target_date == day.isoformat()[:10]
        return
    p = only(result, "bad-date")
    shown_day = day.strftime("%d/%m/%Y")
    assert (p.cell, p.found, p.expected) == (cell("1.1", "target_date"), shown_day, "a date between 2000 and 2099")
    assert p.message == f"the target date {shown_day} is not a plausible date; enter a date as dd/mm/yyyy, for example 31/03/2027"


@pytest.mark.parametrize("value, why", [
    ("31/03/27", "has a two-digit year; write the year in full"), ("next spring", "is not a date"),
    ("31/02/2027", "is not a real date"), (True, "is not a date"),
])
def test_a_target_date_that_is_not_a_date(value, why):
    p = only(run(ret(rows={"1.1": {"rating": "1 Developing", "action": "Plan", "action_owner": "Sam",
                                   "target_date": value}})), "bad-date")
    assert p.message == f"the target date {shown(value)} {why}; enter a date as dd/mm/yyyy, for example 31/03/2027"
    assert (p.found, p.expected) == (shown(value), "a date as dd/mm/yyyy, for example 31/03/2027")


def test_numbers_typed_in_text_cells_read_as_the_owner_sees_them():
    """2027 typed in Evidence is the text 2027, not 2027.0; a fraction keeps its digits."""
    result = run(ret(rows={"1.1": {"rating": "2 Good", "evidence": 2027.0}, "1.2": {"rating": "2 Good", "evidence": 3.25},
                           "1.3": {"rating": "2 Good", "evidence": 7}}))
    assert [answer(result, r).evidence for r in ("1.1", "1.2", "1.3")] == ["2027", "3.25", "7"]
    assert shown(2027.0) == "2027" and shown(3.25) == "3.25" and shown(None) == "(blank)" and shown("") == "(blank)"


@pytest.mark.parametrize("value, text", [
    (None, ""), ("  x  ", "x"), (True, "TRUE"), (False, "FALSE"), (4.0, "4"), (-0.5, "-0.5"),
    (dt.date(2027, 3, 31), "31/03/2027"), (dt.datetime(2027, 3, 31), "31/03/2027"),
    (dt.datetime(2027, 3, 31, 9, 5), "31/03/2027 09:05"), (12, "12"),
])
def test_text_of_a_cell(value, text):
    assert text_of(value) == text


def test_a_long_value_is_shortened_in_messages():
    assert shown("a  b\n c") == '"a b c"'
    assert shown("x" * 60) == '"' + "x" * 60 + '"' and shown("x" * 61) == '"' + "x" * 57 + '..."'


def test_still_accurate_outside_a_re_review_must_be_yes_or_blank():
    result = run(ret(rows={"1.1": {"rating": "2 Good", "confirm": " yes "}}))
    assert result.ok and answer(result, "1.1").change == "new"
    p = only(run(ret(rows={"1.1": {"rating": "2 Good", "confirm": "Maybe"}})), "bad-confirm")
    assert (p.cell, p.found) == (cell("1.1", "confirm"), '"Maybe"')
    assert p.message == "'Still accurate?' must be Yes or left blank, not \"Maybe\""


# --- rows -----------------------------------------------------------------------------------

def test_an_answer_in_a_heading_row_is_refused():
    first_area = L.ASSESS_FIRST_ROW
    p = only(run(ret(cells={(A, f"G{first_area}"): "Plan", (A, f"F{first_area}"): "Evidence"})), "stray-answer")
    assert (p.cell, p.ref, p.found) == (f"F{first_area}", "1", '"Evidence"')  # the first answer column filled
    assert p.message.startswith('"Evidence" is in a heading row, so it would not be counted.')


def test_an_answer_below_the_activities_is_refused():
    below = max(L.activity_rows(FW).values()) + 5
    p = only(run(ret(cells={(A, f"D{below}"): "2 Good"})), "stray-answer")
    assert p.cell == f"D{below}" and "is in a row that is not a key activity" in p.message


def test_a_deleted_row_is_named():
    raw = ret()
    raw.rows = [r for r in raw.rows if r.ref != "1.3"]
    p = only(run(raw), "missing-row")
    assert (p.cell, p.ref, p.expected) == (f"A{L.activity_rows(FW)['1.3']}", "1.3", "a row for 1.3")


def test_an_activity_on_two_rows():
    r12 = L.activity_rows(FW)["1.2"]
    result = run(ret(cells={(A, f"A{r12}"): "1.1"}))
    assert codes(result) == ["duplicate-row", "missing-row"]
    dup = result.problems[0]
    r11 = L.activity_rows(FW)["1.1"]
    assert (dup.cell, dup.found) == (f"A{r12}", f"A{r11}, A{r12}")
    assert dup.message == f"Activity 1.1 appears on more than one row (A{r11}, A{r12}); keep one row per activity."


def test_moved_rows_are_matched_by_their_ref_and_noted():
    raw = ret()
    rows = {r.ref: r for r in raw.rows}
    for a, b in (("1.1", "1.2"), ("2.1", "2.2")):
        rows[a].row, rows[b].row = rows[b].row, rows[a].row
    result = run(raw)
    assert result.ok and answer(result, "1.1").row == L.activity_rows(FW)["1.2"]
    note = result.notes[0]
    assert [n.code for n in result.notes] == ["rows-moved"]
    assert note.found == f"row {L.activity_rows(FW)['1.2']}" and "and 3 other row(s)" in note.message


def test_a_ref_stored_as_a_number_still_matches():
    raw = ret(cells={(A, f"A{L.activity_rows(FW)['1.1']}"): 1.1})
    result = run(raw)
    assert result.ok and answer(result, "1.1").source_ref == "1.1"


def test_what_the_owner_typed_is_kept_for_a_rejected_return():
    result = run(ret(rows={"1.1": {"rating": "Good-ish", "evidence": "typed"}}))
    assert result.entered is not None and not result.ok
    assert result.entered["answers"]["1.1"]["rating"] == "Good-ish"


# --- re-review: answers carried forward ---------------------------------------------------------

CARRIED = {"rating": "1 Developing", "evidence": "Old plan", "action": "", "action_owner": "", "target_date": None}


def re_review(**answers_over):
    prefill = {a.ref: dict(CARRIED) for a in FW.activities}
    iss = issue(round="R2", prefill_round="R1", prefill=prefill)
    carried = {a.ref: {k: v for k, v in CARRIED.items() if v} for a in FW.activities}
    rows = {ref: {**carried[ref], "confirm": "Yes"} for ref in carried}
    rows.update(answers_over)
    return run(ret(iss, answers=rows), ledger(iss))


def test_carried_answers_confirmed_are_re_confirmed():
    result = re_review()
    assert result.ok and {a.change for a in result.answers} == {"re-confirmed"}


def test_a_carried_answer_left_unconfirmed_is_refused():
    p = only(re_review(**{"1.1": {"rating": "1 Developing", "evidence": "Old plan"}}), "unconfirmed")
    assert (p.cell, p.found) == (cell("1.1", "confirm"), "(blank)")
    assert "carried forward from the last review: choose Yes in 'Still accurate?'" in p.message


@pytest.mark.parametrize("changed", [
    {"rating": "2 Good", "evidence": "Old plan"}, {"rating": "1 Developing", "evidence": "New plan"},
    {"rating": "1 Developing", "evidence": "Old plan", "action": "A", "action_owner": "B",
     "target_date": dt.date(2027, 3, 31)},
])
def test_an_updated_answer_is_changed(changed):
    result = re_review(**{"1.1": changed})
    assert result.ok and answer(result, "1.1").change == "changed"


@pytest.mark.parametrize("rating, evidence, ok", [
    ("3 Better", "Old plan", False), ("3 Better", "", False), ("3 Better", "Board approved the new plan", True),
    ("4 Best", "Old plan", False), ("2 Good", "Old plan", True), ("0 Not in place", "Old plan", True),
    ("Not applicable", "Old plan", True),
])
def test_a_rating_raised_two_levels_needs_new_evidence(rating, evidence, ok):
    result = re_review(**{"1.1": {"rating": rating, "evidence": evidence}})
    if ok:
        assert result.ok, [str(p) for p in result.problems]
        return
    p = next(p for p in result.problems if p.code == "jump-without-evidence")
    assert p.cell == cell("1.1", "evidence")
    assert p.message.startswith(f"the rating rose from 1 Developing to {rating} (two levels or more) without new evidence")


# --- the attestation --------------------------------------------------------------------------

@pytest.mark.parametrize("key, cell_, words", [("name", "C6", "your name"), ("role", "C7", "your role")])
def test_the_attestation_needs_a_name_and_a_role_within_limits(key, cell_, words):
    label = L.ATTEST_BY_KEY[key].label
    p = only(run(ret(att={key: "  "})), "attestation-incomplete")
    assert (p.sheet, p.cell, p.found) == (ATT, cell_, "(blank)")
    assert p.message == f"the attestation needs {words}; fill in '{label}'"
    limit = L.MAX_TEXT[key]
    result = run(ret(att={key: "x" * limit}))
    assert result.ok and getattr(result, f"attested_{key}") == "x" * limit
    p = only(run(ret(att={key: "x" * (limit + 1)})), "too-long")
    assert (p.cell, p.found, p.expected) == (cell_, f"{limit + 1} characters", f"at most {limit}")
    assert p.message == f"'{label}' is {limit + 1} characters long; keep it to {limit}"


def test_the_date_signed_is_required_and_must_be_a_date():
    p = only(run(ret(att={"date": ""})), "attestation-incomplete")
    assert p.cell == "C8" and p.message.startswith("the attestation needs the date you signed it")
    p = only(run(ret(att={"date": "soon"})), "bad-date")
    assert p.cell == "C8" and p.message.startswith('the date signed "soon" is not a date;')


@pytest.mark.parametrize("signed, code", [
    (RECEIVED.date() + dt.timedelta(days=1), None), (RECEIVED.date() + dt.timedelta(days=2), "future"),
    (dt.date(2026, 11, 2), None), (dt.date(2026, 11, 1), "before"),
])
def test_the_date_signed_lies_between_issue_and_receipt(signed, code):
    result = run(ret(att={"date": signed}))
    if code is None:
        assert result.ok and result.attested_on == signed.isoformat()
        return
    p = only(result, "attestation-date")
    assert result.attested_on is None
    if code == "future":
        assert p.expected == f"on or before {RECEIVED.date():%d/%m/%Y}" and "is in the future" in p.message
    else:
        assert p.expected == "on or after 02/11/2026"
        assert p.message.startswith(f"the date signed, {signed:%d/%m/%Y}, is before the workbook was issued on 02/11/2026")


def test_an_unreadable_issue_date_skips_only_the_before_issue_rule():
    odd = issue(generated_at="sometime")
    assert run(ret(odd, att={"date": dt.date(2001, 1, 1)}), ledger(odd)).ok


@pytest.mark.parametrize("value, message", [
    ("", "confirm the return is accurate: choose Yes from the list"),
    ("No", 'the confirmation must be Yes, not "No"; choose Yes from the list'),
])
def test_the_attestation_must_be_confirmed(value, message):
    p = only(run(ret(att={"confirm": value})), "attestation-incomplete")
    assert (p.cell, p.expected, p.message) == ("C9", '"Yes"', message)
    assert run(ret(att={"confirm": " YES "})).ok


def test_every_problem_of_a_return_at_once():
    raw = ret(rows={"1.1": {"rating": "Good-ish"}, "3.2": {"rating": "Not applicable"}, "8.1": {}},
              att={"confirm": ""}, corrections={"title": "x" * 600})
    assert sorted(codes(run(raw))) == ["attestation-incomplete", "bad-rating", "missing-rating", "na-needs-reason",
                                       "too-long"]


# --- returns on an older framework version ------------------------------------------------------

def _v2(upgrades: dict) -> object:
    data = FW.to_dict()
    data["version"] = "2.0"
    data["areas"][-1]["activities"] = data["areas"][-1]["activities"][:-1]  # 8.11 retired
    data["upgrades"] = upgrades
    return from_dict(data)


def test_a_return_on_an_older_version_is_mapped_onto_the_current_one():
    v2 = _v2({"1.0": {"8.11": ""}})
    led = Ledger([ISSUE], {FW.content_hash: FW, v2.content_hash: v2}, v2)
    result = run(ret(), led)
    assert result.ok and result.framework_hash == v2.content_hash and result.upgraded_from == "1.0"
    assert [a.ref for a in result.answers] == [a.ref for a in v2.activities]
    assert result.mapping["8.11"] == "" and result.mapping["1.1"] == "1.1"
    note = result.notes[0]
    assert note.code == "upgraded" and note.message == (
        "Made with version 1.0 of the framework and mapped onto the current version 2.0: 8.11 dropped (no successor).")
    # a return with problems is rejected as it is, not mapped
    bad = run(ret(rows={"1.1": {"rating": "Good-ish"}}), led)
    assert codes(bad) == ["bad-rating"] and bad.mapping is None and bad.framework_hash == FW.content_hash


def test_a_return_on_an_older_version_without_a_mapping_asks_for_the_current_template():
    v2 = _v2({})
    led = Ledger([ISSUE], {FW.content_hash: FW, v2.content_hash: v2}, v2)
    p = only(run(ret(), led), "old-template")
    assert (p.cell, p.found, p.expected) == (L.meta_cell("framework_version"), "1.0", "2.0")
    assert p.message.startswith("This workbook was made with version 1.0 of the framework")
    assert "there is no mapping from version 1.0" in p.message


def test_a_problem_is_plain_data_that_says_where():
    p = Problem(A, "D6", "1.1", "x", "y", "msg", "code")
    assert (p.where(), str(p)) == ("Assessment!D6 (activity 1.1)", "Assessment!D6 (activity 1.1): msg")
    assert Problem(A, "", "1.1", "", "", "m").where() == "Assessment (activity 1.1)"
    assert Problem("", "", "1.1", "", "", "m").where() == "activity 1.1"
    assert Problem("", "", "", "", "", "m").where() == "" and str(Problem("", "", "", "", "", "m")) == "m"
    assert Problem(L.META, "B1", "", "", "", "m").where() == ""
    assert p.as_dict() == {"sheet": A, "cell": "D6", "ref": "1.1", "found": "x", "expected": "y",
                           "message": "msg", "code": "code"}


# --- the fast path gives what the rules give ------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cmrg_excel.intake import check as check_module  # noqa: E402
from cmrg_excel.intake.check import CheckResult  # noqa: E402
from cmrg_excel.intake.read import RawRow  # noqa: E402


def _near(limit: int):
    return st.sampled_from([limit - 1, limit, limit + 1]).map(lambda n: "x" * n)


_DATES = st.one_of(st.sampled_from([dt.date(1999, 12, 31), dt.date(2000, 1, 1), dt.date(2099, 12, 31),
                                    dt.date(2100, 1, 1)]),
                   st.dates(dt.date(1990, 1, 1), dt.date(2110, 1, 1)),
                   st.datetimes(dt.datetime(1995, 1, 1), dt.datetime(2105, 1, 1)))
_BLANKS = st.sampled_from(["", " ", None])
_TEXT = st.one_of(_BLANKS, st.text(max_size=12), st.sampled_from(["Plan", " Sam ", "=1+1"]), st.integers(-5, 5),
                  st.floats(allow_nan=False, allow_infinity=False), st.booleans())
_ANY_ROW = st.fixed_dictionaries({
    "rating": st.one_of(st.sampled_from(FW.scale.labels), st.sampled_from([" 2  GOOD ", "not applicable", "Good-ish"]),
                        _BLANKS, st.integers(0, 4), st.booleans()),
    "evidence": st.one_of(_TEXT, _near(L.MAX_TEXT["evidence"])),
    "action": st.one_of(_TEXT, _near(L.MAX_TEXT["action"])),
    "action_owner": st.one_of(_TEXT, _near(L.MAX_TEXT["action_owner"])),
    "target_date": st.one_of(_BLANKS, _DATES, st.sampled_from(["31/03/2027", "31/03/27", "soon", 46477, 46477.5])),
    "confirm": st.one_of(_BLANKS, st.sampled_from(["Yes", " yes", "No"])),
})
# Rows shaped like the ones the fast path takes (text rating and evidence, no confirm, an action
# given as text with a date cell), each value near an edge its rules care about.
_WORDS = st.sampled_from(["", " ", "Plan", " Sam ", "x"])
_FAST_ROW = st.fixed_dictionaries({
    "rating": st.sampled_from(FW.scale.labels + [" 2  GOOD ", "not applicable", "Good-ish", ""]),
    "evidence": st.one_of(_WORDS, _near(L.MAX_TEXT["evidence"])),
    "action": st.one_of(_WORDS, _near(L.MAX_TEXT["action"])),
    "action_owner": st.one_of(_WORDS, _near(L.MAX_TEXT["action_owner"])),
    "target_date": st.one_of(st.just(""), _DATES),
    "confirm": st.just(""),
})
_ROW = st.one_of(_FAST_ROW, _ANY_ROW)


@settings(max_examples=400, deadline=None)
@given(values=_ROW)
def test_the_fast_path_and_the_rules_agree(values):
    """check.py answers the common row (a valid rating, no action or a complete one, no confirm) without
    walking every rule, for ingest speed. Whatever the row holds, that shortcut must give exactly the
    answer and the problems the full rules give."""
    act = FW.activity("1.6")
    row = RawRow(L.activity_rows(FW)["1.6"], "1.6", dict(values))
    choices, _, _, fast = check_module._prepared(FW)
    with_fast, without = CheckResult(), CheckResult()
    got = check_module._activity(row, act, FW.scale, choices, None, with_fast, fast)
    want = check_module._activity(row, act, FW.scale, choices, None, without, None)
    assert got == want
    assert with_fast.problems == without.problems
