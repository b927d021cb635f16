"""How the summary looks: its formats (made once per workbook) and the small cell-writing
helpers its sheets share (score cells, colour scales, row heights, area headings)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...core.framework import Scale
from ...kit.styles import (
    BLUE,
    DARK_GREY,
    FONT,
    GREEN_FILL,
    GREEN_TEXT,
    GREY,
    MID_GREY,
    MONEY_FORMAT,
    NAVY,
    RED_FILL,
    RED_TEXT,
    SCORE_FORMAT,
    Styles,
    lines_height,
    row_height,
    text_lines,
    wrapped_height,
)
from .bulk import BulkColumn

# Colours of the ratings, worst to best, then Not applicable.
# "2 Good" is a full amber, not a pale yellow, so that it shows on paper and in greyscale.
LEVEL_COLOURS = ["#C0504D", "#ED7D31", "#FFC000", "#A9D18E", "#548235"]
NA_COLOUR = "#BFBFBF"
CS_LOW, CS_MID, CS_HIGH = "#F8696B", "#FFEB84", "#63BE7B"


class Formats:
    """The summary's formats, made once per workbook (never per cell)."""

    def __init__(self, wb):
        st = Styles(wb)
        self.st = st
        base = {"font_name": FONT, "font_size": 11, "valign": "top"}
        border = {"border": 1, "border_color": MID_GREY}
        add = lambda **kw: wb.add_format({**base, **kw})  # noqa: E731
        self.title, self.subtitle, self.heading, self.note = st.title, st.subtitle, st.heading, st.note
        self.subtitle_wrap = add(font_color=DARK_GREY, text_wrap=True)
        self.area_band = add(bold=True, font_color=NAVY, bg_color="#DDEBF7", text_wrap=True, align="center",
                             valign="vcenter", **border)
        self.header = st.header
        self.header_c = add(bold=True, font_color="#FFFFFF", bg_color=NAVY, text_wrap=True, valign="vcenter",
                            align="center", **border)
        self.cell = st.cell
        self.cell_nowrap = add(**border)
        self.cell_money = st.cell_money
        self.cell_date = st.cell_date
        self.cell_datetime = add(num_format="dd/mm/yyyy hh:mm", align="left", **border)
        self.cell_score = st.cell_score
        self.cell_int = add(num_format="#,##0", align="center", **border)
        self.cell_center = add(align="center", **border)
        self.cell_na = add(align="center", italic=True, font_color=DARK_GREY, **border)
        self.cell_pct = add(num_format="0%", align="center", **border)
        # Changes are written rounded to 2 places (see rounded_change), so no tiny fall shows as "-0.00".
        self.cell_delta = add(num_format="+0.00;-0.00;0.00", align="center", **border)
        self.cell_bold = add(bold=True, text_wrap=True, **border)
        self.cell_score_bold = add(bold=True, num_format=SCORE_FORMAT, align="center", **border)
        self.kpi = add(bold=True, font_size=22, font_color=NAVY, num_format="#,##0", align="left", valign="bottom")
        self.kpi_money = add(bold=True, font_size=22, font_color=NAVY, num_format=MONEY_FORMAT, align="left",
                             valign="bottom")
        self.kpi_money_m = add(bold=True, font_size=22, font_color=NAVY, num_format='£#,##0.0,,"m"', align="left",
                               valign="bottom")
        self.kpi_label = add(font_color=DARK_GREY, valign="top", text_wrap=True)
        self.kpi_alert = add(bold=True, font_size=22, font_color=RED_TEXT, num_format="#,##0", align="left",
                             valign="bottom")
        self.bullet = add(text_wrap=True, valign="top")
        self.finding_kind = {
            "strength": add(bold=True, bg_color=GREEN_FILL, font_color=GREEN_TEXT, **border),
            "issue": add(bold=True, bg_color=RED_FILL, font_color=RED_TEXT, **border),
            "inconsistency": add(bold=True, bg_color="#FFEB9C", font_color="#9C5700", **border),
            "evidence": add(bold=True, bg_color=GREY, font_color=DARK_GREY, **border),
        }
        self.section = add(bold=True, font_size=13, font_color=NAVY, bottom=2, bottom_color=BLUE)
        self.cf_good = st.cf_good
        self.cf_bad = st.cf_bad
        self.cf_same = wb.add_format({"bg_color": GREY, "font_color": DARK_GREY})


KPI_SIZE = 22           # points: the headline figures
KPI_CHARS_PER_UNIT = 0.47  # digits of a bold 22-point figure per unit of column width (an 11-point "0")


