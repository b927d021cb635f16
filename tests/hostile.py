"""Builders for hostile (and one valid) returned files, made by code: no binary fixtures.

Every function returns the bytes of one file. They are meant for the preflight tests and
for later ingest tests (``from tests import hostile`` or, with tests/ on sys.path,
``import hostile``). Sizes default to realistic values; pass smaller ones together with a
smaller ``Limits`` to keep a test fast.

Which preflight code each one should draw:

=====================  =====================
builder                fatal code
=====================  =====================
zip_bomb()             zip-bomb
lying_header()         zip-bomb (or truncated if the real size is under every cap)
billion_laughs()       doctype
xxe()                  doctype
far_cell()             cell-out-of-bounds
far_dimension()        cell-out-of-bounds
encrypted()            encrypted
legacy_xls()           legacy-xls
macro_enabled()        macro-enabled
external_link()        external-link
embedded_object()      embedded-object
activex()              activex
ods()                  ods
csv_bytes()            csv
pdf_bytes()            pdf
truncated(valid)       truncated
empty()                empty
valid_xlsx()           (none)
=====================  =====================
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import struct
import zipfile
import zlib

import xlsxwriter

__all__ = [
    "valid_xlsx", "rezip", "members", "tiny_png",
    "zip_bomb", "lying_header", "billion_laughs", "xxe", "far_cell", "far_dimension",
    "encrypted", "legacy_xls", "macro_enabled", "external_link", "embedded_object", "activex",
    "ods", "csv_bytes", "pdf_bytes", "truncated", "empty", "fake_ole",
]

SHEET1 = "xl/worksheets/sheet1.xml"
SHEET1_RELS = "xl/worksheets/_rels/sheet1.xml.rels"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


# --------------------------------------------------------------------------------------
# Valid workbooks and zip helpers
# --------------------------------------------------------------------------------------


def tiny_png() -> bytes:
    """A 1x1 white PNG."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@functools.lru_cache(maxsize=32)  # bytes are immutable: safe to share between tests
