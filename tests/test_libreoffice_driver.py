"""Tests of the LibreOffice test driver (tests/libreoffice) on a workbook built here.

What LibreOffice 7.4 (Debian 12) does when it re-saves an .xlsx, as checked below:

* sheet protection is kept (with the legacy password hash, written lower-case),
  and so are the cells' locked/unlocked flags;
* data validations are kept: a literal list stays a literal list
  (``"a,b,c"``), a range list keeps its range, the STOP error style is written
  out explicitly (``errorStyle="stop"``), plus a harmless ``formula2`` of 0;
* LibreOffice has no "very hidden": a very hidden sheet is read as hidden
  (``IsVisible`` false) and written back as ``state="hidden"`` -- anyone can
  unhide it after a LibreOffice round trip;
* an empty ``<workbookProtection/>`` element is added (openpyxl then shows a
  ``wb.security`` object with no lock set).
"""

from __future__ import annotations

import datetime as dt
import os

import openpyxl
import pytest
import xlsxwriter

try:
    from tests.libreoffice import (
        LibreOfficeError,
        convert_to_pdf,
        fill,
        inspect,
        pdf_pages,
        pdf_text,
        require_libreoffice,
        resave,
    )
except ImportError:  # tests/ itself on sys.path (no tests/__init__.py, plain `pytest`)
    from libreoffice import (  # type: ignore[no-redef]
        LibreOfficeError,
        convert_to_pdf,
        fill,
        inspect,
        pdf_pages,
        pdf_text,
        require_libreoffice,
        resave,
    )

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]

SCORES = ["0 Not in place", "1 Developing", "2 Good"]
HEADING = "Known heading text for the PDF check"
PASSWORD = "cmrg-test"


@pytest.fixture(scope="module", autouse=True)
def _libreoffice():
    require_libreoffice()


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> str:
    """A protected sheet with unlocked answer cells, list and date validations,
    a hidden list sheet and a very hidden metadata sheet."""
    path = str(tmp_path_factory.mktemp("lo-src") / "template.xlsx")
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Assessment")
    unlocked = wb.add_format({"locked": False})
    unlocked_date = wb.add_format({"locked": False, "num_format": "dd/mm/yyyy"})
    ws.write("A1", HEADING)
    ws.write("B7", "Question 1 (locked label)")
    ws.write("B8", "Question 2 (locked label)")
    ws.write("B9", "Question 3 (locked label)")
    # D7, D8: literal list validations; D9: list from a range on a hidden sheet.
    for cell in ("D7", "D8"):
        ws.write_blank(cell, None, unlocked)
        ws.data_validation(cell, {
            "validate": "list",
            "source": SCORES,
            "error_type": "stop",
            "error_title": "Pick a score",
            "error_message": "Choose one of the listed scores.",
        })
    ws.write_blank("D9", None, unlocked)
    ws.data_validation("D9", {"validate": "list", "source": "=Lists!$A$1:$A$3",
                              "error_type": "stop"})
    # E7: an unlocked date cell with a date format and a date validation.
    ws.write_datetime("E7", dt.datetime(2024, 1, 31), unlocked_date)
    ws.data_validation("E7", {"validate": "date", "criteria": "between",
                              "minimum": dt.date(2020, 1, 1), "maximum": dt.date(2030, 12, 31),
                              "error_type": "stop"})
    # F7: an unlocked whole number 0..3.
    ws.write_blank("F7", None, unlocked)
    ws.data_validation("F7", {"validate": "integer", "criteria": "between",
                              "minimum": 0, "maximum": 3, "error_type": "stop"})
    ws.protect(PASSWORD)

    lists = wb.add_worksheet("Lists")
    for i, score in enumerate(SCORES):
        lists.write(i, 0, score)
    lists.hide()

    meta = wb.add_worksheet("Meta")
    meta.write("A1", "template-id")
    meta.write("B1", "demo-001")
    meta.very_hidden()
    wb.close()
    return path


@pytest.fixture(scope="module")
def filled(workbook, tmp_path_factory):
    """One LibreOffice fill with every kind of edit (one soffice start for all)."""
    dst = str(tmp_path_factory.mktemp("lo-fill") / "filled.xlsx")
    edits = [
        {"sheet": "Assessment", "cell": "D7", "value": "2 Good"},               # 0 listed
        {"sheet": "Assessment", "cell": "B7", "value": "overwritten"},          # 1 locked
        {"sheet": "Assessment", "cell": "D8", "value": "3 Excellent"},          # 2 not listed
        {"sheet": "Assessment", "cell": "D8", "value": "3 Excellent", "paste": True},  # 3 pasted
        {"sheet": "Assessment", "cell": "D9", "value": "1 Developing"},         # 4 range list
        {"sheet": "Assessment", "cell": "E7", "value": "2025-03-31", "kind": "date"},  # 5 date
        {"sheet": "Assessment", "cell": "F7", "value": 7, "kind": "number"},    # 6 out of range
        {"sheet": "Assessment", "cell": "F7", "value": 2, "kind": "number"},    # 7 in range
        {"sheet": "Assessment", "cell": "B8", "value": "pasted", "paste": True},  # 8 locked, pasted
        {"sheet": "Nope", "cell": "A1", "value": "x"},                          # 9 no such sheet
    ]
    result = fill(workbook, dst, edits)
    return result, dst


