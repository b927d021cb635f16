"""Byte-level preflight: decide whether a returned workbook is safe to hand to a parser.

Contract owners send back the workbooks we issued, but the bytes are untrusted. Readers
misbehave on hostile files in ways that ``try/except`` cannot contain (python-calamine
aborts the whole process on a cell at XFD1048576, every reader inflates a zip bomb into
memory), so :func:`preflight` looks at the raw bytes first, using only ``zipfile`` and
compiled regular expressions over the decompressed parts (no XML parser), and reports
every problem it finds in plain English for the contract owner.

:func:`preflight` never raises. A result whose :attr:`PreflightResult.ok` is False must
not be parsed. A result that is ok still only says "safe enough to parse in a worker
process with a memory limit": parsers must keep their own defences.
"""

from __future__ import annotations

import codecs
import functools
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from ..kit.zipfile_internals import read_member_capped as _inflate
from . import codes as C

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
# Column letters
# --------------------------------------------------------------------------------------


def column_letters(n: int) -> str:
    """1 -> 'A', 100 -> 'CV', 16384 -> 'XFD'."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def column_number(letters: str | bytes) -> int:
    """'A' -> 1, 'CV' -> 100 (case-insensitive; no validation beyond letters)."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii", "replace")
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


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

# An XML namespace prefix such as "x:" in <x:c r="A1">.
_PFX = rb"(?:[^\s<>/!?:=\"']+:)?"
# Attributes, with quoted values that may legally contain '>' (but never '<': stopping
# there also keeps every regex below linear on hostile input such as unclosed quotes).
_ATTRS = rb"((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)"

# Slow path: every <c>/<row> start tag, prefixed or not (to count them) ...
_ANY_CR = re.compile(rb"<" + _PFX + rb"(?:c|row)[\s/>]")
# ... and the full start tags, so that positions without r= can be followed.
_TAG_CR = re.compile(rb"<" + _PFX + rb"(c|row)" + _ATTRS + rb"\s*/?>")
_TAG_DIMENSION = re.compile(rb"<" + _PFX + rb"dimension" + _ATTRS + rb"\s*/?>")
_ATTR = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"<]*)\"|'([^'<]*)')")
_CELL_REF = re.compile(rb"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")  # in a dimension
_REF_SPLIT = re.compile(rb"[:\s]+")
# The usual first dimension tag, <dimension ref="A1:C56"/>, read without more ado.
_DIMENSION_FAST = re.compile(rb'<dimension ref="([A-Z]{1,3})([1-9][0-9]{0,6})(?::([A-Z]{1,3})([1-9][0-9]{0,6}))?"\s*/>')
_PLAIN_CELL_REF = re.compile(rb"([A-Za-z]{1,3})([1-9][0-9]{0,6})")  # in <c r="...">

_PREFIX_TAG = re.compile(rb"<[^\s<>/!?:=\"']+")  # '<' and a namespace prefix, before ':'
_NAME_RUN = re.compile(rb"[^\s<>/!?:=\"']+")
_PREFIX_WINDOW = 256


def _prefixed_tag_at(data: bytes, colon: int) -> bool:
    """Is data[colon] the ':' of a start tag such as <x:c ...>? (Looks back at most
    _PREFIX_WINDOW bytes, so that many matches cannot make this quadratic; a longer run
    of name characters before the ':' is taken as a prefixed tag, to be safe.)"""
    lo = max(0, colon - _PREFIX_WINDOW)
    lt = data.rfind(b"<", lo, colon)
    if lt >= 0:
        return _PREFIX_TAG.fullmatch(data, lt, colon) is not None
    return lo > 0 and _NAME_RUN.fullmatch(data, lo, colon) is not None


