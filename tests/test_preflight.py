"""Behaviour of the byte-level preflight (cmrg_excel.intake.preflight) on valid and hostile files."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmrg_excel.intake import preflight as preflight_module
from cmrg_excel.intake.preflight import PreflightFinding, Limits, PreflightResult, column_letters, column_number, preflight

try:
    from tests import hostile
except ImportError:  # tests/ itself on sys.path (no tests/__init__.py, plain `pytest`)
    import hostile  # type: ignore[no-redef]

SHEET1 = hostile.SHEET1
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# Words that show a message tells the contract owner what to do.
ACTIONS = ("save", "send", "remove", "clear", "delete", "fill in", "copy", "use file")


def codes(result: PreflightResult) -> set[str]:
    return {f.code for f in result.problems}


def assert_refused(data: bytes, code: str, limits: Limits = Limits()) -> PreflightFinding:
    """The file is refused with exactly this fatal code; return its (first) finding."""
    result = preflight(data, limits)
    assert not result.ok
    assert codes(result) == {code}, [(f.code, f.detail) for f in result.findings]
    finding = result.problems[0]
    assert finding.fatal
    assert len(finding.message) > 40
    assert any(word in finding.message.lower() for word in ACTIONS), finding.message
    return finding


def patch_sheet(fn, data: bytes | None = None, part: str = SHEET1) -> bytes:
    """A valid workbook with one part's XML rewritten by fn(str) -> str."""
    data = data if data is not None else hostile.valid_xlsx()
    xml = hostile.members(data)[part].decode("utf-8")
    return hostile.rezip(data, replace={part: fn(xml).encode("utf-8")})


def add_rows(xml: str, rows: str) -> str:
    """Append rows at the end of <sheetData>."""
    return xml.replace("</sheetData>", rows + "</sheetData>", 1)


# --------------------------------------------------------------------------------------
# Valid files
# --------------------------------------------------------------------------------------


def test_valid_xlsxwriter_workbook_passes():
    result = preflight(hostile.valid_xlsx())
    assert result.ok
    assert result.findings == ()
    assert result.problems == []


def test_sheet_parts_map_names_to_parts_in_workbook_order():
    data = hostile.valid_xlsx()
    result = preflight(data)
    assert result.sheet_parts == {
        "Assessment": "xl/worksheets/sheet1.xml",
        "Guidance": "xl/worksheets/sheet2.xml",
        "_meta": "xl/worksheets/sheet3.xml",  # very hidden sheets are listed too
    }
    # Each part really holds that sheet: openpyxl's view of the same file agrees.
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert list(result.sheet_parts) == wb.sheetnames
    names = hostile.members(data)
    assert all(part in names for part in result.sheet_parts.values())


def test_openpyxl_resaved_workbook_passes():
    wb = openpyxl.load_workbook(io.BytesIO(hostile.valid_xlsx()))
    wb["Assessment"]["B6"] = "2 Good"
    buf = io.BytesIO()
    wb.save(buf)
    result = preflight(buf.getvalue())
    assert result.findings == ()
    assert list(result.sheet_parts) == ["Assessment", "Guidance", "_meta"]


def test_sheet_names_are_unescaped():
    data = patch_sheet(lambda x: x.replace('name="Guidance"', 'name="Q&amp;A &apos;draft&apos; &#x263A;"'),
                       part="xl/workbook.xml")
    result = preflight(data)
    assert result.ok
    assert "Q&A 'draft' \u263a" in result.sheet_parts


def test_workbook_at_edge_of_template_passes():
    assert preflight(hostile.far_cell("CV5000")).findings == ()


def test_accepts_bytearray_and_memoryview():
    data = hostile.valid_xlsx()
    assert preflight(bytearray(data)).ok
    assert preflight(memoryview(data)).ok


