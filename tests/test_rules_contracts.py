"""Every rule of the contract list (cmrg_excel.core.contracts), one assertion each: the exact words the
secretariat reads, and where. Lists are small CSV files (and a few workbooks) written in the test."""

from __future__ import annotations

import datetime as dt

import pytest
import xlsxwriter

from cmrg_excel.core.contracts import COLUMNS, ContractListError, ContractProblem, parse_date, parse_money, read_contracts, safe_filename

HEADER = [c.name for c in COLUMNS]
GOOD = {"contract_id": "C-1", "title": "Title", "supplier": "Supplier", "directorate": "Dir", "owner_name": "Owner",
        "owner_email": "o@x.gov.uk", "annual_value_gbp": "1000", "total_value_gbp": "5000",
        "start_date": "01/04/2024", "end_date": "31/03/2027", "risk": "High", "complexity": "Low",
        "recommission_date": "", "audit_synergy": "", "last_review_date": ""}


def csv_text(rows: list[dict], header: list[str] = HEADER, columns: list[str] = HEADER) -> str:
    """A CSV list: the header line as given, then each row's values for ``columns`` in order."""
    def cell(v):
        v = str(v)
        return f'"{v}"' if "," in v or '"' in v else v
    return "\n".join([",".join(header)] + [",".join(cell(r.get(h, "")) for h in columns) for r in rows]) + "\n"


def read(tmp_path, *rows: dict, header: list[str] = HEADER, before: str = ""):
    path = tmp_path / "contracts.csv"
    columns = HEADER if len(header) == len(HEADER) else header
    path.write_text(before + csv_text([{**GOOD, **r} for r in rows], header, columns), encoding="utf-8")
    return read_contracts(path)


def problem(tmp_path, **cells) -> ContractProblem:
    """The one problem of a list whose only row has these cells."""
    result = read(tmp_path, cells)
    assert len(result.problems) == 1, [str(p) for p in result.problems]
    assert result.contracts == () and result.bad_rows == (2,)
    return result.problems[0]


def test_a_good_row_is_read_as_typed_values(tmp_path):
    result = read(tmp_path, {"recommission_date": "2027-06-30", "audit_synergy": "Yes",
                             "last_review_date": "1 March 2025", "title": "  Roads   and  paths "})
    assert result.ok and result.problems == () and result.bad_rows == ()
    (c,) = result.contracts
    assert (c.contract_id, c.title, c.row, c.annual_value_gbp, c.total_value_gbp) == ("C-1", "Roads and paths", 2,
                                                                                       1000.0, 5000.0)
    assert (c.start_date, c.end_date, c.recommission_date, c.last_review_date) == (
        dt.date(2024, 4, 1), dt.date(2027, 3, 31), dt.date(2027, 6, 30), dt.date(2025, 3, 1))
    assert (c.risk, c.complexity, c.audit_synergy) == ("High", "Low", True)
    assert result.by_id() == {"C-1": c} and result.source == str(tmp_path / "contracts.csv")
    assert c.as_dict()["row"] == 2 and c.as_dict()["title"] == "Roads and paths"


@pytest.mark.parametrize("column, heading", [(c.name, c.heading) for c in COLUMNS if c.required])
def test_a_required_value_is_missing(tmp_path, column, heading):
    p = problem(tmp_path, **{column: "  "})
    assert (p.row, p.column, p.value, p.message) == (2, column, None, f"{heading} is missing")
    assert str(p) == f"row 2, column {heading}: {heading} is missing"


@pytest.mark.parametrize("value, ok", [("C-0001", "C-0001"), ("a", "a"), ("1/2.3_4-5", "1/2.3_4-5"), ("x" * 40, None),
                                       ("x" * 41, ""), ("-C1", ""), ("C 1", ": it holds a space"),
                                       ("C#1", ": '#' is not allowed")])
def test_a_contract_id(tmp_path, value, ok):
    if ok is None or ok.startswith(("C", "a", "1")):
        assert read(tmp_path, {"contract_id": value}).contracts[0].contract_id == (ok or value)
        return
    p = problem(tmp_path, contract_id=value)
    assert p.message == ("contract ID must be 1-40 letters, digits, '-', '_', '.' or '/', starting with a letter "
                         "or digit" + ok)