def _upto_regex(n: int, digits: str, lo: str, end: str) -> str:
    """A regex for the numbers 1..n written in the given digit alphabet with no leading
    'zero' (lo is the smallest leading digit), each followed by `end`: decimal ('0'..'9',
    lo '1') or bijective base-26 column letters ('A'..'Z', lo 'A'). Shorter numbers come
    first, matched possessively (this runs once per cell of every sheet)."""
    first, last = digits[0], digits[-1]
    if n < 1:
        return "(?!)"
    s = str(n) if digits[0] == "0" else column_letters(n)
    width = len(s)
    alts = []
    if width > 1:
        alts.append(f"[{lo}-{last}][{first}-{last}]{{0,{width - 2}}}+{end}")
    for i, ch in enumerate(s):
        floor = lo if i == 0 else first
        if i < width - 1:
            if ch > floor:
                alts.append(f"{s[:i]}[{floor}-{chr(ord(ch) - 1)}][{first}-{last}]{{{width - i - 1}}}{end}")
        elif ch >= floor:
            alts.append(f"{s[:i]}[{floor}-{ch}]{end}")
    return "(?:" + "|".join(alts) + ")"


@functools.lru_cache(maxsize=16)
def _suspicious_pattern(max_row: int, max_col: int) -> re.Pattern[bytes]:
    """Finds the first plain <c>/<row> start tag that is not simply <c r="IN"> or
    <row r="IN"> with IN a plain in-bounds reference closed by its quote: a tag without a
    leading r=, with odd spacing or quoting, an escaped, odd or out-of-bounds reference;
    or a <dimension> tag (searched for around the first one, which is checked on its own).
    Tags with a namespace prefix are found by _has_prefixed_tag."""
    rows = _upto_regex(max_row, "0123456789", "1", '"').encode()
    cols = _upto_regex(max_col, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "A", "(?=[0-9])").encode()
    return re.compile(rb'<(?:dimension[\s/>]'
                      rb'|c(?:[\t\n\r/>]| (?!r="' + cols + rows + rb'))'
                      rb'|row(?:[\t\n\r/>]| (?!r="' + rows + rb')))')


# Namespace-prefixed <x:c>, <x:row>, <x:dimension>: found from the ':' (rarer than '<'),
# then confirmed by looking back; past a few false alarms, one regex pass decides.
_PREFIXED_NAME = re.compile(rb":(?:c|row|dimension)[\s/>]")
_PREFIXED_TAG = re.compile(rb"<[^\s<>/!?:=\"']++:(?:c|row|dimension)[\s/>]")


def _has_prefixed_tag(data: bytes, start: int, end: int) -> bool:
    for n, m in enumerate(_PREFIXED_NAME.finditer(data, start, end)):
        if n >= 64:
            return _PREFIXED_TAG.search(data, start, end) is not None
        if _prefixed_tag_at(data, m.start()):
            return True
    return False


_DOCTYPE = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']")
_OK_ENCODINGS = {
    b"utf-8", b"utf8", b"utf-16", b"utf-16le", b"utf-16be", b"utf16",
    b"us-ascii", b"ascii", b"iso-8859-1", b"latin1", b"latin-1", b"windows-1252", b"cp1252",
}
_CHARREF = re.compile(rb"&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|amp|lt|gt|quot|apos);")
_NAMED_REFS = {b"amp": b"&", b"lt": b"<", b"gt": b">", b"quot": b'"', b"apos": b"'"}

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


def _attr_all(attr_bytes: bytes, key: bytes) -> list[bytes]:
    """Every value of one attribute (duplicates included: they are checked, not trusted)."""
    return [_unescape(dq or sq) for k, dq, sq in _ATTR.findall(attr_bytes) if k == key]


def _unescape(val: bytes) -> bytes:
    if b"&" not in val:
        return val

    def rep(m: re.Match[bytes]) -> bytes:
        ref = m.group(1)
        if ref in _NAMED_REFS:
            return _NAMED_REFS[ref]
        try:
            cp = int(ref[2:], 16) if ref[1:2] in (b"x", b"X") else int(ref[1:])
            return chr(cp).encode("utf-8", "replace")
        except (ValueError, OverflowError):
            return m.group(0)

    return _CHARREF.sub(rep, val)


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


def _parse_ref(ref: bytes) -> tuple[int, int] | None:
    m = _CELL_REF.fullmatch(ref)
    if not m:
        return None
    row = int(m.group(2))
    if row < 1:
        return None
    return column_number(m.group(1)), row


