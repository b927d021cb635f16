"""Byte-level preflight: decide whether a returned workbook is safe to hand to a parser.

Contract owners send back the workbooks we issued, but the bytes are untrusted. Readers
misbehave on hostile files in ways that ``try/except`` cannot contain (python-calamine
aborts the whole process on a cell at XFD1048576, every reader inflates a zip bomb into
memory), so :func:`preflight` looks at the raw bytes first, using only ``zipfile`` and
compiled regular expressions over the decompressed parts (no XML parser), and reports
every problem it finds in plain English for the contract owner.

It owns the stages and what they say: the container (size, emptiness, what kind of file
the bytes are), the zip package (its limits, names, content types and relationships) and
the parts' contents (DOCTYPEs, encodings, links, objects, macros). Where each worksheet's
cells and formulas are is read by :mod:`.sheetscan`; the messages are in the catalogue,
:mod:`.codes`.

:func:`preflight` never raises. A result whose :attr:`PreflightResult.ok` is False must
not be parsed. A result that is ok still only says "safe enough to parse in a worker
process with a memory limit": parsers must keep their own defences.
"""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from ..kit.zipfile_internals import read_member_capped as _inflate
from . import codes as C
from .sheetscan import ATTR as _ATTR, ATTRS as _ATTRS, PFX as _PFX, Scan, column_letters, column_number
from .sheetscan import formula_cells, scan_cells, unescape as _unescape