def test_a_contract_id_typed_as_a_number_in_a_workbook(tmp_path):
    path = tmp_path / "contracts.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Contracts")
    ws.write_row(0, 0, HEADER)
    ws.write_row(1, 0, [GOOD[h] for h in HEADER])
    ws.write_number(1, 0, 1234.0)
    ws.write_number(1, 6, 2500.5)
    wb.close()
    assert read_contracts(path).contracts[0].contract_id == "1234"
    assert read_contracts(path).contracts[0].annual_value_gbp == 2500.5


def test_text_up_to_255_characters(tmp_path):
    assert read(tmp_path, {"title": "x" * 255}).ok
    p = problem(tmp_path, title="x" * 256)
    assert (p.column, p.message) == ("title", "Contract title is longer than 255 characters")


@pytest.mark.parametrize("value, ok", [("a@b.gov.uk", "a@b.gov.uk"), ("mailto:a@b.gov.uk", "a@b.gov.uk"),
                                       ("MAILTO:a@b.gov.uk", "a@b.gov.uk"), ("a@b", None), ("a b@c.uk", None),
                                       ("mailto:", None)])
def test_an_email_address(tmp_path, value, ok):
    if ok:
        assert read(tmp_path, {"owner_email": value}).contracts[0].owner_email == ok
    else:
        assert problem(tmp_path, owner_email=value).message == "not a valid email address"


@pytest.mark.parametrize("value, amount", [("£1.2m", 1_200_000.0), ("0", 0.0), ("0.004", 0.0), ("0.005", 0.01),
                                           ("12.345", 12.35), ("GBP 500", 500.0), ("500 gbp", 500.0)])
def test_money_is_kept_to_the_penny(tmp_path, value, amount):
    assert read(tmp_path, {"annual_value_gbp": value}).contracts[0].annual_value_gbp == amount


@pytest.mark.parametrize("value, message", [
    ("twelve", "not an amount in pounds (write e.g. 1200000, £1.2m or £850k)"),
    ("-5", "amount must not be negative"), ("-£1m", "amount must not be negative"),
])
def test_money_that_is_not_an_amount(tmp_path, value, message):
    assert problem(tmp_path, total_value_gbp=value).message == message


@pytest.mark.parametrize("value, amount", [
    ("£1.2m", 1.2e6), ("850k", 850e3), ("3 thousand", 3e3), ("2 MILLION", 2e6), ("1bn", 1e9), ("1.5 billion", 1.5e9),
    ("1,200,000", 1.2e6), ("-£5", -5.0), ("- 5k", -5e3), ("\u00a0£7\u00a0", 7.0), ("GBP7", 7.0), ("7gbp", 7.0),
    (3, 3.0), (2.5, 2.5), ("12", 12.0),
])
def test_parse_money(value, amount):
    assert parse_money(value) == amount


@pytest.mark.parametrize("value", [True, float("nan"), "", "£", "1.2.3", "k", "12 quid", None])
def test_parse_money_refuses(value):
    with pytest.raises(ValueError) as err:
        parse_money(value)
    assert str(err.value) == "not an amount"


def test_dates_and_the_order_of_start_and_end(tmp_path):
    p = problem(tmp_path, start_date="next year")
    assert (p.column, p.value, p.message) == ("start_date", "next year", "not a date (write dd/mm/yyyy, e.g. 31/03/2027)")
    p = problem(tmp_path, start_date="01/04/2027", end_date="31/03/2027")
    assert (p.row, p.column, p.value, p.message) == (2, "end_date", "31/03/2027", "end date is before the start date")
    assert read(tmp_path, {"start_date": "31/03/2027", "end_date": "31/03/2027"}).ok


@pytest.mark.parametrize("value, why", [("soon", "not a date"), ("31/02/2027", "not a real date: there is no 31 February 2027"), (True, "not a date")])
def test_parse_date_says_why(value, why):
    with pytest.raises(ValueError) as err:
        parse_date(value)
    assert str(err.value) == why


@pytest.mark.parametrize("value, level", [("high", "High"), (" MEDIUM ", "Medium"), ("low", "Low")])
def test_a_level(tmp_path, value, level):
    assert read(tmp_path, {"risk": value}).contracts[0].risk == level


