"""One house style for every workbook the tool writes: colours, named formats, print set-up, the
safe workbook options (:func:`new_workbook`), and the one estimate of row heights for wrapped text."""

from __future__ import annotations

import functools
import io
import math
import re

import xlsxwriter

from .xlsxwriter_internals import FastFormulaWorksheet

NAVY = "#1F3864"
BLUE = "#4472C4"
PALE_BLUE = "#DDEBF7"
GREY = "#F2F2F2"
MID_GREY = "#BFBFBF"
DARK_GREY = "#595959"
AMBER_FILL = "#FFEB9C"
AMBER_TEXT = "#9C5700"
RED_FILL = "#FFC7CE"
RED_TEXT = "#9C0006"
GREEN_FILL = "#C6EFCE"
GREEN_TEXT = "#006100"
CARRIED_FILL = "#E2EFDA"
FONT = "Calibri"

DATE_FORMAT = "dd/mm/yyyy"
MONEY_FORMAT = "£#,##0"
SCORE_FORMAT = "0.0"

# People's text is never turned into formulas or links (CWE-1236).
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": DATE_FORMAT,
}


_COLUMNS_RE = re.compile(r"^\$?([A-Z]{1,3})(?:\d*)?(?::\$?([A-Z]{1,3})\d*)?$")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


class HouseWorksheet(FastFormulaWorksheet):
    """The worksheet of every workbook the tool writes: xlsxwriter's, with its text and formula
    fixes (:class:`~cmrg_excel.kit.xlsxwriter_internals.FastFormulaWorksheet`), and remembering
    its column widths so that :func:`print_setup` can work out the print scale (``set_column``
    is public API)."""

    def set_column(self, first_col, last_col=None, width=None, cell_format=None, options=None):
        if isinstance(first_col, str):  # "A:C" (xlsxwriter's own form), shifted along like the others
            m = _COLUMNS_RE.match(first_col.upper())
            first, last = (_column_number(m.group(1)), _column_number(m.group(2) or m.group(1))) if m else (0, -1)
            cell_format, options, width = width, cell_format, last_col
            result = super().set_column(first_col, width, cell_format, options)
        else:
            first, last = first_col, first_col if last_col is None else last_col
            result = super().set_column(first_col, last, width, cell_format, options)
        hidden = bool((options or {}).get("hidden"))
        widths = self.__dict__.setdefault("cmrg_widths", {})
        for col in range(first, last + 1):
            widths[col] = 0.0 if hidden else (DEFAULT_WIDTH if width is None else float(width))
        return result


def new_workbook(target=None) -> tuple[xlsxwriter.Workbook, io.BytesIO | None]:
    """A workbook with the safe options; in memory (returning its buffer) when no target is given."""
    buffer = None
    if target is None:
        buffer = io.BytesIO()
        target = buffer
    wb = xlsxwriter.Workbook(target, {**WORKBOOK_OPTIONS, "in_memory": True})
    wb.worksheet_class = HouseWorksheet
    return wb, buffer


_BORDER = {"border": 1, "border_color": MID_GREY}
_INPUT = {"locked": False, "border": 1, "border_color": BLUE, "bg_color": "#FFFFFF", "text_wrap": True}
_CARRIED = {**_INPUT, "bg_color": CARRIED_FILL}
_PROBLEM = {**_INPUT, "bg_color": RED_FILL, "border_color": RED_TEXT}
_BASE = {"font_name": FONT, "font_size": 11, "valign": "top"}

