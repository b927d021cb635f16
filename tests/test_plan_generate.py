"""cmrg generate --planned MONTH: issuing a month of the review plan, as the secretariat left it."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.core.contracts import read_contracts
from cmrg_excel.kit.contract_list import write_contract_list
from cmrg_excel.issue.plan import PlanError, PlanSettings, default_start, make_plan
from cmrg_excel.issue.plan_workbook import ScheduleEntry, parse_month, planned_ids, read_plan_schedule

DEC = dt.datetime(2026, 12, 1)
JAN = dt.datetime(2027, 1, 1)


def run(ws, *args):
    return CliRunner().invoke(cli, [*args, "-w", str(ws.root)], catch_exceptions=False)


def plan_workbook(ws):
    return ws.outbox / "review-plan.xlsx"


def schedule_rows(path):
    """(month, contract ID) of every row under the Schedule sheet's header, read independently of the code."""
    wb = openpyxl.load_workbook(path)
    sheet = wb["Schedule"]
    header = next(r for r in range(1, 20) if sheet.cell(r, 2).value == "Contract ID")
    return [(sheet.cell(r, 1).value, sheet.cell(r, 2).value) for r in range(header + 1, sheet.max_row + 1)
            if sheet.cell(r, 2).value]


def issued(ws, round_):
    """The contract IDs of the workbooks written for a round: file names and the mail merge list agree."""
    folder = ws.outbox / round_
    if not folder.exists():
        return set()
    names = {p.stem for p in folder.glob("*.xlsx")}
    with (folder / "mailmerge.csv").open(encoding="utf-8-sig", newline="") as fh:
        merged = {row["contract_id"] for row in csv.DictReader(fh)}
    assert names == merged
    return names


@pytest.fixture
def planned(workspace):
    """The 28 sample contracts planned from 01/12/2026 by 'cmrg plan' (3 a month)."""
    res = run(workspace, "plan", "--from", "01/12/2026")
    assert res.exit_code == 0, res.output
    return workspace


# --- cmrg plan says what to do next ----------------------------------------------------
def test_plan_ends_with_the_generate_command_that_issues_its_first_month(planned):
    res = run(planned, "plan", "--from", "01/12/2026")
    last = res.output.rstrip().splitlines()[-1]
    assert last.startswith("Next: ") and "outbox/review-plan.xlsx" in last
    assert last.endswith("cmrg generate --round 2026-27 --planned 12/2026")
    res = run(planned, "plan", "--from", "01/05/2027")
    assert res.output.rstrip().endswith("cmrg generate --round 2027-28 --planned 05/2027")


# --- the plan workbook as written ------------------------------------------------------
def test_planned_generates_exactly_the_months_contracts_on_the_schedule_sheet(planned):
    rows = schedule_rows(plan_workbook(planned))
    december = {cid for month, cid in rows if month == DEC}
    assert len(december) == 3 and len(rows) == 28
    res = run(planned, "generate", "--round", "R1", "--planned", "12/2026")
    assert res.exit_code == 0, res.output
    assert issued(planned, "R1") == december
    first = res.output.splitlines()[0]
    assert first.startswith("Planned for December 2026: 3 contract(s) (outbox/review-plan.xlsx, Schedule sheet")
    assert all(cid in first for cid in december)
    # the workbooks are the contracts' own
    for cid in december:
        wb = openpyxl.load_workbook(planned.outbox / "R1" / f"{cid}.xlsx", read_only=True)
        assert cid in [v for row in wb["Contract"].iter_rows(values_only=True) for v in row]
        wb.close()

    # next month, same round: only January's, and December's are not touched
    january = {cid for month, cid in rows if month == JAN}
    res = run(planned, "generate", "--round", "R1", "--planned", "Jan 2027")
    assert res.exit_code == 0, res.output
    assert issued(planned, "R1") == december | january and not december & january