class _Scan:
    """Out-of-bounds and unreadable positions found in one sheet, in document order."""

    __slots__ = ("cells", "rows", "dimension", "dimension_bad", "dimension_far_col", "empty_rows", "unreadable",
                 "more")

    def __init__(self) -> None:
        self.cells: list[str] = []
        self.rows: list[int] = []  # rows beyond the template holding cells
        self.dimension: str | None = None
        self.dimension_bad: str | None = None
        self.dimension_far_col = False  # the dimension reaches beyond the template's last column
        self.empty_rows: list[int] = []  # rows beyond the template holding no cell: formatting only
        self.unreadable: list[str] = []
        self.more = False  # stopped counting at _MAX_REPORTED

    def formatting_only(self) -> bool:
        """Nothing beyond the template but formatted rows with no cells, and a dimension that
        reaches down to them (not across): LibreOffice writes row 1,048,576 so whenever a row
        is deleted. Readers make nothing of a row without cells, so it is no danger."""
        return (bool(self.empty_rows) and not (self.cells or self.rows or self.unreadable)
                and not self.dimension_far_col)


def _scan_sheet(data: bytes, part: str, sheet: str | None, limits: Limits, col: _Collector) -> None:
    """Every <dimension ref>, <row r> and <c r> (explicit or implied) within bounds."""
    max_row, max_col = limits.max_row, limits.max_col
    scan = _Scan()

    # Fast path: Excel, LibreOffice, openpyxl and xlsxwriter write one <dimension> near the
    # top and every <c>/<row> with a plain r="..." first. The first dimension is checked
    # here; one regex pass over the rest finds any other dimension and any tag that is not
    # like that or is out of bounds. Only then is the sheet followed tag by tag.
    suspicious = _suspicious_pattern(max_row, max_col)
    pos = data.find(b"dimension")
    span = None
    if pos > 0:
        m = _DIMENSION_FAST.match(data, pos - 1)
        if m is not None:
            c1, r1, c2, r2 = m.groups()
            if max(int(r1), int(r2 or 1)) > max_row or max(column_number(c1), column_number(c2 or b"A")) > max_col:
                _dimension_tag(data, pos, max_row, max_col, scan)  # records it, with the far corner
            span = (pos - 1, m.end())
        else:
            span = _dimension_tag(data, pos, max_row, max_col, scan)
    n = len(data)
    ranges = ((0, n),) if span is None else ((0, span[0]), (span[1], n))
    hit = any(suspicious.search(data, a, b) or _has_prefixed_tag(data, a, b) for a, b in ranges)
    if hit:
        scan = _Scan()
        _scan_dimension(data, max_row, max_col, scan)
        _slow_scan(data, max_row, max_col, scan, col.slow_budget)
    if (scan.cells or scan.rows or scan.dimension_bad or scan.unreadable) and not scan.formatting_only():
        _report_scan(scan, part, sheet, limits, col)
    if b"<f" in data or b":f" in data:
        formulas = _formula_cells(data, col.slow_budget)
        if formulas:
            col.formulas[sheet if sheet is not None else part] = formulas


def _report_scan(scan: _Scan, part: str, sheet: str | None, limits: Limits, col: _Collector) -> None:
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


def _dimension_tag(data: bytes, pos: int, max_row: int, max_col: int, scan: _Scan) -> tuple[int, int] | None:
    """If the 'dimension' at pos names a start tag, check its ref and return the tag's
    span (a malformed tag is recorded as unreadable); None if it is not a tag."""
    before = data[pos - 1:pos] if pos > 0 else b""
    if not (before == b"<" or (before == b":" and _prefixed_tag_at(data, pos - 1))):
        return None
    if data[pos + 9:pos + 10] not in (b" ", b"\t", b"\n", b"\r", b"/", b">"):
        return None
    lt = data.rfind(b"<", max(0, pos - _PREFIX_WINDOW - 2), pos)
    m = _TAG_DIMENSION.match(data, lt)
    if m is None:
        scan.unreadable.append("a <dimension> tag with malformed attributes")
        return lt, pos + 9
    for ref in _attr_all(m.group(1), b"ref"):
        scan.dimension = ref.decode("utf-8", "replace")[:60]
        pieces = [p for p in _REF_SPLIT.split(ref.strip()) if p]
        if not pieces:
            scan.unreadable.append(f"dimension {scan.dimension!r}")
        for piece in pieces:
            ref_pos = _parse_ref(piece)
            if ref_pos is None:
                scan.unreadable.append(f"dimension {scan.dimension!r}")
            elif ref_pos[0] > max_col or ref_pos[1] > max_row:
                scan.dimension_far_col = scan.dimension_far_col or ref_pos[0] > max_col
                if scan.dimension_bad is None:
                    scan.dimension_bad = f"{column_letters(ref_pos[0])}{ref_pos[1]}"
    return lt, m.end()