def valid_xlsx(*, far_ref: str | None = None, extra_rows: int = 50, image: bool = True,
               comment: bool = True, vba: bytes | None = None) -> bytes:
    """A plain returned workbook like ours, made by xlsxwriter in memory.

    Sheets: 'Assessment' (protected, unlocked answer cells, list/date validations, formulas,
    a conditional format, a hyperlink, a comment, a picture), 'Guidance', and a very hidden
    '_meta'. far_ref writes one value at that cell of 'Assessment' (e.g. 'XFD1048576');
    vba adds those bytes as xl/vbaProject.bin (a macro-enabled workbook).
    """
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = wb.add_format({"bold": True})
    unlocked = wb.add_format({"locked": False, "bg_color": "#FFF2CC"})
    date_fmt = wb.add_format({"locked": False, "num_format": "yyyy-mm-dd"})

    ws = wb.add_worksheet("Assessment")
    ws.write_string("A1", "Contract review", bold)
    ws.write_string("A2", "Contract ID")
    ws.write_string("B2", "C-0001")
    ws.write_string("A3", "Review date")
    ws.write_blank("B3", None, date_fmt)
    ws.data_validation("B3", {"validate": "date", "criteria": ">=", "value": dt.date(2020, 1, 1)})
    for i in range(extra_rows):
        r = 5 + i
        ws.write_string(r, 0, f"Q{i + 1}. Is the contract managed well in area {i + 1}?")
        ws.write_blank(r, 1, None, unlocked)
        ws.data_validation(r, 1, r, 1, {"validate": "list", "source": "=Guidance!$A$2:$A$4"})
        ws.write_formula(r, 2, f'=IF(LEFT(B{r + 1},1)="","",VALUE(LEFT(B{r + 1},1)))', None, 0)
    ws.write_formula(5 + extra_rows, 2, f"=SUM(C6:C{5 + extra_rows})", bold, 0)
    ws.conditional_format(5, 1, 4 + extra_rows, 1, {"type": "blanks", "format": unlocked})
    ws.write_url("A4", "https://www.example.gov.uk/guidance", string="Guidance on the web")
    if comment:
        ws.write_comment("A1", "Fill in the yellow cells.")
    if image:
        ws.insert_image("E2", "logo.png", {"image_data": io.BytesIO(tiny_png())})
    if far_ref:
        ws.write_string(far_ref, "far away")
    ws.protect("pw", {"select_locked_cells": True, "select_unlocked_cells": True})

    guide = wb.add_worksheet("Guidance")
    guide.write_string("A1", "Scores", bold)
    for i, s in enumerate(["0 Not in place", "1 Developing", "2 Good"]):
        guide.write_string(1 + i, 0, s)

    meta = wb.add_worksheet("_meta")
    meta.write_string("A1", "template_version")
    meta.write_string("B1", "1")
    meta.very_hidden()

    if vba is not None:
        wb.add_vba_project(io.BytesIO(vba), is_stream=True)
    wb.close()
    return buf.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    """name -> bytes of every member, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(data: bytes, replace: dict[str, bytes | None] | None = None,
          add: dict[str, bytes] | None = None, stored_first: str | None = None) -> bytes:
    """Copy a zip, replacing members (None removes one; a name not there is added) and
    adding the `add` members at the end (even if that duplicates a name)."""
    replace = replace or {}
    add = dict(add or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = set(src.namelist())
        for name, body in replace.items():
            if name not in names and body is not None:
                add.setdefault(name, body)
        for info in src.infolist():
            if info.filename in replace:
                body = replace[info.filename]
                if body is None:
                    continue
            else:
                body = src.read(info)
            dst.writestr(info.filename, body)
        for name, body in add.items():
            dst.writestr(name, body)
    return out.getvalue()


def _patch(data: bytes, name: str, fn) -> bytes:
    return rezip(data, replace={name: fn(members(data)[name])})


def _add_rel(rels: bytes | None, rel: str) -> bytes:
    if rels is None:
        rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Relationships xmlns="{PKG_REL_NS}"></Relationships>').encode()
    return rels.replace(b"</Relationships>", rel.encode() + b"</Relationships>")


def _add_content_type(ct: bytes, entry: str) -> bytes:
    return ct.replace(b"</Types>", entry.encode() + b"</Types>")


def _before_end(xml: bytes, tag: bytes, insert: bytes) -> bytes:
    """Insert before </tag> (the sheet's or workbook's closing tag)."""
    end = b"</" + tag + b">"
    i = xml.rindex(end)
    return xml[:i] + insert + xml[i:]


# --------------------------------------------------------------------------------------
# Zip-level attacks
# --------------------------------------------------------------------------------------


def zip_bomb(size: int = 30 * 1024 * 1024, member: str = "xl/worksheets/sheet2.xml", count: int = 1) -> bytes:
    """A valid workbook whose member(s) inflate to `size` bytes each (spaces after an XML
    start tag: 30 MB compress to about 30 KB). count > 1 adds members bomb2.xml, ... so that
    each stays under a per-member cap while the total does not."""
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet>' + b" " * size + b"</worksheet>"
    base = valid_xlsx(image=False, comment=False, extra_rows=5)
    data = rezip(base, replace={member: body})
    if count > 1:
        data = rezip(data, add={f"xl/bomb{i}.xml": body for i in range(2, count + 1)})
    return data


def _central_entries(data: bytes):
    """(offset of central header, name) for every central directory entry."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        pos = zf.start_dir
        n = len(zf.infolist())
    out = []
    for _ in range(n):
        assert data[pos:pos + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[pos + 28:pos + 34])
        out.append((pos, data[pos + 46:pos + 46 + name_len].decode("utf-8")))
        pos += 46 + name_len + extra_len + comment_len
    return out


