"""Stamped templates (cmrg_excel/stamp.py) against build_template, and text that looks like XML."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from cmrg_excel.styles import Styles, new_workbook

# Text that xlsxwriter 3.3.1 would have stored raw as rich-text XML (first two), and its neighbours.
RICH_LOOKALIKES = [
    "<r>boom</r>", "<r>a</b></r>", "<r></r>", "<r> spaced </r>", "<r>_x0041_</r>", "<r>x_</r>",
    "<r>Café – £ & \"quotes\"</r>", "<r>boom</r> ", "<r>boom", "boom</r>", "<R>boom</R>",
    # xlsxwriter's _xHHHH_ escaping: fine for one, but it missed the second of two sharing a "_"
    "_x0041_", "_x005F_x0042_", "a_x0041_x0042_x0043_b",
]


def _sheet_values(data: bytes, sheet: str):
    o = openpyxl.load_workbook(io.BytesIO(data))[sheet]
    c = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet).to_python()
    return o, c


@pytest.mark.parametrize("how", ["write_string", "write", "merge_range"])
def test_text_that_looks_like_rich_string_xml_reads_back_identical(how):
    wb, buffer = new_workbook()
    st = Styles(wb)
    ws = wb.add_worksheet("S")
    for i, text in enumerate(RICH_LOOKALIKES):
        if how == "merge_range":
            ws.merge_range(i, 0, i, 1, text, st.locked)
        else:
            getattr(ws, how)(i, 0, text, st.locked)
    wb.close()
    data = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sst = zf.read("xl/sharedStrings.xml").decode()
    assert "<t>boom</t>" not in sst and "</b>" not in sst  # nothing of the text is taken as markup
    o, c = _sheet_values(data, "S")
    for i, text in enumerate(RICH_LOOKALIKES):
        assert c[i][0] == text, (i, text)
        if "x005F_" not in text:  # openpyxl deletes every "x005F_" it reads, escaped or not
            assert o.cell(i + 1, 1).value == text, (i, text)
