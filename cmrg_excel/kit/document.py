"""Word documents from plain data (python-docx): papers, packs and letters in one house style.

A document is a list of blocks (headings, paragraphs, bullet lists, tables, images, page
breaks) that a stage builds as plain data, so tests can check what a document says apart
from how it is drawn. :func:`render_docx` draws it with a small set of named styles, never by
formatting runs one at a time, with the council's name and the protective marking in every
page's header and page numbers in the footer.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Cm, Pt, RGBColor

from . import docx_internals as DI
from .files import write_atomic

NAVY = RGBColor(0x1F, 0x3A, 0x5F)
GREY = RGBColor(0x59, 0x59, 0x59)
FONT = "Calibri"

# XML 1.0 refuses C0 controls other than tab, newline and carriage return; python-docx raises
# on them. People's text can hold them (pasted from other systems), so they are shown, not lost.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def plain(text: object) -> str:
    """Text safe to put in a document: control characters shown as visible escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if text is None else str(text))


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str
    style: str = "body"          # body, note, lead (bold), quote
    runs: list[tuple[str, bool]] | None = None   # (text, bold) pieces instead of ``text``


@dataclass
class Bullets:
    items: list[str]
    numbered: bool = False


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    widths_cm: list[float] | None = None
    right_align: set[int] = field(default_factory=set)   # column indexes holding figures
    total_row: bool = False                               # the last row is a total: bold


@dataclass
class Image:
    png: bytes
    width_cm: float = 15.0
    caption: str = ""


@dataclass
class PageBreak:
    pass


@dataclass
class Cover:
    """A block of labelled lines at the top of a paper (From, To, Subject ...)."""

    lines: list[tuple[str, str]]


Block = Heading | Para | Bullets | Table | Image | PageBreak | Cover


@dataclass
class Document:
    title: str
    blocks: list[Block]
    council: str = ""
    marking: str = ""            # protective marking, e.g. "OFFICIAL-SENSITIVE"; in every header
    landscape: bool = False

    def text(self) -> str:
        """Everything the document says, as plain text (for tests and for a quick look)."""
        out: list[str] = [self.title]
        for b in self.blocks:
            if isinstance(b, Heading):
                out.append(b.text)
            elif isinstance(b, Para):
                out.append(b.text if b.runs is None else "".join(t for t, _ in b.runs))
            elif isinstance(b, Bullets):
                out.extend(b.items)
            elif isinstance(b, Table):
                out.append(" | ".join(b.columns))
                out.extend(" | ".join(r) for r in b.rows)
            elif isinstance(b, Cover):
                out.extend(f"{k}: {v}" for k, v in b.lines)
            elif isinstance(b, Image) and b.caption:
                out.append(b.caption)
        return "\n".join(out)


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 20), ("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 11)):
        st = doc.styles[name]
        st.font.name = FONT
        st.font.size = Pt(size)
        st.font.bold = True
        st.font.color.rgb = NAVY
        st.paragraph_format.keep_with_next = True
        st.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        st.paragraph_format.space_after = Pt(6)


def _header_footer(doc, document: Document) -> None:
    section = doc.sections[0]
    header = section.header.paragraphs[0]
    header.text = ""
    left = plain(document.council)
    run = header.add_run(left)
    run.font.size = Pt(9)
    run.font.color.rgb = GREY
    if document.marking:
        header.add_run("\t\t")
        mark = header.add_run(plain(document.marking).upper())
        mark.font.size = Pt(9)
        mark.bold = True
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    lead = footer.add_run((plain(document.marking).upper() + "    ") if document.marking else "")
    lead.bold = True
    lead.font.size = Pt(9)
    footer.add_run("Page ").font.size = Pt(9)
    DI.add_field(footer, "PAGE")
    footer.add_run(" of ").font.size = Pt(9)
    DI.add_field(footer, "NUMPAGES")


def _cell_text(cell, text: str, bold: bool = False, right: bool = False, size: float = 10) -> None:
    p = cell.paragraphs[0]  # a new cell holds one empty paragraph
    p.paragraph_format.space_after = Pt(0)
    if right:
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = p.add_run(plain(text))
    run.bold = bold
    run.font.size = Pt(size)


def render_docx(document: Document) -> bytes:
    """The document as .docx bytes."""
    doc = new_docx()
    _styles(doc)
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    if document.landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    section.top_margin = section.bottom_margin = Cm(2.0)
    _header_footer(doc, document)
    doc.core_properties.title = plain(document.title)[:255]
    doc.core_properties.author = plain(document.council)[:255]
    doc.add_paragraph(plain(document.title), style="Title")
    usable = (section.page_width - section.left_margin - section.right_margin)
    # Style objects looked up once: python-docx looks a style name up afresh on every call.
    styles = {name: doc.styles[name] for name in ("Title", "List Bullet", "List Number", "Table Grid")}
    for block in document.blocks:
        if isinstance(block, Heading):
            doc.add_heading(plain(block.text), level=max(1, min(3, block.level)))
        elif isinstance(block, Para):
            p = doc.add_paragraph()
            pieces = block.runs if block.runs is not None else [(block.text, block.style == "lead")]
            for text, bold in pieces:
                run = p.add_run(plain(text))
                run.bold = bold
                if block.style == "note":
                    run.italic = True
                    run.font.color.rgb = GREY
                    run.font.size = Pt(10)
            if block.style == "quote":
                p.paragraph_format.left_indent = Cm(1)
                for run in p.runs:
                    run.italic = True
        elif isinstance(block, Bullets):
            for item in block.items:
                doc.add_paragraph(plain(item), style=styles["List Number" if block.numbered else "List Bullet"])
        elif isinstance(block, Cover):
            table = doc.add_table(rows=0, cols=2)
            table.alignment = WD_TABLE_ALIGNMENT.LEFT
            for label, value in block.lines:
                cells = table.add_row().cells
                _cell_text(cells[0], label, bold=True, size=11)
                _cell_text(cells[1], value, size=11)
                cells[0].width, cells[1].width = Cm(4), usable - Cm(4)
            doc.add_paragraph()
        elif isinstance(block, Table):
            table = doc.add_table(rows=1, cols=len(block.columns))
            table.style = styles["Table Grid"]
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            head = table.rows[0]
            DI.repeat_header_row(head)
            for i, name in enumerate(block.columns):
                _cell_text(head.cells[i], name, bold=True, right=i in block.right_align)
                DI.shade_cell(head.cells[i], "DCE6F1")
            for k, row in enumerate(block.rows):
                cells = table.add_row().cells
                last = block.total_row and k == len(block.rows) - 1
                for i, value in enumerate(row):
                    _cell_text(cells[i], value, bold=last, right=i in block.right_align)
            if block.widths_cm:
                table.autofit = False
                for i, w in enumerate(block.widths_cm):  # LibreOffice reads the grid, Word the cells
                    table.columns[i].width = Cm(w)
                for row in table.rows:
                    for i, w in enumerate(block.widths_cm):
                        row.cells[i].width = Cm(w)
            doc.add_paragraph()
        elif isinstance(block, Image):
            doc.add_picture(io.BytesIO(block.png), width=min(Cm(block.width_cm), usable))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            if block.caption:
                cap = doc.add_paragraph()
                run = cap.add_run(plain(block.caption))
                run.italic = True
                run.font.size = Pt(9)
                cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, PageBreak):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def write_docx(document: Document, path: Path) -> Path:
    """Write the document to ``path`` (complete or absent, never half-written)."""
    write_atomic(path, render_docx(document))
    return path