__all__ = ["Limits", "PreflightFinding", "PreflightResult", "preflight", "column_letters", "column_number"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 10 * 1024 * 1024  # whole file
    max_members: int = 300  # zip entries
    max_member_bytes: int = 25 * 1024 * 1024  # one entry, uncompressed, enforced while streaming (headers can lie)
    max_total_bytes: int = 100 * 1024 * 1024  # all entries uncompressed
    max_ratio: float = 100.0  # per entry, only checked for entries over 1 MiB uncompressed
    max_row: int = 5000  # template bounds: any cell/row/dimension reference beyond these is refused
    max_col: int = 100  # column number (A=1)


@dataclass(frozen=True)
class PreflightFinding:
    """One thing the preflight found in a file's bytes (named apart from the summary's findings,
    which are statements about the programme)."""

    code: str  # stable machine code, e.g. "encrypted", "zip-bomb", "cell-out-of-bounds"
    message: str  # plain English for a contract owner: what is wrong and what to do
    fatal: bool  # True: reject the file, never parse it. False: a warning kept with the file
    part: str | None = None  # zip member concerned, e.g. "xl/worksheets/sheet3.xml"
    detail: str | None = None  # e.g. the far-away cell "XFD1048576" and its sheet part


@dataclass(frozen=True)
class PreflightResult:
    findings: tuple[PreflightFinding, ...]
    sheet_parts: dict[str, str]  # sheet name -> zip part path (from workbook.xml + its rels)
    # sheet name (or part path when it has none) -> ((cell, formula text), ...) of every cell
    # holding a formula: readers see only a formula's cached value, which Excel would recompute
    formulas: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no finding is fatal: the file may be handed to a parser."""
        return not any(f.fatal for f in self.findings)

    @property
    def problems(self) -> list[PreflightFinding]:
        """The fatal findings, in the order they were found."""
        return [f for f in self.findings if f.fatal]


# --------------------------------------------------------------------------------------
# Messages. Every fatal message says what is wrong and what the contract owner can do.
# --------------------------------------------------------------------------------------

_FRESH_COPY = C.FRESH_COPY
_MESSAGES = C.TEMPLATES  # every preflight message, by code: the catalogue (codes.py) holds them


def _human_size(n: int) -> str:
    if n >= _MIB:
        return f"{n / _MIB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


# --------------------------------------------------------------------------------------
# Compiled patterns (all over bytes)
# --------------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"


def _u16(s: str) -> bytes:
    return s.encode("utf-16-le")


_OLE_ENCRYPTED_NAMES = (_u16("EncryptionInfo"), _u16("EncryptedPackage"))
_OLE_XLS_NAMES = (_u16("Workbook"), _u16("WORKBOOK"), _u16("Book\x00"))

_DOCTYPE = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']")
_OK_ENCODINGS = {
    b"utf-8", b"utf8", b"utf-16", b"utf-16le", b"utf-16be", b"utf16",
    b"us-ascii", b"ascii", b"iso-8859-1", b"latin1", b"latin-1", b"windows-1252", b"cp1252",
}

# Start tags matched at the start of a piece of data.split(b"<") ('<' never occurs inside
# a tag, so each piece starts with one tag; pieces in comments only add false alarms).
_PIECE_SHEET = re.compile(_PFX + rb"sheet" + _ATTRS + rb"\s*/?>")
_PIECE_REL = re.compile(_PFX + rb"Relationship" + _ATTRS + rb"\s*/?>")
_PIECE_OVERRIDE = re.compile(_PFX + rb"Override" + _ATTRS + rb"\s*/?>")
_PIECE_EXTERNAL_REFS = re.compile(_PFX + rb"externalReferences[\s/>]")


def _start_tags(data: bytes, piece_pattern: re.Pattern[bytes]) -> list[bytes]:
    """The attribute text of every start tag the pattern matches."""
    out = []
    for piece in data.split(b"<"):
        m = piece_pattern.match(piece)
        if m is not None:
            out.append(m.group(1) if m.lastindex else b"")
    return out

# Parts that are normally binary; any other part that is not XML is ignored unless it is a
# worksheet or is named .xml/.rels (then it must be XML).
_BINARY_EXTS = {
    "bin", "png", "jpg", "jpeg", "jpe", "jfif", "gif", "bmp", "dib", "tif", "tiff", "emf",
    "wmf", "emz", "wmz", "ico", "wdp", "jxr", "hdp", "odttf", "ttf", "fntdata", "dat",
    "xlsx", "xlsm", "xlsb", "docx", "docm", "pptx", "pptm", "doc", "xls", "ppt", "mp3",
    "mp4", "wav", "m4a", "avi", "wmv", "pdf", "sigs", "psdsor",
}
_XML_EXTS = (".xml", ".rels", ".vml")

_XLSM_TYPE = "macro-enabled content type"
_HYPERLINK_TYPE = b"/hyperlink"
_EXTERNAL_TYPES = (b"/externallink", b"/externallinkpath", b"/externallinklong", b"/xlexternallinkpath")
_EMBED_TYPES = (b"/oleobject", b"/package")
_ACTIVEX_TYPES = (b"/control", b"/activexcontrolbinary")
_MACRO_TYPES = (b"/vbaproject", b"/xlmacrosheet", b"/xlintlmacrosheet")
# Relationship parts are parsed only when they mention one of these (lower-cased).
_RELS_WORDS = (b"external", b"sheet", b"oleobject", b"/package\"", b"/package'", b"control", b"vbaproject", b"macro")
_SHEET_TYPES = (b"/worksheet", b"/xlmacrosheet", b"/xlintlmacrosheet", b"/dialogsheet", b"/chartsheet")


# --------------------------------------------------------------------------------------
# Collector
# --------------------------------------------------------------------------------------

class _Collector:
    """Findings in the order found. Macros, external links, embedded objects, ActiveX and
    DOCTYPEs are each merged into one finding (every piece of evidence in `detail`), so
    that the owner reads one message per problem, however many parts show it."""

    def __init__(self) -> None:
        self.items: list[PreflightFinding | str] = []
        self.merged: dict[str, list[tuple[str | None, str, str | None]]] = {}
        # <row>/<c> tags the slow sheet scan may still follow, for the whole workbook
        self.slow_budget = [600_000]
        self.formulas: dict[str, tuple[tuple[str, str], ...]] = {}

    def add(self, code: str, message: str, part: str | None = None, detail: str | None = None,
            fatal: bool = True) -> None:
        self.items.append(PreflightFinding(code, message, fatal, part, detail))

    def evidence(self, code: str, part: str | None, what: str, note: str | None = None) -> None:
        # External links, embedded objects and ActiveX controls are fatal by default: a
        # returned review workbook never needs them, readers only ever see cached values of
        # links, and re-opening or re-saving such a file elsewhere can reach out to a UNC
        # path (leaking Windows credentials) or run an embedded object. Macros likewise.
        if code not in self.merged:
            self.merged[code] = []
            self.items.append(code)
        entry = (part, what, note)
        if entry not in self.merged[code]:
            self.merged[code].append(entry)

    def result(self, sheet_parts: dict[str, str]) -> PreflightResult:
        out: list[PreflightFinding] = []
        for item in self.items:
            if isinstance(item, PreflightFinding):
                out.append(item)
                continue
            ev = self.merged[item]
            whats = []
            for _, what, _ in ev:
                if what not in whats:
                    whats.append(what)
            detail = "; ".join(
                (f"{what} ({part})" if part and part not in what else what) + (f": {note}" if note else "")
                for part, what, note in ev[:8]
            )
            if len(ev) > 8:
                detail += f"; and {len(ev) - 8} more"
            if item == "external-link":
                message = _MESSAGES[item].format(what=", ".join(whats[:3]))
            elif item == "macro-enabled" and whats == [_XLSM_TYPE]:
                message = _MESSAGES[C.SAVED_AS_XLSM]  # no code anywhere: only the file type says "macros"
            else:
                message = _MESSAGES[item]
            out.append(PreflightFinding(item, message, True, ev[0][0], detail))
        return PreflightResult(tuple(out), sheet_parts, self.formulas)


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def preflight(data: bytes, limits: Limits = Limits()) -> PreflightResult:
    """Check a returned file's bytes before any parser sees them. Never raises."""
    col = _Collector()
    sheet_parts: dict[str, str] = {}
    try:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=""),
                    detail=f"expected bytes, got {type(data).__name__}")
            return col.result(sheet_parts)
        data = bytes(data)
        if _container(data, limits, col):
            sheet_parts = _package(data, limits, col)
    except Exception as exc:  # never raise: anything unexpected means "do not parse"
        col.add(C.TRUNCATED, _MESSAGES[C.TRUNCATED],
                detail=f"the file could not be checked ({type(exc).__name__}: {exc})"[:300])
        return col.result(sheet_parts)
    return col.result(sheet_parts)