def statuses(result):
    return [e["status"] for e in result["edits"]]


def test_fill_reports_each_edit(filled):
    result, dst = filled
    assert statuses(result) == [
        "ok", "refused", "refused", "ok", "ok", "ok", "refused", "ok", "refused", "error",
    ]
    assert os.path.getsize(dst) > 0
    # soffice was stopped and its private profile removed.
    assert not os.path.exists(result["profile"])
    with pytest.raises(ProcessLookupError):
        os.killpg(result["soffice_pgid"], 0)


def test_listed_value_in_unlocked_cell_is_read_back_by_openpyxl(filled):
    result, dst = filled
    edit = result["edits"][0]
    assert edit["status"] == "ok", edit
    assert edit["locked"] is False and edit["sheet_protected"] is True
    assert edit["validation"]["type"] == "LIST"
    assert edit["validation"]["list"] == SCORES
    ws = openpyxl.load_workbook(dst)["Assessment"]
    assert ws["D7"].value == "2 Good"
    assert ws["F7"].value == 2


def test_locked_cell_is_refused(filled):
    result, dst = filled
    edit = result["edits"][1]
    assert edit["status"] == "refused"
    assert "locked" in edit["error"]
    # Pasting does not get past protection either.
    assert result["edits"][8]["status"] == "refused"
    ws = openpyxl.load_workbook(dst)["Assessment"]
    assert ws["B7"].value == "Question 1 (locked label)"
    assert ws["B8"].value == "Question 2 (locked label)"


def test_unlisted_value_is_refused_unless_pasted(filled):
    result, dst = filled
    typed, pasted = result["edits"][2], result["edits"][3]
    assert typed["status"] == "refused"
    assert "not one of the list entries" in typed["error"]
    assert pasted["status"] == "ok"
    assert any("pasted past validation" in n for n in pasted["notes"])
    ws = openpyxl.load_workbook(dst)["Assessment"]
    assert ws["D8"].value == "3 Excellent"


def test_list_from_a_range_on_a_hidden_sheet(filled):
    result, dst = filled
    edit = result["edits"][4]
    assert edit["status"] == "ok", edit
    assert edit["validation"]["list_source"] == "range"
    assert edit["validation"]["list"] == SCORES
    assert openpyxl.load_workbook(dst)["Assessment"]["D9"].value == "1 Developing"


def test_date_is_written_as_a_serial_keeping_the_format(filled):
    result, dst = filled
    edit = result["edits"][5]
    assert edit["status"] == "ok", edit
    assert edit["written"]["type"] == "VALUE"
    assert edit["written"]["value"] == 45747.0  # 2025-03-31
    assert edit["written"]["string"] == "31/03/2025"
    cell = openpyxl.load_workbook(dst)["Assessment"]["E7"]
    assert cell.value == dt.datetime(2025, 3, 31)
    assert cell.number_format.lower() == "dd/mm/yyyy"


def test_number_outside_a_whole_number_validation_is_refused(filled):
    result, _ = filled
    edit = result["edits"][6]
    assert edit["status"] == "refused"
    assert edit["validation"]["type"] == "WHOLE"


def test_unknown_sheet_is_an_edit_error_not_a_crash(filled):
    result, _ = filled
    edit = result["edits"][9]
    assert edit["status"] == "error"
    assert "no sheet named 'Nope'" in edit["error"]


