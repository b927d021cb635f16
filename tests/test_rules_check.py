"""Every rule of cmrg_excel.intake.check, one quick assertion each, on returns built as plain data.

Each test names the problem code and the words of the message, so a rule that stops firing, or
fires from another rule, fails here (tests/test_check.py keeps proving the same rules through
real workbooks). The builder is tests/rulebuilder.py; tests/test_check.py::test_builder_speaks_the_readers_language
proves it hands check() exactly what the reader does.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from cmrg_excel.kit import layout as L
from cmrg_excel.intake.check import Ledger, Problem, shown
from cmrg_excel.core.values import text_of
from cmrg_excel.core.framework import from_dict

from .rulebuilder import (FW, ISSUE, RECEIVED, SIGNED, answer, cell, codes, issue, ledger, only, ret,
                          run, table, with_status)

A = L.ASSESSMENT
ATT = L.ATTESTATION


@pytest.fixture(autouse=True)
def fresh_rules():
    """check keeps what it works out from a framework (its choices, rows, fast-path tables) between
    returns; each test works them out again, so a fault there cannot hide behind an earlier test's."""
    from cmrg_excel.intake import check as check_module

    check_module._PREPARED.clear()


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
    result = run(raw)
    assert result.ok and result.corrections == {"owner_name": "Someone Else"}


@pytest.mark.parametrize("key, value, recorded, held", [
    ("owner_email", "new.owner@council.gov.uk", "new.owner@council.gov.uk", "jane.example@council.gov.uk"),
    ("annual_value_gbp", 1_500_000.0, "1500000", "1200000"),
    ("end_date", dt.date(2029, 3, 31), "31/03/2029", "31/03/2028"),
    ("risk", "Low", "Low", "High"),
])
def test_a_non_identity_detail_changed_in_the_value_column_is_recorded_as_a_correction(key, value, recorded, held):
    result = run(ret(cells={(L.CONTRACT, L.contract_cell(key)): value}))
    assert result.ok and result.corrections == {key: recorded}
    (note,) = result.notes
    label = next(f.label for f in L.CONTRACT_FIELDS if f.key == key)
    assert (note.code, note.sheet, note.cell, note.found, note.expected) == (
        "changed-detail", L.CONTRACT, L.contract_cell(key), f'"{recorded}"', f'"{held}"')
    assert note.message == (f"The {label.lower()} was changed in column {L.CONTRACT_VALUE_COL} from \"{held}\" to "
                            f"\"{recorded}\": kept as a correction for the review group.")


def test_a_detail_left_as_issued_or_corrected_in_column_c_is_not_a_change():
    same = ret(cells={(L.CONTRACT, L.contract_cell("annual_value_gbp")): "£1,200,000",
                      (L.CONTRACT, L.contract_cell("end_date")): "31/03/2028"})
    assert run(same).ok and run(same).corrections == {} and run(same).notes == []
    both = run(ret(cells={(L.CONTRACT, L.contract_cell("risk")): "Low"}, corrections={"risk": "Medium"}))
    assert both.ok and both.corrections == {"risk": "Medium"} and both.notes == []


def test_a_file_named_for_another_contract():
    """The token decides whose return it is, never the file name: a name pointing at another
    contract is a note for the secretariat ("needs a look"), not a refusal."""
    other = issue("C-0002", file_path="outbox/R1/C-0002.xlsx")
    led = ledger(ISSUE, other)
    result = run(ret(), led, file_name="C-0002 return.xlsx")
    assert result.ok and result.contract_id == "C-0001"
    (p,) = [n for n in result.notes if n.code == "name-mismatch"]
    assert (p.found, p.expected) == ("C-0002 return.xlsx", "C-0001")
    assert p.message.startswith("Needs a look: the file is named for C-0002, but it is the workbook issued for "
                                "C-0001")
    assert "withdraw it (cmrg decide withdraw C-0001 --round R1 --reason ...)" in p.message
    for fine in ("C-0001.xlsx", "C-0001 and C-0002.xlsx", "return.xlsx", "XC-0002.xlsx"):
        result = run(ret(), led, file_name=fine)
        assert result.ok and not [n for n in result.notes if n.code == "name-mismatch"], fine


def test_a_withdrawn_workbook_is_refused_and_its_round_is_no_contracts_latest():
    r2 = issue(round="R2", file_path="outbox/R2/C-0001.xlsx", generated_at="2026-11-03T09:00:00+00:00",
               status="withdrawn")
    p = only(run(ret(r2), ledger(ISSUE, r2)), "withdrawn")
    assert (p.cell, p.expected) == (L.meta_cell("issue_token"), "an open workbook")
    assert p.message.startswith("This workbook (round R2) was withdrawn by the review group: it was issued by "
                                "mistake, so no return is needed on it.")
    assert p.message.endswith("The workbook to fill in for C-0001 is C-0001.xlsx (round R1).")
    assert run(ret(), ledger(ISSUE, r2)).ok  # R2 withdrawn: R1 is the contract's latest round again


