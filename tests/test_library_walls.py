"""The walls around library internals: every private name the package leans on exists and
behaves as its wall module says (cmrg_excel/kit/*_internals.py).

When a library upgrade breaks one of these, the failure names the assumption: pin the
library back (setup.cfg) or rewrite that wall module, then its comment and this test.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable
from xlsxwriter.worksheet import Worksheet

from cmrg_excel.kit import calamine_internals as CI
from cmrg_excel.kit import docx_internals as DI
from cmrg_excel.kit import xlsxwriter_internals as XI
from cmrg_excel.kit import zipfile_internals as ZI
from cmrg_excel.kit.styles import Styles, new_workbook

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "cmrg_excel"


def _parts(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i).decode("utf-8") for i in zf.infolist()}


def _pinned(name: str) -> str:
    setup = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    found = re.search(rf"^\s*{re.escape(name)}([^\n]*)$", setup, re.M)
    assert found, f"setup.cfg does not list {name}"
    return found.group(1).strip()


# --- the versions ---------------------------------------------------------------------------
@pytest.mark.parametrize("wall, dist", [(XI, "xlsxwriter"), (CI, "python-calamine"), (DI, "python-docx")])
def test_the_installed_version_is_one_the_wall_was_written_for(wall, dist):
    low, high = wall.SUPPORTED
    have = wall.version()
    assert low <= have[:2] < high, (
        f"{dist} {'.'.join(map(str, have))} is installed, but cmrg_excel/kit/{wall.__name__.rsplit('.', 1)[1]}.py "
        f"was written against {wall.WRITTEN_AGAINST} and checked for {low} up to {high}: check its assumptions "
        f"(this file) and move the pin in setup.cfg")
    assert _pinned(dist) == f">={wall.WRITTEN_AGAINST},<{high[0]}.{high[1]}", \
        "setup.cfg's pin and the wall's SUPPORTED range say different things"


PRIVATE_ATTRIBUTES = {
    "_get_xf_index", "_write_si", "_escape_data", "_escape_control_characters", "_datetime_to_excel_datetime",
    "_write_rich_string", "_prepare_formula", "_write_string", "structFileHeader", "sizeFileHeader",
    "stringFileHeader", "_orig_compress_start", "_decrypter", "sheets_metadata", "to_python", "from_filelike",
    "_r", "_tc", "_tr", "get_or_add_tcPr", "get_or_add_trPr",
}
WALLED_MODULES = ("xlsxwriter.sharedstrings", "xlsxwriter.xmlwriter", "python_calamine", "docx.oxml")


def test_no_module_outside_the_walls_touches_a_library_internal():
    """Private xlsxwriter, calamine and python-docx names, and zipfile's undocumented ones, are used only in
    cmrg_excel/kit/*_internals.py (code only: comments and docs may name them)."""
    import ast

    offenders = []
    for path in PKG.rglob("*.py"):
        if path.name.endswith("_internals.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            bad = None
            if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
                bad = node.attr
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(WALLED_MODULES):
                bad = node.module
            elif isinstance(node, ast.Import):
                bad = next((a.name for a in node.names if a.name.startswith(WALLED_MODULES)), None)
            if bad:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {bad}")
    assert not offenders, "library internals outside their wall:\n" + "\n".join(offenders)


# --- xlsxwriter -----------------------------------------------------------------------------
def test_xlsxwriter_worksheet_has_the_hooks_fast_formula_worksheet_overrides():
    for name in ("_prepare_formula", "_write_string", "_write_rich_string"):
        assert callable(getattr(Worksheet, name, None)), f"xlsxwriter's Worksheet.{name} is gone"
    assert Worksheet().xls_strmax == 32767, "Worksheet.xls_strmax is no longer Excel's 32,767 limit"


@pytest.mark.parametrize("formula", ['=IF(A1="","",SUM(B1:B3))', "{=SUM(A1:A2)}", "=COUNTA(D5:D9)&\" rated\""])
def test_the_classic_formula_shortcut_gives_what_xlsxwriter_gives(formula):
    assert XI.FastFormulaWorksheet()._prepare_formula(formula) == Worksheet()._prepare_formula(formula)


def test_a_newer_function_still_gets_xlsxwriters_prefix():
    ws = XI.FastFormulaWorksheet()
    assert ws._prepare_formula("=XLOOKUP(A1,B:B,C:C)", True) == Worksheet()._prepare_formula("=XLOOKUP(A1,B:B,C:C)", True)
    assert "_xlfn." in ws._prepare_formula("=XLOOKUP(A1,B:B,C:C)", True)


def test_write_string_goes_through_the_overridden_hook(monkeypatch):
    seen = []
    monkeypatch.setattr(XI.FastFormulaWorksheet, "needs_fragments", staticmethod(lambda s: seen.append(s) or False))
    wb, _ = new_workbook()
    ws = wb.add_worksheet("S")
    ws.write_string(0, 0, "a")
    ws.write(1, 0, "b")
    ws.merge_range(2, 0, 2, 1, "c", Styles(wb).text)
    wb.close()
    assert seen == ["a", "b", "c"], "xlsxwriter no longer stores text through Worksheet._write_string"


def test_shared_string_xml_is_what_the_workbook_holds():
    texts = ["plain", " spaced ", "a&b<c>\"d\"", "ctrl\x01char", "_x0041_", "<r>boom</r>", "a_x0041_x0042_b",
             "Café – £"]
    wb, buffer = new_workbook()
    ws = wb.add_worksheet("S")
    for i, t in enumerate(texts):
        ws.write_string(i, 0, t)
    wb.close()
    sst = _parts(buffer.getvalue())["xl/sharedStrings.xml"]
    held = re.findall(r"<si>.*?</si>", sst, re.S)
    assert held == [XI.shared_string_xml(t) for t in texts]


def test_the_shared_string_writer_and_table_are_as_assumed():
    writer = SharedStrings()
    writer.fh = io.StringIO()
    writer._write_si("x")
    assert writer.fh.getvalue() == "<si><t>x</t></si>"
    table = SharedStringTable()
    table._get_shared_string_index("a")
    table._get_shared_string_index("b")
    assert table.string_table == {"a": 0, "b": 1}


def test_element_text_xml_is_how_document_properties_are_written():
    title = "Fish & Chips <Ltd> _x0041_ \x02"
    wb, buffer = new_workbook()
    wb.add_worksheet("S")
    wb.set_properties({"title": title, "created": dt.datetime(2026, 11, 2, 10, 0, 0)})
    wb.close()
    core = _parts(buffer.getvalue())["docProps/core.xml"]
    assert f"<dc:title>{XI.element_text_xml(title)}</dc:title>" in core
    assert dt.datetime(2026, 11, 2, 10, 0, 0).strftime(XI.DOC_PROPS_DATE) in core


def test_format_index_registers_the_format_for_styles_xml():
    wb, buffer = new_workbook()
    ws = wb.add_worksheet("S")
    ws.write_string(0, 0, "x")
    unused = wb.add_format({"bold": True, "font_color": "#123456"})
    index = XI.format_index(unused)
    assert index >= 1 and XI.format_index(None) == 0
    assert XI.format_index(unused) == index, "the same format gets the same index"
    wb.close()
    styles = _parts(buffer.getvalue())["xl/styles.xml"]
    xfs = re.search(r"<cellXfs count=\"(\d+)\">(.*?)</cellXfs>", styles, re.S)
    assert int(xfs.group(1)) > index and "FF123456" in styles, "a format indexed early is not written to styles.xml"


def test_excel_serial_is_what_a_date_cell_holds():
    when = dt.datetime(2026, 1, 2)
    wb, buffer = new_workbook()
    ws = wb.add_worksheet("S")
    ws.write_datetime(0, 0, when)
    wb.close()
    sheet = _parts(buffer.getvalue())["xl/worksheets/sheet1.xml"]
    assert XI.excel_serial(when) == 46024.0
    assert f"<v>{XI.excel_serial(when):.16G}</v>" in sheet


def test_package_writer_writes_the_package_as_xlsxwriter_does():
    wb, buffer = new_workbook()
    wb.add_worksheet("S").write_string(0, 0, "x")
    assert wb.allow_zip64 is False, "xlsxwriter now writes zip64 packages by default"
    wb.close()
    data = buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, XI.package_writer(out) as dst:
        for info in src.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type, copy.external_attr, copy.create_system = (
                info.compress_type, info.external_attr, info.create_system)
            dst.writestr(copy, src.read(info))
    assert out.getvalue() == data, "a package rewritten part by part no longer matches xlsxwriter's bytes"


def test_cell_text_xml_keeps_every_lookalike_literal():
    import python_calamine

    texts = ["_x0041_", "_x0041_x0042_", "a_x0041_x0042_x0043_b", "x_x00", "<&>", "ctrl\x01", "plain"]
    wb, buffer = new_workbook()
    wb.add_worksheet("S").write_string(0, 0, "placeholder")
    wb.close()
    parts = _parts(buffer.getvalue())
    items = "".join(f"<si><t>{XI.cell_text_xml(t)}</t></si>" for t in texts)
    sst = re.sub(r'count="\d+" uniqueCount="\d+">.*</sst>',
                 f'count="{len(texts)}" uniqueCount="{len(texts)}">{items}</sst>', parts["xl/sharedStrings.xml"],
                 flags=re.S)
    rows = "".join(f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(len(texts)))
    sheet = re.sub(r"<sheetData>.*</sheetData>", f"<sheetData>{rows}</sheetData>", parts["xl/worksheets/sheet1.xml"],
                   flags=re.S)
    parts.update({"xl/sharedStrings.xml": sst, "xl/worksheets/sheet1.xml": sheet})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    grid = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue())).get_sheet_by_name("S").to_python()
    assert [r[0] for r in grid] == texts


# --- python-calamine ------------------------------------------------------------------------
def _sample_workbook() -> bytes:
    wb, buffer = new_workbook()
    ws = wb.add_worksheet("Shown")
    ws.write_number(1, 1, 5)
    ws.write_number(1, 2, 5.5)
    ws.write_datetime(2, 1, dt.datetime(2026, 1, 2))
    ws.write_datetime(2, 2, dt.datetime(2026, 1, 2, 3, 4), wb.add_format({"num_format": "dd/mm/yyyy hh:mm"}))
    ws.write_boolean(3, 1, True)
    ws.write_string(3, 2, "x")
    wb.add_worksheet("Hidden").hide()
    wb.add_worksheet("Very").very_hidden()
    wb.close()
    return buffer.getvalue()


def test_calamine_names_every_sheet_with_its_visibility():
    wb = CI.open_workbook(_sample_workbook())
    assert CI.sheet_states(wb) == {"Shown": "visible", "Hidden": "hidden", "Very": "veryhidden"}


def test_calamine_gives_cells_by_position_from_a1_with_the_types_the_reader_expects():
    grid = CI.sheet_grid(CI.open_workbook(_sample_workbook()), "Shown")
    assert grid[0][0] == "" and grid[1][0] == "", "an empty cell is not '' or the grid does not start at A1"
    assert grid[1][1] == 5.0 and type(grid[1][1]) is float and grid[1][2] == 5.5
    assert grid[2][1] == dt.date(2026, 1, 2) and type(grid[2][1]) is dt.date
    assert grid[2][2] == dt.datetime(2026, 1, 2, 3, 4)
    assert grid[3][1] is True and grid[3][2] == "x"


def test_calamine_has_the_errors_the_reader_catches():
    assert issubclass(CI.PasswordError, Exception)
    with pytest.raises(Exception):
        CI.open_workbook(b"PK\x03\x04 not really a zip")


# --- zipfile --------------------------------------------------------------------------------
def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_zipfile_has_the_undocumented_local_header_constants():
    import struct

    assert zipfile.sizeFileHeader == struct.calcsize(zipfile.structFileHeader) == 30
    assert zipfile.stringFileHeader == b"PK\x03\x04"
    data = _zip({"a.xml": b"x"})
    header = struct.unpack(zipfile.structFileHeader, data[:30])
    assert header[0] == zipfile.stringFileHeader and header[10] == len("a.xml"), \
        "the local header's fields are no longer where zipfile_internals reads them"


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_the_data_start_read_from_the_header_is_zipfiles_own(method):
    data = _zip({"one.xml": b"a" * 1000, "two.xml": b"b" * 50}, method)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                assert fh._decrypter is None, "ZipExtFile._decrypter is gone"
                assert ZI.data_start(data, info) == fh._orig_compress_start


def test_a_member_is_read_up_to_its_cap_whatever_its_header_says():
    data = _zip({"big.xml": b"z" * 100_000, "small.xml": b"ok"})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        big, small = zf.infolist()
        assert len(ZI.read_member_capped(zf, data, big, 1000)) == 1001
        assert ZI.read_member_capped(zf, data, small, 1000) == b"ok"
        big.file_size = 10  # a lying header
        assert len(ZI.read_member_capped(zf, data, big, 5000)) == 5001


def test_zipfile_open_never_reads_past_the_size_the_caller_sets():
    """The path for headers read through zipfile itself: with file_size lowered to cap + 1, zipfile
    stops there; a member that goes on fails its CRC check (preflight reports the file damaged)."""
    data = _zip({"big.xml": b"z" * 100_000, "fits.xml": b"y" * 500})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        big, fits = zf.infolist()
        big.file_size = 1001
        with zf.open(big) as fh, pytest.raises(zipfile.BadZipFile):
            fh.read(5000)
        fits.file_size = 1001
        with zf.open(fits) as fh:
            assert fh.read(5000) == b"y" * 500


# --- python-docx ----------------------------------------------------------------------------
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_through_the_wall():
    import docx

    doc = docx.Document()
    paragraph = doc.add_paragraph("Page ")
    DI.add_field(paragraph, "PAGE")
    table = doc.add_table(rows=2, cols=2)
    DI.repeat_header_row(table.rows[0])
    DI.shade_cell(table.rows[0].cells[1], "DCE6F1")
    out = io.BytesIO()
    doc.save(out)
    with zipfile.ZipFile(out) as zf:
        return zf.read("word/document.xml").decode("utf-8")


def test_python_docx_has_the_elements_the_wall_reaches_for():
    import docx
    from docx.oxml.ns import qn

    doc = docx.Document()
    run = doc.add_paragraph().add_run("x")
    table = doc.add_table(rows=1, cols=1)
    assert run._r.tag == f"{W}r", "python-docx's Run._r is no longer the run's w:r element"
    assert table.rows[0]._tr.tag == f"{W}tr", "python-docx's _Row._tr is no longer the row's w:tr element"
    assert table.rows[0].cells[0]._tc.tag == f"{W}tc", "python-docx's _Cell._tc is no longer the cell's w:tc element"
    assert table.rows[0]._tr.get_or_add_trPr().tag == f"{W}trPr"
    assert table.rows[0].cells[0]._tc.get_or_add_tcPr().tag == f"{W}tcPr"
    assert qn("w:val") == f"{W}val"


def test_the_field_shading_and_header_row_are_in_the_saved_document():
    xml = _docx_through_the_wall()
    assert re.search(r'<w:r><w:fldChar w:fldCharType="begin"/><w:instrText xml:space="preserve"> PAGE </w:instrText>'
                     r'<w:fldChar w:fldCharType="end"/></w:r>', xml), "the PAGE field is not a complex field in one run"
    assert re.search(r'<w:trPr>(?:(?!</w:trPr>).)*<w:tblHeader w:val="true"/>', xml, re.S), "no repeated header row"
    assert re.search(r'<w:tcPr>(?:(?!</w:tcPr>).)*<w:shd w:val="clear" w:color="auto" w:fill="DCE6F1"/>', xml, re.S), \
        "the cell's shading is missing"
