"""The one place that reaches below python-docx's public API.

Written against python-docx 1.2.0; setup.cfg pins ``python-docx>=1.2.0,<1.3``. The document
kit (:mod:`cmrg_excel.kit.document`) needs three things python-docx has no public call for,
and does them only through these functions; ``tests/test_library_walls.py`` checks every
assumption below against the installed version, so an upgrade that changes one fails there
by name instead of writing a document that Word repairs or shows wrongly.

What this module assumes of python-docx 1.2:

* A run's XML element is ``Run._r`` (a ``w:r``), a table cell's ``_Cell._tc`` (a ``w:tc``)
  with ``get_or_add_tcPr()``, and a table row's ``_Row._tr`` (a ``w:tr``) with
  ``get_or_add_trPr()``: the properties element, made when missing.
* ``docx.oxml.OxmlElement(tag)`` makes an element python-docx serialises as written, and
  ``docx.oxml.ns.qn("w:...")`` gives the namespaced name of a WordprocessingML attribute.

What is built with them is plain WordprocessingML (ECMA-376 part 1): a complex field
(``w:fldChar`` begin, ``w:instrText``, ``w:fldChar`` end), a cell's shading (``w:shd``) and a
header row repeated on every page (``w:tblHeader``).
"""

from __future__ import annotations

from importlib.metadata import version as _dist_version

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

WRITTEN_AGAINST = "1.2.0"
SUPPORTED = ((1, 2), (1, 3))  # from (inclusive), to (exclusive): as pinned in setup.cfg


def version() -> tuple[int, ...]:
    """The installed python-docx's version as numbers, e.g. (1, 2, 0)."""
    return tuple(int(p) for p in _dist_version("python-docx").split(".")[:3] if p.isdigit())


def add_field(paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) at the end of ``paragraph``, in a run of its own, that Word
    and LibreOffice fill in when they lay out the page."""
    run = paragraph.add_run()
    begin, text, end = OxmlElement("w:fldChar"), OxmlElement("w:instrText"), OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    end.set(qn("w:fldCharType"), "end")
    run._r.append(begin)
    run._r.append(text)
    run._r.append(end)


def shade_cell(cell, hex_fill: str) -> None:
    """Fill a table cell with the colour ``hex_fill`` (e.g. "DCE6F1")."""
    props = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_fill)
    props.append(shd)


def repeat_header_row(row) -> None:
    """Mark a table row as its header, repeated at the top of every page the table runs onto."""
    props = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)