# --------------------------------------------------------------------------------------
# Stage 1: size, empty, magic. Returns True when the data is a zip worth opening.
# --------------------------------------------------------------------------------------


def _container(data: bytes, limits: Limits, col: _Collector) -> bool:
    size = len(data)
    if size > limits.max_file_bytes:
        col.add(C.TOO_LARGE,
                _MESSAGES[C.TOO_LARGE].format(size=_human_size(size), limit=_human_size(limits.max_file_bytes)),
                detail=f"{size} bytes > {limits.max_file_bytes}")
        return False
    if size == 0 or (data[:1] in b"\x00 \t\r\n" and not data.strip(b"\x00 \t\r\n")):
        col.add(C.EMPTY, _MESSAGES[C.EMPTY], detail=f"{size} bytes, no content")
        return False

    head = data[:8]
    if head == _OLE_MAGIC:
        _ole(data, col)
        return False
    if head.startswith(_ZIP_MAGIC):
        # An ODS file stores its "mimetype" member first and uncompressed.
        if data[30:38] == b"mimetype" and b"opendocument.spreadsheet" in data[38:100]:
            col.add(C.ODS, _MESSAGES[C.ODS], part="mimetype")
            return False
        return True
    if head.startswith(_EMPTY_ZIP):
        col.add(C.NOT_XLSX_PACKAGE, _MESSAGES[C.NOT_XLSX_PACKAGE].format(what=" (it is an empty zip archive)"))
        return False
    if b"%PDF-" in data[:1024]:
        col.add(C.PDF, _MESSAGES[C.PDF])
        return False
    _sniff_other(data, col)
    return False


def _ole(data: bytes, col: _Collector) -> None:
    """OLE2 compound file: password-protected OOXML, legacy .xls, or another Office file."""
    if any(name in data for name in _OLE_ENCRYPTED_NAMES):
        col.add(C.ENCRYPTED, _MESSAGES[C.ENCRYPTED],
                detail="OLE container holding EncryptionInfo/EncryptedPackage streams")
    elif any(name in data for name in _OLE_XLS_NAMES):
        col.add(C.LEGACY_XLS, _MESSAGES[C.LEGACY_XLS], detail="OLE container holding a Workbook stream")
    elif _u16("WordDocument") in data:
        col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=" (it is an old-format Word document, .doc)"))
    elif _u16("PowerPoint Document") in data:
        col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=" (it is an old-format PowerPoint file, .ppt)"))
    else:
        col.add(C.NOT_A_WORKBOOK,
                _MESSAGES[C.NOT_A_WORKBOOK].format(what=" (it is an old-format Office file we cannot read)"),
                detail="OLE container without a workbook stream")


_OTHER_MAGICS = (
    (b"\x89PNG", " (it is a picture, PNG)"),
    (b"\xff\xd8\xff", " (it is a picture, JPEG)"),
    (b"GIF8", " (it is a picture, GIF)"),
    (b"{\\rtf", " (it is a Rich Text document)"),
    (b"7z\xbc\xaf", " (it is a 7-Zip archive)"),
    (b"Rar!", " (it is a RAR archive)"),
    (b"\x1f\x8b", " (it is a compressed gzip file)"),
)


