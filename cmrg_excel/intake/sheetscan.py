"""Where a worksheet's cells and formulas are, read from its XML bytes (no XML parser).

The preflight (:mod:`.preflight`) hands each worksheet part here before any reader sees
it: :func:`scan_cells` finds every ``<dimension ref>``, ``<row r>`` and ``<c r>`` (written
or implied) beyond the template's bounds, and :func:`formula_cells` every cell holding a
formula, so the rules can refuse one where a value belongs. Both run on compiled regular
expressions over bytes, linear on hostile input: a fast path for the XML Excel,
LibreOffice, openpyxl and xlsxwriter write (one regex pass per sheet), and a slow path that
follows every tag, within a budget shared by the whole workbook, for anything else
(namespace prefixes, odd quoting, escaped or implied positions). What the findings say to
the owner is the preflight's business; this module only reports positions.
"""

from __future__ import annotations

import functools
import re

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

# An XML namespace prefix such as "x:" in <x:c r="A1">.
PFX = rb"(?:[^\s<>/!?:=\"']+:)?"
# Attributes, with quoted values that may legally contain '>' (but never '<': stopping
# there also keeps every regex below linear on hostile input such as unclosed quotes).
ATTRS = rb"((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)"

# Slow path: every <c>/<row> start tag, prefixed or not (to count them) ...
_ANY_CR = re.compile(rb"<" + PFX + rb"(?:c|row)[\s/>]")
# ... and the full start tags, so that positions without r= can be followed.
_TAG_CR = re.compile(rb"<" + PFX + rb"(c|row)" + ATTRS + rb"\s*/?>")
_TAG_DIMENSION = re.compile(rb"<" + PFX + rb"dimension" + ATTRS + rb"\s*/?>")
ATTR = re.compile(rb"([^\s=/>]+)\s*=\s*(?:\"([^\"<]*)\"|'([^'<]*)')")
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


_CHARREF = re.compile(rb"&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|amp|lt|gt|quot|apos);")
_NAMED_REFS = {b"amp": b"&", b"lt": b"<", b"gt": b">", b"quot": b'"', b"apos": b"'"}


def unescape(val: bytes) -> bytes:
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


def attr_all(attr_bytes: bytes, key: bytes) -> list[bytes]:
    """Every value of one attribute (duplicates included: they are checked, not trusted)."""
    return [unescape(dq or sq) for k, dq, sq in ATTR.findall(attr_bytes) if k == key]


def _parse_ref(ref: bytes) -> tuple[int, int] | None:
    m = _CELL_REF.fullmatch(ref)
    if not m:
        return None
    row = int(m.group(2))
    if row < 1:
        return None
    return column_number(m.group(1)), row


class Scan:
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


def scan_cells(data: bytes, max_row: int, max_col: int, budget: list[int]) -> Scan:
    """Every <dimension ref>, <row r> and <c r> (explicit or implied) of a worksheet part beyond
    ``max_row`` and ``max_col``; ``budget`` (a one-item list) is how many tags the slow path may
    still follow, shared by every sheet of a workbook."""
    scan = Scan()

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
        scan = Scan()
        _scan_dimension(data, max_row, max_col, scan)
        _slow_scan(data, max_row, max_col, scan, budget)
    return scan


def _dimension_tag(data: bytes, pos: int, max_row: int, max_col: int, scan: Scan) -> tuple[int, int] | None:
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
    for ref in attr_all(m.group(1), b"ref"):
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


def _scan_dimension(data: bytes, max_row: int, max_col: int, scan: Scan) -> None:
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


def _slow_scan(data: bytes, max_row: int, max_col: int, scan: Scan, budget: list[int]) -> None:
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
        refs = [dq or sq for key, dq, sq in ATTR.findall(attrs) if key == b"r"] if b"r" in attrs else None
        if name != b"row" and far:
            far = False  # a cell in a row beyond the template: the row is in use, not only formatted
            scan.rows.append(scan.empty_rows.pop())
        if name == b"row":
            colno = 0
            far = False
            if refs:
                for ref in refs:
                    if b"&" in ref:
                        ref = unescape(ref)
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
                    ref = unescape(ref)
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
_ROW_C_F = re.compile(rb"<" + PFX + rb"(c|row|f)(?=[\s/>])" + ATTRS + rb"\s*/?>")
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
    return unescape(text[:_FORMULA_TEXT * 4]).decode("utf-8", "replace")[:_FORMULA_TEXT]


# What every spreadsheet program writes for a formula cell: <c r="E6" ...><f ...>text</f> or
# <f .../>. When every <f> of a sheet is found in this form (the count is compared), one pass
# of this pattern places them all; anything else goes the careful way below.
_PLAIN_F = re.compile(rb'<c r="([A-Z]{1,3}[1-9][0-9]{0,6})"[^<>]*>\s*<f(?:\s[^<>]*)?(?:/>|>([^<]*)</f>)')


def formula_cells(data: bytes, budget: list[int]) -> tuple[tuple[str, str], ...]:
    """(cell, formula) of every cell of a sheet holding a formula, in document order.

    A formula is the first child of its cell, so the tag just before each <f> is its <c>, whose
    r= names the cell (what every spreadsheet program writes). A cell without a plain r= (its
    place implied by its position) sends the whole sheet through :func:`_formula_cells_slow`."""
    n_f = len(_F_TAG.findall(data))
    plain = _PLAIN_F.findall(data)
    if len(plain) == n_f and n_f <= _MAX_FORMULAS:
        return tuple((ref.decode("ascii"), unescape(text[:_FORMULA_TEXT * 4]).decode("utf-8", "replace")[:_FORMULA_TEXT])
                     for ref, text in plain)
    out = []
    for m in _F_TAG.finditer(data):
        lt = data.rfind(b"<", 0, m.start())
        tag = _TAG_CR.match(data, lt) if lt >= 0 else None
        ref = None
        if tag is not None and tag.group(1) == b"c":
            refs = [dq or sq for key, dq, sq in ATTR.findall(tag.group(2)) if key == b"r"]
            if len(refs) == 1:
                ref = unescape(refs[0])
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
        refs = [dq or sq for key, dq, sq in ATTR.findall(attrs) if key == b"r"] if b"r" in attrs else []
        if name == b"row":
            colno = 0
            row = int(refs[0]) if refs and refs[0].isdigit() else row + 1
        elif name == b"c":
            cm = _PLAIN_CELL_REF.fullmatch(unescape(refs[0])) if refs else None
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
