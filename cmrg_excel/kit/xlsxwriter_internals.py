"""The one place that touches xlsxwriter's private internals.

Written against xlsxwriter 3.3.1; setup.cfg pins ``xlsxwriter>=3.3.1,<3.4``. Every name
below that starts with an underscore, or that xlsxwriter does not document, is used here
and nowhere else in the package, and ``tests/test_library_walls.py`` checks each
assumption (the name exists and behaves as written here), so an upgrade fails there with
a message that names the assumption, not later as a corrupt workbook.

What this module assumes of xlsxwriter 3.3:

* ``Worksheet._prepare_formula(formula, expand_future_functions)`` is the one pass every
  formula (cell, array, conditional format) goes through; it strips the leading "=" and
  array braces and adds "_xlfn." prefixes to post-2010 functions.
* ``Worksheet._write_string(row, col, string, cell_format)`` is where ``write_string`` and
  ``write`` store text, ``Worksheet._write_rich_string(row, col, *fragments)`` where
  ``write_rich_string`` does, and ``Worksheet.xls_strmax`` is Excel's 32,767 limit.
* ``SharedStrings._write_si(string)`` writes one ``<si>`` element to ``self.fh``: control
  characters as ``_xHHHH_`` (``XMLwriter._escape_control_characters``), XML escaping
  (``XMLwriter._escape_data``), ``xml:space="preserve"`` around edge spaces, and a string
  that starts with ``<r>`` and ends with ``</r>`` written raw, as the runs of a rich string.
  That last rule, and ``_escape_control_characters`` missing the second of two ``_xHHHH_``
  sequences that share an underscore, are defects for plain text: :class:`FastFormulaWorksheet`
  writes such text as a rich string of plain fragments instead.
* ``SharedStringTable().string_table`` maps each stored string to its index.
* ``Format._get_xf_index()`` gives a format its cell-style index and registers it, so the
  format is written to styles.xml even if no cell written by xlsxwriter uses it.
* ``utility._datetime_to_excel_datetime(value, date_1904, remove_timezone)`` is how a date
  becomes an Excel serial number (later versions also export it without the underscore).
* ``Workbook._store_workbook`` writes the package with :mod:`zipfile`, ``ZIP_DEFLATED``,
  zip64 off (``Workbook.allow_zip64`` False), each part once; docProps dates as
  ``%Y-%m-%dT%H:%M:%SZ``.

Callers that depend on one of these for speed (stamping) must fall back to xlsxwriter's
public API when anything here raises.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from io import StringIO

import xlsxwriter
from xlsxwriter import utility as _utility
from xlsxwriter.format import Format
from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

WRITTEN_AGAINST = "3.3.1"
SUPPORTED = ((3, 3), (3, 4))  # from (inclusive), to (exclusive): as pinned in setup.cfg

DOC_PROPS_DATE = "%Y-%m-%dT%H:%M:%SZ"  # how xlsxwriter's Core writes docProps created/modified

# Two _xHHHH_ sequences sharing an underscore: xlsxwriter escapes only the first.
_CHAINED_ESCAPES = re.compile(r"_x[0-9a-fA-F]{4}_x[0-9a-fA-F]{4}_")
_FUNCTION_RE = re.compile(r"\b([A-Z][A-Z0-9.]*)\(")
# Functions that every Excel since 2007 knows by these names: they never need the
# "_xlfn." prefix that xlsxwriter adds to newer functions.
CLASSIC_FUNCTIONS = frozenset(
    {"IF", "IFERROR", "INDEX", "MATCH", "AVERAGE", "COUNTA", "COUNTIF", "COUNTBLANK", "LEN", "AND", "OR", "NOT",
     "SUM", "ROUND", "TODAY", "ISNUMBER", "ISBLANK", "TRIM"}
)


def version() -> tuple[int, ...]:
    """The installed xlsxwriter's version as numbers, e.g. (3, 3, 1)."""
    return tuple(int(p) for p in re.findall(r"\d+", xlsxwriter.__version__)[:3])