def test_a_hand_edited_plan_is_honoured(planned):
    path = plan_workbook(planned)
    rows = schedule_rows(path)
    december = [cid for month, cid in rows if month == DEC]
    january = [cid for month, cid in rows if month == JAN]
    dropped, moved = december[0], january[-1]

    # The secretariat: a title row inserted above, December's first review deleted, one of
    # January's moved into December (typed as text), and the rows re-sorted by contract ID.
    wb = openpyxl.load_workbook(path)
    sheet = wb["Schedule"]
    sheet.insert_rows(1)
    header = next(r for r in range(1, 20) if sheet.cell(r, 2).value == "Contract ID")
    body = [[c.value for c in sheet[r]] for r in range(header + 1, sheet.max_row + 1) if sheet.cell(r, 2).value]
    body = [row for row in body if row[1] != dropped]
    for row in body:
        if row[1] == moved:
            row[0] = "December 2026"
    body.sort(key=lambda row: row[1], reverse=True)
    sheet.delete_rows(header + 1, sheet.max_row - header)
    for row in body:
        sheet.append(row)
    wb.save(path)

    expected_dec = set(december) - {dropped} | {moved}
    assert len(expected_dec) == 3 and dropped not in expected_dec
    res = run(planned, "generate", "--round", "R1", "--planned", "12/2026")
    assert res.exit_code == 0, res.output
    assert issued(planned, "R1") == expected_dec
    res = run(planned, "generate", "--round", "R2", "--planned", "01/2027")
    assert res.exit_code == 0, res.output
    assert issued(planned, "R2") == set(january) - {moved}


def test_a_contract_added_by_hand_is_planned_too(planned):
    path = plan_workbook(planned)
    rows = schedule_rows(path)
    later = next(cid for month, cid in rows if month not in (DEC, JAN))
    wb = openpyxl.load_workbook(path)
    sheet = wb["Schedule"]
    sheet.append([DEC, later])  # copied into December as well as its own month
    wb.save(path)
    res = run(planned, "generate", "--round", "R1", "--planned", "December 2026")
    assert res.exit_code == 0, res.output
    assert issued(planned, "R1") == {cid for month, cid in rows if month == DEC} | {later}


# --- no plan workbook: recomputed -----------------------------------------------------
def test_without_a_plan_workbook_the_plan_is_recomputed_from_the_list_and_settings(workspace):
    cfg = workspace.root / "cmrg.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("per_month = 3", "per_month = 2"), encoding="utf-8")
    contracts = read_contracts(workspace.contracts_path).contracts
    expected = make_plan(contracts, PlanSettings(per_month=2), dt.date(2027, 1, 1)).reviews
    expected_jan = {r.contract_id for r in expected if r.month == dt.date(2027, 1, 1)}
    assert len(expected_jan) == 2

    res = run(workspace, "generate", "--round", "R1", "--planned", "2027-01", "--plan-from", "01/01/2027")
    assert res.exit_code == 0, res.output
    assert issued(workspace, "R1") == expected_jan
    assert ("Planned for January 2027: 2 contract(s) (recomputed from contracts.xlsx and cmrg.toml, starting "
            "01/01/2027, as there is no outbox/review-plan.xlsx)") in res.output
    assert not plan_workbook(workspace).exists()  # generate does not write a plan

    # the same contracts as 'cmrg plan --from' puts in that month
    assert run(workspace, "plan", "--from", "01/01/2027").exit_code == 0
    assert {cid for month, cid in schedule_rows(plan_workbook(workspace)) if month == JAN} == expected_jan