def test_a_level_that_is_not_one(tmp_path):
    assert problem(tmp_path, complexity="Very high").message == "complexity must be Low, Medium or High"
    assert problem(tmp_path, risk="Hi").message == "risk must be Low, Medium or High"


@pytest.mark.parametrize("value, flag", [("Yes", True), ("y", True), ("TRUE", True), ("1", True), ("no", False),
                                         ("N", False), ("False", False), ("0", False)])
def test_yes_or_no(tmp_path, value, flag):
    assert read(tmp_path, {"audit_synergy": value}).contracts[0].audit_synergy is flag


def test_yes_or_no_that_is_neither(tmp_path):
    p = problem(tmp_path, audit_synergy="maybe")
    assert (p.column, p.message) == ("audit_synergy", "must be Yes or No")
    assert str(p) == "row 2, column Audit synergy: must be Yes or No (found 'maybe')"


def test_a_duplicate_contract_id_names_the_first_row(tmp_path):
    result = read(tmp_path, {"contract_id": "C-1"}, {"contract_id": "c-1"}, {"contract_id": "C-2"})
    assert [str(p) for p in result.problems] == [
        "row 3, column Contract ID: duplicate contract ID: row 2 already has it (found 'c-1')"]
    assert result.bad_rows == (3,) and [c.contract_id for c in result.contracts] == ["C-1", "C-2"]
    assert [c.row for c in result.contracts] == [2, 4]


def test_every_problem_of_every_row_at_once(tmp_path):
    result = read(tmp_path, {"risk": "x", "owner_email": "y"}, {"contract_id": "C-2"},
                  {"contract_id": "C-3", "start_date": ""})
    assert [(p.row, p.column) for p in result.problems] == [(2, "owner_email"), (2, "risk"), (4, "start_date")]
    assert result.bad_rows == (2, 4) and len(result.contracts) == 1 and not result.ok


def test_blank_and_example_rows_are_skipped(tmp_path):
    result = read(tmp_path, {k: "" for k in HEADER}, {"contract_id": " Example "}, {"contract_id": "C-9"})
    assert result.ok and [(c.contract_id, c.row) for c in result.contracts] == [("C-9", 4)]


def test_the_header_may_use_headings_any_case_and_sit_below_a_title(tmp_path):
    headings = [c.heading.upper() for c in COLUMNS]
    result = read(tmp_path, {}, header=headings, before="Our contracts\n\n")
    assert result.ok and result.contracts[0].row == 4
    odd = HEADER[:-1] + ["  Last-Review!! "]
    assert read(tmp_path, {}, header=odd).ok


def test_a_column_written_twice_is_read_from_the_first(tmp_path):
    path = tmp_path / "contracts.csv"
    row = [GOOD[h] for h in HEADER] + ["Other title"]
    path.write_text(",".join(HEADER + ["title"]) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    assert read_contracts(path).contracts[0].title == "Title"


def test_a_short_row_is_read_as_far_as_it_goes(tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD[h] for h in HEADER[:12]) + "\n", encoding="utf-8")
    (c,) = read_contracts(path).contracts
    assert c.recommission_date is None and c.audit_synergy is None and c.last_review_date is None


@pytest.mark.parametrize("header_at, found", [(20, True), (21, False)])
def test_the_header_is_looked_for_in_the_first_20_rows(tmp_path, header_at, found):
    before = "title\n" * (header_at - 1)
    if found:
        assert read(tmp_path, {}, before=before).contracts[0].row == header_at + 1
        return
    with pytest.raises(ContractListError) as err:
        read(tmp_path, {}, before=before)
    assert str(err.value) == f"{tmp_path / 'contracts.csv'}: no header row with a 'Contract ID' column in the first 20 rows"


def test_a_header_without_the_required_columns(tmp_path):
    with pytest.raises(ContractListError) as err:
        read(tmp_path, {}, header=["contract_id", "title", "risk"])
    assert str(err.value) == (
        f"{tmp_path / 'contracts.csv'}: header row 1 lacks required column(s): Supplier, Directorate, Contract owner, "
        "Owner email, Annual value (£), Total value (£), Start date, End date, Complexity")