def _sniff_other(data: bytes, col: _Collector) -> None:
    for magic, what in _OTHER_MAGICS:
        if data.startswith(magic):
            col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=what))
            return
    text = _as_text(data[:16384])
    if text is None:
        col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=""),
                detail="unrecognised binary data")
        return
    stripped = text.lstrip("\ufeff \t\r\n")
    low = stripped[:4096].lower()
    if stripped.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in low or "progid=\"excel.sheet\"" in low:
            what = " (it was saved as an 'XML Spreadsheet 2003' file)"
        elif "<html" in low or "<!doctype html" in low:
            what = " (it is a web page, for example a workbook saved as HTML)"
        else:
            what = " (it is an XML or web file)"
        col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=what))
        return
    lines = [ln for ln in stripped.splitlines()[:20] if ln.strip()]
    if lines and any(_delimited(lines, d) for d in (",", ";", "\t", "|")):
        col.add(C.CSV, _MESSAGES[C.CSV])
        return
    col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=" (it is a plain text file)"))


def _delimited(lines: list[str], delimiter: str) -> bool:
    """Do these lines look like rows split by this delimiter (not a sentence with a comma)?"""
    with_it = [ln for ln in lines if delimiter in ln]
    if len(lines) == 1:
        return lines[0].count(delimiter) >= 2
    return len(with_it) >= 2 and len(with_it) * 2 >= len(lines)