def test_recomputed_plan_starts_where_cmrg_plan_does_by_default(workspace):
    start = default_start(dt.date.today())
    res = run(workspace, "generate", "--round", "R1", "--planned", f"{start:%m/%Y}")
    assert res.exit_code == 0, res.output
    assert f"starting {start:%d/%m/%Y}" in res.output and len(issued(workspace, "R1")) == 3
    # a month before the default start: nothing planned, and how to plan from it
    before = dt.date(start.year - 1, start.month, 1)
    res = run(workspace, "generate", "--round", "R2", "--planned", f"{before:%m/%Y}")
    assert res.exit_code == 1
    assert f"no contracts are planned for {before:%B %Y}" in res.output
    assert f"--plan-from {before:%d/%m/%Y}" in res.output
    assert issued(workspace, "R2") == set()


# --- months ---------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["12/2026", "2026-12", "Dec 2026", "December 2026", "DECEMBER 2026", "dec 2026",
                                  " 12 / 2026 ", "Dec. 2026", "dec-2026"])
def test_month_forms(text):
    assert parse_month(text) == dt.date(2026, 12, 1)


@pytest.mark.parametrize("text", ["13/2026", "2026-00", "Decembre 2026", "12/26", "2026", "next month", ""])
def test_bad_months_are_refused(text):
    with pytest.raises(ValueError, match="is not a month: write it as 12/2026, 2026-12, Dec 2026 or December 2026"):
        parse_month(text)


def test_cli_month_forms_and_a_bad_month(planned):
    december = {cid for month, cid in schedule_rows(plan_workbook(planned)) if month == DEC}
    res = run(planned, "generate", "--round", "R1", "--planned", "DECEMBER 2026")
    assert res.exit_code == 0, res.output
    assert issued(planned, "R1") == december
    res = run(planned, "generate", "--round", "R2", "--planned", "Decembre 2026")
    assert res.exit_code == 2
    assert ("Invalid value for '--planned': 'Decembre 2026' is not a month: write it as 12/2026, 2026-12, "
            "Dec 2026 or December 2026") in res.output
    assert "Traceback" not in res.output and issued(planned, "R2") == set()


# --- errors ---------------------------------------------------------------------------
def test_a_planned_contract_no_longer_on_the_list_is_an_error(planned):
    december = sorted(cid for month, cid in schedule_rows(plan_workbook(planned)) if month == DEC)
    gone = december[1]
    kept = [c for c in read_contracts(planned.contracts_path).contracts if c.contract_id != gone]
    write_contract_list(planned.contracts_path, kept)
    res = run(planned, "generate", "--round", "R1", "--planned", "12/2026")
    assert res.exit_code == 1
    assert (f"planned for December 2026 in outbox/review-plan.xlsx but not on the contract list: {gone}."
            in res.output)
    assert issued(planned, "R1") == set()  # not the other two either
    # other months are unaffected
    assert run(planned, "generate", "--round", "R1", "--planned", "01/2027").exit_code == 0


def test_a_month_with_nothing_planned_is_an_error(planned):
    res = run(planned, "generate", "--round", "R1", "--planned", "03/2030")
    assert res.exit_code == 1
    assert ("no contracts are planned for March 2030, so nothing was generated: the plan is outbox/review-plan.xlsx, "
            "Schedule sheet as last saved, and it schedules reviews from December 2026 to") in res.output
    assert issued(planned, "R1") == set() and not (planned.outbox / "R1").exists()

    # every December row deleted by hand
    path = plan_workbook(planned)
    wb = openpyxl.load_workbook(path)
    sheet = wb["Schedule"]
    for r in range(sheet.max_row, 0, -1):
        if sheet.cell(r, 1).value == DEC:
            sheet.delete_rows(r)
    wb.save(path)
    res = run(planned, "generate", "--round", "R1", "--planned", "12/2026")
    assert res.exit_code == 1 and "no contracts are planned for December 2026" in res.output
    assert "from January 2027 to" in res.output