def test_lists_that_cannot_be_read(tmp_path):
    with pytest.raises(ContractListError) as err:
        read_contracts(tmp_path / "none.csv")
    assert str(err.value) == f"{tmp_path / 'none.csv'}: contract list not found (run 'cmrg init' to create one)"
    (tmp_path / "list.txt").write_text("x")
    with pytest.raises(ContractListError) as err:
        read_contracts(tmp_path / "list.txt")
    assert str(err.value) == f"{tmp_path / 'list.txt'}: the contract list must be an .xlsx or .csv file"
    (tmp_path / "bad.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(ContractListError) as err:
        read_contracts(tmp_path / "bad.xlsx")
    assert str(err.value).startswith(f"{tmp_path / 'bad.xlsx'}: cannot be opened as a workbook (")


def test_a_csv_saved_by_excel_in_windows_encoding(tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_bytes(csv_text([{**GOOD, "title": "Caf\u00e9 services"}]).encode("cp1252"))
    assert read_contracts(path).contracts[0].title == "Caf\u00e9 services"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text([{**GOOD, "title": "Caf\u00e9"}]).encode("utf-8"))
    assert read_contracts(path).contracts[0].title == "Caf\u00e9"


def _workbook(path, sheets: dict[str, list[list]], formula: bool = False) -> None:
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
    if formula:
        ws = wb.get_worksheet_by_name("Contracts")
        ws.write_formula(1, 6, "=1000+234", None, 1234)
    wb.close()


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm", ".XLSX"])
def test_a_workbook_list_is_read_from_its_contracts_sheet(tmp_path, suffix):
    path = tmp_path / f"contracts{suffix}"
    row = [GOOD[h] for h in HEADER]
    _workbook(path, {"Notes": [["read me"]], "Contracts": [HEADER, row]}, formula=True)
    result = read_contracts(path)
    assert result.ok and result.contracts[0].row == 2
    assert result.contracts[0].annual_value_gbp == 1234.0  # the value Excel shows, not the formula


def test_a_workbook_without_a_contracts_sheet_is_read_from_its_first(tmp_path):
    path = tmp_path / "list.xlsx"
    _workbook(path, {"Mine": [HEADER, [GOOD[h] for h in HEADER]], "Other": [["x"]]})
    assert read_contracts(path).contracts[0].contract_id == "C-1"


@pytest.mark.parametrize("cid, stem", [
    ("C-0001", "C-0001"), ("A/B:C", "A_B_C"), ('a<b>c"d\\e|f?g*h', "a_b_c_d_e_f_g_h"), ("x\x01y\x1fz", "x_y_z"),
    ("end. ", "end"), (". lead", ". lead"), ("CON", "_CON"), ("con.txt", "_con.txt"), ("PRN", "_PRN"),
    ("AUX", "_AUX"), ("NUL", "_NUL"), ("COM1", "_COM1"), ("COM9", "_COM9"), ("LPT1", "_LPT1"), ("LPT9", "_LPT9"),
    ("COM0", "COM0"), ("COM10", "COM10"), ("LPT0", "LPT0"), ("LPT10", "LPT10"), ("CONTRACT", "CONTRACT"),
    ("...", "_"), ("", "_"),
])
def test_safe_filename(cid, stem):
    assert safe_filename(cid) == stem


def test_a_problem_in_words():
    assert str(ContractProblem(3, "risk", "x", "bad")) == "row 3, column Risk: bad (found 'x')"
    assert str(ContractProblem(3, "", None, "bad")) == "row 3: bad"
    assert str(ContractProblem(3, "risk", "", "bad")) == "row 3, column Risk: bad"
    assert str(ContractProblem(3, "risk", 0, "bad")) == "row 3, column Risk: bad (found 0)"


# --- IDs that would be confused (issue 11.8, 17.3, 17.12) --------------------------------------------


@pytest.mark.parametrize("first, second, words", [
    ("A/B", "A_B", ["same file name as 'A/B' on row 2 (A_B.xlsx)", "overwrite each other"]),
    ("Y1.", "Y1", ["same file name as 'Y1.' on row 2 (Y1.xlsx)"]),
    ("C-1", "C-1.", ["same file name as 'C-1' on row 2 (C-1.xlsx)"]),
    ("C/1", "C_1", ["same file name as 'C/1' on row 2 (C_1.xlsx)"]),
    ("C-1", "C.1", ["differs from 'C-1' on row 2 only in punctuation"]),
])
def test_ids_that_differ_only_in_punctuation_are_refused_naming_both_rows(tmp_path, first, second, words):
    result = read(tmp_path, {"contract_id": first}, {"contract_id": second})
    (p,) = result.problems
    assert (p.row, p.column, p.value) == (3, "contract_id", second)
    for w in words:
        assert w in p.message, (w, p.message)
    assert p.message.endswith(": give one of them another ID")
    assert [c.contract_id for c in result.contracts] == [first] and result.bad_rows == (3,)


@pytest.mark.parametrize("value, named", [
    ("С-0001", "'С' (CYRILLIC CAPITAL LETTER ES, U+0421)"),
    ("C-0００1", "'０' (FULLWIDTH DIGIT ZERO, U+FF10)"),
    ("C\u200b-1", "an invisible character (ZERO WIDTH SPACE, U+200B)"),
    ("C#1", "'#'"),
])
def test_a_character_an_id_may_not_hold_is_named(tmp_path, value, named):
    p = problem(tmp_path, contract_id=value)
    assert p.message.startswith("contract ID must be 1-40 letters, digits, '-', '_', '.' or '/', starting with a "
                                "letter or digit")
    assert named in p.message, p.message


# --- lists saved in other encodings and with other separators (issue 11.14, 17.7) -----------------

TEXT_ROWS = [{"contract_id": "C-1", "title": "Café and kiosk", "owner_name": "Zoë Müller",
              "supplier": "Crème Brûlée Ltd", "annual_value_gbp": "£1.2m"},
             {"contract_id": "C-2", "title": "Société de nettoyage", "owner_name": "José Núñez"}]


def saved(tmp_path, encoding: str, delimiter: str = ",", bom: bytes = b"", rows=TEXT_ROWS):
    text = csv_text([{**GOOD, **r} for r in rows]).replace(",", delimiter)
    path = tmp_path / "contracts.csv"
    path.write_bytes(bom + text.encode(encoding))
    return read_contracts(path)


def assert_read_as_typed(result):
    assert result.ok, [str(p) for p in result.problems]
    by = result.by_id()
    assert (by["C-1"].title, by["C-1"].owner_name, by["C-1"].supplier, by["C-1"].annual_value_gbp) == (
        "Café and kiosk", "Zoë Müller", "Crème Brûlée Ltd", 1_200_000.0)
    assert (by["C-2"].title, by["C-2"].owner_name) == ("Société de nettoyage", "José Núñez")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "cp850", "mac_roman", "utf-16"])