def _figure_chars(text: str) -> float:
    """How many digit-widths ``text`` takes (a point, a space or a minus sign about half one)."""
    return sum(0.5 if ch in ". -" else 1.0 for ch in text)


def score_figure(scale: Scale, width_units: float) -> tuple[str, int, str]:
    """The average maturity figure for this scale in a cell ``width_units`` wide: (number format,
    font size, words for its label). "2.3 of 4" on a scale from 0 when that fits (the NAO scale);
    otherwise the bare number, the scale named in the label ("0 to 100", "-2 to 2"), and a smaller
    font only if even the number would not fit (Excel shows ### for a number wider than its cell)."""
    lo, hi = scale.min_score, scale.max_score
    widest = max(_figure_chars(f"{v:.1f}") for v in (lo, hi, (lo + hi) / 2 - 0.05))
    capacity = width_units * KPI_CHARS_PER_UNIT
    if lo == 0 and widest + _figure_chars(f" of {hi}") <= capacity:
        return f'0.0" of {hi}"', KPI_SIZE, ""
    size = KPI_SIZE if widest <= capacity else max(11, int(KPI_SIZE * capacity / widest))
    return "0.0", size, f"{lo} to {hi}"


def score_axis(scale: Scale) -> dict:
    """A chart's score axis over the whole scale (and 0), a gridline at each level when they are evenly spaced."""
    scores = [lv.score for lv in scale.levels]
    gaps = {b - a for a, b in zip(scores, scores[1:])}
    unit = gaps.pop() if len(gaps) == 1 else None
    axis = {"min": min(0, scores[0]), "max": max(0, scores[-1])}
    if unit is not None and (axis["max"] - axis["min"]) / unit <= 20:
        axis["major_unit"] = unit
    return axis


def scale_text(scale: Scale) -> str:
    """ "0 Not in place to 4 Best": the lowest and highest levels, each with its score."""
    lo, hi = scale.levels[0], scale.levels[-1]
    return f"{lo.score} {scale.name_of(lo.score)} to {hi.score} {scale.name_of(hi.score)}"


def colour_scale(ws, first_row, first_col, last_row, last_col, scale: Scale) -> None:
    scores = [lv.score for lv in scale.levels]
    ws.conditional_format(first_row, first_col, last_row, last_col, {
        "type": "3_color_scale",
        "min_type": "num", "min_value": min(scores), "min_color": CS_LOW,
        "mid_type": "num", "mid_value": (min(scores) + max(scores)) / 2, "mid_color": CS_MID,
        "max_type": "num", "max_value": max(scores), "max_color": CS_HIGH,
    })


def write_scores(ws, row: int, col: int, values, fmt, na_fmt, na_text: str = "n/a") -> None:
    for j, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            ws.write_string(row, col + j, na_text, na_fmt)
        else:
            ws.write_number(row, col + j, float(v), fmt)


def wrapped_heights(*columns: tuple[list, float]) -> list[float | None]:
    """Per row, the height that shows every line of the wrapped text columns (values, width);
    None where it all fits on one line, so the row keeps the default height."""
    n = len(columns[0][0]) if columns else 0
    out: list[float | None] = []
    for i in range(n):
        out.append(wrapped_height(*[(str(values[i]), width) for values, width in columns]))
    return out


def text_height(text: str, chars_per_line: float) -> float:
    """The height of wrapped text ``chars_per_line`` characters wide (the house estimate; a little room below)."""
    return lines_height(text_lines(str(text), chars_per_line)) + 2


def area_header(number: int, name: str) -> str:
    return f"{number} {name}"


def score_column(values: pd.Series, fmt, na_fmt) -> BulkColumn:
    """Scores, with n/a (text) where there is none."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    if np.isnan(arr).any():
        return BulkColumn(np.where(np.isnan(arr), "n/a", arr.astype(object)).tolist(), "mixed", fmt, na_fmt)
    return BulkColumn(arr, "number", fmt)



def paragraph(ws, row: int, last_col: int, text: str, fmt, width_chars: float) -> None:
    """``text`` wrapped across columns A to ``last_col`` (``width_chars`` wide in all), in a row
    tall enough for every line: a long sentence in one cell would run past the printed page."""
    if last_col > 0:
        ws.merge_range(row, 0, row, last_col, text, fmt)
    else:
        ws.write_string(row, 0, text, fmt)
    ws.set_row(row, row_height((text, width_chars)))


def section(ws, fm, row: int, last_col: int, title: str) -> None:
    """A section heading ruled across columns A to ``last_col``."""
    ws.write_string(row, 0, title, fm.section)
    for c in range(1, last_col + 1):
        ws.write_blank(row, c, None, fm.section)