def _scan_dimension(data: bytes, max_row: int, max_col: int, scan: _Scan) -> None:
    """Every <dimension ref="..."> tag (a real sheet has one, near the top)."""
    pos = data.find(b"dimension")
    seen = 0
    while pos >= 0:
        seen += 1
        if seen > 10_000:  # never in a real sheet; keeps hostile text from costing time
            scan.unreadable.append("the word 'dimension' over 10,000 times")
            return
        _dimension_tag(data, pos, max_row, max_col, scan)
        pos = data.find(b"dimension", pos + 9)


_MAX_REPORTED = 100  # out-of-bounds positions collected per sheet before giving up


def _slow_scan(data: bytes, max_row: int, max_col: int, scan: _Scan, budget: list[int]) -> None:
    """Follow every <row>/<c> start tag in order, including implied positions."""
    # More <c>/<row> tags than the template has rows and cells cannot all be inside it;
    # and following them one by one costs a few microseconds each, so the whole workbook
    # gets a budget (hostile markup must not buy seconds of work per upload).
    places = max_row * (max_col + 1)
    n_any = 0
    for _ in _ANY_CR.finditer(data):
        n_any += 1
        if n_any > places:
            scan.unreadable.append(f"more <row>/<c> tags than the template has places ({places})")
            return
    if n_any > budget[0]:
        scan.unreadable.append("too much unusual sheet markup to check")
        return
    budget[0] -= n_any
    row = 0
    colno = 0
    n_tags = 0
    columns: dict[bytes, int] = {}
    far = False  # the current row is beyond the template (and so far holds no cell)
    for m in _TAG_CR.finditer(data):
        n_tags += 1
        name, attrs = m.groups()
        refs = [dq or sq for key, dq, sq in _ATTR.findall(attrs) if key == b"r"] if b"r" in attrs else None
        if name != b"row" and far:
            far = False  # a cell in a row beyond the template: the row is in use, not only formatted
            scan.rows.append(scan.empty_rows.pop())
        if name == b"row":
            colno = 0
            far = False
            if refs:
                for ref in refs:
                    if b"&" in ref:
                        ref = _unescape(ref)
                    if not ref.isdigit() or len(ref) > 9 or int(ref) < 1:
                        scan.unreadable.append(f"row {ref[:20].decode('utf-8', 'replace')!r}")
                        continue
                    row = int(ref)
            else:
                row += 1
            if row <= max_row:
                continue
            scan.empty_rows.append(row)
            far = True
            if len(scan.empty_rows) > _MAX_REPORTED:  # formatted rows are fine; thousands of them are not
                scan.unreadable.append(f"more than {_MAX_REPORTED} rows beyond the template")
                return
            continue
        elif refs:
            for ref in refs:
                if b"&" in ref:
                    ref = _unescape(ref)
                cm = _PLAIN_CELL_REF.fullmatch(ref)
                if cm is None:
                    scan.unreadable.append(f"cell {ref[:20].decode('utf-8', 'replace')!r}")
                    continue
                letters, digits = cm.groups()
                colno = columns.get(letters) or columns.setdefault(letters, column_number(letters))
                if colno > max_col or int(digits) > max_row:
                    scan.cells.append(f"{column_letters(colno)}{int(digits)}")
            if not (scan.cells or scan.unreadable):
                continue
        else:
            colno += 1
            if colno <= max_col and max(row, 1) <= max_row:
                continue
            scan.cells.append(f"{column_letters(colno)}{max(row, 1)}")
        if len(scan.cells) + len(scan.rows) + len(scan.unreadable) >= _MAX_REPORTED:
            scan.more = True
            return  # refused anyway; the owner is told there are more
    if n_tags != n_any:
        scan.unreadable.append("a <row> or <c> tag with malformed attributes")