def _as_text(sample: bytes) -> str | None:
    """Decode a sample as text if it looks like text; None for binary data."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    elif b"\x00" in sample:
        return None
    else:
        enc = "utf-8"
    try:
        text = codecs.getincrementaldecoder(enc)().decode(sample, final=False)
    except UnicodeDecodeError:
        text = sample.decode("cp1252", "replace")
    if not text:
        return None
    bad = sum(1 for ch in text[:4096] if (ord(ch) < 32 and ch not in "\t\r\n\f") or ch == "\ufffd")
    return None if bad > max(2, len(text[:4096]) // 100) else text


# --------------------------------------------------------------------------------------
# Stage 2: the zip package
# --------------------------------------------------------------------------------------


def _package(data: bytes, limits: Limits, col: _Collector) -> dict[str, str]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:  # BadZipFile, but also struct/Unicode/Value errors on garbage
        col.add(C.TRUNCATED, _MESSAGES[C.TRUNCATED], detail=f"{type(exc).__name__}: {exc}"[:300])
        return {}

    by_name: dict[str, list[zipfile.ZipInfo]] = {}
    for info in infos:
        by_name.setdefault(info.filename.lower(), []).append(info)

    # Not an Excel package at all: say what it is and stop.
    if "mimetype" in by_name:
        mt = _read_small(zf, data, by_name["mimetype"][0], 200)
        if mt is not None and b"opendocument" in mt:
            if b"opendocument.spreadsheet" in mt:
                col.add(C.ODS, _MESSAGES[C.ODS], part="mimetype")
            else:
                col.add(C.NOT_A_WORKBOOK, _MESSAGES[C.NOT_A_WORKBOOK].format(what=" (it is an OpenDocument file)"),
                        part="mimetype", detail=mt[:100].decode("ascii", "replace"))
            return {}
    if "[content_types].xml" not in by_name or "xl/workbook.xml" not in by_name:
        if "xl/workbook.bin" in by_name:
            what = (" (it was saved as an Excel Binary Workbook, .xlsb: open it in Excel, use File > "
                    "Save As and choose 'Excel Workbook (*.xlsx)')")
        elif "word/document.xml" in by_name:
            what = " (it is a Word document)"
        elif "ppt/presentation.xml" in by_name:
            what = " (it is a PowerPoint presentation)"
        elif "index/document.iwa" in by_name:
            what = " (it is an Apple Numbers file: use File > Export To > Excel)"
        else:
            what = " (it is a zip archive without an Excel workbook inside)"
        missing = [n for n in ("[Content_Types].xml", "xl/workbook.xml") if n.lower() not in by_name]
        col.add(C.NOT_XLSX_PACKAGE, _MESSAGES[C.NOT_XLSX_PACKAGE].format(what=what),
                detail="missing " + ", ".join(missing))
        return {}

    # Listing-level checks (names and flags only, nothing decompressed yet).
    too_many = len(infos) > limits.max_members
    if too_many:
        col.add(C.TOO_MANY_PARTS, _MESSAGES[C.TOO_MANY_PARTS].format(n=len(infos), limit=limits.max_members),
                detail=f"{len(infos)} zip entries > {limits.max_members}")
    odd: list[str] = []
    dupes = sorted(n for n, lst in by_name.items() if len(lst) > 1)
    if dupes:
        odd.append("the same part is stored more than once: " + ", ".join(dupes[:3]))
    skip: set[int] = set()
    offsets: dict[int, str] = {}
    for i, info in enumerate(infos):
        if info.flag_bits & 0x1:
            col.add(C.ENCRYPTED,
                    "Part of the workbook is encrypted inside the zip archive, which Excel never does. "
                    + _FRESH_COPY, part=info.filename, detail="zip entry encryption flag set")
            skip.add(i)
        elif info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            odd.append(f"{info.filename} uses compression method {info.compress_type}")
            skip.add(i)
        elif info.flag_bits & 0x60:
            odd.append(f"{info.filename} uses an unsupported zip feature")
            skip.add(i)
        if info.header_offset in offsets and not info.is_dir():
            col.add(C.ZIP_BOMB, _MESSAGES[C.ZIP_BOMB].format(what="zip entries overlap"), part=info.filename,
                    detail=f"{info.filename} and {offsets[info.header_offset]} share data at offset {info.header_offset}")
            skip.add(i)
        offsets.setdefault(info.header_offset, info.filename)
    if odd:
        col.add(C.NOT_XLSX_PACKAGE, _MESSAGES[C.ODD_STRUCTURE].format(what="; ".join(odd)[:300]),
                detail="; ".join(odd)[:1000])
    for name in by_name:
        _check_name(name, by_name[name][0].filename, col)
    if too_many:
        return {}

    # Stream every member with caps; the header's file_size is not trusted.
    parts: list[tuple[str, str, bytes]] = []  # (lower name, name, data)
    total = 0
    for i, info in enumerate(infos):
        if i in skip or info.is_dir():
            continue
        budget = min(limits.max_member_bytes, limits.max_total_bytes - total)
        ratio_cap = max(_MIB, int(limits.max_ratio * max(info.compress_size, 1)))
        cap = min(budget, ratio_cap)
        try:
            chunk = _inflate(zf, data, info, cap)
        except Exception as exc:  # CRC mismatch, bad deflate data, header mismatch, EOF
            col.add(C.TRUNCATED, _MESSAGES[C.TRUNCATED], part=info.filename,
                    detail=f"{type(exc).__name__}: {exc}"[:300])
            break
        n = len(chunk)
        if n > cap:
            if n > limits.max_member_bytes:
                what = f"{info.filename} is over {_human_size(limits.max_member_bytes)} uncompressed"
            elif n > budget:
                what = f"the parts add up to over {_human_size(limits.max_total_bytes)} uncompressed"
            else:
                what = (f"{info.filename} expands more than {limits.max_ratio:g} times "
                        f"({_human_size(info.compress_size)} compressed)")
            col.add(C.ZIP_BOMB, _MESSAGES[C.ZIP_BOMB].format(what=what), part=info.filename,
                    detail=f"{what}; header claimed {info.file_size} bytes")
            break
        if n != info.file_size:
            col.add(C.TRUNCATED, _MESSAGES[C.TRUNCATED], part=info.filename,
                    detail=f"header says {info.file_size} bytes, entry holds {n}")
            break
        total += n
        parts.append((info.filename.lower(), info.filename, chunk))

    return _contents(parts, by_name, limits, col)


def _read_small(zf: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo, cap: int) -> bytes | None:
    try:
        if info.flag_bits & 0x61 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        return _inflate(zf, data, info, cap)[:cap]
    except Exception:
        return None


def _check_name(low: str, name: str, col: _Collector) -> None:
    """Findings from a part's name alone (relationship parts are read later)."""
    if "_rels/" in low:
        return
    if "vbaproject" in low or low.startswith(("xl/macrosheets/", "xl/intlmacrosheets/")):
        col.evidence(C.MACRO_ENABLED, name, "macro code part " + name)
    if low.startswith("xl/externallinks/") and not low.endswith("/"):
        col.evidence(C.EXTERNAL_LINK, name, "link to another workbook")
    elif low in ("xl/connections.xml",) or low.startswith("xl/querytables/"):
        col.evidence(C.EXTERNAL_LINK, name, "external data connection")
    if low.startswith("xl/embeddings/") and not low.endswith("/"):
        col.evidence(C.EMBEDDED_OBJECT, name, "embedded file " + name)
    if low.startswith("xl/activex/") and not low.endswith("/"):
        col.evidence(C.ACTIVEX, name, "ActiveX control " + name)


