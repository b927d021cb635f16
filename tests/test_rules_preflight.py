"""Each defence of cmrg_excel.intake.preflight on its own, with the finding it must raise.

Preflight is defence in depth: a hostile file usually trips several layers (a linked workbook
has the part, its content type and its relationship). tests/test_preflight.py proves whole
hostile files are refused; here each layer gets a file that only it can catch, and the test
names the code, the part and the evidence, so a layer that stops working fails a test even
when another layer would still refuse the file.

The packages are built by hand (:func:`package`): a few hundred bytes each, so every test is quick.
"""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zipfile

import pytest

from cmrg_excel.intake import preflight as pf
from cmrg_excel.intake import sheetscan as ss
from cmrg_excel.intake.preflight import Limits, preflight

from . import hostile

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = hostile.REL_NS
SMALL = Limits(max_row=20, max_col=5)  # a template of A1:E20
SHEET = "xl/worksheets/sheet1.xml"


def sheet_xml(body: str = '<row r="1"><c r="A1"><v>1</v></c></row>', dimension: str | None = "A1") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN_NS}" '
            f'xmlns:r="{REL}">{dim}<sheetData>{body}</sheetData></worksheet>').encode()


def package(*, sheet: bytes | None = None, types: str = "", workbook: str = "", wb_rels: str = "",
            parts: dict[str, bytes] | None = None, sheet_attrs: str = 'name="Assessment" sheetId="1" r:id="rId1"',
            main_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            stored: bool = False) -> bytes:
    """A minimal workbook package: one sheet, and whatever extra the test needs."""
    ct = ('<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
          f'<Override PartName="/xl/workbook.xml" ContentType="{main_type}"/>{types}</Types>')
    wb = (f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{MAIN_NS}" xmlns:r="{REL}"><sheets>'
          f'<sheet {sheet_attrs}/></sheets>{workbook}</workbook>')
    rels = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{hostile.PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>{wb_rels}</Relationships>')
    members = {"[Content_Types].xml": ct.encode(), "xl/workbook.xml": wb.encode(),
               "xl/_rels/workbook.xml.rels": rels.encode(), SHEET: sheet if sheet is not None else sheet_xml()}
    members.update(parts or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


def rels(*relationships: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{hostile.PKG_REL_NS}">'
            + "".join(relationships) + "</Relationships>").encode()


def fatal(data: bytes, limits: Limits = SMALL) -> list[tuple[str, str | None, str | None]]:
    """(code, part, detail) of every fatal finding."""
    return [(f.code, f.part, f.detail) for f in preflight(data, limits).problems]


def one(data: bytes, code: str, limits: Limits = SMALL) -> pf.PreflightFinding:
    """The file is refused with exactly one finding, of this code."""
    result = preflight(data, limits)
    assert [f.code for f in result.findings] == [code], [(f.code, f.detail) for f in result.findings]
    f = result.findings[0]
    assert f.fatal and not result.ok and result.problems == [f]
    return f


def test_the_minimal_package_passes():
    result = preflight(package(), SMALL)
    assert result.ok and result.findings == () and result.sheet_parts == {"Assessment": SHEET}


# --- an unexpected error fails closed -------------------------------------------------------

def test_an_unexpected_error_inside_preflight_refuses_the_file_and_records_the_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a rule")

    monkeypatch.setattr(pf, "_contents", broken)
    f = one(package(), "truncated")
    assert f.detail == "the file could not be checked (RuntimeError: a bug in a rule)"
    assert f.message == pf._MESSAGES["truncated"]


@pytest.mark.parametrize("stage", ["_container", "_package", "_scan_sheet", "_check_name"])
def test_an_unexpected_error_at_any_stage_fails_closed(monkeypatch, stage):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(pf, stage, broken)
    result = preflight(package(), SMALL)
    assert not result.ok and result.problems[-1].code == "truncated"
    assert result.problems[-1].detail == "the file could not be checked (ValueError: boom)"


@pytest.mark.slow
def test_an_error_inside_preflight_during_ingest_rejects_the_file_and_records_why(issued, monkeypatch):
    """End to end: the workers (forked, so they carry the broken rule) refuse the file; it is filed
    under inbox/rejected with its problems, and the register keeps the error for the review group."""
    import json

    from cmrg_excel import register as reg
    from cmrg_excel.intake.ingest import ingest

    from .returns import drop, filled

    ws, _ = issued
    data = filled(ws, "C-0001")
    drop(ws, "C-0001.xlsx", data)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a rule")

    monkeypatch.setattr(pf, "_contents", broken)
    result = ingest(ws, corrections=False)
    (f,) = result.files
    assert f.outcome == "rejected" and f.stored == "inbox/rejected/C-0001.xlsx"
    assert (ws.root / f.stored).read_bytes() == data
    assert [(p.code, p.found) for p in f.problems] == [
        ("truncated", "the file could not be checked (RuntimeError: a bug in a rule)")]
    conn = reg.open_register(ws)
    try:
        outcome, problems = conn.execute("SELECT outcome, problems FROM submissions").fetchone()
    finally:
        conn.close()
    assert outcome == "rejected"
    assert json.loads(problems)[0]["found"] == "the file could not be checked (RuntimeError: a bug in a rule)"
    assert "The file is damaged or incomplete" in (ws.root / f.problems_file).read_text(encoding="utf-8")


# --- stage 1: size, emptiness, what kind of file ------------------------------------------------

def test_the_size_cap_is_exact():
    data = package()
    assert preflight(data, Limits(max_file_bytes=len(data), max_row=20, max_col=5)).ok
    f = one(data, "too-large", Limits(max_file_bytes=len(data) - 1))
    assert f.detail == f"{len(data)} bytes > {len(data) - 1}"


@pytest.mark.parametrize("size, limit, words", [
    (2048, 1024, "The file is 2 KB, larger than the 1 KB we accept."),
    (3 * 1024 * 1024 + 1, 1024 * 1024, "The file is 3.0 MB, larger than the 1.0 MB we accept."),
    (600, 500, "The file is 600 bytes, larger than the 500 bytes we accept."),
])
def test_the_size_is_said_in_human_terms(size, limit, words):
    assert one(b"x" * size, "too-large", Limits(max_file_bytes=limit)).message.startswith(words)


@pytest.mark.parametrize("data", [b"", b" \t\r\n\x00  "])
def test_an_empty_file(data):
    assert one(data, "empty").detail == f"{len(data)} bytes, no content"


def test_a_file_starting_with_spaces_is_not_empty():
    assert one(b"   hello there", "not-a-workbook").message.startswith("The file is not an Excel workbook (it is a plain text file)")


@pytest.mark.parametrize("streams", [["EncryptionInfo"], ["EncryptedPackage"], ["EncryptionInfo", "EncryptedPackage"]])
def test_a_password_protected_workbook_is_known_by_either_stream(streams):
    assert one(hostile.fake_ole(streams), "encrypted").detail == (
        "OLE container holding EncryptionInfo/EncryptedPackage streams")


@pytest.mark.parametrize("stream", ["Workbook", "WORKBOOK", "Book"])
def test_an_old_excel_file_is_known_by_its_workbook_stream(stream):
    assert one(hostile.fake_ole([stream]), "legacy-xls").detail == "OLE container holding a Workbook stream"


@pytest.mark.parametrize("stream, what", [
    ("WordDocument", "(it is an old-format Word document, .doc)"),
    ("PowerPoint Document", "(it is an old-format PowerPoint file, .ppt)"),
    ("Something", "(it is an old-format Office file we cannot read)"),
])
def test_other_old_office_files_are_named(stream, what):
    assert what in one(hostile.fake_ole([stream]), "not-a-workbook").message


def test_an_ods_file_is_named_from_its_first_bytes_even_when_damaged():
    """The sniff on the first member: a cut-off .ods cannot be opened as a zip, but is still named."""
    data = hostile.ods()
    f = one(data[: len(data) // 2], "ods")
    assert f.part == "mimetype"


def test_an_ods_file_whose_mimetype_is_not_first_is_named_from_the_package():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("content.xml", "<x/>")
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert one(out.getvalue(), "ods").part == "mimetype"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("content.xml", "<x/>")
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    f = one(out.getvalue(), "not-a-workbook")
    assert "(it is an OpenDocument file)" in f.message and f.detail == "application/vnd.oasis.opendocument.text"


def test_an_empty_zip_archive():
    assert "(it is an empty zip archive)" in one(b"PK\x05\x06" + b"\x00" * 18, "not-xlsx-package").message


@pytest.mark.parametrize("junk, code", [(1019, "pdf"), (1020, "not-a-workbook")])
def test_a_pdf_is_found_in_its_first_kilobyte(junk, code):
    one(b"a" * junk + b"%PDF-1.4\n", code)


@pytest.mark.parametrize("magic, what", [
    (b"\x89PNG\r\n", "(it is a picture, PNG)"), (b"\xff\xd8\xff\xe0", "(it is a picture, JPEG)"),
    (b"GIF89a", "(it is a picture, GIF)"), (b"{\\rtf1", "(it is a Rich Text document)"),
    (b"7z\xbc\xaf\x27\x1c", "(it is a 7-Zip archive)"), (b"Rar!\x1a\x07", "(it is a RAR archive)"),
    (b"\x1f\x8b\x08", "(it is a compressed gzip file)"),
])
def test_other_kinds_of_file_are_named(magic, what):
    assert what in one(magic + b"\x00" * 64, "not-a-workbook").message


@pytest.mark.parametrize("text, what", [
    ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
     "(it was saved as an 'XML Spreadsheet 2003' file)"),
    ("<html><body>x</body></html>", "(it is a web page, for example a workbook saved as HTML)"),
    ("\ufeff  <note/>", "(it is an XML or web file)"),
])
def test_markup_files_are_named(text, what):
    assert what in one(text.encode(), "not-a-workbook").message


@pytest.mark.parametrize("text, code", [
    ("a,b,c", "csv"), ("Hello, world", "not-a-workbook"), ("a;b;c\n", "csv"), ("a\tb\tc", "csv"), ("a|b|c", "csv"),
    ("a,b\nc,d\ne\nf", "csv"), ("a,b\nc,d\ne\nf\ng", "not-a-workbook"), ("a,b\nc", "not-a-workbook"),
    ("\n\nx,y,z\n\n", "csv"),
])
def test_a_csv_file_is_told_from_plain_text(text, code):
    one(text.encode(), code)


@pytest.mark.parametrize("length, bad, binary", [(1000, 10, False), (1000, 11, True), (50, 2, False), (50, 3, True),
                                                 (6000, 40, False), (6000, 41, True)])
def test_text_with_a_few_control_characters_is_text_more_is_binary(length, bad, binary):
    """Up to one control character in a hundred (and at least two) is still text; the first 4096 count."""
    sample = "\x01" * bad + "a" * (length - bad)
    f = one(sample.encode(), "not-a-workbook")
    if binary:
        assert f.detail == "unrecognised binary data"
    else:
        assert "(it is a plain text file)" in f.message


@pytest.mark.parametrize("data, binary", [
    ("a,b,c\n".encode("utf-16"), False),  # with its byte order mark: decoded
    (b"a,b,c\x00", True),  # NUL without one: binary
    ("caf\xe9,b,c".encode("cp1252"), False),  # not UTF-8: read as Windows text
])
def test_text_encodings(data, binary):
    code = "not-a-workbook" if binary else "csv"
    f = one(data, code)
    assert (f.detail == "unrecognised binary data") is binary


# --- stage 2: the zip package -------------------------------------------------------------------

def test_zip_magic_without_a_zip_is_damage():
    f = one(b"PK\x03\x04" + b"\x01" * 100, "truncated")
    assert f.detail.startswith("BadZipFile")


@pytest.mark.parametrize("members, what", [
    ({"xl/workbook.bin": b"x", "[Content_Types].xml": b"<Types/>"}, "Excel Binary Workbook, .xlsb"),
    ({"word/document.xml": b"<d/>"}, "(it is a Word document)"),
    ({"ppt/presentation.xml": b"<p/>"}, "(it is a PowerPoint presentation)"),
    ({"Index/Document.iwa": b"x"}, "(it is an Apple Numbers file"),
    ({"readme.txt": b"x"}, "(it is a zip archive without an Excel workbook inside)"),
])
def test_zips_that_are_not_workbooks_are_named(members, what):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    f = one(out.getvalue(), "not-xlsx-package")
    assert what in f.message
    missing = [n for n in ("[Content_Types].xml", "xl/workbook.xml") if n not in members]
    assert f.detail == "missing " + ", ".join(missing)


def test_the_part_count_cap_is_exact():
    data = package()  # 4 parts
    assert preflight(data, Limits(max_members=4, max_row=20, max_col=5)).ok
    f = one(data, "too-many-parts", Limits(max_members=3, max_row=20, max_col=5))
    assert f.detail == "4 zip entries > 3" and "made of 4 internal parts" in f.message and "up to 3" in f.message


def _set_central(data: bytes, name: str, offset: int, fmt: str, value: int) -> bytes:
    """Change one field of a member's central directory entry (offset from its signature)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46:pos + 46 + n].decode() == name:
            struct.pack_into(fmt, out, pos + offset, value)
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise KeyError(name)


def _crc(data: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.getinfo(name).CRC


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "deflated"])
def test_a_member_whose_checksum_does_not_match_is_damage(stored):
    """Data that inflate and have the right length, but not the bytes the archive vouches for."""
    data = package(stored=stored)
    bad = _set_central(data, SHEET, 16, "<I", _crc(data, SHEET) ^ 1)
    f = one(bad, "truncated")
    assert f.part == SHEET and f.detail == f"BadZipFile: Bad CRC-32 for file '{SHEET}'"


def test_a_member_longer_than_its_header_says_is_damage():
    data = package(stored=True)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        size = zf.getinfo(SHEET).file_size
    f = one(_set_central(data, SHEET, 24, "<I", size - 1), "truncated")
    assert f.detail == f"header says {size - 1} bytes, entry holds {size}"


def _bomb(size: int) -> bytes:
    return package(sheet=b"<worksheet>" + b" " * size + b"</worksheet>")


def test_inflating_a_bomb_stops_at_the_cap_and_uses_no_more_memory_than_that():
    """A part of 200 MB of spaces (200 KB compressed) is refused having inflated about 1 MB, not 200."""
    cap = 1024 * 1024
    data = _bomb(200 * 1024 * 1024)
    tracemalloc.start()
    try:
        f = one(data, "zip-bomb", Limits(max_member_bytes=cap, max_total_bytes=100 * cap, max_ratio=10**9))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f.part == SHEET and f.detail.startswith(f"{SHEET} is over 1.0 MB uncompressed")
    assert peak < 20 * cap, peak


@pytest.mark.parametrize("kind", ["member", "total", "ratio"])
def test_each_inflation_cap(kind):
    mib = 1024 * 1024
    data = _bomb(3 * mib)
    limits = {"member": Limits(max_member_bytes=2 * mib, max_ratio=10**9),
              "total": Limits(max_total_bytes=2 * mib, max_ratio=10**9),
              "ratio": Limits(max_ratio=50.0)}[kind]
    f = one(data, "zip-bomb", limits)
    what = {"member": f"{SHEET} is over 2.0 MB uncompressed",
            "total": "the parts add up to over 2.0 MB uncompressed",
            "ratio": f"{SHEET} expands more than 50 times"}[kind]
    assert what in f.message and f.detail.startswith(what)
    assert preflight(data, Limits(max_ratio=10**9)).ok


def test_the_ratio_is_not_checked_up_to_one_mebibyte():
    data = _bomb(1024 * 1024 - 30)
    assert preflight(data, Limits(max_ratio=2.0)).ok


# --- stage 3: names, content types and relationships, each on its own ---------------------------

@pytest.mark.parametrize("name, code, what", [
    ("xl/externalLinks/externalLink1.xml", "external-link", "link to another workbook"),
    ("xl/connections.xml", "external-link", "external data connection"),
    ("xl/queryTables/queryTable1.xml", "external-link", "external data connection"),
    ("xl/embeddings/oleObject1.bin", "embedded-object", "embedded file xl/embeddings/oleObject1.bin"),
    ("xl/activeX/activeX1.xml", "activex", "ActiveX control xl/activeX/activeX1.xml"),
    ("xl/vbaProject.bin", "macro-enabled", "macro code part xl/vbaProject.bin"),
    ("xl/macrosheets/sheet1.xml", "macro-enabled", "macro code part xl/macrosheets/sheet1.xml"),
])
def test_a_part_refused_by_its_name_alone(name, code, what):
    """No content type names it and no relationship points at it: the name is enough."""
    f = one(package(parts={name: b"<x/>"}), code)
    assert f.part == name and f.detail.startswith(what)


@pytest.mark.parametrize("main_type", ["application/vnd.ms-excel.sheet.macroEnabled.main+xml"])
def test_a_macro_enabled_main_content_type_alone(main_type):
    f = one(package(main_type=main_type), "macro-enabled")
    assert (f.part, f.detail) == ("[Content_Types].xml", "macro-enabled content type ([Content_Types].xml)")


def test_a_vba_project_content_type_alone():
    types = '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
    f = one(package(types=types), "macro-enabled")
    assert (f.part, f.detail) == ("[Content_Types].xml", "VBA project content type ([Content_Types].xml)")
    assert f.message.startswith("The workbook contains macros (VBA code)")


def test_a_macro_enabled_type_without_any_code_is_not_said_to_hold_macros():
    """Saved as .xlsm with no VBA anywhere: refused (only the format we sent is accepted), in words that
    do not accuse the owner of macros."""
    f = one(package(main_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml"), "macro-enabled")
    assert f.message.startswith("The workbook was saved as a macro-enabled workbook (.xlsm). It holds no macros")
    assert "contains macros" not in f.message
    with_code = hostile.valid_xlsx(vba=b"\x01fake vba project")
    found = preflight(with_code)
    macro = next(x for x in found.findings if x.code == "macro-enabled")
    assert macro.message.startswith("The workbook contains macros (VBA code)")


@pytest.mark.parametrize("ctype, code, what", [
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml", "external-link",
     "link to another workbook (xl/links/l1.xml)"),
    ("application/vnd.ms-office.activeX+xml", "activex", "ActiveX control xl/links/l1.xml"),
    ("application/vnd.openxmlformats-officedocument.oleObject", "embedded-object", "embedded file xl/links/l1.xml"),
])
def test_a_content_type_override_alone(ctype, code, what):
    """The part sits where no name rule looks; only its declared type gives it away."""
    f = one(package(types=f'<Override PartName="/xl/links/l1.xml" ContentType="{ctype}"/>'), code)
    assert f.part == "xl/links/l1.xml" and f.detail == what


def test_an_override_names_the_part_as_stored():
    types = ('<Override PartName="/XL/Links/L1.xml" '
             'ContentType="application/vnd.ms-office.activeX+xml"/>')
    f = one(package(types=types, parts={"xl/links/l1.xml": b"<x/>"}), "activex")
    assert f.part == "xl/links/l1.xml"


@pytest.mark.parametrize("rtype, extra, code, what", [
    (f"{REL}/externalLink", "", "external-link", "link to another workbook (xl/_rels/workbook.xml.rels)"),
    (f"{REL}/externalLinkPath", 'TargetMode="External"', "external-link",
     "link to another workbook (xl/_rels/workbook.xml.rels): x.xlsx"),
    (f"{REL}/oleObject", "", "embedded-object", "embedded object (xl/_rels/workbook.xml.rels)"),
    (f"{REL}/package", "", "embedded-object", "embedded object (xl/_rels/workbook.xml.rels)"),
    (f"{REL}/control", "", "activex", "ActiveX control (xl/_rels/workbook.xml.rels)"),
    ("http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary", "", "activex",
     "ActiveX control (xl/_rels/workbook.xml.rels)"),
    ("http://schemas.microsoft.com/office/2006/relationships/vbaProject", "", "macro-enabled",
     "macro code part (xl/_rels/workbook.xml.rels)"),
    ("http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet", "", "macro-enabled",
     "macro code part (xl/_rels/workbook.xml.rels)"),
    (f"{REL}/image", 'TargetMode="External"', "external-link",
     "link to an outside file or address (xl/_rels/workbook.xml.rels): x.xlsx"),
])
def test_a_relationship_alone(rtype, extra, code, what):
    """The relationship points at a part that is not there: its type alone is refused."""
    rel = f'<Relationship Id="rId9" Type="{rtype}" Target="x.xlsx" {extra}/>'
    f = one(package(wb_rels=rel), code)
    assert f.part == "xl/_rels/workbook.xml.rels" and f.detail == what


@pytest.mark.parametrize("where", ["xl/worksheets/_rels/sheet1.xml.rels", "xl/drawings/_rels/drawing1.xml.rels"])
def test_a_relationship_in_any_relationship_part(where):
    rel = f'<Relationship Id="rId9" Type="{REL}/oleObject" Target="../embeddings/x.bin"/>'
    f = one(package(parts={where: rels(rel)}), "embedded-object")
    assert f.part == where


def test_an_external_hyperlink_is_not_a_link_to_refuse():
    rel = f'<Relationship Id="rId9" Type="{REL}/hyperlink" Target="https://www.gov.uk/" TargetMode="External"/>'
    assert preflight(package(parts={"xl/worksheets/_rels/sheet1.xml.rels": rels(rel)}), SMALL).ok


def test_a_workbook_with_external_references_alone():
    f = one(package(workbook='<externalReferences><externalReference r:id="rId9"/></externalReferences>'),
            "external-link")
    assert (f.part, f.detail) == ("xl/workbook.xml", "link to another workbook (xl/workbook.xml)")


def test_the_word_external_references_in_text_is_not_a_link():
    assert preflight(package(workbook='<definedNames><definedName name="externalReferences">A</definedName>'
                                      "</definedNames>"), SMALL).ok


def test_of_duplicated_attributes_the_first_counts():
    """XML forbids them; readers that tolerate them take the first, and so does preflight."""
    rel = (f'<Relationship Id="rId9" Type="{REL}/externalLink" Type="{REL}/hyperlink" Target="x.xlsx" '
           'TargetMode="External"/>')
    f = one(package(wb_rels=rel), "external-link")
    assert f.detail == "link to another workbook (xl/_rels/workbook.xml.rels): x.xlsx"
    result = preflight(package(sheet_attrs='name="First" name="Second" sheetId="1" r:id="rId1"'), SMALL)
    assert result.sheet_parts == {"First": SHEET}


def test_evidence_is_merged_into_one_finding_per_kind():
    parts = {f"xl/embeddings/o{i}.bin": b"x" for i in range(10)}
    f = one(package(parts=parts), "embedded-object")
    assert f.part == "xl/embeddings/o0.bin"
    assert f.detail.count("embedded file") == 8 and f.detail.endswith("; and 2 more")


def test_a_doctype_anywhere():
    dt = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]><x/>'
    f = one(package(parts={"xl/custom.xml": dt}), "doctype")
    assert (f.part, f.detail) == ("xl/custom.xml", "DOCTYPE/ENTITY in xl/custom.xml")
    f = one(package(parts={"xl/media/image1.png": b"\x89PNG <!doctype x>"}), "doctype")
    assert f.part == "xl/media/image1.png"
    f = one(package(parts={"xl/data.unknown": b"text <!ENTITY x>"}), "doctype")
    assert f.part == "xl/data.unknown"


def test_xml_parts_must_be_xml_in_a_known_encoding():
    f = one(package(parts={"xl/custom.xml": b"not xml"}), "not-xlsx-package")
    assert (f.part, f.detail) == ("xl/custom.xml", "part does not start with '<'")
    f = one(package(parts={"xl/custom.xml": b'<?xml version="1.0" encoding="EBCDIC-US"?><x/>'}), "not-xlsx-package")
    assert f.detail == "encoding=EBCDIC-US" and "uses the text encoding EBCDIC-US" in f.message
    assert preflight(package(parts={"xl/media/image1.png": b"\x89PNG binary"}), SMALL).ok
    assert preflight(package(parts={"xl/data.unknown": b"plain text"}), SMALL).ok


def test_a_worksheet_part_that_is_not_xml():
    assert fatal(package(sheet=b"\x89PNG not a sheet")) == [
        ("not-xlsx-package", SHEET, "part does not start with '<'"),
        ("not-xlsx-package", SHEET, "a worksheet part that is not XML")]


# --- the sheet scan: template bounds ------------------------------------------------------------

@pytest.mark.parametrize("dimension, ok", [("A1:E20", True), ("A1:E21", False), ("A1:F20", False), ("E20", True),
                                           ("A1:E40", False), ("A21", False), ("F1", False)])
def test_the_dimension_is_held_to_the_template_exactly(dimension, ok):
    data = package(sheet=sheet_xml(dimension=dimension))
    if ok:
        assert preflight(data, SMALL).ok
        return
    f = one(data, "cell-out-of-bounds")
    assert f"dimension {dimension}" in f.detail
    assert "is marked as using cells as far as" in f.message and "it ends at column E, row 20" in f.message


@pytest.mark.parametrize("ref, ok", [("E20", True), ("E21", False), ("F20", False), ("A1", True), ("F1", False),
                                     ("A21", False)])
@pytest.mark.parametrize("path", ["fast", "slow"])
def test_a_cell_is_held_to_the_template_exactly(ref, ok, path):
    """On the fast path (plain markup) and the slow one (a tag without r= sends the scan tag by tag)."""
    row = int(ref.lstrip("ABCDEF"))
    body = f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'
    if path == "slow":
        body = "<row><c><v>0</v></c></row>" + body
    data = package(sheet=sheet_xml(body, dimension=None))
    if ok:
        assert preflight(data, SMALL).ok, fatal(data)
        return
    f = one(data, "cell-out-of-bounds")
    assert f.detail.startswith(f"{ref} in {SHEET} (sheet 'Assessment'); 1 cell(s) out of bounds, first {ref}")
    assert f"Sheet 'Assessment' has content in cell {ref}, far outside the template" in f.message


@pytest.mark.parametrize("cells, ok", [(5, True), (6, False)])
def test_implied_columns_are_counted(cells, ok):
    data = package(sheet=sheet_xml('<row r="3">' + "<c><v>1</v></c>" * cells + "</row>", dimension=None))
    if ok:
        assert preflight(data, SMALL).ok
    else:
        assert one(data, "cell-out-of-bounds").detail.startswith(f"F3 in {SHEET}")


@pytest.mark.parametrize("rows, ok", [(20, True), (21, False)])
def test_implied_rows_are_counted(rows, ok):
    """A cell in the last of ``rows`` implied rows (rows without r=); an empty row beyond the template
    is only formatting (tests below), a row with a cell is not."""
    data = package(sheet=sheet_xml("<row/>" * (rows - 1) + '<row><c s="1"/></row>', dimension=None))
    if ok:
        assert preflight(data, SMALL).ok
    else:
        f = one(data, "cell-out-of-bounds")
        assert "has content in cell A21, far outside the template" in f.message
        assert f.detail.startswith(f"A21 in {SHEET}")


def test_too_many_tags_to_follow_are_refused_before_following_them():
    """More <row>/<c> tags than the template has places cannot all be inside it."""
    places = SMALL.max_row * (SMALL.max_col + 1)
    body = '<row r="1">' + "<c/>" * places + "</row>"
    f = one(package(sheet=sheet_xml(body.replace('<row r="1">', "<row>"), dimension=None)), "cell-out-of-bounds")
    assert f"more <row>/<c> tags than the template has places ({places})" in f.detail


def test_the_slow_scan_has_a_budget_for_the_whole_workbook():
    """Markup that must be followed tag by tag costs time: past 600,000 tags in a workbook the file is refused."""
    big = Limits(max_row=1_000_000, max_col=5, max_ratio=10**9)
    body = "<row/>" * 300_001
    second = {"xl/worksheets/sheet2.xml": sheet_xml(body, dimension=None)}
    f = one(package(sheet=sheet_xml(body, dimension=None), parts=second), "cell-out-of-bounds", big)
    assert f.part == "xl/worksheets/sheet2.xml" and "too much unusual sheet markup to check" in f.detail
    assert preflight(package(sheet=sheet_xml(body, dimension=None)), big).ok


def test_a_malformed_tag_cannot_be_checked():
    f = one(package(sheet=sheet_xml('<row r="1"><c r="A1 x="1"><v>1</v></c></row>', dimension=None)),
            "cell-out-of-bounds")
    assert "a <row> or <c> tag with malformed attributes" in f.detail


def test_many_far_cells_are_summed_up():
    body = '<row r="21">' + "".join(f'<c r="{pf.column_letters(i)}21"/>' for i in range(1, 111)) + "</row>"
    f = one(package(sheet=sheet_xml(body, dimension=None)), "cell-out-of-bounds")
    assert "has content in cell A21 and more than " in f.message and "other cells far outside" in f.message


def test_two_far_cells_are_counted():
    body = '<row r="21"><c r="A21"/><c r="B21"/></row>'
    f = one(package(sheet=sheet_xml(body, dimension=None)), "cell-out-of-bounds")
    assert "has content in cell A21 and 1 other cell far outside the template" in f.message


def test_column_letters_and_numbers():
    assert [pf.column_letters(n) for n in (1, 5, 26, 27, 702, 703, 16384)] == [
        "A", "E", "Z", "AA", "ZZ", "AAA", "XFD"]
    assert [pf.column_number(s) for s in ("A", "e", b"Z", "AA", "XFD")] == [1, 5, 26, 27, 16384]


# --- every finding, field for field ---------------------------------------------------------------

def M(key: str, what: str | None = None) -> str:
    """A message from preflight's wording, with the part that names what was found."""
    return pf._MESSAGES[key] if what is None else pf._MESSAGES[key].format(what=what)


def zipof(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


def _flag(data: bytes, name: str, bit: int) -> bytes:
    """Set a general-purpose flag bit of a member, in its local header and its directory entry."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    out[info.header_offset + 6] |= bit
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46:pos + 46 + n].decode() == name:
            out[pos + 8] |= bit
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def _overlapping(data: bytes) -> bytes:
    """The last member's directory entry pointed at the first member's data."""
    out = bytearray(data)
    struct.pack_into("<I", out, out.rfind(b"PK\x01\x02") + 42, 0)
    return bytes(out)


UNREAD = ("Sheet 'Assessment' has a cell position that cannot be read ({}), so we cannot check it stays inside the "
          "template (it ends at column E, row 20). Copy your answers into a fresh copy of the workbook we sent you, "
          "save it and send that.")
WHERE = "xl/worksheets/sheet1.xml (sheet 'Assessment')"

EXACT = {
    "old Word file": (lambda: hostile.fake_ole(["WordDocument"]), [
        ("not-a-workbook", M("not-a-workbook", " (it is an old-format Word document, .doc)"), None, None)]),
    "old PowerPoint file": (lambda: hostile.fake_ole(["PowerPoint Document"]), [
        ("not-a-workbook", M("not-a-workbook", " (it is an old-format PowerPoint file, .ppt)"), None, None)]),
    "other old Office file": (lambda: hostile.fake_ole(["Something"]), [
        ("not-a-workbook", M("not-a-workbook", " (it is an old-format Office file we cannot read)"), None,
         "OLE container without a workbook stream")]),
    "encrypted": (lambda: hostile.fake_ole(["EncryptedPackage"]), [
        ("encrypted", M("encrypted"), None, "OLE container holding EncryptionInfo/EncryptedPackage streams")]),
    "legacy xls": (lambda: hostile.fake_ole(["Workbook"]), [
        ("legacy-xls", M("legacy-xls"), None, "OLE container holding a Workbook stream")]),
    "empty zip": (lambda: b"PK\x05\x06" + b"\x00" * 18, [
        ("not-xlsx-package", M("not-xlsx-package", " (it is an empty zip archive)"), None, None)]),
    "XML Spreadsheet 2003": (lambda: b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', [
        ("not-a-workbook", M("not-a-workbook", " (it was saved as an 'XML Spreadsheet 2003' file)"), None, None)]),
    "Excel's HTML": (lambda: b'<html><meta progid="Excel.Sheet"><body/></html>', [
        ("not-a-workbook", M("not-a-workbook", " (it was saved as an 'XML Spreadsheet 2003' file)"), None, None)]),
    "web page": (lambda: b"<!DOCTYPE html><p>x</p>", [
        ("not-a-workbook", M("not-a-workbook", " (it is a web page, for example a workbook saved as HTML)"), None, None)]),
    "XML": (lambda: b"\xef\xbb\xbf  <note/>", [
        ("not-a-workbook", M("not-a-workbook", " (it is an XML or web file)"), None, None)]),
    "plain text": (lambda: b"hello there", [
        ("not-a-workbook", M("not-a-workbook", " (it is a plain text file)"), None, None)]),
    "binary": (lambda: b"\x01\x02\x03hello", [("not-a-workbook", M("not-a-workbook", ""), None, "unrecognised binary data")]),
    "csv": (lambda: b"a,b,c", [("csv", M("csv"), None, None)]),
    "pdf": (lambda: b"%PDF-1.4", [("pdf", M("pdf"), None, None)]),
    "empty": (lambda: b"", [("empty", M("empty"), None, "0 bytes, no content")]),
    "ods": (lambda: hostile.ods(), [("ods", M("ods"), "mimetype", None)]),
    "not a zip": (lambda: b"PK\x03\x04" + b"\x01" * 100, [
        ("truncated", M("truncated"), None, "BadZipFile: File is not a zip file")]),
    "OpenDocument text": (lambda: zipof({"content.xml": b"<x/>", "mimetype": b"application/vnd.oasis.opendocument.text"}), [
        ("not-a-workbook", M("not-a-workbook", " (it is an OpenDocument file)"), "mimetype",
         "application/vnd.oasis.opendocument.text")]),
    "xlsb": (lambda: zipof({"xl/workbook.bin": b"x", "[Content_Types].xml": b"<Types/>"}), [
        ("not-xlsx-package", M("not-xlsx-package", " (it was saved as an Excel Binary Workbook, .xlsb: open it in "
                                                   "Excel, use File > Save As and choose 'Excel Workbook (*.xlsx)')"),
         None, "missing xl/workbook.xml")]),
    "Word": (lambda: zipof({"word/document.xml": b"<d/>"}), [
        ("not-xlsx-package", M("not-xlsx-package", " (it is a Word document)"), None,
         "missing [Content_Types].xml, xl/workbook.xml")]),
    "PowerPoint": (lambda: zipof({"ppt/presentation.xml": b"<p/>"}), [
        ("not-xlsx-package", M("not-xlsx-package", " (it is a PowerPoint presentation)"), None,
         "missing [Content_Types].xml, xl/workbook.xml")]),
    "Numbers": (lambda: zipof({"Index/Document.iwa": b"x"}), [
        ("not-xlsx-package", M("not-xlsx-package", " (it is an Apple Numbers file: use File > Export To > Excel)"),
         None, "missing [Content_Types].xml, xl/workbook.xml")]),
    "other zip": (lambda: zipof({"[Content_Types].xml": b"<Types/>"}), [
        ("not-xlsx-package", M("not-xlsx-package", " (it is a zip archive without an Excel workbook inside)"), None,
         "missing xl/workbook.xml")]),
    "too many parts": (lambda: package(parts={f"xl/p{i}.xml": b"<x/>" for i in range(297)}), [
        ("too-many-parts", "The workbook is made of 301 internal parts, far more than the workbook we sent (we accept "
         "up to 300), which usually means a lot of extra content was added. Copy your answers into a fresh copy of "
         "the workbook we sent you, save it and send that.", None, "301 zip entries > 300")]),
    "a part stored twice": (lambda: hostile.rezip(package(), add={SHEET: sheet_xml()}), [
        ("not-xlsx-package", M("odd-structure", "the same part is stored more than once: xl/worksheets/sheet1.xml"),
         None, "the same part is stored more than once: xl/worksheets/sheet1.xml")]),
    "odd compression": (lambda: zipof(hostile.members(package()), zipfile.ZIP_BZIP2), [
        ("not-xlsx-package", M("odd-structure", "[Content_Types].xml uses compression method 12; xl/workbook.xml uses "
                                                "compression method 12; xl/_rels/workbook.xml.rels uses compression method "
                                                "12; xl/worksheets/sheet1.xml uses compression method 12"),
         None, "[Content_Types].xml uses compression method 12; xl/workbook.xml uses compression method 12; "
               "xl/_rels/workbook.xml.rels uses compression method 12; xl/worksheets/sheet1.xml uses compression method 12")]),
    "an encrypted part": (lambda: _flag(package(), SHEET, 0x1), [
        ("encrypted", "Part of the workbook is encrypted inside the zip archive, which Excel never does. Copy your "
         "answers into a fresh copy of the workbook we sent you, save it and send that.", SHEET,
         "zip entry encryption flag set")]),
    "strong encryption": (lambda: _flag(package(), SHEET, 0x40), [
        ("not-xlsx-package", M("odd-structure", f"{SHEET} uses an unsupported zip feature"), None,
         f"{SHEET} uses an unsupported zip feature")]),
    "overlapping parts": (lambda: _overlapping(package()), [
        ("zip-bomb", M("zip-bomb", "zip entries overlap"), SHEET,
         f"{SHEET} and [Content_Types].xml share data at offset 0")]),
    "text encoding": (lambda: package(parts={"xl/custom.xml": b'<?xml version="1.0" encoding="EBCDIC-US"?><x/>'}), [
        ("not-xlsx-package", M("odd-structure", "xl/custom.xml uses the text encoding EBCDIC-US"), "xl/custom.xml",
         "encoding=EBCDIC-US")]),
    "an outside link": (lambda: package(wb_rels=f'<Relationship Id="rId9" Type="{REL}/externalLinkPath" '
                                                'Target="file:///x.xlsx" TargetMode="External"/>'), [
        ("external-link", M("external-link", "link to another workbook"), "xl/_rels/workbook.xml.rels",
         "link to another workbook (xl/_rels/workbook.xml.rels): file:///x.xlsx")]),
    "links of three kinds": (lambda: package(parts={"xl/connections.xml": b"<c/>", "xl/externalLinks/e1.xml": b"<e/>"},
                                             wb_rels=f'<Relationship Id="rId9" Type="{REL}/image" Target="http://x/y.png" '
                                                     'TargetMode="External"/>'), [
        ("external-link", M("external-link", "external data connection, link to another workbook, link to an outside "
                                             "file or address"), "xl/connections.xml",
         "external data connection (xl/connections.xml); link to another workbook (xl/externalLinks/e1.xml); link to "
         "an outside file or address (xl/_rels/workbook.xml.rels): http://x/y.png")]),
    "far dimension": (lambda: package(sheet=sheet_xml(dimension="A1:F30")), [
        ("cell-out-of-bounds", "Sheet 'Assessment' is marked as using cells as far as F30, far outside the template "
         "(it ends at column E, row 20). Press Ctrl+End to find the last used cell, delete the rows and columns beyond "
         "the template (Home > Delete) and save again.", SHEET, f"F30 in {WHERE}; dimension A1:F30")]),
    "unreadable dimension": (lambda: package(sheet=sheet_xml(dimension="everything")), [
        ("cell-out-of-bounds", UNREAD.format("dimension 'everything'"), SHEET, f"{WHERE}: dimension 'everything'")]),
    "malformed dimension": (lambda: package(sheet=sheet_xml().replace(b'<dimension ref="A1"/>', b'<dimension ref="A1/>')), [
        ("cell-out-of-bounds", UNREAD.format("a <dimension> tag with malformed attributes"), SHEET,
         f"{WHERE}: a <dimension> tag with malformed attributes")]),
    "unreadable row": (lambda: package(sheet=sheet_xml('<row r="x1"><c r="A1"/></row>', dimension=None)), [
        ("cell-out-of-bounds", UNREAD.format("row 'x1'"), SHEET, f"{WHERE}: row 'x1'")]),
    "row zero": (lambda: package(sheet=sheet_xml('<row r="0"/>', dimension=None)), [
        ("cell-out-of-bounds", UNREAD.format("row '0'"), SHEET, f"{WHERE}: row '0'")]),
    "unreadable cell": (lambda: package(sheet=sheet_xml('<row r="1"><c r="1A"/></row>', dimension=None)), [
        ("cell-out-of-bounds", UNREAD.format("cell '1A'"), SHEET, f"{WHERE}: cell '1A'")]),
    "escaped far cell": (lambda: package(sheet=sheet_xml('<row r="1"><c r="&#70;1"/></row>', dimension=None)), [
        ("cell-out-of-bounds", "Sheet 'Assessment' has content in cell F1, far outside the template (it ends at column "
         "E, row 20). Clear that cell (press Ctrl+End to find it) and save again.", SHEET,
         f"F1 in {WHERE}; 1 cell(s) out of bounds, first F1")]),
    # a row beyond the template holding a cell; the numbers written as character references
    "escaped far row": (lambda: package(sheet=sheet_xml('<row r="&#50;1"><c r="A&#50;1"/></row>', dimension=None)), [
        ("cell-out-of-bounds", "Sheet 'Assessment' has content in cell A21, far outside the template (it ends at "
         "column E, row 20). Clear that cell (press Ctrl+End to find it) and save again.", SHEET,
         f"A21 in {WHERE}; 1 cell(s) out of bounds, first A21; 1 row(s) out of bounds, first 21")]),
    "far rows and cells together": (lambda: package(sheet=sheet_xml('<row r="21"><c r="A21"/></row>', dimension="A1:A21")), [
        ("cell-out-of-bounds", "Sheet 'Assessment' has content in cell A21, far outside the template (it ends at "
         "column E, row 20). Clear that cell (press Ctrl+End to find it) and save again.", SHEET,
         f"A21 in {WHERE}; 1 cell(s) out of bounds, first A21; 1 row(s) out of bounds, first 21; dimension A1:A21")]),
    "an orphan sheet": (lambda: package(parts={"xl/worksheets/sheet9.xml": sheet_xml('<row r="30"><c r="A30"/></row>',
                                                                                     dimension=None)}), [
        ("cell-out-of-bounds", "The sheet stored as xl/worksheets/sheet9.xml has content in cell A30, far outside the "
         "template (it ends at column E, row 20). Clear that cell (press Ctrl+End to find it) and save again.",
         "xl/worksheets/sheet9.xml", "A30 in xl/worksheets/sheet9.xml; 1 cell(s) out of bounds, first A30; "
         "1 row(s) out of bounds, first 30")]),
    # LibreOffice writes an empty formatted row far below whenever a row is deleted (issue 17.5)
    "a formatted row with no cells": (lambda: package(sheet=sheet_xml('<row r="1048576" s="1" customFormat="1"/>',
                                                                     dimension="A1:E1048576")), []),
}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("name", EXACT)
def test_each_finding_field_for_field(name):
    build, expected = EXACT[name]
    result = preflight(build(), SMALL)
    assert [(f.code, f.message, f.part, f.detail) for f in result.findings] == expected
    assert all(f.fatal for f in result.findings) and result.ok == (not expected)


@pytest.fixture(autouse=True)
def fresh_patterns():
    """preflight compiles its bounds pattern once per template size; each test compiles it again, so a
    fault in how it is built cannot hide behind an earlier test's pattern."""
    ss._suspicious_pattern.cache_clear()


@pytest.mark.parametrize("limit", [1, 9, 10, 11, 26, 27, 99, 100, 101, 702, 703, 5000, 16384])
def test_the_bounds_pattern_matches_exactly_one_to_the_limit(limit):
    """The regex for 'a number from 1 to n' (rows in decimal, columns in letters) that the fast scan uses."""
    rows = re.compile(ss._upto_regex(limit, "0123456789", "1", '"'))
    cols = re.compile(ss._upto_regex(limit, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "A", "$"))
    for k in sorted({1, 2, 9, 10, 11, 25, 26, 27, 52, 99, 100, 101, limit - 1, limit, limit + 1, limit * 10, 20000}):
        if k < 1:
            continue
        assert (rows.fullmatch(f'{k}"') is not None) == (k <= limit), (limit, k)
        assert (cols.fullmatch(pf.column_letters(k)) is not None) == (k <= limit), (limit, k)
    assert rows.fullmatch('0"') is None and rows.fullmatch(f'0{limit}"') is None
    assert ss._upto_regex(0, "0123456789", "1", '"') == "(?!)"


@pytest.mark.parametrize("second, ok", [(300_000, True), (300_001, False)])
def test_the_slow_scan_budget_is_exactly_600000_tags(second, ok):
    big = Limits(max_row=1_000_000, max_col=5, max_ratio=10**9)
    data = package(sheet=sheet_xml("<row/>" * 300_000, dimension=None),
                   parts={"xl/worksheets/sheet2.xml": sheet_xml("<row/>" * second, dimension=None)})
    if ok:
        assert preflight(data, big).ok
    else:
        assert "too much unusual sheet markup to check" in one(data, "cell-out-of-bounds", big).detail


def test_a_prefixed_tag_is_found_however_it_is_written():
    """Tags with a namespace prefix go the careful way: found by the ':' before the name."""
    ns = f'xmlns:x="{MAIN_NS}"'
    far = f'<x:row r="30" {ns}><x:c r="A30"/></x:row>'
    assert one(package(sheet=sheet_xml(far, dimension=None)), "cell-out-of-bounds").detail.startswith("A30")
    long_prefix = f'<{"p" * 300}:row r="30" xmlns:{"p" * 300}="{MAIN_NS}"><{"p" * 300}:c r="A30"/></{"p" * 300}:row>'
    assert one(package(sheet=sheet_xml(long_prefix, dimension=None)), "cell-out-of-bounds").detail.startswith("A30")
    many = '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "a:c " * 70 + "</t></is></c></row>" + far
    assert one(package(sheet=sheet_xml(many, dimension=None)), "cell-out-of-bounds").detail.startswith("A30")
    decoy = '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "a:c " * 70 + "</t></is></c></row>"
    assert preflight(package(sheet=sheet_xml(decoy, dimension=None)), SMALL).ok
    text_only = '<row r="1"><c r="A1" t="inlineStr"><is><t>x:row y:c</t></is></c></row>'
    assert preflight(package(sheet=sheet_xml(text_only, dimension=None)), SMALL).ok


def test_sizes_in_human_terms_round_to_the_nearest():
    assert one(b"x" * 10753, "too-large", Limits(max_file_bytes=10000)).message.startswith(
        "The file is 11 KB, larger than the 10 KB we accept.")


# --- LibreOffice's phantom row (issue 17.5) -----------------------------------------------------------

LO_ROW = ('<row r="1048576" customFormat="false" ht="12.8" hidden="false" customHeight="false" outlineLevel="0" '
          'collapsed="false"></row>')


@pytest.mark.parametrize("far", [LO_ROW, '<row r="1048576" s="3" customFormat="1"/>', '<row r="21"></row>'])
def test_a_formatting_only_row_far_below_is_accepted(far):
    """Deleting any row in LibreOffice writes an empty, formatted row 1,048,576 and stretches the
    dimension down to it: nothing there for a reader, so nothing to refuse."""
    body = '<row r="1"><c r="A1"><v>1</v></c></row>' + far
    data = package(sheet=sheet_xml(body, dimension="A1:E1048576"))
    assert preflight(data, SMALL).ok, fatal(data)


@pytest.mark.parametrize("far, dimension, first", [
    ('<row r="1048576"><c r="A1048576" s="1"/></row>', "A1:E1048576", "A1048576"),   # a formatted cell, not a row
    ('<row r="1048576"><c s="1"><v>1</v></c></row>', "A1:E1048576", "A1048576"),     # a cell with content
    ('<row r="1048576"><c r="A5"><v>1</v></c></row>', "A1:E1048576", "row 1048576"),  # a cell in a far row
    (LO_ROW, "A1:XFD1048576", "XFD1048576"),                                           # the dimension runs across
])
def test_a_far_row_with_a_cell_or_a_far_dimension_across_is_still_refused(far, dimension, first):
    body = '<row r="1"><c r="A1"><v>1</v></c></row>' + far
    f = one(package(sheet=sheet_xml(body, dimension=dimension)), "cell-out-of-bounds")
    assert f.detail.startswith(first), f.detail


def test_a_dimension_far_below_without_any_formatted_row_is_still_refused():
    f = one(package(sheet=sheet_xml(dimension="A1:E1048576")), "cell-out-of-bounds")
    assert "dimension A1:E1048576" in f.detail


def test_thousands_of_formatted_rows_far_below_are_refused():
    body = "".join(f'<row r="{21 + i}"/>' for i in range(101))
    f = one(package(sheet=sheet_xml(body, dimension=None)), "cell-out-of-bounds")
    assert "more than 100 rows beyond the template" in f.detail


# --- formulas, found for the rules (issue 11.4) ---------------------------------------------------------

@pytest.mark.parametrize("body, found", [
    ('<row r="7"><c r="D7" t="str"><f>IF(A1="","2 Good","0")</f><v>2 Good</v></c></row>',
     (("D7", 'IF(A1="","2 Good","0")'),)),
    ('<row r="7"><c r="D7"><f>A1&amp;"x"</f></c><c r="E7"><f t="shared" si="0"/><v>1</v></c></row>',
     (("D7", 'A1&"x"'), ("E7", ""))),
    ('<row><c><v>1</v></c><c><f>1+1</f></c></row><row/><row><c/><c/><c><f>B1</f></c></row>',
     (("B1", "1+1"), ("C3", "B1"))),
    ('<row r="2"><c r="B2"><formula1>not a formula</formula1><v>1</v></c></row>', ()),
])
def test_every_formula_is_found_with_its_cell(body, found):
    result = preflight(package(sheet=sheet_xml(body, dimension=None)), SMALL)
    assert result.ok and result.formulas.get("Assessment", ()) == found


def test_a_prefixed_formula_is_found():
    body = (f'<x:worksheet xmlns:x="{MAIN_NS}"><x:sheetData><x:row r="3"><x:c r="C3"><x:f>NOW()</x:f></x:c></x:row>'
            "</x:sheetData></x:worksheet>").encode()
    assert preflight(package(sheet=body), SMALL).formulas == {"Assessment": (("C3", "NOW()"),)}


def _sizes(data: bytes) -> dict[str, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: i.file_size for i in zf.infolist()}


def test_the_part_and_total_caps_are_exact():
    data = package()
    sizes = _sizes(data)
    biggest, total = max(sizes, key=sizes.get), sum(sizes.values())
    assert preflight(data, Limits(max_member_bytes=sizes[biggest], max_total_bytes=total, max_row=20, max_col=5)).ok
    f = one(data, "zip-bomb", Limits(max_total_bytes=total - 1, max_row=20, max_col=5))
    assert f.part == SHEET and f.detail.startswith("the parts add up to over ")  # the last part tips it over
    f = one(data, "zip-bomb", Limits(max_member_bytes=sizes[biggest] - 1, max_row=20, max_col=5))
    assert f.part == biggest and f.detail.startswith(f"{biggest} is over ")


def test_a_damaged_part_does_not_hide_what_the_parts_before_it_show():
    """Inflation stops at the first damaged part; the parts read before it are still checked."""
    data = package(parts={"xl/custom.xml": b'<?xml version="1.0"?><!DOCTYPE x><x/>', "xl/last.xml": b"<last/>"})
    bad = _set_central(data, "xl/last.xml", 16, "<I", _crc(data, "xl/last.xml") ^ 1)
    result = preflight(bad, SMALL)
    assert [(f.code, f.part) for f in result.findings] == [("truncated", "xl/last.xml"), ("doctype", "xl/custom.xml")]
    assert result.sheet_parts == {"Assessment": SHEET}


def test_a_long_error_is_cut_to_300_characters():
    name = "xl/" + "n" * 400 + ".xml"
    data = package(parts={name: b"<x/>"})
    bad = _set_central(data, name, 16, "<I", _crc(data, name) ^ 1)
    f = one(bad, "truncated")
    assert f.part == name and len(f.detail) == 300 and f.detail.startswith("BadZipFile: Bad CRC-32 for file 'xl/nnn")


@pytest.mark.parametrize("body, cells", [
    ('<row r="7"><c r="D7"><f>1+1</f><v>2</v></c><c r="E7" s="2"><f t="shared" ref="E7:E8" si="0">D7*2</f></c></row>'
     '<row r="8"><c r="E8"><f t="shared" si="0"/></c><c r="F8" t="str"><f>"a&amp;b"</f></c></row>',
     [("D7", "1+1"), ("E7", "D7*2"), ("E8", ""), ("F8", '"a&b"')]),
    # one formula in a form the one-pass pattern does not know: every formula is placed the careful way
    (f'<row r="7"><c r="D7"><f>1+1</f></c><c r="E7"><x:f xmlns:x="{MAIN_NS}">D7</x:f></c></row>',
     [("D7", "1+1"), ("E7", "D7")]),
    ('<row r="7"><c r="D7"><f>1+1</f></c><c><f>D7</f></c></row>', [("D7", "1+1"), ("E7", "D7")]),
])
def test_the_one_pass_formula_scan_agrees_with_the_careful_one(body, cells):
    data = sheet_xml(body, dimension=None)
    assert list(ss.formula_cells(data, [10**6])) == list(ss._formula_cells_slow(data, [10**6])) == cells