# --------------------------------------------------------------------------------------
# Formulas: where they are, so that the rules can refuse one in a cell meant for a value
# --------------------------------------------------------------------------------------

# An <f> start tag, prefixed or not (<f>, <f t="shared" .../>, <x:f>); never <formula1> or <font>.
_F_TAG = re.compile(rb"<(?:[^\s<>/!?:=\"']+:)?f(?=[\s/>])")
# <row>, <c> and <f> start tags in order, to place formulas whose cell has no plain r=.
_ROW_C_F = re.compile(rb"<" + _PFX + rb"(c|row|f)(?=[\s/>])" + _ATTRS + rb"\s*/?>")
_MAX_FORMULAS = 2000  # per sheet; a template uses about a hundred
_FORMULA_TEXT = 100   # characters of each formula kept, for the message


def _formula_text(data: bytes, start: int) -> str:
    """The text of the formula whose start tag begins at ``start`` ("" for a shared formula's
    later cells, which only point at the first)."""
    gt = data.find(b">", start)
    if gt < 0 or data[gt - 1:gt] == b"/":
        return ""
    end = data.find(b"<", gt)
    text = data[gt + 1:end if end >= 0 else gt + 1 + _FORMULA_TEXT * 4]
    return _unescape(text[:_FORMULA_TEXT * 4]).decode("utf-8", "replace")[:_FORMULA_TEXT]


def _formula_cells(data: bytes, budget: list[int]) -> tuple[tuple[str, str], ...]:
    """(cell, formula) of every cell of a sheet holding a formula, in document order.

    A formula is the first child of its cell, so the tag just before each <f> is its <c>, whose
    r= names the cell (what every spreadsheet program writes). A cell without a plain r= (its
    place implied by its position) sends the whole sheet through :func:`_formula_cells_slow`."""
    out = []
    for m in _F_TAG.finditer(data):
        lt = data.rfind(b"<", 0, m.start())
        tag = _TAG_CR.match(data, lt) if lt >= 0 else None
        ref = None
        if tag is not None and tag.group(1) == b"c":
            refs = [dq or sq for key, dq, sq in _ATTR.findall(tag.group(2)) if key == b"r"]
            if len(refs) == 1:
                ref = _unescape(refs[0])
        if ref is None or _PLAIN_CELL_REF.fullmatch(ref) is None:
            return _formula_cells_slow(data, budget)
        out.append((ref.decode("ascii").upper(), _formula_text(data, m.start())))
        if len(out) >= _MAX_FORMULAS:
            break
    return tuple(out)


def _formula_cells_slow(data: bytes, budget: list[int]) -> tuple[tuple[str, str], ...]:
    """The same, following every <row> and <c> as a reader does (implied positions counted)."""
    out = []
    row = colno = 0
    n = 0
    for m in _ROW_C_F.finditer(data):
        n += 1
        if n > budget[0]:
            out.append(("?", "too much markup to place every formula"))
            break
        name, attrs = m.groups()
        refs = [dq or sq for key, dq, sq in _ATTR.findall(attrs) if key == b"r"] if b"r" in attrs else []
        if name == b"row":
            colno = 0
            row = int(refs[0]) if refs and refs[0].isdigit() else row + 1
        elif name == b"c":
            cm = _PLAIN_CELL_REF.fullmatch(_unescape(refs[0])) if refs else None
            if cm is not None:
                colno, row = column_number(cm.group(1)), int(cm.group(2))
            else:
                colno += 1
        else:
            out.append((f"{column_letters(colno)}{max(row, 1)}" if colno else "?", _formula_text(data, m.start())))
            if len(out) >= _MAX_FORMULAS:
                break
    budget[0] = max(0, budget[0] - n)
    return tuple(out)