# --------------------------------------------------------------------------------------
# Stage 3: contents
# --------------------------------------------------------------------------------------


def _normalise_xml(data: bytes) -> bytes:
    """Make UTF-16/32 XML ASCII-compatible so byte patterns see its markup."""
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    elif data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        data = data.decode("utf-32", "replace").encode("utf-8", "replace")
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data.decode("utf-16", "replace").encode("utf-8", "replace")
    if b"\x00" in data:  # BOM-less UTF-16/32: ASCII markup survives dropping the NULs
        data = data.replace(b"\x00", b"")
    return data


_FIRST_CHAR = re.compile(rb"\s*(.)", re.DOTALL)


def _looks_xml(data: bytes) -> bool:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<") or data[:3] == b"\xef\xbb\xbf":
        return True
    m = _FIRST_CHAR.match(data)
    return m is not None and m.group(1) == b"<"


def _attrs(attr_bytes: bytes) -> dict[bytes, bytes]:
    """Attributes of a start tag (first of any duplicates), entity references resolved."""
    out: dict[bytes, bytes] = {}
    for key, dq, sq in _ATTR.findall(attr_bytes):
        if key not in out:
            val = dq or sq
            out[key] = _unescape(val) if b"&" in val else val
    return out


_NEEDS_NORMALISING = re.compile(r"[\\#?]|^[/.]|/\.|//|/$")


def _resolve(source_dir: str, target: str) -> set[str]:
    """Lower-cased candidate part names for a relationship target (OPC rule and the
    looser rules some readers use: a leading 'xl/' taken as already rooted)."""
    if target and not _NEEDS_NORMALISING.search(target):  # e.g. "worksheets/sheet1.xml"
        joined = f"{source_dir}/{target}" if source_dir else target
        return {joined.lower(), target.lower()}
    target = target.replace("\\", "/").split("#", 1)[0].split("?", 1)[0]
    out = set()
    if target.startswith("/"):
        out.add(posixpath.normpath(target).lstrip("/"))
    else:
        out.add(posixpath.normpath(posixpath.join(source_dir, target)).lstrip("/"))
        out.add(posixpath.normpath(target).lstrip("/"))
    return {p.lower() for p in out if p and p != "."}