class FastFormulaWorksheet(Worksheet):
    """The base of the worksheet class of every workbook the tool writes (:class:`cmrg_excel.kit.styles.HouseWorksheet`).

    Formulas: xlsxwriter runs several hundred regular expressions over every formula (and
    every conditional-format formula) to add "_xlfn." prefixes to post-2010 functions. Our
    templates hold about a hundred formulas built only from classic functions, so that
    pass was half of the generation time; formulas using anything else still get it.
    Subclassing through ``worksheet_class`` is xlsxwriter's documented extension point.

    Text: xlsxwriter (3.3.1) writes a shared string that starts with "<r>" and ends with
    "</r>" into sharedStrings.xml raw, as if it were rich-text XML it had made itself
    (that is how write_rich_string stores its runs). Plain text of that shape, such as a
    supplier called "<r>boom</r>", so became an empty cell, and "<r>a</b></r>" a corrupt
    file. And it escapes a literal "_xHHHH_" by prefixing "_x005F", but misses the second
    of two that share an underscore ("_x005F_x0042_" came back "_x005FB"). Such text is
    written instead as a rich string of plain fragments, which xlsxwriter escapes like any
    other text: it reads back identical.
    """

    def _prepare_formula(self, formula, expand_future_functions=False):
        if set(_FUNCTION_RE.findall(formula)) <= CLASSIC_FUNCTIONS:
            if formula.startswith("{"):
                formula = formula[1:]
            if formula.startswith("="):
                formula = formula[1:]
            if formula.endswith("}"):
                formula = formula[:-1]
            return formula
        return super()._prepare_formula(formula, expand_future_functions)

    def _write_string(self, row, col, string, cell_format=None):
        # (Text over Excel's 32,767 characters is left to xlsxwriter, which cuts it.)
        if self.needs_fragments(string) and len(string.encode("utf-16-le", "surrogatepass")) <= 2 * self.xls_strmax:
            fragments = self.literal_fragments(string)
            return self._write_rich_string(row, col, *fragments, *([cell_format] if cell_format else []))
        return super()._write_string(row, col, string, cell_format)

    @staticmethod
    def needs_fragments(string: str) -> bool:
        """Whether xlsxwriter would store ``string`` wrongly as a plain shared string."""
        return (string.startswith("<r>") and string.endswith("</r>")) or bool(_CHAINED_ESCAPES.search(string))

    @staticmethod
    def literal_fragments(string: str) -> list:
        """``string`` as rich-string arguments that xlsxwriter escapes as plain text.

        The first fragment is the first character and the rest follow with the default font
        (Calibri 11, the house font), so the cell shows exactly the text. xlsxwriter escapes
        each fragment and then runs its _xHHHH_ escaping once more over the stored runs, so
        the text is also cut between every "_" and "x": no fragment then holds an "_xHHHH_"
        sequence for either pass to touch. (A control character in such a string still
        comes back as its _xHHHH_ code: xlsxwriter escapes it twice.)
        """
        pieces = [string[0]] + re.split(r"(?<=_)(?=x)", string[1:])
        default = Format()
        args: list = [pieces[0]]
        for piece in pieces[1:]:
            args += [default, piece]
        return args


def format_index(fmt: Format | None) -> int:
    """The cell-style index of ``fmt`` (0, the default style, for None), registered so that
    xlsxwriter writes the format into styles.xml: for cells written around xlsxwriter."""
    return 0 if fmt is None else fmt._get_xf_index()


_XML = XMLwriter()


def element_text_xml(text: str) -> str:
    """Element text as ``XMLwriter._xml_data_element`` writes it (docProps, headers, footers)."""
    return _XML._escape_control_characters(_XML._escape_data(text))


def shared_string_xml(string: str) -> str:
    """The ``<si>`` element xlsxwriter writes for a cell holding ``string`` through
    :class:`FastFormulaWorksheet` (text it would mangle as the rich string made of it)."""
    if FastFormulaWorksheet.needs_fragments(string):
        scratch = FastFormulaWorksheet()
        scratch.str_table = SharedStringTable()
        scratch._write_string(0, 0, string)
        (string,) = scratch.str_table.string_table
    writer = SharedStrings()
    writer.fh = StringIO()
    writer._write_si(string)
    return writer.fh.getvalue()


_to_excel_serial = getattr(_utility, "datetime_to_excel_datetime", None) or getattr(
    _utility, "_datetime_to_excel_datetime", None)


def excel_serial(value: dt.datetime, date_1904: bool = False, remove_timezone: bool = False) -> float:
    """``value`` as the Excel serial number xlsxwriter writes for it in a date cell."""
    if _to_excel_serial is None:
        raise AttributeError("xlsxwriter.utility has no datetime_to_excel_datetime")
    return _to_excel_serial(value, date_1904, remove_timezone)


def package_writer(target: io.BytesIO) -> zipfile.ZipFile:
    """A zip writer set up as ``Workbook._store_workbook`` sets up the package's."""
    return zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=False)


# --- text written into a package around xlsxwriter ----------------------------------------
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The "_" that starts an _xHHHH_ look-alike: a lookahead, so that two sharing an underscore
# ("_x0041_x0042_") are both escaped (a plain match consumes the shared "_" and misses the second).
_LOOKALIKE_START = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def cell_text_xml(value: str) -> str:
    """``value`` as the text of a ``<t>`` element that Excel, LibreOffice, openpyxl and
    calamine read back as ``value``: XML-escaped, an ``_xHHHH_`` look-alike kept literal by
    escaping its "_" as ``_x005F_``, characters XML cannot hold as ``_xHHHH_``.

    For writers that fill a package's sharedStrings.xml themselves (the summary's bulk rows);
    xlsxwriter's own escaping misses chained look-alikes."""
    if "_x" in value:
        value = _LOOKALIKE_START.sub("_x005F_", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _BAD_XML.search(value):
        value = _BAD_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return value