def test_a_file_named_for_another_contract_is_taken_by_its_token_with_a_note():
    """The file name proves nothing: a return whose token is C-0001's is C-0001's, whatever it is
    called; a name pointing at another contract is a note for the secretariat ("needs a look")."""
    led = ledger(ISSUE, C2)
    result = run(ret(), led, file_name="C-0002 return.xlsx")
    assert result.ok and result.contract_id == "C-0001" and len(result.answers) == len(FW.activities)
    assert result.notes == [Problem(
        "", "", "", "C-0002 return.xlsx", "C-0001", "Needs a look: the file is named for C-0002, but it is the "
        "workbook issued for C-0001 (Highways maintenance), so it was taken as C-0001's return. If it holds C-0002's "
        "answers instead, withdraw it (cmrg decide withdraw C-0001 --round R1 --reason ...) and ask the owner of "
        "C-0002 for their own workbook.", "name-mismatch")]
    for fine in ("C-0001.xlsx", "C-0001 and C-0002.xlsx", "return.xlsx", "XC-0002.xlsx", ""):
        assert run(ret(), led, file_name=fine).notes == [], fine


def test_a_withdrawn_workbook_is_refused_naming_the_one_to_fill_in():
    withdrawn = with_status(ISSUE, status="withdrawn")
    again = issue(file_path="outbox/R1/C-0001-again.xlsx", generated_at="2026-11-04T09:00:00+00:00")
    p = only(run(ret(withdrawn), ledger(withdrawn, again)), "withdrawn")
    assert p == Problem(L.META, "B1", "", "issued 2026-11-02", "an open workbook", "This workbook (round R1) was "
                        "withdrawn by the review group: it was issued by mistake, so no return is needed on it. The "
                        "workbook to fill in for C-0001 is C-0001-again.xlsx (round R1).", "withdrawn")
    alone = only(run(ret(withdrawn), ledger(withdrawn)), "withdrawn")
    assert alone.message.endswith("so no return is needed on it.")


def test_a_withdrawn_round_does_not_count_as_the_latest():
    r2 = with_status(issue(round="R2", generated_at="2027-05-02T09:00:00+00:00"), status="withdrawn")
    led = ledger(ISSUE, r2)
    assert led.latest_round("C-0001") == "R1"
    assert run(ret(), led).ok  # the R1 workbook is still the one to answer


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


@pytest.mark.parametrize("value, named", [("2 Good\u200b", "ZERO WIDTH SPACE, U+200B"),
                                          ("\x1b[31m2 Good", "ESCAPE, U+001B"), ("2\u202eGood", "RIGHT-TO-LEFT OVERRIDE, U+202E")])
def test_an_invisible_character_in_a_rating_is_named_not_printed(value, named):
    p = only(run(ret(rows={"1.7": {"rating": value, "evidence": "e"}})), "bad-rating")
    assert p.message == (f"the rating contains an invisible character ({named}), so it is not one of the list; choose "
                         f"one from the dropdown list ({p.expected})")
    assert p.found == shown(value) and "\\" in p.found and not any(ord(ch) < 32 or 0x200b <= ord(ch) <= 0x202e
                                                                     for ch in p.found)


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
    ("31/02/2027", "is not a real date: there is no 31 February 2027"), (True, "is not a date"),
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
    """On a re-review workbook, an activity with no carried answer (a new one) still has 'Still accurate?'."""
    iss = issue(round="R2", prefill_round="R1", prefill={"9.9": {"rating": "2 Good"}})
    result = run(ret(iss, rows={"1.1": {"rating": "2 Good", "confirm": " yes "}}), ledger(iss))
    assert result.ok and answer(result, "1.1").change == "new"
    p = only(run(ret(iss, rows={"1.1": {"rating": "2 Good", "confirm": "Maybe"}}), ledger(iss)), "bad-confirm")
    assert (p.cell, p.found) == (cell("1.1", "confirm"), '"Maybe"')
    assert p.message == "'Still accurate?' must be Yes or left blank, not \"Maybe\""


def test_text_in_column_k_of_a_first_round_workbook_is_outside_the_table():
    """A first-round workbook has no 'Still accurate?' column: what is typed there is named as text outside
    the table, not as a 'Still accurate?' problem (issue 11.16)."""
    for typed in ("Maybe", "yes"):
        result = run(ret(rows={"1.1": {"rating": "2 Good", "confirm": typed}}))
        p = only(result, "outside-table")
        assert (p.sheet, p.cell, p.found) == (A, cell("1.1", "confirm"), f'"{typed}"')
        assert p.message == (f'"{typed}" is outside the table, so it would not be read. Move it into the Evidence or '
                             "Improvement action of the activity it belongs to, or clear it.")
        assert "Still accurate" not in p.message and answer(result, "1.1").rating == "2 Good"


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


BLANK_ATTESTATION = {"name": "", "role": "", "date": "", "confirm": ""}