def _contents(parts: list[tuple[str, str, bytes]], by_name: dict[str, list[zipfile.ZipInfo]],
              limits: Limits, col: _Collector) -> dict[str, str]:
    xml: dict[str, bytes] = {}  # lower name -> normalised XML (first of any duplicates)
    xml_all: list[tuple[str, str, bytes]] = []
    for low, name, raw in parts:
        ext = low.rsplit(".", 1)[-1] if "." in low.rsplit("/", 1)[-1] else ""
        is_xml_name = low.endswith(_XML_EXTS)
        if is_xml_name or ext not in _BINARY_EXTS or _looks_xml(raw):
            data = _normalise_xml(raw)
            first = _FIRST_CHAR.match(data)
            if first is not None and first.group(1) != b"<":
                if is_xml_name or _looks_xml(raw):
                    col.add(C.NOT_XLSX_PACKAGE, _MESSAGES[C.ODD_STRUCTURE].format(
                        what=f"{name} is not readable XML"), part=name, detail="part does not start with '<'")
                    continue
                if b"!" in raw and _DOCTYPE.search(raw):
                    col.evidence(C.DOCTYPE, name, "DOCTYPE/ENTITY in " + name)
                continue  # an unknown non-XML part: not parsed by anyone we use
            m = _XML_DECL_ENCODING.match(data, 0, 512)
            if m and m.group(1).lower() not in _OK_ENCODINGS:
                enc = m.group(1)[:40].decode("ascii", "replace")
                col.add(C.NOT_XLSX_PACKAGE, _MESSAGES[C.ODD_STRUCTURE].format(
                    what=f"{name} uses the text encoding {enc}"), part=name, detail=f"encoding={enc}")
            if b"!" in data and _DOCTYPE.search(data):
                col.evidence(C.DOCTYPE, name, "DOCTYPE/ENTITY in " + name)
            xml.setdefault(low, data)
            xml_all.append((low, name, data))
        elif b"!" in raw and _DOCTYPE.search(raw):
            col.evidence(C.DOCTYPE, name, "DOCTYPE/ENTITY in " + name)

    # [Content_Types].xml: macro-enabled main types, vbaProject, part-specific overrides.
    ct = xml.get("[content_types].xml", b"")
    ct_low = ct.lower()
    sheet_candidates: set[str] = set()
    if b"macroenabled" in ct_low:
        col.evidence(C.MACRO_ENABLED, "[Content_Types].xml", _XLSM_TYPE)
    if b"vbaproject" in ct_low:
        col.evidence(C.MACRO_ENABLED, "[Content_Types].xml", "VBA project content type")
    # Overrides name specific parts; only read them when one may be of a kind we refuse.
    # (Worksheets are found through relationships and their folder: readers find them so.)
    if any(word in ct_low for word in (b"externallink", b"activex", b"oleobject")):
        for attrs in _start_tags(ct, _PIECE_OVERRIDE):
            a = _attrs(attrs)
            ctype = a.get(b"ContentType", b"").lower()
            pname = a.get(b"PartName", b"").decode("utf-8", "replace").lstrip("/")
            if pname.lower() in by_name:
                pname = by_name[pname.lower()][0].filename
            if b"externallink" in ctype:
                col.evidence(C.EXTERNAL_LINK, pname, "link to another workbook")
            elif b"activex" in ctype:
                col.evidence(C.ACTIVEX, pname, "ActiveX control " + pname)
            elif b"oleobject" in ctype:
                col.evidence(C.EMBEDDED_OBJECT, pname, "embedded file " + pname)

    # Every relationship part: sheet targets, and types we never accept.
    wb_rels: dict[bytes, tuple[str, str]] = {}  # Id -> (source folder, target)
    for low, name, data in xml_all:
        if not low.endswith(".rels"):
            continue
        is_wb_rels = low == "xl/_rels/workbook.xml.rels"
        if not is_wb_rels:
            # Most relationship parts (images, drawings, document properties) hold nothing
            # of interest: parse only those mentioning a kind we look for.
            data_low = data.lower()
            if not any(word in data_low for word in _RELS_WORDS):
                continue
        rels_dir = posixpath.dirname(low)
        source_dir = posixpath.dirname(rels_dir) if rels_dir.endswith("_rels") else rels_dir
        for attrs in _start_tags(data, _PIECE_REL):
            a = _attrs(attrs)
            rtype = a.get(b"Type", b"").lower()
            target = a.get(b"Target", b"").decode("utf-8", "replace")
            external = a.get(b"TargetMode", b"").lower() == b"external"
            if is_wb_rels and b"Id" in a and a[b"Id"] not in wb_rels:
                wb_rels[a[b"Id"]] = (source_dir, target)
            if rtype.endswith(_SHEET_TYPES) and not external:
                sheet_candidates |= _resolve(source_dir, target)
            short = target[:80]
            if rtype.endswith(_EXTERNAL_TYPES):
                col.evidence(C.EXTERNAL_LINK, name, "link to another workbook", short if external else None)
            elif external and not rtype.endswith(_HYPERLINK_TYPE):
                col.evidence(C.EXTERNAL_LINK, name, "link to an outside file or address", short)
            if rtype.endswith(_EMBED_TYPES):
                col.evidence(C.EMBEDDED_OBJECT, name, "embedded object")
            if rtype.endswith(_ACTIVEX_TYPES):
                col.evidence(C.ACTIVEX, name, "ActiveX control")
            if rtype.endswith(_MACRO_TYPES):
                col.evidence(C.MACRO_ENABLED, name, "macro code part")

    # Sheet names from the workbook, in workbook order.
    sheet_parts: dict[str, str] = {}
    wb = xml.get("xl/workbook.xml", b"")
    if b"externalReferences" in wb and _start_tags(wb, _PIECE_EXTERNAL_REFS):
        col.evidence(C.EXTERNAL_LINK, "xl/workbook.xml", "link to another workbook")
    for attrs in _start_tags(wb, _PIECE_SHEET):
        a = _attrs(attrs)
        sname = a.get(b"name")
        rid = None
        for key, val in a.items():
            if key == b"id" or key.endswith(b":id"):
                rid = val
                break
        if sname is None or rid is None or rid not in wb_rels:
            continue
        title = sname.decode("utf-8", "replace")
        if title not in sheet_parts:
            resolved = _resolve(*wb_rels[rid])
            sheet_candidates |= resolved
            # the candidate that exists (the shorter if both do), spelt as in the package
            found = sorted(resolved, key=lambda p: (p not in by_name, len(p)))[0] if resolved else ""
            sheet_parts[title] = by_name[found][0].filename if found in by_name else found
    part_to_sheet = {p.lower(): n for n, p in sheet_parts.items()}

    # Worksheets: every relationship target of a sheet type, and everything in the sheet
    # folders (readers resolve targets differently; an orphan part costs nothing to scan).
    for low in by_name:
        if low.startswith(("xl/worksheets/", "xl/macrosheets/", "xl/dialogsheets/")) and \
                low.endswith(".xml") and "/_rels/" not in low:
            sheet_candidates.add(low)
    for low, name, data in xml_all:
        if low in sheet_candidates:
            label = part_to_sheet.get(low)
            _scan_sheet(data, name, label, limits, col)
    scanned = {low for low, _, _ in xml_all}
    for low in sheet_candidates:
        if low in by_name and low not in scanned and any(p[0] == low for p in parts):
            col.add(C.NOT_XLSX_PACKAGE, _MESSAGES[C.ODD_STRUCTURE].format(
                what=f"{by_name[low][0].filename} is not readable XML"), part=by_name[low][0].filename,
                detail="a worksheet part that is not XML")
    return sheet_parts