def test_result_types_are_frozen():
    result = preflight(hostile.valid_xlsx())
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.findings = ()  # type: ignore[misc]
    finding = preflight(b"").findings[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.fatal = False  # type: ignore[misc]
    assert Limits().max_col == 100 and Limits().max_row == 5000


def test_column_letters_round_trip():
    for n in (1, 26, 27, 52, 100, 702, 703, 16384):
        assert column_number(column_letters(n)) == n
    assert column_letters(100) == "CV" and column_letters(16384) == "XFD"


# --------------------------------------------------------------------------------------
# Each hostile file draws exactly its code
# --------------------------------------------------------------------------------------

HOSTILE = [
    ("billion_laughs", hostile.billion_laughs, "doctype"),
    ("billion_laughs_utf16_bom", lambda: hostile.billion_laughs("utf-16"), "doctype"),
    ("billion_laughs_utf16_no_bom", lambda: hostile.billion_laughs("utf-16-le"), "doctype"),
    ("xxe", hostile.xxe, "doctype"),
    ("xxe_utf16", lambda: hostile.xxe(encoding="utf-16"), "doctype"),
    ("far_cell", hostile.far_cell, "cell-out-of-bounds"),
    ("far_dimension", hostile.far_dimension, "cell-out-of-bounds"),
    ("encrypted", hostile.encrypted, "encrypted"),
    ("legacy_xls", hostile.legacy_xls, "legacy-xls"),
    ("macro_renamed_xlsm", hostile.macro_enabled, "macro-enabled"),
    ("macro_content_type_hidden", lambda: hostile.macro_enabled(renamed=False), "macro-enabled"),
    ("external_link", hostile.external_link, "external-link"),
    ("embedded_object", hostile.embedded_object, "embedded-object"),
    ("activex", hostile.activex, "activex"),
    ("ods", hostile.ods, "ods"),
    ("csv", hostile.csv_bytes, "csv"),
    ("pdf", hostile.pdf_bytes, "pdf"),
    ("truncated", lambda: hostile.truncated(hostile.valid_xlsx()), "truncated"),
    ("empty", hostile.empty, "empty"),
]


@pytest.mark.parametrize("build,code", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_file_draws_its_code(build, code):
    assert_refused(build(), code)


def test_encrypted_message_says_how_to_remove_the_password():
    finding = assert_refused(hostile.encrypted(), "encrypted")
    assert "password" in finding.message and "Encrypt with Password" in finding.message


def test_far_cell_message_names_sheet_cell_and_template_bounds():
    finding = assert_refused(hostile.far_cell("XFD1048576"), "cell-out-of-bounds")
    assert "Sheet 'Assessment'" in finding.message
    assert "XFD1048576" in finding.message
    assert "column CV, row 5000" in finding.message
    assert finding.part == SHEET1
    assert "XFD1048576" in finding.detail and SHEET1 in finding.detail


@pytest.mark.parametrize("ref", ["CW1", "A5001", "XFD1", "A1048576"])
def test_one_cell_beyond_the_template_is_refused(ref):
    finding = assert_refused(hostile.far_cell(ref), "cell-out-of-bounds")
    assert ref in finding.message


def test_bounds_follow_the_limits():
    data = hostile.far_cell("CW1")
    assert preflight(data, Limits(max_col=101)).ok
    assert_refused(hostile.valid_xlsx(), "cell-out-of-bounds", Limits(max_row=10))


def test_far_dimension_alone_is_refused_with_its_own_message():
    finding = assert_refused(hostile.far_dimension(), "cell-out-of-bounds")
    assert "XFD1048576" in finding.message and "Sheet 'Assessment'" in finding.message


def test_every_problem_is_reported_in_one_pass():
    data = hostile.external_link()
    data = hostile.rezip(data, replace={"xl/vbaProject.bin": hostile.fake_ole(["VBA"])})
    data = patch_sheet(lambda x: add_rows(x, '<row r="9000"><c r="A9000"><v>1</v></c></row>'), data,
                       part="xl/worksheets/sheet2.xml")
    result = preflight(data)
    assert codes(result) == {"external-link", "macro-enabled", "cell-out-of-bounds"}
    far = [f for f in result.problems if f.code == "cell-out-of-bounds"][0]
    assert "Sheet 'Guidance'" in far.message and "A9000" in far.message


# --------------------------------------------------------------------------------------
# Zip-level limits
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def realistic_bomb() -> bytes:
    return hostile.zip_bomb()  # 30 MB of spaces in one sheet part, about 30 KB compressed


def test_realistic_zip_bomb_is_refused(realistic_bomb):
    assert len(realistic_bomb) < 100_000
    assert_refused(realistic_bomb, "zip-bomb")


def test_member_cap_is_enforced():
    data = hostile.zip_bomb(size=2 * 1024 * 1024)
    limits = Limits(max_member_bytes=1024 * 1024, max_ratio=1e9)
    finding = assert_refused(data, "zip-bomb", limits)
    assert "over 1.0 MB" in finding.detail


def test_ratio_is_checked_only_above_one_mib():
    # 2 MiB of spaces compress about 1000:1
    assert_refused(hostile.zip_bomb(size=2 * 1024 * 1024), "zip-bomb")
    # 900 KB does too, but entries under 1 MiB are not ratio-checked
    assert preflight(hostile.zip_bomb(size=900_000)).ok


def test_total_cap_is_enforced():
    data = hostile.zip_bomb(size=600_000, count=4)
    assert preflight(data).ok
    finding = assert_refused(data, "zip-bomb", Limits(max_total_bytes=2 * 1024 * 1024))
    assert "add up" in finding.detail


def test_lying_header_is_not_trusted(realistic_bomb):
    data = hostile.lying_header()
    # The lie works on a reader that trusts the header: zipfile returns 4096 bytes, no error.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("xl/worksheets/sheet2.xml")
        assert info.file_size == 4096
        assert len(zf.read(info)) == 4096
    assert_refused(data, "zip-bomb")


def test_lying_header_under_the_caps_is_damage():
    finding = assert_refused(hostile.lying_header(real_size=200_000, claimed=1000), "truncated")
    assert finding.part == "xl/worksheets/sheet2.xml"
    assert_refused(hostile.lying_header(real_size=200_000, claimed=1000, fix_crc=False), "truncated")


def test_too_large_file():
    finding = assert_refused(hostile.valid_xlsx(), "too-large", Limits(max_file_bytes=1000))
    assert "KB" in finding.message


def test_too_many_parts():
    finding = assert_refused(hostile.valid_xlsx(), "too-many-parts", Limits(max_members=5))
    assert "18" in finding.message


def test_corrupt_member_data_is_damage():
    data = bytearray(hostile.valid_xlsx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(SHEET1)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    finding = assert_refused(bytes(data), "truncated")
    assert finding.part == SHEET1


@pytest.mark.parametrize("damage", ["signature", "name"])
def test_damaged_local_header_is_damage(damage):
    # The directory at the end of the zip and the header before each member must agree:
    # readers that trust one or the other would see different files.
    data = bytearray(hostile.valid_xlsx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(SHEET1)
    if damage == "signature":
        data[info.header_offset:info.header_offset + 4] = b"PK\x09\x09"
    else:  # same length, another name: the local header points at a different part
        name_at = info.header_offset + 30
        data[name_at + len(SHEET1) - 5] = ord("9")
    finding = assert_refused(bytes(data), "truncated")
    assert finding.part == SHEET1
    assert ("magic" if damage == "signature" else "differ") in finding.detail


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_part_names_are_refused():
    data = hostile.rezip(hostile.valid_xlsx(), add={SHEET1: b'<worksheet xmlns="' + MAIN_NS.encode() + b'"/>'})
    finding = assert_refused(data, "not-xlsx-package")
    assert "more than once" in finding.message


def test_unusual_compression_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(hostile.valid_xlsx())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            method = zipfile.ZIP_BZIP2 if info.filename == SHEET1 else zipfile.ZIP_DEFLATED
            dst.writestr(info.filename, src.read(info), compress_type=method)
    finding = assert_refused(out.getvalue(), "not-xlsx-package")
    assert SHEET1 in finding.message


def test_zip_level_encryption_flag_is_refused():
    data = bytearray(hostile.valid_xlsx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(SHEET1)
    data[info.header_offset + 6] |= 1
    for pos, name in hostile._central_entries(bytes(data)):
        if name == SHEET1:
            data[pos + 8] |= 1
    assert_refused(bytes(data), "encrypted")


# --------------------------------------------------------------------------------------
# Files that are not an .xlsx
# --------------------------------------------------------------------------------------


def test_word_document_zip_is_not_an_excel_package():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    finding = assert_refused(out.getvalue(), "not-xlsx-package")
    assert "Word" in finding.message


def test_xlsb_is_named():
    data = hostile.rezip(hostile.valid_xlsx(), replace={"xl/workbook.xml": None},
                         add={"xl/workbook.bin": b"\x83\x01\x00"})
    finding = assert_refused(data, "not-xlsx-package")
    assert ".xlsb" in finding.message


def test_missing_content_types_is_not_an_excel_package():
    assert_refused(hostile.rezip(hostile.valid_xlsx(), replace={"[Content_Types].xml": None}),
                   "not-xlsx-package")


def test_empty_zip_and_whitespace():
    assert_refused(b"PK\x05\x06" + b"\x00" * 18, "not-xlsx-package")
    assert_refused(b"  \r\n\t ", "empty")
    assert_refused(b"\x00" * 4096, "empty")


@pytest.mark.parametrize("data,what", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "JPEG"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "2003"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "web page"),
    (b"Dear council, please find my answers attached.", "plain text"),
    (bytes(range(256)) * 4, ""),
])
def test_other_files_are_not_workbooks(data, what):
    finding = assert_refused(data, "not-a-workbook")
    assert what in finding.message


def test_csv_variants():
    assert_refused(b"a;b;c\n1;2;3\n", "csv")
    assert_refused("Frage\tAntwort\r\nQ1\tJa\r\n".encode("utf-16"), "csv")


def test_real_pdf_header_after_junk():
    assert_refused(b"\r\n" + hostile.pdf_bytes(), "pdf")


# --------------------------------------------------------------------------------------
# Sheet markup that the fast path does not cover
# --------------------------------------------------------------------------------------

OUT_OF_BOUNDS_MARKUP = {
    "prefixed": f'<x:row r="6000" xmlns:x="{MAIN_NS}"><x:c r="A6000"><x:v>1</x:v></x:c></x:row>',
    "prefixed_cell_in_plain_row": f'<row r="60"><x:c r="XFD60" xmlns:x="{MAIN_NS}"><x:v>1</x:v></x:c></row>',
    "single_quotes": "<row r='60'><c r='XFD60'><v>1</v></c></row>",
    "r_not_first": '<row spans="1:1" r="60"><c s="0" r="XFD60"><v>1</v></c></row>',
    "gt_inside_attribute": '<row r="60"><c foo=">" r="XFD60"><v>1</v></c></row>',
    "decoy_inside_attribute": '<row r="60"><c foo=\' r="A60"\' r="XFD60"><v>1</v></c></row>',
    "escaped_ref": '<row r="60"><c r="&#88;FD60"><v>1</v></c></row>',
    "lower_case_ref": '<row r="60"><c r="xfd60"><v>1</v></c></row>',
    "spaces_around_equals": '<row r = "60"><c r = "XFD60"><v>1</v></c></row>',
    "newline_before_r": '<row\nr="60"><c\nr="XFD60"><v>1</v></c></row>',
    "implied_columns": '<row r="60">' + "<c><v>1</v></c>" * 101 + "</row>",
    "implied_rows": "<row><c r=\"A1\"><v>1</v></c></row>" * 1 + "<row/>" * 4999 + "<row><c><v>1</v></c></row>",
    "row_zero": '<row r="0"><c r="A1"><v>1</v></c></row>',
    "unquoted": "<row r=60><c r=XFD60><v>1</v></c></row>",
    "dollar_ref": '<row r="60"><c r="$XFD$60"><v>1</v></c></row>',
    "huge_number": '<row r="99999999999999999999999"><c r="A1"><v>1</v></c></row>',
    "comment_hides_nothing": '<!-- x --><row r="60"><c r="XFD60"><v>1</v></c></row>',
    "prefixed_after_many_colon_words": '<row r="60"><c r="A60" t="inlineStr"><is><t>' + "x:c " * 100
                                       + f'</t></is></c></row><x:row r="70000" xmlns:x="{MAIN_NS}"><x:c><x:v>1</x:v>'
                                       + "</x:c></x:row>",
    "prefixed_with_long_prefix": f'<{"p" * 300}:row r="70000" xmlns:{"p" * 300}="{MAIN_NS}"><{"p" * 300}:c/>'
                                 + f'</{"p" * 300}:row>',
    "many_formatted_rows_far_below": "".join(f'<row r="{6000 + i}" hidden="1"/>' for i in range(101)),
    "second_dimension": '<row r="60"><c r="A60"><v>1</v></c></row><dimension ref="A1:XFD1048576"/>',
}


@pytest.mark.parametrize("markup", OUT_OF_BOUNDS_MARKUP.values(), ids=OUT_OF_BOUNDS_MARKUP.keys())
def test_out_of_bounds_or_unreadable_positions_are_refused(markup):
    finding = assert_refused(patch_sheet(lambda x: add_rows(x, markup)), "cell-out-of-bounds")
    assert "Sheet 'Assessment'" in finding.message


IN_BOUNDS_MARKUP = {
    # rows beyond the template with no cell: formatting only (LibreOffice writes row 1,048,576 when a row is
    # deleted), nothing a reader makes anything of
    "far_row_without_cells": '<row r="1048576" hidden="1"/>',
    "prefixed_far_row_without_cells": f'<x:row r="70000" xmlns:x="{MAIN_NS}"/>',
    "implied_far_row_without_cells": "<row/>" * 5001,
    "r_not_first": '<row spans="1:2" r="60"><c s="0" r="B60"><v>1</v></c></row>',
    "single_quotes": "<row r='60'><c r='B60'><v>1</v></c></row>",
    "implied": "<row>" + "<c><v>1</v></c>" * 100 + "</row>",
    "escaped": '<row r="60"><c r="&#66;60"><v>1</v></c></row>',
    "prefixed": f'<x:row r="60" xmlns:x="{MAIN_NS}"><x:c r="CV60"><x:v>1</x:v></x:c></x:row>',
    "last_cell": '<row r="5000"><c r="CV5000"><v>1</v></c></row>',
}


@pytest.mark.parametrize("markup", IN_BOUNDS_MARKUP.values(), ids=IN_BOUNDS_MARKUP.keys())
def test_unusual_but_in_bounds_markup_passes(markup):
    result = preflight(patch_sheet(lambda x: add_rows(x, markup)))
    assert result.findings == (), [(f.code, f.detail) for f in result.findings]


def test_dimension_variants():
    prefixed = patch_sheet(lambda x: x.replace("<dimension ", f'<x:dimension xmlns:x="{MAIN_NS}" ', 1)
                           .replace('ref="A1:C56"', 'ref="A1:ZZ1"', 1))
    assert_refused(prefixed, "cell-out-of-bounds")
    odd = patch_sheet(lambda x: x.replace('ref="A1:C56"', 'ref="everything"', 1))
    assert_refused(odd, "cell-out-of-bounds")
    single = patch_sheet(lambda x: x.replace('ref="A1:C56"', 'ref="A1"', 1))
    assert preflight(single).ok


def test_sheet_in_utf16_is_still_scanned():
    def utf16(data: bytes) -> bytes:
        xml = hostile.members(data)[SHEET1].decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
        return hostile.rezip(data, replace={SHEET1: xml.encode("utf-16")})
    assert preflight(utf16(hostile.valid_xlsx())).ok
    assert_refused(utf16(hostile.far_cell()), "cell-out-of-bounds")


def test_orphan_worksheet_part_is_scanned_and_named_by_part():
    far = hostile.members(hostile.far_cell())[SHEET1]
    data = hostile.rezip(hostile.valid_xlsx(), add={"xl/worksheets/sheet9.xml": far})
    finding = assert_refused(data, "cell-out-of-bounds")
    assert "xl/worksheets/sheet9.xml" in finding.message


def test_sheet_stored_elsewhere_is_found_through_relationships():
    base = hostile.valid_xlsx()
    far = hostile.members(hostile.far_cell())[SHEET1]
    rels = hostile.members(base)["xl/_rels/workbook.xml.rels"].replace(
        b'Target="worksheets/sheet2.xml"', b'Target="/custom/place.xml"')
    data = hostile.rezip(base, replace={"xl/worksheets/sheet2.xml": None, "xl/_rels/workbook.xml.rels": rels},
                         add={"custom/place.xml": far})
    result = preflight(data)
    assert result.sheet_parts["Guidance"] == "custom/place.xml"
    far_findings = [f for f in result.problems if f.code == "cell-out-of-bounds"]
    assert far_findings and "Sheet 'Guidance'" in far_findings[0].message


def test_unusual_xml_encoding_is_refused():
    data = patch_sheet(lambda x: x.replace('encoding="UTF-8"', 'encoding="UTF-7"', 1))
    finding = assert_refused(data, "not-xlsx-package")
    assert "UTF-7" in finding.message


def test_xml_part_that_is_not_xml_is_refused():
    ebcdic = '<?xml version="1.0" encoding="IBM037"?><worksheet/>'.encode("cp037")
    assert_refused(hostile.rezip(hostile.valid_xlsx(), replace={SHEET1: ebcdic}), "not-xlsx-package")


def test_doctype_is_found_whatever_its_case_and_part():
    data = patch_sheet(lambda x: x.replace("?>", "?><!doctype worksheet>", 1), part="docProps/app.xml")
    finding = assert_refused(data, "doctype")
    assert finding.part == "docProps/app.xml"


def test_hyperlinks_are_not_external_links():
    # valid_xlsx has a web hyperlink (a relationship with TargetMode="External")
    rels = hostile.members(hostile.valid_xlsx())["xl/worksheets/_rels/sheet1.xml.rels"]
    assert b'TargetMode="External"' in rels
    assert preflight(hostile.valid_xlsx()).ok


def test_external_link_is_what_openpyxl_keeps():
    wb = openpyxl.load_workbook(io.BytesIO(hostile.external_link()))
    assert len(wb._external_links) == 1  # the hostile file is realistic
    finding = assert_refused(hostile.external_link(), "external-link")
    assert "fileserver" in finding.detail


def test_data_connections_count_as_external_links():
    data = hostile.rezip(hostile.valid_xlsx(), add={"xl/connections.xml": b"<connections/>"})
    assert_refused(data, "external-link")


# --------------------------------------------------------------------------------------
# Never raises
# --------------------------------------------------------------------------------------

_VALID = hostile.valid_xlsx(image=False, comment=False, extra_rows=5)
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KNOWN_CODES = set(preflight_module._MESSAGES) | {"cell-out-of-bounds"}


@pytest.mark.slow
@_FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(data):
    result = preflight(data)
    assert isinstance(result, PreflightResult)
    assert not result.ok  # nothing random is a workbook
    assert all(isinstance(f, PreflightFinding) for f in result.findings)


@pytest.mark.slow
@_FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_behind_a_zip_signature_never_raise(tail):
    assert isinstance(preflight(b"PK\x03\x04" + tail), PreflightResult)


@pytest.mark.slow
@_FUZZ
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(_VALID)))
def test_mutated_xlsx_never_raises(flips, cut):
    data = bytearray(_VALID)
    for pos, value in flips:
        data[pos] = value
    data = bytes(data[:cut] if cut > 30 else data)
    result = preflight(data)
    assert isinstance(result, PreflightResult)
    assert result.ok == (not result.problems)
    for f in result.findings:  # every refusal is one of ours, with words for the owner
        assert f.fatal and f.code in KNOWN_CODES and len(f.message) > 40, f
    if result.ok:  # passed: every part is there and inflates to the bytes its checksum vouches for
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.testzip() is None


@pytest.mark.slow
@_FUZZ
@given(st.integers(0, len(_VALID) - 1), st.binary(min_size=1, max_size=64))
def test_inserted_bytes_never_raise(pos, junk):
    assert isinstance(preflight(_VALID[:pos] + junk + _VALID[pos:]), PreflightResult)


@pytest.mark.slow
@_FUZZ
@given(st.binary(max_size=2048) | st.text(max_size=512).map(lambda s: s.encode("utf-8")))
def test_any_sheet_content_never_raises(body):
    data = hostile.rezip(_VALID, replace={SHEET1: body})
    assert isinstance(preflight(data), PreflightResult)


@pytest.mark.slow
@_FUZZ
@given(st.lists(st.sampled_from([
    "<row>", "<row r=\"7\">", "</row>", "<c>", "<c r=\"B7\">", "<c r='ZZ9'>", "</c>", "<c/>", "<row/>",
    "<v>1</v>", "<x:c r=\"A1\">", "<dimension ref=\"A1:B2\"/>", "<dimension ref='", "&#88;", "r=\"",
    " ", "<", ">", "\"", "'", "<!--", "-->", "<![CDATA[", "]]>", "<!DOCTYPE", "\x00", "\ufeff",
]), max_size=40))
def test_sheet_markup_soup_never_raises(tokens):
    sheet = f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"><sheetData>' + "".join(tokens)
    data = hostile.rezip(_VALID, replace={SHEET1: sheet.encode("utf-8", "surrogatepass")})
    assert isinstance(preflight(data), PreflightResult)


def test_non_bytes_input_does_not_raise():
    result = preflight("not bytes")  # type: ignore[arg-type]
    assert not result.ok


# --------------------------------------------------------------------------------------
# Files saved by LibreOffice (real bytes from a real office suite)
# --------------------------------------------------------------------------------------


def _soffice() -> str | None:
    return os.environ.get("SOFFICE") or shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def libreoffice_outputs(tmp_path_factory):
    soffice = _soffice()
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is needed in CI")
        pytest.skip("LibreOffice is not installed")
    tmp = tmp_path_factory.mktemp("lo")
    src = tmp / "returned.xlsx"
    src.write_bytes(hostile.valid_xlsx())
    profile = (tmp / "profile").as_uri()
    out = {}
    for ext, filt in (("xlsx", "xlsx:Calc MS Excel 2007 XML"), ("xls", "xls:MS Excel 97"), ("ods", "ods")):
        outdir = tmp / ext
        subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                        "--convert-to", filt, "--outdir", str(outdir), str(src)],
                       check=True, capture_output=True, timeout=180)
        out[ext] = (outdir / f"returned.{ext}").read_bytes()
    return out


@pytest.mark.libreoffice
def test_libreoffice_resaved_workbook_passes(libreoffice_outputs):
    result = preflight(libreoffice_outputs["xlsx"])
    assert result.findings == (), [(f.code, f.detail) for f in result.findings]
    assert list(result.sheet_parts) == ["Assessment", "Guidance", "_meta"]


@pytest.mark.libreoffice
def test_libreoffice_xls_and_ods_are_named(libreoffice_outputs):
    assert_refused(libreoffice_outputs["xls"], "legacy-xls")
    assert_refused(libreoffice_outputs["ods"], "ods")