def test_a_workbook_that_came_back_empty_is_one_sentence():
    p = only(run(ret(answers={}, att=BLANK_ATTESTATION)), "empty-return")
    assert (p.sheet, p.cell, p.found) == ("", "", "(nothing filled in)")
    assert p.message == ("the workbook came back empty: nothing was filled in. Fill in C-0001.xlsx, the workbook we "
                         "sent you for C-0001, save it and send it back.")
    # one thing typed anywhere and it did not come back empty: every problem is listed
    for typed in (ret(answers={"8.11": {"evidence": "x"}}, att=BLANK_ATTESTATION),
                  ret(answers={}, att={**BLANK_ATTESTATION, "role": "Manager"}),
                  ret(answers={}, att=BLANK_ATTESTATION, corrections={"title": "Roads"})):
        found = codes(run(typed))
        assert "empty-return" not in found and "missing-rating" in found
    # a problem with its identity is said instead
    newer = issue(file_path="outbox/R1/C-0001-v2.xlsx", generated_at="2026-11-05T09:00:00+00:00")
    old = with_status(ISSUE, status="superseded", superseded_by=newer.token)
    only(run(ret(old, answers={}, att=BLANK_ATTESTATION), ledger(old, newer)), "superseded")
    # a re-review's carried answers sent back as carried, unconfirmed, are not the owner's entries
    prefill = {a.ref: dict(CARRIED) for a in FW.activities}
    iss = issue(round="R2", prefill_round="R1", prefill=prefill)
    carried = {a.ref: {k: v for k, v in CARRIED.items() if v} for a in FW.activities}
    only(run(ret(iss, answers=carried, att=BLANK_ATTESTATION), ledger(iss)), "empty-return")
    carried["1.1"] = {**carried["1.1"], "evidence": "New plan"}
    assert "empty-return" not in codes(run(ret(iss, answers=carried, att=BLANK_ATTESTATION), ledger(iss)))


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
_WORDS = st.sampled_from(["", " ", "Plan", " Sam ", "x", 7, None])
_FAST_ROW = st.fixed_dictionaries({
    "rating": st.sampled_from(FW.scale.labels + [" 2  GOOD ", "not applicable", "Good-ish", ""]),
    "evidence": st.one_of(_WORDS, _near(L.MAX_TEXT["evidence"])),
    "action": st.one_of(_WORDS, _near(L.MAX_TEXT["action"])),
    "action_owner": st.one_of(_WORDS, _near(L.MAX_TEXT["action_owner"])),
    "target_date": st.one_of(st.just(""), _DATES, st.sampled_from([None, "31/03/2027", 46477])),
    "confirm": st.sampled_from(["", "", "", None, "Yes"]),
})
_ROW = st.one_of(_FAST_ROW, _ANY_ROW)


@settings(max_examples=int(os.environ.get("CMRG_FAST_PATH_EXAMPLES", "500")), deadline=None)
@given(values=_ROW)
def test_the_fast_path_and_the_rules_agree(values):
    """check.py answers the common row (a valid rating, no action or a complete one, no confirm) without
    walking every rule, for ingest speed. Whatever the row holds, that shortcut must give exactly the
    answer and the problems the full rules give. (CMRG_FAST_PATH_EXAMPLES=5000 searches harder, to
    judge a surviving mutant of the shortcut: see docs/testing.md.)"""
    act = FW.activity("1.6")
    row = RawRow(L.activity_rows(FW)["1.6"], "1.6", dict(values))
    choices, _, _, fast = check_module._prepared(FW)
    with_fast, without = CheckResult(), CheckResult()
    got = check_module._activity(row, act, FW.scale, choices, None, with_fast, fast)
    want = check_module._activity(row, act, FW.scale, choices, None, without, None)
    assert got == want
    assert with_fast.problems == without.problems


# --- every problem, field for field -------------------------------------------------------------
# Each rule's problem as the owner and the review group get it: sheet, cell, activity, what was found,
# what was expected, the words and the code. A row with a problem gives no answer.

CHOICES = "0 Not in place, 1 Developing, 2 Good, 3 Better, 4 Best, Not applicable"
HELP = "a date as dd/mm/yyyy, for example 31/03/2027"
FRESH = "Please send back the workbook we sent you, filled in."
C2 = issue("C-0002", file_path="outbox/R1/C-0002.xlsx", contract={"title": "Home care"})


def _no_row(ref):
    raw = ret()
    raw.rows = [r for r in raw.rows if r.ref != ref]
    return raw


def _r11(**values):
    return ret(rows={"1.1": values})


_RE_REVIEW = issue(round="R2", prefill_round="R1", prefill={"9.9": {"rating": "2 Good"}})

