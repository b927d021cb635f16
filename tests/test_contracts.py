"""The contract list: every bad row reported at once, with row number and column."""

from __future__ import annotations

import datetime as dt

import pytest

from cmrg_excel.core.contracts import ContractListError, parse_date, parse_money, read_contracts, read_date
from cmrg_excel.kit.contract_list import write_contract_list

from .conftest import SAMPLE_CSV, make_contract

HEADER = ("contract_id,title,supplier,directorate,owner_name,owner_email,annual_value_gbp,total_value_gbp,"
          "start_date,end_date,risk,complexity,recommission_date,audit_synergy,last_review_date")
GOOD = "C-1,Title,Supplier,Dir,Owner,o@x.gov.uk,£1.2m,\"1,200,000\",01/04/2024,31/03/2027,High,Low,,Yes,"


def csv_list(tmp_path, *rows):
    path = tmp_path / "contracts.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return read_contracts(path)


@pytest.mark.parametrize("text, value", [("£1.2m", 1_200_000), ("1,200,000", 1_200_000), ("850k", 850_000),
                                         ("£60,000.50", 60_000.5), (" 2 million ", 2_000_000), (42, 42)])
def test_money_forms(text, value):
    assert parse_money(text) == value


@pytest.mark.parametrize("text", ["£1.2.3m", "twelve", "1,20,000", ""])
def test_money_rejects(text):
    with pytest.raises(ValueError):
        parse_money(text)


def test_dates_accept_uk_iso_and_serials():
    assert parse_date("31/03/2027") == dt.date(2027, 3, 31)
    assert parse_date("2027-03-31") == dt.date(2027, 3, 31)
    assert parse_date("31 March 2027") == dt.date(2027, 3, 31)
    assert parse_date(46477) == dt.date(2027, 3, 31)
    with pytest.raises(ValueError):
        parse_date("03/31/2027")


MARCH_31 = dt.date(2027, 3, 31)


@pytest.mark.parametrize("value", [
    "31/03/27", "31/03/2027", "31 - 03 - 2027", "31st March 2027", "31 Mar 2027", "2027-03-31",
    "2027-03-31 00:00:00", "2027-03-31T10:30:00", dt.datetime(2027, 3, 31, 13, 5), MARCH_31, 46477,
])
def test_contract_list_date_forms(value):
    """Every form the contract list took before the date readers were merged, and the
    friendlier ones it gains from the returns' reader (spaces, 31st)."""
    assert parse_date(value) == MARCH_31


@pytest.mark.parametrize("text, day", [("31/03/68", dt.date(2068, 3, 31)), ("01/01/69", dt.date(1969, 1, 1)),
                                       ("01/01/00", dt.date(2000, 1, 1))])
def test_contract_list_two_digit_years_as_strptime_read_them(text, day):
    # strptime's %y, which the list used before: 00-68 are 20xx, 69-99 are 19xx.
    assert parse_date(text) == day


def test_serial_number_keeps_only_the_day():
    # A serial with a time of day (18:00 here) is that day, as the old fractional reading gave.
    assert parse_date(46112.75) == parse_date(46112) == dt.date(2026, 3, 31)


@pytest.mark.parametrize("value", [True, float("nan"), "hello", 0, "31/02/2027", None])
def test_contract_list_refuses_non_dates(value):
    with pytest.raises(ValueError, match="not a"):
        parse_date(value)


def test_contract_list_gets_the_friendlier_forms(tmp_path):
    clist = csv_list(tmp_path, GOOD.replace("01/04/2024", "1st April 2024").replace("31/03/2027", "31 - 03 - 27"))
    assert clist.ok, [str(p) for p in clist.problems]
    assert (clist.contracts[0].start_date, clist.contracts[0].end_date) == (dt.date(2024, 4, 1), MARCH_31)


def test_read_date_refuses_two_digit_years_unless_asked():
    assert read_date("31/03/27") == (None, "has a two-digit year; write the year in full")
    assert read_date("31/03/27", two_digit_year=True) == (MARCH_31, "")


def test_good_row_parses_every_column(tmp_path):
    clist = csv_list(tmp_path, GOOD)
    assert clist.ok
    c = clist.contracts[0]
    assert (c.annual_value_gbp, c.total_value_gbp) == (1_200_000, 1_200_000)
    assert c.end_date == dt.date(2027, 3, 31) and c.audit_synergy is True and c.recommission_date is None


def test_every_bad_row_reported_with_row_and_column(tmp_path):
    clist = csv_list(
        tmp_path,
        GOOD,
        GOOD.replace("C-1,", ",", 1),                       # row 3 missing id
        GOOD,                                                # row 4 duplicate id
        GOOD.replace("C-1,", "C-4,").replace("o@x.gov.uk", "owner at x"),  # row 5 bad email
        GOOD.replace("C-1,", "C-5,").replace("£1.2m", "lots"),             # row 6 bad money
        GOOD.replace("C-1,", "C-6,").replace("01/04/2024", "32/13/2024"),  # row 7 bad date
        GOOD.replace("C-1,", "C-7,").replace("High,Low", "Severe,Low"),    # row 8 unknown risk
    )
    got = [str(p) for p in clist.problems]
    assert got == [
        # columns named as the list's header row shows them
        "row 3, column Contract ID: Contract ID is missing",
        "row 4, column Contract ID: duplicate contract ID: row 2 already has it (found 'C-1')",
        "row 5, column Owner email: not a valid email address (found 'owner at x')",
        "row 6, column Annual value (£): not an amount in pounds (write e.g. 1200000, £1.2m or £850k) (found 'lots')",
        "row 7, column Start date: there is no month 13 (months run from 1 to 12) (found '32/13/2024')",
        "row 8, column Risk: risk must be Low, Medium or High (found 'Severe')",
    ]
    assert clist.bad_rows == (3, 4, 5, 6, 7, 8)
    assert [c.contract_id for c in clist.contracts] == ["C-1"]


def test_xlsx_round_trip_of_the_list_and_example_row_ignored(tmp_path):
    blank = write_contract_list(tmp_path / "blank.xlsx")
    assert read_contracts(blank).contracts == ()
    path = write_contract_list(tmp_path / "c.xlsx", [make_contract("C-1"), make_contract("C-2", risk="Low")])
    clist = read_contracts(path)
    assert clist.ok and [c.contract_id for c in clist.contracts] == ["C-1", "C-2"]
    assert clist.contracts[0].start_date == dt.date(2023, 4, 1)


def test_unreadable_lists(tmp_path):
    with pytest.raises(ContractListError, match="not found"):
        read_contracts(tmp_path / "missing.csv")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ContractListError, match="no header row with a 'Contract ID' column"):
        read_contracts(tmp_path / "x.csv")


def test_sample_list_is_clean_and_spread():
    clist = read_contracts(SAMPLE_CSV)
    assert clist.ok and len(clist.contracts) == 28
    assert len({c.directorate for c in clist.contracts}) >= 4


def test_an_impossible_date_is_named_as_a_person_would_say_it(tmp_path):
    """Not 'write dd/mm/yyyy' (the user did) but which day does not exist, under the heading the
    user sees."""
    clist = csv_list(tmp_path, GOOD.replace("31/03/2027", "31/02/2027"))
    assert [str(p) for p in clist.problems] == [
        "row 2, column End date: there is no 31 February 2027 (found '31/02/2027')"]