def test_a_list_in_any_encoding_excel_writes_is_read_as_typed(tmp_path, encoding):
    assert_read_as_typed(saved(tmp_path, encoding))


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_semicolon_and_tab_separated_lists_are_read(tmp_path, delimiter):
    # Excel's "CSV" where the decimal separator is a comma (most of Europe) uses semicolons;
    # "Unicode text" is UTF-16 and tab-separated.
    assert_read_as_typed(saved(tmp_path, "cp1252", delimiter))
    assert_read_as_typed(saved(tmp_path, "utf-16", delimiter))


def test_a_quoted_line_break_stays_in_its_cell(tmp_path):
    path = tmp_path / "contracts.csv"
    text = csv_text([GOOD, {**GOOD, "contract_id": "C-2"}]).replace(",Title,", ',"Roads\r\nand paths",', 1)
    path.write_bytes(text.replace(",", ";").encode("cp1252"))
    result = read_contracts(path)
    assert result.ok and [c.row for c in result.contracts] == [2, 3]
    assert [c.title for c in result.contracts] == ["Roads and paths", "Title"]


def test_text_that_cannot_be_told_apart_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_bytes(b"contract_id,title\nC-1,\x81\x8d\x8f\x90\x9d\xb3\xba\n")  # no encoding makes sense of it
    with pytest.raises(ContractListError) as err:
        read_contracts(path)
    message = str(err.value)
    assert "not saved as UTF-8" in message and "CSV UTF-8" in message and "\n" not in message


def test_a_utf16_list_without_its_header_is_named_as_utf16(tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_bytes("some text\nwithout a header\n".encode("utf-16"))
    with pytest.raises(ContractListError, match="no header row with a 'Contract ID' column"):
        read_contracts(path)