EXACT = {
    "missing-sheet": (lambda: ret(drop=(L.ATTESTATION,)), None, Problem(
        ATT, "", "", "", "a sheet named Attestation", "The Attestation sheet is missing (it may have been renamed or "
        "deleted). Answers can only be read from the workbook as we sent it: copy them into a fresh copy of that "
        "workbook and send it.", "missing-sheet")),
    "no-metadata": (lambda: ret(drop=(L.META,)), None, Problem(
        L.META, "", "", "(missing)", "the hidden identity sheet we issued", "This is not a workbook we issued, or its "
        "hidden identity sheet (_cmrg) was removed, for example by copying the answers into a new workbook or "
        f"exporting from another program. {FRESH} The workbook sent for C-0001 is C-0001.xlsx.", "no-metadata")),
    "no-metadata, unknown contract": (lambda: ret(drop=(L.META,), cells={(L.CONTRACT, "B5"): "C-0009"}), None, Problem(
        L.META, "", "", "(missing)", "the hidden identity sheet we issued", "This is not a workbook we issued, or its "
        "hidden identity sheet (_cmrg) was removed, for example by copying the answers into a new workbook or "
        f"exporting from another program. {FRESH}", "no-metadata")),
    "unknown-token": (lambda: ret(cells={(L.META, "B1"): "x"}), None, Problem(
        L.META, "B1", "", '"x"', "the identity code of a workbook we issued", "This workbook was never issued from "
        "this register: its identity code matches none of the workbooks we sent (it may be a test copy, from another "
        f"council, or its hidden sheet was edited). {FRESH} The workbook we sent for C-0001 is C-0001.xlsx (round R1).",
        "unknown-token")),
    "unknown-token, unknown contract": (
        lambda: ret(cells={(L.META, "B1"): "x", (L.META, "B2"): "C-0009"}), None, Problem(
            L.META, "B1", "", '"x"', "the identity code of a workbook we issued", "This workbook was never issued from "
            "this register: its identity code matches none of the workbooks we sent (it may be a test copy, from "
            f"another council, or its hidden sheet was edited). {FRESH}", "unknown-token")),
    "framework-missing": (lambda: ret(), ledger(frameworks={}), Problem(
        "", "", "", FW.content_hash[:12], "a framework in the register", "The framework this workbook was issued with "
        "is missing from the register, so the answers cannot be checked. Tell the review group (the register may have "
        "been restored from an old copy).", "framework-missing")),
    "altered-metadata": (lambda: ret(cells={(L.META, "B3"): "R9"}), None, Problem(
        L.META, "B3", "", '"R9"', '"R1"', 'The hidden identity sheet was changed: round is "R9" but this workbook was '
        f'issued with "R1". Returns must come back as issued, so they can be proved to be ours. {FRESH}',
        "altered-metadata")),
    "wrong-contract on the sheet": (lambda: ret(cells={(L.CONTRACT, "B5"): "C-0002"}), ledger(ISSUE, C2), Problem(
        L.CONTRACT, "B5", "", '"C-0002"', '"C-0001"', "This is another contract's workbook: it was issued for C-0001 "
        '(Highways maintenance) but its Contract sheet shows "C-0002". Fill in the workbook issued for your contract. '
        "The workbook for C-0002 is C-0002.xlsx.", "wrong-contract")),
    "wrong-contract on the sheet, not ours": (lambda: ret(cells={(L.CONTRACT, "B5"): "C-0009"}), None, Problem(
        L.CONTRACT, "B5", "", '"C-0009"', '"C-0001"', "This is another contract's workbook: it was issued for C-0001 "
        '(Highways maintenance) but its Contract sheet shows "C-0009". Fill in the workbook issued for your contract.',
        "wrong-contract")),
    "altered-contract": (lambda: ret(cells={(L.CONTRACT, "B7"): "X Ltd"}), None, Problem(
        L.CONTRACT, "B7", "", '"X Ltd"', '"Example Roads Ltd"', 'The supplier was changed from "Example Roads Ltd" to '
        '"X Ltd". Do not change the details in column B; if one is wrong, write the correct value in column C '
        "(Correction) instead.", "altered-contract")),
    "too-long correction": (lambda: ret(corrections={"risk": "x" * 501}), None, Problem(
        L.CONTRACT, "C15", "", "501 characters", "at most 500",
        "The correction to risk is 501 characters long; keep it to 500.", "too-long")),
    "stray-answer": (lambda: ret(cells={(A, "G5"): "Plan"}), None, Problem(
        A, "G5", "1", '"Plan"', "blank", '"Plan" is in a heading row, so it would not be counted. Move it to the '
        "activity it belongs to, or clear it.", "stray-answer")),
    "missing-row": (lambda: _no_row("1.3"), None, Problem(
        A, "A8", "1.3", "(missing)", "a row for 1.3", "The row for activity 1.3 is missing (it may have been deleted "
        "or its Ref changed). Copy your answers into a fresh copy of the workbook we sent you.", "missing-row")),
    "missing-rating": (lambda: _r11(), None, Problem(
        A, "D6", "1.1", "(blank)", CHOICES, "no rating given; choose one from the dropdown list", "missing-rating")),
    "bad-rating": (lambda: _r11(rating="x"), None, Problem(
        A, "D6", "1.1", '"x"', CHOICES, f'"x" is not a rating; choose one from the dropdown list ({CHOICES})',
        "bad-rating")),
    "too-long": (lambda: _r11(rating="2 Good", evidence="x" * 4001), None, Problem(
        A, "F6", "1.1", "4001 characters", "at most 4000", "the evidence is 4001 characters long; keep it to 4000",
        "too-long")),
    "too-long owner": (lambda: _r11(rating="2 Good", action="a", action_owner="x" * 121, target_date="1/1/2027"),
                       None, Problem(A, "H6", "1.1", "121 characters", "at most 120",
                                     "the action owner is 121 characters long; keep it to 120", "too-long")),
    "na-needs-reason": (lambda: _r11(rating="Not applicable"), None, Problem(
        A, "F6", "1.1", "(blank)", "the reason it does not apply", "Not applicable needs a reason: say in Evidence why "
        "this activity does not apply to this contract", "na-needs-reason")),
    "bad-date": (lambda: _r11(rating="2 Good", action="a", action_owner="b", target_date="x"), None, Problem(
        A, "I6", "1.1", '"x"', HELP, f'the target date "x" is not a date; enter {HELP}', "bad-date")),
    "bad-date range": (lambda: _r11(rating="2 Good", action="a", action_owner="b", target_date=dt.date(1999, 1, 1)),
                       None, Problem(A, "I6", "1.1", "01/01/1999", "a date between 2000 and 2099",
                                     f"the target date 01/01/1999 is not a plausible date; enter {HELP}", "bad-date")),
    "missing-action": (lambda: _r11(rating="2 Good", action_owner="b", target_date=dt.date(2027, 1, 1)), None, Problem(
        A, "G6", "1.1", "(blank)", "the improvement action", "an action owner or target date is given but no "
        "improvement action; describe the action, or clear the owner and date", "missing-action")),
    "missing-owner": (lambda: _r11(rating="2 Good", action="b", target_date=dt.date(2027, 1, 1)), None, Problem(
        A, "H6", "1.1", "(blank)", "who owns the action",
        "the improvement action needs an action owner: say who will make sure it happens", "missing-owner")),
    "missing-target-date": (lambda: _r11(rating="2 Good", action="b", action_owner="c"), None, Problem(
        A, "I6", "1.1", "(blank)", HELP, f"the improvement action needs a target date: enter {HELP}",
        "missing-target-date")),
    # 'Still accurate?' exists on a re-review workbook; on a first-round one column K is outside the table
    "bad-confirm": (lambda: ret(_RE_REVIEW, rows={"1.1": {"rating": "2 Good", "confirm": "No"}}), ledger(_RE_REVIEW),
                    Problem(A, "K6", "1.1", '"No"', '"Yes" or blank',
                            "'Still accurate?' must be Yes or left blank, not \"No\"", "bad-confirm")),
    "outside-table": (lambda: _r11(rating="2 Good", confirm="No"), None, Problem(
        A, "K6", "", '"No"', "blank", '"No" is outside the table, so it would not be read. Move it into the Evidence '
        "or Improvement action of the activity it belongs to, or clear it.", "outside-table")),
    "attestation name": (lambda: ret(att={"name": ""}), None, Problem(
        ATT, "C6", "", "(blank)", "your name", "the attestation needs your name; fill in 'Your name'",
        "attestation-incomplete")),
    "attestation role": (lambda: ret(att={"role": None}), None, Problem(
        ATT, "C7", "", "(blank)", "your role", "the attestation needs your role; fill in 'Your role'",
        "attestation-incomplete")),
    "attestation role too long": (lambda: ret(att={"role": "x" * 121}), None, Problem(
        ATT, "C7", "", "121 characters", "at most 120", "'Your role' is 121 characters long; keep it to 120",
        "too-long")),
    "attestation date blank": (lambda: ret(att={"date": None}), None, Problem(
        ATT, "C8", "", "(blank)", HELP, f"the attestation needs the date you signed it: enter {HELP}",
        "attestation-incomplete")),
    "attestation date bad": (lambda: ret(att={"date": "x"}), None, Problem(
        ATT, "C8", "", '"x"', HELP, f'the date signed "x" is not a date; enter {HELP}', "bad-date")),
    "attestation date future": (lambda: ret(att={"date": dt.date(2026, 11, 22)}), None, Problem(
        ATT, "C8", "", "22/11/2026", "on or before 20/11/2026",
        "the date signed, 22/11/2026, is in the future; enter the date you signed the return", "attestation-date")),
    "attestation date before issue": (lambda: ret(att={"date": dt.date(2026, 11, 1)}), None, Problem(
        ATT, "C8", "", "01/11/2026", "on or after 02/11/2026", "the date signed, 01/11/2026, is before the workbook "
        "was issued on 02/11/2026; enter the date you signed the return", "attestation-date")),
    "attestation confirm": (lambda: ret(att={"confirm": "No"}), None, Problem(
        ATT, "C9", "", '"No"', '"Yes"', 'the confirmation must be Yes, not "No"; choose Yes from the list',
        "attestation-incomplete")),
    "attestation confirm blank": (lambda: ret(att={"confirm": None}), None, Problem(
        ATT, "C9", "", "(blank)", '"Yes"', "confirm the return is accurate: choose Yes from the list",
        "attestation-incomplete")),
}