# Every named format of the house style. Formats are made on first use, so a workbook
# carries (and Excel loads) only the ones it needs.
FORMATS: dict[str, dict] = {
    "title": {"bold": True, "font_size": 16, "font_color": NAVY, "valign": "vcenter"},
    "subtitle": {"font_color": DARK_GREY},
    "heading": {"bold": True, "font_size": 12, "font_color": NAVY},
    "text": {"text_wrap": True},
    "bold": {"bold": True, "text_wrap": True},
    "note": {"italic": True, "font_color": DARK_GREY, "text_wrap": True},
    "header": {"bold": True, "font_color": "#FFFFFF", "bg_color": NAVY, "text_wrap": True, "valign": "vcenter", **_BORDER},
    "locked": {"bg_color": GREY, "text_wrap": True, **_BORDER},
    "locked_bold": {"bg_color": GREY, "bold": True, "text_wrap": True, **_BORDER},
    "locked_center": {"bg_color": GREY, "align": "center", **_BORDER},
    "locked_money": {"bg_color": GREY, "num_format": MONEY_FORMAT, "align": "left", **_BORDER},
    "locked_date": {"bg_color": GREY, "num_format": DATE_FORMAT, "align": "left", **_BORDER},
    "locked_score": {"bg_color": GREY, "num_format": SCORE_FORMAT, "align": "center", **_BORDER},
    "guidance": {"bg_color": GREY, "font_color": DARK_GREY, "text_wrap": True, **_BORDER},
    "area": {"bold": True, "font_color": NAVY, "bg_color": PALE_BLUE, "text_wrap": True, "valign": "vcenter", **_BORDER},
    "area_score": {"bold": True, "font_color": NAVY, "bg_color": PALE_BLUE, "num_format": SCORE_FORMAT,
                   "align": "center", "valign": "vcenter", **_BORDER},
    "input": _INPUT,
    "input_date": {**_INPUT, "num_format": DATE_FORMAT, "align": "left"},
    "input_center": {**_INPUT, "align": "center"},
    "carried": _CARRIED,
    "carried_date": {**_CARRIED, "num_format": DATE_FORMAT, "align": "left"},
    "problem": _PROBLEM,
    "problem_date": {**_PROBLEM, "num_format": DATE_FORMAT},
    "money": {"num_format": MONEY_FORMAT},
    "date": {"num_format": DATE_FORMAT, "align": "left"},
    "score": {"num_format": SCORE_FORMAT, "align": "center"},
    "cell": {"text_wrap": True, **_BORDER},
    "cell_money": {"num_format": MONEY_FORMAT, **_BORDER},
    "cell_date": {"num_format": DATE_FORMAT, "align": "left", **_BORDER},
    "cell_score": {"num_format": SCORE_FORMAT, "align": "center", **_BORDER},
    "big_number": {"bold": True, "font_size": 20, "font_color": NAVY, "align": "left", "num_format": "#,##0"},
    "big_money": {"bold": True, "font_size": 20, "font_color": NAVY, "align": "left", "num_format": '£#,##0.0,,"m"'},
    "big_label": {"font_color": DARK_GREY, "text_wrap": True},
}
# Conditional-format formats carry only what they change.
CF_FORMATS: dict[str, dict] = {
    "cf_blank": {"bg_color": AMBER_FILL, "font_color": AMBER_TEXT},
    "cf_bad": {"bg_color": RED_FILL, "font_color": RED_TEXT},
    "cf_good": {"bg_color": GREEN_FILL, "font_color": GREEN_TEXT},
}


class Styles:
    """Named formats for one workbook (xlsxwriter formats belong to a workbook)."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self._wb = wb

    def __getattr__(self, name: str):
        if name in FORMATS:
            fmt = self._wb.add_format({**_BASE, **FORMATS[name]})
        elif name in CF_FORMATS:
            fmt = self._wb.add_format(CF_FORMATS[name])
        else:
            raise AttributeError(name)
        setattr(self, name, fmt)
        return fmt


def footer_text(text: str) -> str:
    """Text safe inside an Excel header or footer (& starts a control code there)."""
    return text.replace("&", "&&")


# Printing. Every workbook prints on A4 with half-inch side margins; a sheet is scaled to fit
# its columns across the page, and nothing may print smaller than MIN_PRINT_POINTS once scaled.
A4 = 9
A4_INCHES = (8.27, 11.69)
SIDE_MARGIN = 0.5
MIN_PRINT_POINTS = 8
HEADER_FOOTER_MAX = 255  # characters Excel allows in a header or footer, codes included
DEFAULT_WIDTH = 8.43
_WIDTH_SLACK = 0.98


def column_points(width: float) -> float:
    """Points a column of ``width`` character units takes on paper, in whichever of Excel and
    LibreOffice Calc draws it wider: Excel gives 5.25 points a unit plus 3.75 (7-pixel digits
    and 5 pixels of padding at 96 pixels an inch), Calc 7.4 about 5.55 a unit plus 4, so
    Calc's figure is used."""
    if width <= 0:
        return 0.0
    return max(5.25 * width + 3.75, 5.55 * width + 4.0)


def printable_points(landscape: bool) -> float:
    """The width of an A4 page between the side margins, in points."""
    return ((A4_INCHES[1] if landscape else A4_INCHES[0]) - 2 * SIDE_MARGIN) * 72


def fit_scale(widths, landscape: bool = True) -> int:
    """The print scale (per cent, at most 100) that fits columns of ``widths`` across the page."""
    total = sum(column_points(w) for w in widths)
    if total <= 0:
        return 100
    return max(10, min(100, int(printable_points(landscape) / total * 100 * _WIDTH_SLACK)))


