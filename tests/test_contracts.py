"""The contract list: every bad row reported at once, with row number and column."""

from __future__ import annotations

import datetime as dt

import pytest

from cmrg_excel.contracts import ContractListError, parse_date, parse_money, read_contracts
from cmrg_excel.generate import write_contract_list

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
        "row 3, column contract_id: Contract ID is missing",
        "row 4, column contract_id: duplicate contract ID: row 2 already has it (found 'C-1')",
        "row 5, column owner_email: not a valid email address (found 'owner at x')",
        "row 6, column annual_value_gbp: not an amount in pounds (write e.g. 1200000, £1.2m or £850k) (found 'lots')",
        "row 7, column start_date: not a date (write dd/mm/yyyy, e.g. 31/03/2027) (found '32/13/2024')",
        "row 8, column risk: risk must be Low, Medium or High (found 'Severe')",
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
    with pytest.raises(ContractListError, match="no header row with a 'contract_id' column"):
        read_contracts(tmp_path / "x.csv")


def test_sample_list_is_clean_and_spread():
    clist = read_contracts(SAMPLE_CSV)
    assert clist.ok and len(clist.contracts) == 28
    assert len({c.directorate for c in clist.contracts}) >= 4