R2 = issue(round="R2", file_path="outbox/R2/C-0001-R2.xlsx", generated_at="2027-05-02T09:00:00+00:00")
NEWER = issue(file_path="outbox/R1/C-0001-v2.xlsx", generated_at="2026-11-05T09:00:00+00:00")
REPLACED = with_status(ISSUE, status="superseded", superseded_by=NEWER.token)
CORR = issue(kind="correction", file_path="outbox/R1/corrections/C-0001.xlsx", generated_at="2026-11-06T09:00:00+00:00")
CORRECTED = with_status(ISSUE, status="superseded", superseded_by=CORR.token)
EXACT.update({
    "old-round": (lambda: ret(), ledger(ISSUE, R2), Problem(
        L.META, "B3", "", "R1", "R2", "This workbook is from an earlier review round (R1). Round R2 has started since, "
        "and C-0001 was sent a new workbook for it (C-0001-R2.xlsx, sent 2027-05-02). Please fill in that one.",
        "old-round")),
    "old-round, none open": (lambda: ret(), ledger(ISSUE, with_status(R2, status="superseded")), Problem(
        L.META, "B3", "", "R1", "R2", "This workbook is from an earlier review round (R1). Round R2 has started since, "
        "and C-0001 was sent a new workbook for it. Please fill in that one.", "old-round")),
    "superseded": (lambda: ret(REPLACED), ledger(REPLACED, NEWER), Problem(
        L.META, "B1", "", "issued 2026-11-02", "the workbook issued 2026-11-05", "This workbook was replaced by a "
        "newer one for C-0001: C-0001-v2.xlsx (sent 2026-11-05). Please copy your answers into the newer workbook and "
        "send that one.", "superseded")),
    "superseded by a corrections workbook": (lambda: ret(CORRECTED), ledger(CORRECTED, CORR), Problem(
        L.META, "B1", "", "issued 2026-11-02", "the corrections workbook sent 2026-11-06", "A corrections workbook was "
        "sent for C-0001 on 2026-11-06 (C-0001.xlsx): it has your answers filled in, with each cell to fix shaded red "
        "and a note saying what is wrong. Please make the fixes in that workbook and send it back; returns on this "
        "older workbook can no longer be accepted.", "superseded")),
})