def _scan_sheet(data: bytes, part: str, sheet: str | None, limits: Limits, col: _Collector) -> None:
    """Every cell position within bounds (:func:`.sheetscan.scan_cells`), and where the formulas are."""
    scan = scan_cells(data, limits.max_row, limits.max_col, col.slow_budget)
    if (scan.cells or scan.rows or scan.dimension_bad or scan.unreadable) and not scan.formatting_only():
        _report_scan(scan, part, sheet, limits, col)
    if b"<f" in data or b":f" in data:
        formulas = formula_cells(data, col.slow_budget)
        if formulas:
            col.formulas[sheet if sheet is not None else part] = formulas


def _report_scan(scan: Scan, part: str, sheet: str | None, limits: Limits, col: _Collector) -> None:
    max_row, max_col = limits.max_row, limits.max_col
    label = f"Sheet '{sheet}'" if sheet is not None else f"The sheet stored as {part}"
    bounds = f"it ends at column {column_letters(max_col)}, row {max_row}"
    where = f"{part}" + (f" (sheet {sheet!r})" if sheet is not None else "")
    if scan.cells or scan.rows or scan.dimension_bad:
        distinct = list(dict.fromkeys(scan.cells))
        if distinct:
            first = distinct[0]
            if len(distinct) > 1 or scan.more:
                n = len(distinct) - 1
                others = f"{'more than ' if scan.more else ''}{n} other cell{'s' if n != 1 else ''}"
                message = (f"{label} has content in cell {first} and {others} "
                           f"far outside the template ({bounds}). Clear everything outside the template "
                           f"(press Ctrl+End to find the last used cell, then delete the extra rows and "
                           f"columns) and save again.")
            else:
                message = (f"{label} has content in cell {first}, far outside the template ({bounds}). "
                           f"Clear that cell (press Ctrl+End to find it) and save again.")
        elif scan.rows:
            first = f"row {scan.rows[0]}"
            message = (f"{label} has rows in use or formatted beyond the template, from row {scan.rows[0]} "
                       f"({bounds}). Select the rows below row {max_row}, delete them "
                       f"(Home > Delete > Delete Sheet Rows) and save again.")
        else:
            first = str(scan.dimension_bad)
            message = (f"{label} is marked as using cells as far as {first}, far outside the template "
                       f"({bounds}). Press Ctrl+End to find the last used cell, delete the rows and "
                       f"columns beyond the template (Home > Delete) and save again.")
        facts = []
        if scan.cells:
            facts.append(f"{len(distinct)} cell(s) out of bounds, first {distinct[0]}")
        if scan.rows:
            facts.append(f"{len(scan.rows)} row(s) out of bounds, first {scan.rows[0]}")
        if scan.dimension:
            facts.append(f"dimension {scan.dimension}")
        col.add(C.CELL_OUT_OF_BOUNDS, message, part=part,
                detail=f"{first} in {where}; " + "; ".join(facts))
    if scan.unreadable:
        col.add(C.CELL_OUT_OF_BOUNDS,
                f"{label} has a cell position that cannot be read ({scan.unreadable[0][:60]}), so we cannot "
                f"check it stays inside the template ({bounds}). " + _FRESH_COPY,
                part=part, detail=f"{where}: " + "; ".join(scan.unreadable[:5])[:500])