def test_planned_option_misuse_is_a_usage_error(planned):
    res = run(planned, "generate", "--round", "R1", "--planned", "12/2026", "--only", "GET-001")
    assert res.exit_code == 2 and "use --planned or --only, not both" in res.output
    res = run(planned, "generate", "--round", "R1", "--plan-from", "01/12/2026")
    assert res.exit_code == 2 and "--plan-from goes with --planned" in res.output
    res = run(planned, "generate", "--round", "R1", "--planned", "12/2026", "--plan-from", "01/12/2026")
    assert res.exit_code == 2 and "--plan-from is only for when there is no plan workbook" in res.output
    assert issued(planned, "R1") == set()


def test_unreadable_plan_workbook_is_an_error_not_a_recomputation(planned):
    plan_workbook(planned).write_bytes(b"not a workbook")
    res = run(planned, "generate", "--round", "R1", "--planned", "12/2026")
    assert res.exit_code == 1 and "outbox/review-plan.xlsx could not be read as an Excel workbook" in res.output
    assert issued(planned, "R1") == set()


def test_generate_help_explains_where_the_plan_comes_from():
    out = CliRunner().invoke(cli, ["generate", "--help"]).output
    for text in ("--planned MONTH", "--plan-from DATE", "outbox/review-plan.xlsx", "recomputed",
                 "--planned and --only do not mix", "Dec 2026"):
        assert text in out


# --- the reader -----------------------------------------------------------------------
def test_reader_finds_the_header_and_columns_wherever_they_are(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Schedule"
    ws.append(["Our plan, edited"])
    ws.append([])
    ws.append(["Why", " contract id ", "Notes", "MONTH"])  # columns moved, headings re-typed
    ws.append(["big", "A-1", None, dt.datetime(2026, 12, 15)])  # a day within the month
    ws.append([])
    ws.append(["", "B-2", None, "Jan 2027"])  # typed as text
    ws.append(["", "C-3", None, 46388])  # a date shown as a number (1 January 2027)
    ws.append(["", 1234, None, "01/12/2026"])  # an ID typed as a number, a whole date as text
    ws.append(["", "D-4", None, None])  # month cleared: no longer scheduled
    ws.append(["Not scheduled in these 12 months: 3", None, None, None])
    ws.append(["", "a-1", None, DEC])  # a duplicate, differently cased
    wb.save(tmp_path / "plan.xlsx")
    entries = read_plan_schedule(tmp_path / "plan.xlsx")
    assert [(e.month, e.contract_id, e.row) for e in entries] == [
        (dt.date(2026, 12, 1), "A-1", 4), (dt.date(2027, 1, 1), "B-2", 6), (dt.date(2027, 1, 1), "C-3", 7),
        (dt.date(2026, 12, 1), "1234", 8), (dt.date(2026, 12, 1), "a-1", 11)]
    assert planned_ids(entries, dt.date(2026, 12, 1)) == ["A-1", "1234"]
    assert planned_ids(entries, dt.date(2027, 1, 20)) == ["B-2", "C-3"]
    assert planned_ids([ScheduleEntry(dt.date(2026, 12, 1), "X", 0)], dt.date(2026, 11, 1)) == []


def test_reader_errors_name_the_file_and_cell(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Schedule"
    ws.append(["Month", "Contract ID"])
    ws.append(["soon", "A-1"])
    wb.save(tmp_path / "plan.xlsx")
    with pytest.raises(PlanError, match=r"outbox/x\.xlsx, Schedule!A2 \(contract A-1\): 'soon' is not a month"):
        read_plan_schedule(tmp_path / "plan.xlsx", "outbox/x.xlsx")
    ws["A1"] = "When"
    wb.save(tmp_path / "plan.xlsx")
    with pytest.raises(PlanError, match="no header row with the headings 'Month' and 'Contract ID'"):
        read_plan_schedule(tmp_path / "plan.xlsx")
    ws.title = "Plan"
    wb.save(tmp_path / "plan.xlsx")
    with pytest.raises(PlanError, match=r"has no Schedule sheet \(it has: Plan\)"):
        read_plan_schedule(tmp_path / "plan.xlsx")