def lying_header(real_size: int = 30 * 1024 * 1024, claimed: int = 4096, fix_crc: bool = True,
                 member: str = "xl/worksheets/sheet2.xml") -> bytes:
    """A zip whose local and central headers understate one member's uncompressed size.

    With fix_crc the CRC is rewritten to the CRC of the first `claimed` bytes, so a plain
    ``zipfile.read()`` silently returns `claimed` bytes while a reader that ignores the
    header (as some do) inflates all `real_size` bytes.
    """
    data = bytearray(zip_bomb(real_size, member=member))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(member)
        head = zf.read(member)[:claimed]
    crc = zlib.crc32(head) if fix_crc else info.CRC
    lh = info.header_offset
    struct.pack_into("<I", data, lh + 14, crc)
    struct.pack_into("<I", data, lh + 22, claimed)
    for pos, name in _central_entries(bytes(data)):
        if name == member:
            struct.pack_into("<I", data, pos + 16, crc)
            struct.pack_into("<I", data, pos + 24, claimed)
    return bytes(data)


def truncated(valid_bytes: bytes | None = None, keep: float = 0.6) -> bytes:
    """The first `keep` share of a valid file (the central directory is lost)."""
    data = valid_bytes if valid_bytes is not None else valid_xlsx()
    return data[: max(4, int(len(data) * keep))]


def empty() -> bytes:
    return b""


# --------------------------------------------------------------------------------------
# XML-level attacks
# --------------------------------------------------------------------------------------

_LAUGHS = (
    '<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)


def _with_doctype(doctype: str, entity: str, encoding: str = "utf-8") -> bytes:
    base = valid_xlsx()
    sst = members(base)["xl/sharedStrings.xml"].decode("utf-8")
    sst = re.sub(r"^<\?xml[^>]*\?>\s*", "", sst)
    sst = sst.replace("<t>Contract review</t>", f"<t>{entity}</t>", 1)
    if encoding == "utf-8":
        body = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + doctype + sst).encode("utf-8")
    elif encoding == "utf-16":  # with a BOM, as Python writes it
        body = ('<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n' + doctype + sst).encode("utf-16")
    elif encoding == "utf-16-le":  # no BOM
        body = ('<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n' + doctype + sst).encode("utf-16-le")
    else:
        raise ValueError(encoding)
    return rezip(base, replace={"xl/sharedStrings.xml": body})


def billion_laughs(encoding: str = "utf-8") -> bytes:
    """The shared strings part carries the classic exponential entity expansion.
    encoding: 'utf-8', 'utf-16' (with BOM) or 'utf-16-le' (no BOM)."""
    return _with_doctype(_LAUGHS, "&lol9;", encoding)


def xxe(target: str = "file:///etc/passwd", encoding: str = "utf-8") -> bytes:
    """An external entity that would pull a local file into a shared string."""
    return _with_doctype(f'<!DOCTYPE sst [\n <!ENTITY xxe SYSTEM "{target}">\n]>\n', "&xxe;", encoding)


@functools.lru_cache(maxsize=8)  # xlsxwriter walks every row up to the far one (~1.5 s)
def far_cell(ref: str = "XFD1048576") -> bytes:
    """A valid xlsx (xlsxwriter) with one value written at `ref` on 'Assessment'.
    ref must be a cell Excel allows (up to XFD1048576)."""
    return valid_xlsx(far_ref=ref)


def far_dimension(ref: str = "A1:XFD1048576") -> bytes:
    """Cells all inside the template, but the sheet's <dimension> claims `ref`."""
    return _patch(valid_xlsx(), SHEET1,
                  lambda x: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref.encode() + b'"', x, count=1))


# --------------------------------------------------------------------------------------
# Containers that are not an .xlsx
# --------------------------------------------------------------------------------------


