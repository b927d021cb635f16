"""Large tables written straight into the sheet's XML (the activity heatmap, actions, Data).

xlsxwriter lays out the sheet (widths, header, table, conditional formats) and the rows are
appended to the sheet's XML in one vectorised pass, because cell-by-cell writing of 70,000
answers is far too slow for the 3-second budget.

The one private xlsxwriter call (a format's style index) goes through the wall around
xlsxwriter, :func:`cmrg_excel.kit.xlsxwriter_internals.format_index`; text is escaped by its
:func:`~cmrg_excel.kit.xlsxwriter_internals.cell_text_xml`. What this module assumes of the
package xlsxwriter writes (sheet parts named in sheet order, one shared-string table) is
checked by the summary's own tests.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from ...kit.xlsxwriter_internals import cell_text_xml, format_index

MAX_CELL_TEXT = 32767


_EPOCH = np.datetime64("1899-12-30T00:00:00")


def xml_text(value: str) -> str:
    """Text for an inline string: XML-escaped, control characters as Excel's _xHHHH_ escapes."""
    if len(value) > MAX_CELL_TEXT:
        value = value[: MAX_CELL_TEXT - 1] + "…"
    return cell_text_xml(value)


def excel_serial(values: pd.Series) -> np.ndarray:
    """Dates/datetimes as Excel serial numbers (NaN where missing)."""
    s = pd.to_datetime(values, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    arr = s.to_numpy(dtype="datetime64[ns]")
    out = (arr - _EPOCH.astype("datetime64[ns]")) / np.timedelta64(1, "D")
    return np.where(pd.isna(s.to_numpy()), np.nan, out)


def style_index(fmt) -> int:
    """The index of ``fmt`` in the workbook's cell styles, assigned now so that xlsxwriter
    writes the style into styles.xml (through the wall, :mod:`cmrg_excel.kit.xlsxwriter_internals`)."""
    return format_index(fmt)


@dataclass
class BulkColumn:
    values: object            # sequence
    kind: str                 # text, number, or mixed (numbers plus short text markers such as "n/a")
    fmt: object               # xlsxwriter Format
    text_fmt: object = None   # format of the text markers of a mixed column
    style: int = 0
    text_style: int = 0


class BulkRows:
    """Rows appended to a worksheet's XML after xlsxwriter has written the rest of it.

    Each column is factorised (pandas), each distinct value turned into its cell XML once,
    and the rows assembled with numpy: no per-cell Python work. Text goes into the shared
    string table (so it is text, never a formula); cells are positional within their
    ``<row r=...>`` (the optional ``r`` attribute of ``<c>`` is left out) and empty cells are
    written as styled blanks to keep the positions. A table over the rows is declared to
    xlsxwriter with one data row (its overlap check visits every cell) and widened here.
    ``heights`` (points, None for the default) gives rows of wrapped text the height to show
    it all: neither Excel nor LibreOffice grows a row of a generated file by itself.
    """

    def __init__(self):
        self.jobs: dict[str, tuple[int, list[BulkColumn], int, str | None, list | None]] = {}

    def add(self, ws, first_row: int, columns: list[BulkColumn], table: str | None = None,
            heights: list | None = None) -> None:
        n = len(columns[0].values) if columns else 0
        # Formats get their index now, so xlsxwriter writes them into styles.xml.
        for c in columns:
            c.style = style_index(c.fmt) if c.fmt is not None else 0
            c.text_style = style_index(c.text_fmt) if c.text_fmt is not None else c.style
        self.jobs[ws.name] = (first_row, columns, n, table, heights)

    @staticmethod
    def _cells(col: BulkColumn, sst: dict[str, int], base: int) -> tuple[np.ndarray, int]:
        """Per row, the cell's XML; and how many shared-string references were made."""
        values = col.values
        if col.kind == "number":
            values = np.asarray(values, dtype="float64")
        else:
            values = np.asarray(values, dtype=object)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        blank = f'<c s="{col.style}"/>'
        table, is_text = [], []
        for u in list(uniques):
            if u is None or (isinstance(u, float) and u != u) or (isinstance(u, str) and u == ""):
                table.append(blank)
                is_text.append(False)
            elif isinstance(u, str):
                idx = sst.setdefault(u, base + len(sst))
                style = col.text_style if col.kind == "mixed" else col.style
                table.append(f'<c s="{style}" t="s"><v>{idx}</v></c>')
                is_text.append(True)
            else:
                table.append(f'<c s="{col.style}"><v>{float(u):.15g}</v></c>')
                is_text.append(False)
        table.append(blank)
        is_text.append(False)
        refs = int(np.asarray(is_text)[codes].sum())
        return np.asarray(table, dtype=object)[codes], refs

    def _rows_xml(self, first_row: int, columns: list[BulkColumn], n: int, sst: dict, base: int,
                  heights: list | None = None) -> tuple[str, int]:
        grid = np.empty((n, len(columns) + 2), dtype=object)
        if heights is None:
            grid[:, 0] = [f'<row r="{i}">' for i in range(first_row + 1, first_row + 1 + n)]
        else:
            grid[:, 0] = [f'<row r="{i}">' if h is None else f'<row r="{i}" ht="{h:g}" customHeight="1">'
                          for i, h in zip(range(first_row + 1, first_row + 1 + n), heights)]
        refs = 0
        for j, col in enumerate(columns):
            grid[:, 1 + j], k = self._cells(col, sst, base)
            refs += k
        grid[:, -1] = "</row>"
        return "".join(grid.ravel().tolist()), refs

    def apply(self, xlsx: bytes, sheet_names: list[str]) -> bytes:
        """The workbook with the bulk rows inserted into their sheets and tables widened."""
        src = zipfile.ZipFile(io.BytesIO(xlsx))
        names = set(src.namelist())
        # every summary sheet has a title, so xlsxwriter always writes a shared string table
        sst_xml = src.read("xl/sharedStrings.xml").decode("utf-8")
        m = re.search(r'count="(\d+)" uniqueCount="(\d+)"', sst_xml or "")
        count, base = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        sst: dict[str, int] = {}
        replaced: dict[str, bytes] = {}
        for name, (first_row, columns, n, table, heights) in self.jobs.items():
            if not n:
                continue
            part = f"xl/worksheets/sheet{sheet_names.index(name) + 1}.xml"
            xml = src.read(part).decode("utf-8")
            body, refs = self._rows_xml(first_row, columns, n, sst, base, heights)
            count += refs
            # xlsxwriter wrote only the rows above first_row; drop any it wrote at first_row
            xml = re.sub(rf'<row r="{first_row + 1}"[^>]*?(?:/>|>.*?</row>)', "", xml, count=1, flags=re.S)
            last = xl_rowcol_to_cell(first_row + n - 1, max(len(columns) - 1, 0))
            dim = re.search(r'<dimension ref="([A-Z]+\d+)(?::[A-Z]+\d+)?"/>', xml)
            if dim:
                xml = xml[: dim.start()] + f'<dimension ref="{dim.group(1)}:{last}"/>' + xml[dim.end():]
            if "<sheetData/>" in xml:
                xml = xml.replace("<sheetData/>", f"<sheetData>{body}</sheetData>", 1)
            else:
                i = xml.index("</sheetData>")
                xml = xml[:i] + body + xml[i:]
            replaced[part] = xml.encode("utf-8")
        tables = {job[3]: job for job in self.jobs.values() if job[3] and job[2]}
        for part in names:
            if part.startswith("xl/tables/") and part.endswith(".xml"):
                xml = src.read(part).decode("utf-8")
                tname = re.search(r' name="([^"]+)"', xml)
                job = tables.get(tname.group(1)) if tname else None
                if job is not None:
                    end = job[0] + job[2]
                    xml = re.sub(r'ref="([A-Z]+)(\d+):([A-Z]+)\d+"', rf'ref="\1\2:\g<3>{end}"', xml)
                    replaced[part] = xml.encode("utf-8")
        if sst:
            items = []
            for text in sst:  # insertion order = index order
                t = xml_text(text)
                sp = ' xml:space="preserve"' if t != t.strip() else ""
                items.append(f"<si><t{sp}>{t}</t></si>")
            total = base + len(sst)
            head = re.sub(r'count="\d+" uniqueCount="\d+"', f'count="{count}" uniqueCount="{total}"', sst_xml, count=1)
            if head.endswith("</sst>"):
                head = head[: -len("</sst>")]
            else:  # an empty table written as <sst .../>
                head = head.rstrip().removesuffix("/>") + ">"
            replaced["xl/sharedStrings.xml"] = (head + "".join(items) + "</sst>").encode("utf-8")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = replaced.get(info.filename) or src.read(info.filename)
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(zi, data, compresslevel=1 if len(data) > 1_000_000 else 6)
        return out.getvalue()