def smallest_font_scale(font_size: float) -> int:
    """The smallest print scale at which ``font_size`` still prints at MIN_PRINT_POINTS."""
    return math.ceil(MIN_PRINT_POINTS * 100 / font_size)


def print_setup(ws, *, landscape: bool = True, repeat_to_row: int | None = None, left_footer: str = "",
                header: str = "", fit_width: bool = True, widths=None, last_col: int | None = None,
                scale: int | None = None, marking: str = "") -> int:
    """A4, scaled to fit the columns across one page, repeated header rows, a header and a
    footer with page numbers that print at 8 points or more whatever the scale, and the
    protective ``marking`` (``[council] marking``), in bold capitals at the top right of every
    page of a workbook for the committee or members. Returns the print scale.

    The scale is worked out here from the column widths (``widths``, or those the sheet was
    given, up to ``last_col``) rather than left to "fit to page", so that the header and
    footer can be sized to match and manual page breaks are honoured."""
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=SIDE_MARGIN, right=SIDE_MARGIN, top=0.7, bottom=0.7)
    if scale is None:
        scale = 100
        if fit_width:
            if widths is None:
                known = getattr(ws, "cmrg_widths", {})
                last = max(known, default=-1) if last_col is None else last_col
                widths = [known.get(c, DEFAULT_WIDTH) for c in range(last + 1)]
            scale = fit_scale(widths, landscape)
    if scale < 100:
        ws.set_print_scale(scale)
    if repeat_to_row is not None:
        ws.repeat_rows(0, repeat_to_row)
    # Calc and Excel shrink the header and footer with the page: size them so they print at 8 pt.
    size = max(8, math.ceil(MIN_PRINT_POINTS * 100 / scale))
    # "&8" sets the font size and takes every digit after it: without the space, a contract
    # ID such as 123-X would be read as font size 8123 followed by "-X".
    mark = (f'&R&"Calibri,Bold"&{size} {footer_text(" ".join(marking.split()).upper())}'
            if marking and marking.strip() else "")
    left = f"&L&{size} {footer_text(header)}" if header else ""
    if len(left + mark) > HEADER_FOOTER_MAX:  # Excel's limit (xlsxwriter drops a longer one): the marking stays
        left = ""
    if left or mark:
        ws.set_header(left + mark)
    ws.set_footer(f"&L&{size} {footer_text(left_footer)}&R&{size} Page &P of &N")
    return scale


# --- row heights ---------------------------------------------------------------------------
# Neither Excel nor LibreOffice re-fits row heights when opening a generated file, so every
# row of wrapped text gets an explicit height. This is the one estimate of how text wraps,
# used by every workbook: a column width unit holds about one 11-point character (a little
# more for prose; the estimate leans to a line too many, never one too few).
LINE_POINTS = 15.0  # one line of 11-point text

# Characters of ordinary 11-point Calibri (or Carlito) text a line holds per unit of column
# width, allowing for a line broken between words: a unit is one digit's width, and the
# average letter, with its spaces, is narrower. The print tests (every printed word on
# paper) hold it to account.
CHARS_PER_UNIT = 1.18


def line_capacity(width: float, font_size: float = 11) -> float:
    """Characters of ``font_size``-point text that one line of a column ``width`` units wide holds."""
    return max(1.0, (width - 1) * (11 / font_size) * CHARS_PER_UNIT)


@functools.lru_cache(maxsize=4096)
def text_lines(text: str, capacity: float) -> int:
    """Lines that ``text`` takes when wrapped at ``capacity`` characters (each newline starts one)."""
    return sum(max(1, math.ceil(len(part) / capacity)) for part in text.split("\n"))


def lines_height(lines: int, font_size: float = 11) -> float:
    """Points for ``lines`` lines of ``font_size``-point text, with room for the cell's padding."""
    return lines * LINE_POINTS * font_size / 11 + 2


def row_height(*cells: tuple[str, float], font_size: float = 11, minimum: float = 15.0) -> float:
    """Height in points for a row of wrapped text, so that every line shows.

    ``cells`` are (text, column width) pairs; a merged range's width is the sum of its columns.
    """
    lines = max((text_lines(str(text), line_capacity(width, font_size)) for text, width in cells if text),
                default=1)
    return max(minimum, lines_height(lines, font_size))


def wrapped_height(*cells: tuple[str, float]) -> float | None:
    """:func:`row_height` when the text needs more than one line (17 points), else None: the row
    can keep the default height."""
    height = row_height(*cells)
    return height if height > 17.5 else None
