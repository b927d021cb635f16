"""Returns as other spreadsheet programs save them, built by code from a filled return.

The tests fill returns with openpyxl (:mod:`tests.returns`), which writes inline strings,
no cached formula values, the legacy sheet-protection hash and plain list validations.
Contract owners' files come from Excel and Google Sheets instead. These builders rewrite
the parts of a filled return with :mod:`zipfile` and regular expressions, as those
programs would have written them:

:func:`excel_style`
    Microsoft Excel (desktop, 365): every text in the shared-strings table (evidence and
    actions as rich text, as when someone bolds a word); list
    validations moved into the x14 extension list (``<extLst>`` ...
    ``<x14:dataValidations>``), where Excel keeps them; SHA-512 sheet protection
    (``algorithmName``/``hashValue``/``saltValue``/``spinCount``) instead of the legacy
    hash; every formula's cached value recalculated (or replaced by ``cached``); Excel's
    markup-compatibility namespaces and application properties.
:func:`google_sheets_style`
    Google Sheets' "Download > Microsoft Excel (.xlsx)": no sheet protection, no very
    hidden sheet (the metadata sheet hidden, visible, or deleted altogether), inline
    strings, no custom document properties, and formula cells without cached values or
    with values of Google's own.

Only the shapes of XML that openpyxl and xlsxwriter write are handled; a builder raises
rather than guess when it meets something else.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import re
import zipfile
from xml.sax.saxutils import escape, unescape

from cmrg_excel.kit import layout as L

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
X14_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM_NS = "http://schemas.microsoft.com/office/excel/2006/main"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14AC_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
X14_DV_URI = "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"
SST_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SST_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"

_ENT = {"&quot;": '"', "&apos;": "'"}


# --- the package --------------------------------------------------------------------------------


class Package:
    """An .xlsx as an ordered dict of part name -> bytes, with sheet lookup by name."""

    def __init__(self, data: bytes):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            self.parts = {i.filename: z.read(i.filename) for i in z.infolist()}

    def text(self, name: str) -> str:
        return self.parts[name].decode("utf-8")

    def put(self, name: str, text: str) -> None:
        self.parts[name] = text.encode("utf-8")

    def drop(self, name: str) -> None:
        self.parts.pop(name, None)

    def sheets(self) -> dict[str, str]:
        """Sheet name -> its part, from workbook.xml and its relationships."""
        rels = {}
        for m in re.finditer(r"<Relationship\b([^>]*)/?>", self.text("xl/_rels/workbook.xml.rels")):
            attrs = _attrs(m.group(1))
            target = attrs["Target"]
            rels[attrs["Id"]] = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out = {}
        for m in re.finditer(r"<sheet\b([^>]*)/>", self.text("xl/workbook.xml")):
            attrs = _attrs(m.group(1))
            out[_unescape(attrs["name"])] = rels[attrs["r:id"]]
        return out

    def bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            # Excel and Google both write the content types first.
            for name in sorted(self.parts, key=lambda n: n != "[Content_Types].xml"):
                z.writestr(name, self.parts[name])
        return out.getvalue()


def _attrs(text: str) -> dict[str, str]:
    return dict(re.findall(r'([\w:]+)="([^"]*)"', text))


# --- cells ----------------------------------------------------------------------------------------

# A cell as openpyxl, xlsxwriter, LibreOffice and these builders write it: self-closing or not.
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)


def _unescape(text: str) -> str:
    """XML text unescaped: the named entities and numeric character references (&#8212;),
    which openpyxl writes for non-ASCII text when lxml is installed."""
    text = re.sub(r"&#(x[0-9A-Fa-f]+|[0-9]+);",
                  lambda m: chr(int(m.group(1)[1:], 16) if m.group(1)[0] == "x" else int(m.group(1))), text)
    return unescape(text, _ENT)


def _string_of(inner: str | None, attrs: str, sst: list[str]) -> str | None:
    """The text of a string cell (unescaped), or None when the cell is not a string."""
    t = _attrs(attrs).get("t")
    if t == "inlineStr":
        return _unescape("".join(re.findall(r"<t\b[^>]*>(.*?)</t>", inner or "", re.S)))
    if t == "s":
        return sst[int(re.search(r"<v>(\d+)</v>", inner).group(1))]
    return None


def _read_sst(pkg: Package) -> list[str]:
    if "xl/sharedStrings.xml" not in pkg.parts:
        return []
    out = []
    for si in re.findall(r"<si>(.*?)</si>", pkg.text("xl/sharedStrings.xml"), re.S):
        out.append(_unescape("".join(re.findall(r"<t\b[^>]*>(.*?)</t>", si, re.S))))
    return out


def _values(pkg: Package, part: str, sst: list[str]) -> dict[str, object]:
    """A1 -> value of the non-formula cells of a sheet part (text or float)."""
    out: dict[str, object] = {}
    for col, row, attrs, inner in _CELL.findall(pkg.text(part)):
        if inner and "<f" in inner:
            continue
        text = _string_of(inner, attrs, sst)
        if text is not None:
            out[col + row] = text
            continue
        m = re.search(r"<v>([^<]*)</v>", inner or "")
        if m:
            try:
                out[col + row] = float(m.group(1))
            except ValueError:
                out[col + row] = m.group(1)
    return out


# --- recalculation of our own formulas -----------------------------------------------------------

_SCORE = re.compile(r'^IF\(D(\d+)="",""')
_COUNT = re.compile(r"""^COUNTA\((?:'?([^'!]+)'?!)?D(\d+):D(\d+)\)&(?:"|&quot;)(.*?)(?:"|&quot;)$""")
_AVG = re.compile(r'^IFERROR\(AVERAGE\(([^)]*)\),(?:""|&quot;&quot;)\)$')
_REF = re.compile(r"^'?([^'!]+)'?!([A-Z]+\d+)$")


def recalculate(pkg: Package, scale) -> dict[tuple[str, str], object]:
    """(sheet, A1) -> value of every formula in a return, as Excel would calculate it.

    Knows the formulas cmrg's templates use (score, rated count, average, reference); any
    other formula raises, so a change of the template shows up here."""
    sst = _read_sst(pkg)
    sheets = pkg.sheets()
    values = {name: _values(pkg, part, sst) for name, part in sheets.items()}
    formulas = {}
    for name, part in sheets.items():
        for col, row, attrs, inner in _CELL.findall(pkg.text(part)):
            m = re.search(r"<f\b[^>]*>(.*?)</f>", inner or "", re.S)
            if m:
                formulas[(name, col + row)] = _unescape(m.group(1))
    done: dict[tuple[str, str], object] = {}

    def value(sheet: str, a1: str) -> object:
        if (sheet, a1) in formulas:
            return calc(sheet, a1)
        return values[sheet].get(a1, "")

    def calc(sheet: str, a1: str) -> object:
        if (sheet, a1) in done:
            return done[(sheet, a1)]
        f = formulas[(sheet, a1)]
        if m := _SCORE.match(f):
            rating = value(sheet, f"D{m.group(1)}")
            if rating == "":
                out = ""
            else:
                label = scale.normalise(rating)
                out = "?" if label is None else ("n/a" if label == scale.not_applicable else
                                                float(scale.score_of(label)))
        elif m := _COUNT.match(f):
            target = m.group(1) or sheet
            lo, hi = int(m.group(2)), int(m.group(3))
            n = sum(1 for r in range(lo, hi + 1) if value(target, f"D{r}") not in ("", None))
            out = f"{n}{m.group(4)}"
        elif m := _AVG.match(f):
            nums = []
            for rng in m.group(1).split(","):
                c1, r1, c2, r2 = re.match(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", rng).groups()
                assert c1 == c2, f
                nums += [v for r in range(int(r1), int(r2) + 1)
                         if isinstance(v := value(sheet, f"{c1}{r}"), float)]
            out = sum(nums) / len(nums) if nums else ""
        elif m := _REF.match(f):
            out = value(m.group(1), m.group(2))
        else:
            raise ValueError(f"recalculate does not know the formula {sheet}!{a1}: ={f}")
        done[(sheet, a1)] = out
        return out

    for key in formulas:
        calc(*key)
    return done


# --- rewriting cells -------------------------------------------------------------------------------


def _rewrite_cells(pkg: Package, part: str, fn) -> None:
    """Replace each cell ``<c ...>`` of a sheet part with ``fn(a1, attrs, inner)`` (a full cell)."""
    pkg.put(part, _CELL.sub(lambda m: fn(m.group(1) + m.group(2), m.group(3), m.group(4)), pkg.text(part)))


def _set_attr(attrs: str, name: str, value: str | None) -> str:
    attrs = re.sub(rf'\s{name}="[^"]*"', "", attrs)
    return attrs if value is None else f'{attrs} {name}="{value}"'


def _cell(a1: str, attrs: str, inner: str) -> str:
    return f'<c r="{a1}"{attrs}>{inner}</c>' if inner else f'<c r="{a1}"{attrs}/>'


def _formula_cell(a1: str, attrs: str, formula: str, value: object, errors: bool = False) -> str:
    """A formula cell with a cached value written as Excel does (None: no cached value)."""
    if value is None:
        return _cell(a1, _set_attr(attrs, "t", None), formula)
    if errors and isinstance(value, str) and value.startswith("#"):
        return _cell(a1, _set_attr(attrs, "t", "e"), f"{formula}<v>{escape(value)}</v>")
    if isinstance(value, str):
        return _cell(a1, _set_attr(attrs, "t", "str"), f"{formula}<v>{escape(value)}</v>")
    number = float(value)
    text = str(int(number)) if number.is_integer() else repr(number)
    return _cell(a1, _set_attr(attrs, "t", None), f"{formula}<v>{text}</v>")


def _space(text: str) -> str:
    return ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""


def _rich(text: str) -> str:
    """A shared string as rich text: the first word bold (someone formatted part of the cell)."""
    head, sep, tail = text.partition(" ")
    if not sep:
        return f"<t{_space(text)}>{escape(text)}</t>"
    head += sep
    return (f'<r><rPr><b/><sz val="11"/><rFont val="Calibri"/></rPr><t{_space(head)}>{escape(head)}</t></r>'
            f"<r><t{_space(tail)}>{escape(tail)}</t></r>")


def _to_shared(pkg: Package, rich: dict[str, set[str]] | None = None) -> None:
    """Every text cell into the shared-strings table (Excel's way); text in ``rich``
    (sheet -> column letters) as rich text runs."""
    sst = _read_sst(pkg)
    index: dict[tuple[str, bool], int] = {(s, False): i for i, s in enumerate(sst)}
    count = 0

    for name, part in pkg.sheets().items():
        rich_cols = (rich or {}).get(name, set())

        def fn(a1, attrs, inner, rich_cols=rich_cols):
            nonlocal count
            text = _string_of(inner, attrs, sst)
            if text is None or _attrs(attrs).get("t") not in ("inlineStr", "s"):
                return _cell(a1, attrs, inner)
            count += 1
            i = index.setdefault((text, a1.rstrip("0123456789") in rich_cols), len(index))
            return _cell(a1, _set_attr(attrs, "t", "s"), f"<v>{i}</v>")

        _rewrite_cells(pkg, part, fn)
    items = "".join(f"<si>{_rich(s)}</si>" if is_rich else f"<si><t{_space(s)}>{escape(s)}</t></si>"
                    for s, is_rich in index)
    pkg.put("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<sst xmlns="{MAIN_NS}" count="{count}" uniqueCount="{len(index)}">{items}</sst>')
    rels = pkg.text("xl/_rels/workbook.xml.rels")
    if SST_TYPE not in rels:
        rels = rels.replace("</Relationships>", f'<Relationship Id="rIdSst" Type="{SST_TYPE}" '
                                                f'Target="sharedStrings.xml"/></Relationships>')
        pkg.put("xl/_rels/workbook.xml.rels", rels)
    ct = pkg.text("[Content_Types].xml")
    if "/xl/sharedStrings.xml" not in ct:
        pkg.put("[Content_Types].xml", ct.replace(
            "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_CT}"/></Types>'))


def _to_inline(pkg: Package) -> None:
    """Every text cell as an inline string, and no shared-strings table (as these tests' Google export)."""
    sst = _read_sst(pkg)

    def fn(a1, attrs, inner):
        text = _string_of(inner, attrs, sst)
        if text is None or _attrs(attrs).get("t") not in ("inlineStr", "s"):
            return _cell(a1, attrs, inner)
        return _cell(a1, _set_attr(attrs, "t", "inlineStr"), f"<is><t{_space(text)}>{escape(text)}</t></is>")

    for part in pkg.sheets().values():
        _rewrite_cells(pkg, part, fn)
    pkg.drop("xl/sharedStrings.xml")
    pkg.put("xl/_rels/workbook.xml.rels", re.sub(rf'<Relationship\b[^>]*Type="{SST_TYPE}"[^>]*/>', "",
                                                pkg.text("xl/_rels/workbook.xml.rels")))
    pkg.put("[Content_Types].xml", re.sub(r'<Override\b[^>]*PartName="/xl/sharedStrings.xml"[^>]*/>', "",
                                          pkg.text("[Content_Types].xml")))


def _set_cached(pkg: Package, values: dict[tuple[str, str], object], errors: bool = False) -> None:
    """Cached values of formula cells: ``values[(sheet, a1)]``; a formula not named loses its value."""
    for name, part in pkg.sheets().items():
        def fn(a1, attrs, inner, name=name):
            m = re.search(r"<f\b[^>]*>.*?</f>|<f\b[^>]*/>", inner or "", re.S)
            if not m:
                return _cell(a1, attrs, inner)
            return _formula_cell(a1, attrs, m.group(0), values.get((name, a1)), errors)

        _rewrite_cells(pkg, part, fn)


# --- protection -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def sha512_protection(password: str, salt: bytes, spin: int = 100_000) -> str:
    """The hashValue Excel writes for a sheet password (ECMA-376 agile hashing, SHA-512)."""
    h = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for i in range(spin):
        h = hashlib.sha512(h + i.to_bytes(4, "little")).digest()
    return base64.b64encode(h).decode("ascii")


def _excel_protection(xml: str, password: str, salt: bytes) -> str:
    def fn(m):
        attrs = {k: v for k, v in _attrs(m.group(1)).items() if k != "password"}
        attrs = {"algorithmName": "SHA-512", "hashValue": sha512_protection(password, salt),
                 "saltValue": base64.b64encode(salt).decode("ascii"), "spinCount": "100000", **attrs}
        return "<sheetProtection " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "/>"

    out, n = re.subn(r"<sheetProtection\b([^>]*?)\s*/>", fn, xml)
    assert n == 1, "expected one sheetProtection element"
    return out


# --- validations ---------------------------------------------------------------------------------------


def _lists_to_x14(xml: str) -> tuple[str, int]:
    """Move list validations from <dataValidations> into the x14 extension list; return (xml, moved)."""
    block = re.search(r"<dataValidations\b[^>]*>(.*?)</dataValidations>", xml, re.S)
    if not block:
        return xml, 0
    keep, moved = [], []
    for m in re.finditer(r"<dataValidation\b([^>]*)>(.*?)</dataValidation>", block.group(1), re.S):
        attrs = _attrs(m.group(1))
        if attrs.get("type") != "list":
            keep.append(m.group(0))
            continue
        sqref = attrs.pop("sqref")
        f1 = re.search(r"<formula1>(.*?)</formula1>", m.group(2), re.S).group(1)
        head = " ".join(f'{k}="{v}"' for k, v in attrs.items())
        moved.append(f'<x14:dataValidation {head}><x14:formula1><xm:f>{f1}</xm:f></x14:formula1>'
                     f'<xm:sqref>{sqref}</xm:sqref></x14:dataValidation>')
    if not moved:
        return xml, 0
    main = f'<dataValidations count="{len(keep)}">{"".join(keep)}</dataValidations>' if keep else ""
    xml = xml[:block.start()] + main + xml[block.end():]
    ext = (f'<ext uri="{X14_DV_URI}" xmlns:x14="{X14_NS}"><x14:dataValidations count="{len(moved)}" '
           f'xmlns:xm="{XM_NS}">{"".join(moved)}</x14:dataValidations></ext>')
    if "<extLst>" in xml:
        xml = xml.replace("</extLst>", ext + "</extLst>")
    else:
        xml = xml.replace("</worksheet>", f"<extLst>{ext}</extLst></worksheet>")
    return xml, len(moved)


# --- the producers -------------------------------------------------------------------------------------


def excel_style(data: bytes, scale, password: str, *, cached: dict[tuple[str, str], object] | None = None,
                salt: bytes = b"cmrg-test-salt16") -> bytes:
    """``data`` (a filled return) as Excel would save it; see the module documentation.

    ``scale`` is the framework's rating scale (to recalculate the scores); ``cached``
    overrides cached formula values, e.g. to make them stale."""
    pkg = Package(data)
    values = recalculate(pkg, scale)
    values.update(cached or {})
    _to_shared(pkg, rich={L.ASSESSMENT: {L.ASSESS_BY_KEY["evidence"].letter, L.ASSESS_BY_KEY["action"].letter}})
    _set_cached(pkg, values, errors=True)
    moved = 0
    for part in pkg.sheets().values():
        xml = _excel_protection(pkg.text(part), password, salt)
        xml, n = _lists_to_x14(xml)
        moved += n
        # Excel's markup-compatibility namespaces, and its row-height descent attribute.
        xml = re.sub(r"<worksheet\b([^>]*)>", lambda m: "<worksheet" + _set_attr(_set_attr(_set_attr(
            m.group(1), "xmlns:mc", MC_NS), "xmlns:x14ac", X14AC_NS), "mc:Ignorable", "x14ac") + ">", xml, count=1)
        xml = re.sub(r"<sheetFormatPr\b([^>]*?)\s*/>",
                     lambda m: f'<sheetFormatPr{_set_attr(m.group(1), "x14ac:dyDescent", "0.25")}/>', xml, count=1)
        pkg.put(part, xml)
    assert moved, "no list validation to move"
    wb = pkg.text("xl/workbook.xml")
    wb = re.sub(r"<calcPr\b[^>]*/>", '<calcPr calcId="191029"/>', wb)
    if "<fileVersion" not in wb:
        wb = re.sub(r"(<workbook\b[^>]*>)", r'\1<fileVersion appName="xl" lastEdited="7" lowestEdited="7" '
                                              r'rupBuild="27425"/>', wb, count=1)
    pkg.put("xl/workbook.xml", wb)
    if "docProps/app.xml" in pkg.parts:
        pkg.put("docProps/app.xml", re.sub(r"<Application>.*?</Application>", "<Application>Microsoft Excel"
                                           "</Application>", pkg.text("docProps/app.xml")))
    return pkg.bytes()


def google_sheets_style(data: bytes, *, meta: str = "hidden", cached: str | dict = "none") -> bytes:
    """``data`` (a filled return) as Google Sheets exports it; see the module documentation.

    ``meta``: what became of the very hidden metadata sheet: "hidden", "visible" or
    "deleted". ``cached``: "none" (formula cells without values), or a dict
    ``(sheet, a1) -> value`` of Google's own values (others get none)."""
    if meta not in ("hidden", "visible", "deleted"):
        raise ValueError(meta)
    pkg = Package(data)
    sheets = pkg.sheets()
    for part in sheets.values():
        xml, n = re.subn(r"<sheetProtection\b[^>]*/>", "", pkg.text(part))
        pkg.put(part, xml)
    _to_inline(pkg)
    _set_cached(pkg, {} if cached == "none" else cached, errors=True)
    wb = pkg.text("xl/workbook.xml")
    sheet_re = re.compile(rf'<sheet\b[^>]*name="{re.escape(L.META)}"[^>]*/>')
    tag = sheet_re.search(wb).group(0)
    if meta == "deleted":
        rid = _attrs(tag)["r:id"]
        part = sheets[L.META]
        wb = wb.replace(tag, "")
        pkg.drop(part)
        pkg.put("xl/_rels/workbook.xml.rels", re.sub(rf'<Relationship\b[^>]*Id="{rid}"[^>]*/>', "",
                                                    pkg.text("xl/_rels/workbook.xml.rels")))
        pkg.put("[Content_Types].xml", re.sub(rf'<Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "",
                                              pkg.text("[Content_Types].xml")))
    else:
        wb = wb.replace(tag, _set_attr(tag[:-2].rstrip(), "state", None if meta == "visible" else "hidden") + "/>")
    pkg.put("xl/workbook.xml", wb)
    # Google Sheets keeps no custom document properties.
    pkg.drop("docProps/custom.xml")
    pkg.put("_rels/.rels", re.sub(r'<Relationship\b[^>]*Target="/?docProps/custom.xml"[^>]*/>', "",
                                  pkg.text("_rels/.rels")))
    pkg.put("[Content_Types].xml", re.sub(rf'<Override\b[^>]*ContentType="{CUSTOM_CT}"[^>]*/>', "",
                                          pkg.text("[Content_Types].xml")))
    return pkg.bytes()
