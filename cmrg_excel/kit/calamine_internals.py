"""The one place that knows how python-calamine hands a workbook over.

Written against python-calamine 0.9.1; setup.cfg pins ``python-calamine>=0.9.1,<0.10``.
The reader (:mod:`cmrg_excel.intake.read`) opens returned workbooks only through these
functions, and ``tests/test_library_walls.py`` checks every assumption below against the
installed version, so an upgrade that changes one fails there by name instead of
misreading a return.

What this module assumes of python-calamine 0.9:

* ``CalamineWorkbook.from_filelike(fileobj)`` opens an .xlsx from bytes in memory, and
  raises ``PasswordError`` for a workbook encrypted with a password to open (other damage
  raises ``CalamineError``, ``XmlError``, ``ZipError`` or a plain Python error).
* ``CalamineWorkbook.sheets_metadata`` lists every sheet in workbook order, each with
  ``name`` and ``visible``, whose text ends in ``Visible``, ``Hidden`` or ``VeryHidden``
  (``str()`` of the enum is ``SheetVisibleEnum.Visible``; it has no ``.name``).
* ``get_sheet_by_name(name).to_python(skip_empty_area=False)`` gives the sheet as rows of
  cells starting at A1 (so list positions are cell positions), an empty cell as ``""``,
  numbers as ``float`` (5 comes back 5.0), booleans as
  ``bool``, a date cell as ``datetime.date`` and a date-time cell as ``datetime.datetime``.
"""

from __future__ import annotations

import io
from importlib.metadata import version as _dist_version

import python_calamine as _pc

WRITTEN_AGAINST = "0.9.1"
SUPPORTED = ((0, 9), (0, 10))  # from (inclusive), to (exclusive): as pinned in setup.cfg

PasswordError = _pc.PasswordError
_VISIBILITY = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "veryhidden"}


def version() -> tuple[int, ...]:
    """The installed python-calamine's version as numbers, e.g. (0, 9, 1)."""
    return tuple(int(p) for p in _dist_version("python-calamine").split(".")[:3] if p.isdigit())


def open_workbook(data: bytes):
    """An open workbook over ``data`` (raises :data:`PasswordError` or calamine's errors)."""
    return _pc.CalamineWorkbook.from_filelike(io.BytesIO(data))


def sheet_states(wb) -> dict[str, str]:
    """Sheet name -> "visible", "hidden" or "veryhidden", in workbook order."""
    out = {}
    for meta in wb.sheets_metadata:
        vis = getattr(meta.visible, "name", None) or str(meta.visible).split(".")[-1]
        out[meta.name] = _VISIBILITY.get(vis, vis.lower())
    return out


def sheet_grid(wb, name: str) -> list[list[object]]:
    """The cells of sheet ``name`` as rows from A1 (empty cells ``""``)."""
    return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
