"""One house style for every workbook the tool writes (xlsxwriter formats and print set-up)."""

from __future__ import annotations

import io

import xlsxwriter

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


def new_workbook(target=None) -> tuple[xlsxwriter.Workbook, io.BytesIO | None]:
    """A workbook with the safe options; in memory (returning its buffer) when no target is given."""
    buffer = None
    if target is None:
        buffer = io.BytesIO()
        target = buffer
    wb = xlsxwriter.Workbook(target, {**WORKBOOK_OPTIONS, "in_memory": True})
    return wb, buffer


class Styles:
    """Named formats for one workbook (xlsxwriter formats belong to a workbook)."""

    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 11, "valign": "top"}
        add = lambda **kw: wb.add_format({**base, **kw})  # noqa: E731
        border = {"border": 1, "border_color": MID_GREY}
        inp = {"locked": False, "border": 1, "border_color": BLUE, "bg_color": "#FFFFFF", "text_wrap": True}
        self.title = add(bold=True, font_size=16, font_color=NAVY, valign="vcenter")
        self.subtitle = add(font_size=11, font_color=DARK_GREY, text_wrap=False)
        self.heading = add(bold=True, font_size=12, font_color=NAVY)
        self.text = add(text_wrap=True)
        self.bold = add(bold=True, text_wrap=True)
        self.note = add(italic=True, font_color=DARK_GREY, text_wrap=True)
        self.header = add(bold=True, font_color="#FFFFFF", bg_color=NAVY, text_wrap=True, valign="vcenter", **border)
        self.locked = add(bg_color=GREY, text_wrap=True, **border)
        self.locked_bold = add(bg_color=GREY, bold=True, text_wrap=True, **border)
        self.locked_center = add(bg_color=GREY, align="center", **border)
        self.locked_money = add(bg_color=GREY, num_format=MONEY_FORMAT, align="left", **border)
        self.locked_date = add(bg_color=GREY, num_format=DATE_FORMAT, align="left", **border)
        self.locked_score = add(bg_color=GREY, num_format=SCORE_FORMAT, align="center", **border)
        self.guidance = add(bg_color=GREY, italic=True, font_color=DARK_GREY, font_size=10, text_wrap=True, **border)
        self.area = add(bold=True, font_color=NAVY, bg_color=PALE_BLUE, text_wrap=True, valign="vcenter", **border)
        self.area_score = add(bold=True, font_color=NAVY, bg_color=PALE_BLUE, num_format=SCORE_FORMAT, align="center",
                              valign="vcenter", **border)
        self.input = add(**inp)
        self.input_date = add(**inp, num_format=DATE_FORMAT, align="left")
        self.input_center = add(**inp, align="center")
        self.carried = add(**{**inp, "bg_color": CARRIED_FILL})
        self.carried_date = add(**{**inp, "bg_color": CARRIED_FILL}, num_format=DATE_FORMAT, align="left")
        self.problem = add(**{**inp, "bg_color": RED_FILL, "border_color": RED_TEXT})
        self.problem_date = add(**{**inp, "bg_color": RED_FILL, "border_color": RED_TEXT}, num_format=DATE_FORMAT)
        self.money = add(num_format=MONEY_FORMAT)
        self.date = add(num_format=DATE_FORMAT, align="left")
        self.score = add(num_format=SCORE_FORMAT, align="center")
        self.cell = add(text_wrap=True, **border)
        self.cell_money = add(num_format=MONEY_FORMAT, **border)
        self.cell_date = add(num_format=DATE_FORMAT, align="left", **border)
        self.cell_score = add(num_format=SCORE_FORMAT, align="center", **border)
        self.big_number = add(bold=True, font_size=20, font_color=NAVY, align="left", num_format="#,##0")
        self.big_money = add(bold=True, font_size=20, font_color=NAVY, align="left", num_format="£#,##0,,\"m\"")
        self.big_label = add(font_color=DARK_GREY, text_wrap=True)
        self.cf_blank = wb.add_format({"bg_color": AMBER_FILL, "font_color": AMBER_TEXT})
        self.cf_bad = wb.add_format({"bg_color": RED_FILL, "font_color": RED_TEXT})
        self.cf_good = wb.add_format({"bg_color": GREEN_FILL, "font_color": GREEN_TEXT})


def footer_text(text: str) -> str:
    """Text safe inside an Excel header or footer (& starts a control code there)."""
    return text.replace("&", "&&")


def print_setup(ws, *, landscape: bool = True, repeat_to_row: int | None = None, left_footer: str = "",
                header: str = "", fit_width: bool = True) -> None:
    """A4, fit to one page wide, repeated header rows, footer with page numbers."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    if fit_width:
        ws.fit_to_pages(1, 0)
    if repeat_to_row is not None:
        ws.repeat_rows(0, repeat_to_row)
    if header:
        ws.set_header(f"&L&8{footer_text(header)}")
    ws.set_footer(f"&L&8{footer_text(left_footer)}&R&8Page &P of &N")


def row_height(*cells: tuple[str, float], font_size: float = 11, minimum: float = 15.0) -> float:
    """Height in points for a row of wrapped text, so that every line shows.

    Neither Excel nor LibreOffice re-fits row heights when opening a generated file, so
    wrapped text needs an explicit height. ``cells`` are (text, column width) pairs.
    """
    import math

    line = 15.0 * font_size / 11
    per_char = 11 / font_size  # a column width unit holds about one 11-point character
    lines = 1
    for text, width in cells:
        if not text:
            continue
        capacity = max(1.0, (width - 1) * per_char * 1.05)
        n = sum(max(1, math.ceil(len(part) / capacity)) for part in str(text).split("\n"))
        lines = max(lines, n)
    return max(minimum, lines * line + 2)