def test_resave_keeps_protection_and_validations(workbook, tmp_path):
    dst = tmp_path / "resaved.xlsx"
    resave(workbook, dst)
    wb = openpyxl.load_workbook(dst)
    ws = wb["Assessment"]
    assert ws.protection.sheet is True
    assert ws.protection.password  # legacy hash kept (LibreOffice writes it lower-case)
    assert ws.protection.password.upper() == openpyxl.load_workbook(workbook)[
        "Assessment"].protection.password.upper()
    assert ws["D7"].protection.locked is False
    assert ws["E7"].protection.locked is False
    assert ws["B7"].protection.locked is True

    by_cell = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert set(by_cell) >= {"D7", "D8", "D9", "E7", "F7"}
    d7 = by_cell["D7"]
    assert d7.type == "list"
    assert d7.formula1 == '"%s"' % ",".join(SCORES)
    assert d7.errorStyle in (None, "stop")  # None means the default, stop
    assert d7.showErrorMessage is True
    assert d7.error == "Choose one of the listed scores."
    assert by_cell["D9"].formula1.replace("$", "") == "Lists!A1:A3"
    assert by_cell["F7"].type == "whole"
    assert by_cell["E7"].type == "date"

    # Sheet states: LibreOffice has no "very hidden"; it writes it back as hidden.
    states = {s.title: s.sheet_state for s in wb.worksheets}
    assert states == {"Assessment": "visible", "Lists": "hidden", "Meta": "hidden"}
    assert wb["Meta"]["B1"].value == "demo-001"

    # And LibreOffice reading its own output still sees a protected sheet.
    seen = inspect(dst, ["Assessment!D7"])
    assert [s["protected"] for s in seen["sheets"]] == [True, False, False]
    assert seen["cells"][0]["validation"]["list"] == SCORES


def test_inspect_reports_sheets_cells_and_validation(workbook):
    seen = inspect(workbook, ["Assessment!D7", ("Assessment", "B7"),
                              {"sheet": "Assessment", "cell": "E7"}, "Assessment!A1"])
    sheets = {s["name"]: s for s in seen["sheets"]}
    assert list(sheets) == ["Assessment", "Lists", "Meta"]
    assert sheets["Assessment"]["visible"] is True and sheets["Assessment"]["protected"] is True
    assert sheets["Lists"]["state"] == "hidden"
    # Very hidden is reported as plain hidden: LibreOffice cannot tell them apart.
    assert sheets["Meta"]["state"] == "hidden" and sheets["Meta"]["visible"] is False

    d7, b7, e7, a1 = seen["cells"]
    assert d7["locked"] is False
    assert d7["validation"]["type"] == "LIST"
    assert d7["validation"]["list"] == SCORES
    assert d7["validation"]["list_source"] == "literal"
    assert d7["validation"]["error_style"] == "STOP"
    assert d7["validation"]["show_error"] is True
    assert b7["locked"] is True and b7["validation"] is None
    assert e7["validation"]["type"] == "DATE"
    assert e7["type"] == "VALUE" and e7["number_format"].lower() == "dd/mm/yyyy"
    assert a1["string"] == HEADING


def test_convert_to_pdf_contains_known_text(workbook, tmp_path):
    pdf = convert_to_pdf(workbook, tmp_path / "pdf")
    assert pdf.suffix == ".pdf" and pdf.is_file()
    assert pdf_pages(pdf) >= 1
    assert HEADING in pdf_text(pdf)


def test_missing_source_raises_with_a_clear_error(tmp_path):
    with pytest.raises(LibreOfficeError, match="no such file"):
        resave(tmp_path / "missing.xlsx", tmp_path / "out.xlsx")


def test_timeout_kills_soffice_and_removes_its_profile(workbook, tmp_path):
    with pytest.raises(LibreOfficeError, match="timed out") as info:
        fill(workbook, tmp_path / "never.xlsx", [], timeout=0.3)
    result = info.value.result
    assert result is not None
    assert not os.path.exists(result["profile"])
    with pytest.raises(ProcessLookupError):
        os.killpg(result["soffice_pgid"], 0)
    assert not (tmp_path / "never.xlsx").exists()


def test_stale_lock_file_and_parallel_runs_on_one_template(workbook, tmp_path):
    """Each run has its own profile and pipe, and document locking is off, so
    a .~lock file left by a killed soffice, or a second soffice opening the
    same template at the same time, does not stop a load."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    src = tmp_path / "template.xlsx"
    shutil.copy(workbook, src)
    stale = tmp_path / ".~lock.template.xlsx#"
    stale.write_text(",someone,elsewhere,01.01.2024 00:00,file:///nowhere;\n")

    def one(i):
        return fill(src, tmp_path / ("out%d.xlsx" % i),
                    [{"sheet": "Assessment", "cell": "D7", "value": SCORES[i]}])

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, range(2)))
    for i, result in enumerate(results):
        assert statuses(result) == ["ok"]
        assert openpyxl.load_workbook(tmp_path / ("out%d.xlsx" % i))["Assessment"]["D7"].value \
            == SCORES[i]
    assert {p.name for p in tmp_path.iterdir()} == {
        "template.xlsx", ".~lock.template.xlsx#", "out0.xlsx", "out1.xlsx"}


def test_convert_to_pdf_timeout_raises(workbook, tmp_path):
    with pytest.raises(LibreOfficeError, match="did not finish"):
        convert_to_pdf(workbook, tmp_path, timeout=0.2)