@pytest.mark.parametrize("name", EXACT)
def test_each_problem_field_for_field(name):
    build, led, expected, *file_name = EXACT[name]
    result = run(build(), led, file_name=file_name[0] if file_name else "C-0001.xlsx")
    assert result.problems == [expected]
    assert result.notes == []
    if expected.ref:
        assert expected.ref not in [a.ref for a in result.answers]  # a row with a problem gives no answer


def test_notes_field_for_field():
    raw = ret()
    rows = {r.ref: r for r in raw.rows}
    rows["1.1"].row, rows["1.2"].row = rows["1.2"].row, rows["1.1"].row
    assert run(raw).notes == [Problem(
        A, "A7", "1.1", "row 7", "row 6", "Rows were moved or sorted (activity 1.1 was on row 7, not 6 and 1 other "
        "row(s)); answers were matched by their Ref.", "rows-moved")]
    raw = ret()
    rows = {r.ref: r for r in raw.rows}
    rows["1.1"].row, rows["2.1"].row = 999, rows["1.1"].row  # only 1.1 away from its row: 2.1's old row is free
    rows["2.1"].row = L.activity_rows(FW)["2.1"]
    assert [n.message for n in run(raw).notes] == [
        "Rows were moved or sorted (activity 1.1 was on row 999, not 6); answers were matched by their Ref."]


def _v2_moving_1_9_to_area_2():
    data = FW.to_dict()
    data["version"] = "2.0"
    moved = data["areas"][0]["activities"].pop(8)
    assert moved[0] == "1.9"
    data["areas"][1]["activities"].append(["2.10", moved[1]])
    data["upgrades"] = {"1.0": {"1.9": "2.10"}}
    return from_dict(data)


def test_a_mapped_answer_takes_its_new_ref_and_area():
    v2 = _v2_moving_1_9_to_area_2()
    led = Ledger([ISSUE], {FW.content_hash: FW, v2.content_hash: v2}, v2)
    result = run(ret(rows={"1.9": {"rating": "3 Better", "evidence": "moved"}}), led)
    a = answer(result, "2.10")
    assert (a.ref, a.area, a.rating, a.evidence, a.source_ref, a.row) == (
        "2.10", 2, "3 Better", "moved", "1.9", L.activity_rows(FW)["1.9"])
    assert "1.9" not in [x.ref for x in result.answers] and len(result.answers) == len(v2.activities)
    assert result.notes == [Problem(L.META, "B5", "", "1.0", "2.0", "Made with version 1.0 of the framework and "
                                    "mapped onto the current version 2.0: 1.9 -> 2.10.", "upgraded")]


def test_a_return_nobody_issued_is_not_mapped_onto_the_current_framework():
    v2 = _v2_moving_1_9_to_area_2()
    led = Ledger([ISSUE], {FW.content_hash: FW, v2.content_hash: v2}, v2)
    result = run(ret(cells={(L.META, "B1"): "not-ours"}), led)
    assert codes(result) == ["unknown-token"] and result.notes == [] and result.mapping is None


def test_the_old_template_problem_field_for_field():
    data = FW.to_dict()
    data["version"] = "2.0"
    v2 = from_dict(data)
    led = Ledger([ISSUE], {FW.content_hash: FW, v2.content_hash: v2}, v2)
    result = run(ret(), led)
    assert result.problems == [Problem(
        L.META, "B5", "", "1.0", "2.0", f"This workbook was made with version 1.0 of the framework ({FW.title}); the "
        "current version is 2.0, and there is no mapping from version 1.0 to it. "
        "Please use the current template: the review group will send you one with your answers already copied across "
        "where the activities correspond.", "old-template")]


def test_rounds_are_ordered_by_when_they_started_not_by_the_latest_issue():
    """A corrections workbook for round R1 sent after R2 started does not make R1 the latest round."""
    r1 = issue(round="R1", generated_at="2026-11-02T09:00:00+00:00")
    r2 = issue(round="R2", generated_at="2027-05-02T09:00:00+00:00")
    late = issue(round="R1", kind="correction", generated_at="2027-06-01T09:00:00+00:00")
    for order in ((r1, r2, late), (late, r2, r1)):
        led = ledger(*order)
        assert led.latest_round("C-0001") == "R2" and led.latest_open("C-0001") is r2
        assert led.latest_open("C-0001", "R1") is late
        assert led.round_order == {"R1": 0, "R2": 1}
        assert [i.token for i in led.by_contract["C-0001"]] == [r1.token, r2.token, late.token]