def fake_ole(stream_names: list[str]) -> bytes:
    """A minimal OLE2 compound file: the header magic, a header sector and one directory
    sector naming the given streams (UTF-16LE, 128-byte entries). Readers that parse OLE
    properly will reject it; it is enough for a byte-level check."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x003E, 0x0003, 0xFFFE, 0x0009, 0x0006)
    struct.pack_into("<I", header, 44, 1)  # one FAT sector
    struct.pack_into("<I", header, 48, 1)  # first directory sector
    struct.pack_into("<I", header, 56, 4096)
    struct.pack_into("<I", header, 60, 0xFFFFFFFE)
    struct.pack_into("<I", header, 68, 0xFFFFFFFE)
    struct.pack_into("<I", header, 76, 0)  # DIFAT[0]: FAT is sector 0
    for i in range(1, 109):
        struct.pack_into("<I", header, 76 + 4 * i, 0xFFFFFFFF)
    fat = bytearray(b"\xff" * 512)
    struct.pack_into("<II", fat, 0, 0xFFFFFFFD, 0xFFFFFFFE)
    directory = bytearray()
    for i, name in enumerate(["Root Entry", *stream_names]):
        entry = bytearray(128)
        raw = (name + "\x00").encode("utf-16-le")[:64]
        entry[0:len(raw)] = raw
        struct.pack_into("<H", entry, 64, len(raw))
        entry[66] = 5 if i == 0 else 2  # root storage / stream
        struct.pack_into("<III", entry, 68, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        directory += entry
    directory += b"\x00" * (-len(directory) % 512)
    return bytes(header + fat + directory)


def encrypted() -> bytes:
    """What Excel writes for a workbook with a password to open: an OLE container holding
    EncryptionInfo and EncryptedPackage streams (here without real encrypted content)."""
    return fake_ole(["\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"])


def legacy_xls() -> bytes:
    """An Excel 97-2003 workbook container: OLE with a Workbook stream."""
    return fake_ole(["Workbook", "\x05SummaryInformation", "\x05DocumentSummaryInformation"])


def ods() -> bytes:
    """A minimal OpenDocument spreadsheet (mimetype stored first, as the format requires)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"application/vnd.oasis.opendocument.spreadsheet",
                    compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
            '<office:body><office:spreadsheet><table:table table:name="Assessment"><table:table-row>'
            '<table:table-cell><text:p>Contract review</text:p></table:table-cell>'
            '</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>'))
        zf.writestr("META-INF/manifest.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            '</manifest:manifest>'))
    return out.getvalue()


def csv_bytes() -> bytes:
    """What 'Save As CSV' of our assessment sheet would look like."""
    return ("\ufeffContract review,,\r\nContract ID,C-0001,\r\n"
            "Q1. Is the contract managed well in area 1?,2 Good,2\r\n").encode("utf-8")


def pdf_bytes() -> bytes:
    """A minimal one-page PDF."""
    return (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
            b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>> endobj\n"
            b"trailer <</Root 1 0 R>>\n%%EOF\n")


# --------------------------------------------------------------------------------------
# Active and linked content
# --------------------------------------------------------------------------------------


def macro_enabled(renamed: bool = True) -> bytes:
    """A workbook with macros.

    renamed=True: an .xlsm renamed to .xlsx (renaming changes no byte: the main content
    type still says macroEnabled and xl/vbaProject.bin is there).
    renamed=False: the content types were also edited back to the plain workbook types,
    so only the xl/vbaProject.bin part (and its relationship) gives it away.
    """
    vba = fake_ole(["VBA", "PROJECT", "PROJECTwm"])
    data = valid_xlsx(vba=vba)
    if not renamed:
        def plain(ct: bytes) -> bytes:
            ct = ct.replace(b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
            return ct.replace(b"application/vnd.ms-office.vbaProject", b"application/octet-stream")
        data = _patch(data, "[Content_Types].xml", plain)
    return data


def external_link(target: str = "file:///\\\\fileserver\\share\\budget.xlsx") -> bytes:
    """A workbook linked to another workbook (a UNC target: opening or refreshing it in
    Excel can send the user's Windows credentials to that server)."""
    base = valid_xlsx()
    m = members(base)
    link = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'xmlns:r="{REL_NS}"><externalBook r:id="rId1"><sheetNames><sheetName val="Budget"/>'
            f'</sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>42</v></cell>'
            f'</row></sheetData></sheetDataSet></externalBook></externalLink>').encode()
    link_rels = _add_rel(None, f'<Relationship Id="rId1" Type="{REL_NS}/externalLinkPath" '
                               f'Target="{target}" TargetMode="External"/>')
    wb = _before_end(m["xl/workbook.xml"], b"workbook",
                     b'<externalReferences><externalReference r:id="rId99"/></externalReferences>')
    wb_rels = _add_rel(m["xl/_rels/workbook.xml.rels"],
                       f'<Relationship Id="rId99" Type="{REL_NS}/externalLink" '
                       f'Target="externalLinks/externalLink1.xml"/>')
    ct = _add_content_type(m["[Content_Types].xml"],
                           '<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType='
                           '"application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/>')
    return rezip(base, replace={"xl/workbook.xml": wb, "xl/_rels/workbook.xml.rels": wb_rels,
                                "[Content_Types].xml": ct},
                 add={"xl/externalLinks/externalLink1.xml": link,
                      "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels})


def embedded_object() -> bytes:
    """An OLE object (a 'Package' holding another file) embedded in the first sheet."""
    base = valid_xlsx(comment=False, image=False)
    m = members(base)
    sheet = _before_end(m[SHEET1], b"worksheet",
                        b'<oleObjects><oleObject progId="Package" shapeId="1025" r:id="rId90"/></oleObjects>')
    rels = _add_rel(m.get(SHEET1_RELS), f'<Relationship Id="rId90" Type="{REL_NS}/oleObject" '
                                        f'Target="../embeddings/oleObject1.bin"/>')
    ct = _add_content_type(m["[Content_Types].xml"],
                           '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/>')
    return rezip(base, replace={SHEET1: sheet, "[Content_Types].xml": ct, SHEET1_RELS: rels,
                                "xl/embeddings/oleObject1.bin": fake_ole(["\x01Ole10Native"])})


def activex() -> bytes:
    """An ActiveX check box on the first sheet."""
    base = valid_xlsx(comment=False, image=False)
    m = members(base)
    sheet = _before_end(m[SHEET1], b"worksheet",
                        b'<controls><control shapeId="1025" r:id="rId91" name="CheckBox1"/></controls>')
    rels = _add_rel(m.get(SHEET1_RELS), f'<Relationship Id="rId91" '
                                        f'Type="{REL_NS}/control" Target="../activeX/activeX1.xml"/>')
    ax = (f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
          f'<ax:ocx ax:classid="{{8BD21D40-EC42-11CE-9E0D-00AA006002F3}}" ax:persistence="persistStreamInit" '
          f'r:id="rId1" xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="{REL_NS}"/>').encode()
    ax_rels = _add_rel(None, '<Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/'
                             'activeXControlBinary" Target="activeX1.bin"/>')
    ct = _add_content_type(m["[Content_Types].xml"],
                           '<Override PartName="/xl/activeX/activeX1.xml" ContentType="application/vnd.ms-office.activeX+xml"/>'
                           '<Override PartName="/xl/activeX/activeX1.bin" ContentType="application/vnd.ms-office.activeX"/>')
    return rezip(base, replace={SHEET1: sheet, "[Content_Types].xml": ct, SHEET1_RELS: rels,
                                "xl/activeX/activeX1.xml": ax,
                      "xl/activeX/_rels/activeX1.xml.rels": ax_rels,
                      "xl/activeX/activeX1.bin": b"\x00" * 64})