def test_following_replacements_to_the_last():
    c = issue(generated_at="2026-11-09T09:00:00+00:00", file_path="outbox/R1/third.xlsx")
    b = with_status(issue(generated_at="2026-11-05T09:00:00+00:00"), status="superseded", superseded_by=c.token)
    a = with_status(ISSUE, status="superseded", superseded_by=b.token)
    led = ledger(a, b, c)
    assert led.follow(a) is c and led.follow(b) is c and led.follow(c) is c
    assert "third.xlsx (sent 2026-11-09)" in only(run(ret(a), led), "superseded").message
    x = with_status(issue(), status="superseded")
    y = with_status(issue(), status="superseded", superseded_by=x.token)
    x = with_status(x, superseded_by=y.token)
    looped = ledger(x, y)
    assert looped.follow(x).token in (x.token, y.token)  # a loop in the ledger ends, it does not hang
    assert looped.follow(with_status(x, superseded_by=None)).token == x.token


@pytest.mark.parametrize("name, found", [
    ("C-0002.xlsx", {"C-0002"}), ("c-0002", {"C-0002"}), ("return C-0002 final.xlsx", {"C-0002"}),
    ("XC-0002.xlsx", set()), ("C-0002X.xlsx", set()), ("1C-0002", set()), ("C-00021", set()),
    ("C-0001 C-0002", {"C-0001", "C-0002"}), ("A_1 return.xlsx", {"A/1"}), ("a/1", {"A/1"}), ("", set()),
    ("C-0002_", {"C-0002"}), ("C", set()),
])
def test_contract_ids_in_a_file_name(name, found):
    led = ledger(ISSUE, C2, issue("A/1"))
    assert led.ids_in_name(name) == found
    assert led.ids_in_name(name) == found  # worked out once, asked again


@pytest.mark.parametrize("key", ["rating", "evidence", "action", "action_owner", "target_date", "confirm"])
def test_a_stray_answer_names_the_first_column_filled(key):
    """On a re-review workbook every column from Rating to Still accurate? is part of the table:
    a row below it with answers is one problem, naming the first column filled."""
    below = max(L.activity_rows(FW).values()) + 3
    col = L.ASSESS_BY_KEY[key].letter
    cells = {(A, f"{col}{below}"): "typed"}
    if key != "confirm":  # a later column filled too: the first one is named
        cells[(A, f"K{below}")] = "also"
    p = only(run(ret(_RE_REVIEW, cells=cells), ledger(_RE_REVIEW)), "stray-answer")
    assert (p.cell, p.found) == (f"{col}{below}", '"typed"')


def test_still_accurate_typed_on_a_first_round_workbook_is_outside_its_table():
    below = max(L.activity_rows(FW).values()) + 3
    result = run(ret(cells={(A, f"F{below}"): "typed", (A, f"K{below}"): "also"}))
    assert sorted((p.code, p.cell) for p in result.problems) == [
        ("outside-table", f"K{below}"), ("stray-answer", f"F{below}")]


def test_a_ref_with_spaces_around_it_still_matches():
    result = run(ret(cells={(A, "A6"): " 1.1 "}))
    assert result.ok and answer(result, "1.1").source_ref == "1.1"


# --- what the row says, what is outside the table, formulas, extra sheets (issue 11.4, 11.6) --------------

def test_a_row_whose_ref_and_activity_disagree_is_refused_naming_the_cell():
    """The Ref column re-ordered on its own (an unprotected copy, a Google Sheets download): every answer
    would land on the wrong activity."""
    rows = L.activity_rows(FW)
    raw = ret(cells={(A, f"A{rows['1.1']}"): "1.2", (A, f"A{rows['1.2']}"): "1.1"})
    result = run(raw)
    assert codes(result) == ["ref-mismatch", "ref-mismatch"]
    p = result.problems[0]
    text_11, text_12 = FW.activity("1.1").text, FW.activity("1.2").text
    assert (p.sheet, p.cell, p.ref, p.found, p.expected) == (A, f"A{rows['1.2']}", "1.1", shown(text_12),
                                                             shown(text_11))
    assert p.message == (f"Row {rows['1.2']} is marked 1.1 but its key activity is not 1.1's: it reads {shown(text_12)}, "
                         f"where 1.1 is {shown(text_11)}; that is activity 1.2's, so the Ref column was re-ordered or "
                         "sorted on its own. The answers on this row cannot be matched to an activity: copy your "
                         "answers into a fresh copy of the workbook we sent you.")
    assert {a.ref for a in result.answers}.isdisjoint({"1.1", "1.2"})


def test_whole_rows_moved_keep_their_activity_and_are_accepted():
    rows = L.activity_rows(FW)
    a, b = rows["1.1"], rows["1.2"]
    raw = ret()
    first, second = (next(r for r in raw.rows if r.row == n) for n in (a, b))
    first.row, second.row = b, a
    result = run(raw)
    assert "outside-table" not in codes(result)
    assert result.ok and [n.code for n in result.notes] == ["rows-moved"]


def test_an_activity_typed_over_is_refused_as_its_words_changed():
    rows = L.activity_rows(FW)
    p = only(run(ret(cells={(A, f"B{rows['2.1']}"): "We do this differently"})), "ref-mismatch")
    assert (p.cell, p.ref, p.found) == (f"A{rows['2.1']}", "2.1", '"We do this differently"')
    assert "; the activity's words were changed. The answers on this row cannot be matched" in p.message


def test_activity_text_is_compared_without_case_or_spacing():
    rows = L.activity_rows(FW)
    text = FW.activity("1.1").text
    assert run(ret(cells={(A, f"B{rows['1.1']}"): "  " + text.upper().replace(" ", "  ") + " "})).ok


@pytest.mark.parametrize("sheet, cell, how", [
    (A, "L7", "Move it into the Evidence or Improvement action of the activity it belongs to, or clear it."),
    (A, "J7", "Move it into the Evidence"),
    (A, f"B{L.activity_rows(FW)['8.1'] + 3}", "Move it into the Evidence"),
    (L.CONTRACT, "D6", "If it corrects a contract detail, write it in column C (Correction) beside that detail"),
    (L.CONTRACT, f"B{L.CONTRACT_LAST_ROW + 2}", "If it corrects a contract detail"),
    (ATT, "A7", "Clear it: only the sign-off cells are read."),
    (ATT, "D8", "Clear it: only the sign-off cells are read."),
    (ATT, f"C{L.ATTEST_LAST_ROW + 1}", "Clear it"),
])
def test_text_outside_the_table_or_form_is_refused_naming_the_cell(sheet, cell, how):
    p = only(run(ret(outside={(sheet, cell): "see my notes"})), "outside-table")
    assert (p.sheet, p.cell, p.found) == (sheet, cell, '"see my notes"')
    where = "outside the table" if sheet == A else "outside the form"
    assert p.message.startswith(f'"see my notes" is {where}, so it would not be read. ') and how in p.message


def test_a_ref_alone_below_the_table_is_outside_it():
    below = L.assessment_rows(FW)[-1].row + 2
    p = only(run(ret(cells={(A, f"A{below}"): "note"})), "outside-table")
    assert (p.cell, p.found) == (f"A{below}", '"note"')


def test_column_j_is_the_last_reviews_on_a_re_review_and_outside_on_a_first_round():
    iss = issue(round="R2", prefill_round="R1", prefill={"9.9": {"rating": "2 Good"}})
    assert run(ret(iss, outside={(A, "J7"): "2 Good (last year)"}), ledger(iss)).ok
    assert codes(run(ret(outside={(A, "J7"): "2 Good (last year)"}))) == ["outside-table"]


def test_many_cells_outside_are_named_then_counted():
    outside = {(A, f"M{r}"): "x" for r in range(10, 40)}
    result = run(ret(outside=outside))
    assert codes(result) == ["outside-table"] * 11
    last = result.problems[-1]
    assert last.found == "20 more cells" and last.message.startswith("20 more cells outside the table or form hold")


@pytest.mark.parametrize("sheet, cell, what, ref", [
    (A, "D{r}", "the rating cell", "1.2"),
    (A, "F{r}", "the evidence cell", "1.2"),
    (L.CONTRACT, "C9", "the cell for contract owner", ""),
    (ATT, "C6", "'Your name'", ""),
])
def test_a_formula_where_a_value_belongs_is_refused_whatever_it_shows(sheet, cell, what, ref):
    """Readers see a formula's cached value, which Excel would recompute (or none at all): the rating below
    shows a valid rating, and is refused all the same, with no other problem for that cell."""
    cell = cell.format(r=L.activity_rows(FW)["1.2"])
    raw = ret(formulas={(sheet, cell): 'IF(TODAY()>0,"4 Best","0 Not in place")'})
    if cell.startswith("F"):
        raw = ret(rows={"1.2": {"rating": "Not applicable", "evidence": ""}},
                  formulas={(sheet, cell): "Notes!A1"})  # no cached value: N/A would say its reason is missing
    p = only(run(raw), "formula")
    assert (p.sheet, p.cell, p.ref) == (sheet, cell, ref)
    assert p.message.startswith(f"{what} holds a formula (=") and p.message.endswith(
        "), not a value: type the value, not a formula")


def test_an_extra_sheet_is_noted_and_its_contents_not_read():
    result = run(ret(sheets=("My notes",)))
    assert result.ok
    (note,) = result.notes
    assert (note.code, note.sheet, note.found) == ("extra-sheet", "My notes", "'My notes'")
    assert note.message == ("The workbook has a sheet we did not send ('My notes'): nothing on it is read. The answers "
                            "counted are those on the Assessment sheet.")
    assert run(ret(sheets=(L.FIXES,))).notes == []  # a corrections workbook's own first sheet


def test_area_headings_moved_with_their_rows_are_not_outside_the_table():
    """A row deleted above shifts every heading up one row: a heading is known by its number and name."""
    raw = ret()
    for r in raw.rows:
        r.row -= 1
    result = run(raw)
    assert "outside-table" not in codes(result)
    assert result.ok and [n.code for n in result.notes] == ["rows-moved"]
