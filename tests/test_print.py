"""What a reader sees: every kind of workbook cmrg writes, printed through LibreOffice (issue 15).

The demo's two rounds are run once per test session, and each kind of workbook (a first-round
template, a re-review template, a corrections workbook, the summary, an ingest report, the
review plan, the status workbook and the register export) is printed once, by a real
LibreOffice, to PDF. Every test below then reads that PDF:

* every word of every cell that printing covers (visible sheets, inside the print area, in
  visible rows and columns; the text as Calc displays it) is in ``pdftotext``'s output, as
  often as the cells hold it: text cut off by a column edge or a short row, a number shown as
  ``###``, or two cells' text running together ("003/12/2026") all fail;
* the pages stay within a budget per kind for the demo's data;
* no character is printed smaller than 8 pt once the page is scaled to fit.

LibreOffice starts take seconds on two cores, so each workbook is printed once per session
(two at a time) and every check runs on that one PDF.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmrg_excel.cli import cli
from cmrg_excel.programme.demo import FIRST_ROUND, SECOND_ROUND, run_demo

from .libreoffice import pdf_text, print_workbook, require_libreoffice

pytestmark = pytest.mark.libreoffice

TODAY = dt.date(2026, 11, 27)
MIN_POINTS = 8.0

# Pages each kind may print on for the demo's data, and why.
BUDGETS = {
    # Instructions 1, Contract 1, Assessment 8 (70 activities, each row as tall as its statement
    # and examples of evidence at 8 pt or more), Attestation 1: 11 with LibreOffice 7.4
    "template": 11,
    "re-review template": 12,      # the same with the last review beside each activity: 12
    "corrections": 13,             # a re-issued template plus its "Fixes needed" page: 12
    # Dashboard 2 (figures and chart; findings in words), Heatmap 1, Findings 5 (26 activities
    # rated very differently, each with its contracts), Progress 3, Directorates 1, Actions 22
    # (412 actions, two lines each with the activity's statement), Activity heatmap 5 (one page
    # per group of areas), Data 1 (its note: the data itself is not set to print): 40
    "summary": 44,
    "ingest report": 5,            # Files 2 (27 files), Reasons 1, Corrections 1, Summary 1
    "plan": 5,                     # Schedule 2, Scores 2, Method 1
    "status": 3,                   # 28 contracts, with notes on the withdrawn and the unusable returns: 3
    "register export": 2,          # its note (3,710 rows are for filters and pivot tables, not paper) and
                                   # Details to correct 1
}


@pytest.fixture(scope="session")
def workbooks(tmp_path_factory) -> dict[str, Path]:
    """The demo's workspace after both rounds, with the plan and the register exported."""
    root = tmp_path_factory.mktemp("print") / "demo"
    result = run_demo(root, say=lambda _text: None, today=TODAY)
    ws = result.workspace
    runner = CliRunner()
    plan = runner.invoke(cli, ["plan", "--from", "01/12/2026", "--workspace", str(root)])
    assert plan.exit_code == 0, plan.output
    export = runner.invoke(cli, ["register", "--out", str(root / "outbox" / "register.xlsx"), "--workspace", str(root)])
    assert export.exit_code == 0, export.output
    findings = runner.invoke(cli, ["findings", "--from", "01/04/2026", "--to", "31/03/2028", "--workspace", str(root)])
    assert findings.exit_code == 0, findings.output
    corrections = sorted(c.path for c in result.corrections)
    return {
        "template": ws.outbox / FIRST_ROUND / "GET-001.xlsx",
        "re-review template": ws.outbox / SECOND_ROUND / "GET-001.xlsx",
        "corrections": Path(corrections[0]),
        "summary": result.summary,
        "ingest report": result.ingests[0].report,
        "plan": ws.outbox / "review-plan.xlsx",
        "status": ws.outbox / f"status-{FIRST_ROUND}.xlsx",
        "register export": ws.outbox / "register.xlsx",
        # written by cmrg init and cmrg findings: validated, not printed
        "contract list": ws.contracts_path,
        "benefits log": root / "benefits.xlsx",
        "findings": root / "findings.xlsx",
    }


@pytest.fixture(scope="session")
def printed(workbooks, tmp_path_factory) -> dict[str, dict]:
    """Each workbook printed once: {kind: {"sheets": what Calc prints, "pdf": path, "text": pdftotext}}."""
    require_libreoffice()
    outdir = tmp_path_factory.mktemp("printed")

    def one(item):
        kind, src = item
        pdf = outdir / (kind.replace(" ", "-") + ".pdf")
        try:
            done = print_workbook(src, pdf)
            return kind, {"sheets": done["sheets"], "pdf": pdf, "text": pdf_text(pdf)}
        except Exception as exc:  # reported by each test of that kind
            return kind, exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, [(kind, workbooks[kind]) for kind in BUDGETS]))


def _get(printed, kind) -> dict:
    got = printed[kind]
    if isinstance(got, Exception):
        raise got
    return got


def words(text: str) -> list[str]:
    """The words of ``text``; a hyphenated word counts as its parts, since Calc may wrap a line
    after a hyphen ("off-" at the end of one line, "contract" at the start of the next)."""
    return [w for w in re.split(r"\s+|(?<=-)(?=\w)", text) if w]


def cell_name(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def missing_words(sheets: list[dict], text: str) -> list[str]:
    """Words that printed cells hold more often than the PDF shows them, with the cells."""
    on_paper = Counter(words(text))
    wanted: Counter = Counter()
    where: dict[str, list[str]] = {}
    for sheet in sheets:
        for row, col, value in sheet["cells"]:
            for word in words(value):
                wanted[word] += 1
                where.setdefault(word, []).append(f"{sheet['name']}!{cell_name(row, col)}")
    short = wanted - on_paper
    return [f"{word!r} (x{n}; in {', '.join(where[word][:3])}{' ...' if len(where[word]) > 3 else ''})"
            for word, n in sorted(short.items())]


def smallest_fonts(pdf: Path, limit: float) -> list[str]:
    """Text printed below ``limit`` points (font size times the page's scale), page by page."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    found = []
    doc = pdfium.PdfDocument(str(pdf))
    try:
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            small: dict[float, list[str]] = {}
            for k in range(raw.FPDFText_CountChars(textpage)):
                code = raw.FPDFText_GetUnicode(textpage, k)
                if not code or chr(code).isspace():
                    continue
                size = round(raw.FPDFText_GetFontSize(textpage, k), 1)
                if size < limit:
                    small.setdefault(size, []).append(chr(code))
            if small:
                size = min(small)
                found.append(f"page {index + 1}: {size} pt ({''.join(small[size])[:60]!r})")
            textpage.close()
            page.close()
    finally:
        doc.close()
    return found


def pages_by_sheet(sheets: list[dict]) -> str:
    return ", ".join(f"{s['name']} {s['pages']}" for s in sheets if s["pages"])


@pytest.mark.parametrize("kind", list(BUDGETS))
def test_every_printed_word_is_on_paper(printed, kind):
    got = _get(printed, kind)
    missing = missing_words(got["sheets"], got["text"])
    assert not missing, f"{kind}: {len(missing)} word(s) of printed cells not in the PDF:\n  " + "\n  ".join(missing[:40])


@pytest.mark.parametrize("kind", list(BUDGETS))
def test_pages_within_budget(printed, kind):
    got = _get(printed, kind)
    pages = sum(s["pages"] for s in got["sheets"])
    assert 1 <= pages <= BUDGETS[kind], f"{kind}: {pages} pages ({pages_by_sheet(got['sheets'])})"


@pytest.mark.parametrize("kind", list(BUDGETS))
def test_nothing_printed_below_8_points(printed, kind):
    got = _get(printed, kind)
    small = smallest_fonts(got["pdf"], MIN_POINTS)
    assert not small, f"{kind}: text under {MIN_POINTS:g} pt at print scale:\n  " + "\n  ".join(small[:20])


def test_the_checks_catch_cut_text_and_small_print(tmp_path):
    """The word and font checks fail on a sheet with text cut by its neighbour, a number
    too wide for its column, text running into the next cell and 6-point type."""
    require_libreoffice()
    import xlsxwriter

    src = tmp_path / "bad.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Bad")
    ws.set_column(0, 1, 10)
    ws.write(0, 0, "alphaword betaword gammaword")
    ws.write(0, 1, "neighbour")
    ws.write(1, 0, 12345678901234, wb.add_format({"num_format": "#,##0"}))
    ws.write(2, 0, "small type", wb.add_format({"font_size": 6}))
    ws.write(3, 0, 0, wb.add_format({"align": "right"}))
    ws.write(3, 1, "03/12/2026", wb.add_format({"align": "left"}))
    ws.set_column(0, 0, 10)
    wb.close()
    done = print_workbook(src, tmp_path / "bad.pdf")
    text = pdf_text(tmp_path / "bad.pdf")
    missing = " ".join(missing_words(done["sheets"], text))
    assert "'betaword'" in missing and "'12,345,678,901,234'" in missing, missing
    assert smallest_fonts(tmp_path / "bad.pdf", MIN_POINTS)[0].startswith("page 1: 6.0 pt")


# --- Office Open XML schemas ------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(BUDGETS) + ["contract list", "benefits log", "findings"])
def test_every_workbook_is_valid_office_open_xml(workbooks, kind):
    """Each workbook the tool writes passes the Office Open XML schema and semantic checks of
    openxml-audit (a pure-Python port of the Open XML SDK's validator), so Excel opens it
    without offering to repair it."""
    from openxml_audit import OpenXmlValidator

    path = workbooks[kind]
    assert path.exists(), path
    result = OpenXmlValidator(max_errors=0).validate(str(path))
    errors = [str(e) for e in result.errors]
    assert result.is_valid and not errors, f"{kind} ({path.name}): {len(errors)} error(s):\n  " + "\n  ".join(errors[:20])


def test_the_validator_catches_a_misplaced_element(workbooks, tmp_path):
    """The schema check is real: moving pageMargins ahead of sheetData fails it."""
    import zipfile

    from openxml_audit import OpenXmlValidator

    src = workbooks["status"]
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode("utf-8")
                margins = re.search(r"<pageMargins[^>]*/>", xml).group()
                xml = xml.replace(margins, "").replace("<sheetData>", margins + "<sheetData>", 1)
                data = xml.encode("utf-8")
            zout.writestr(info, data)
    result = OpenXmlValidator(max_errors=0).validate(str(bad))
    assert not result.is_valid and any("sheetData" in str(e) for e in result.errors)


# --- what each kind must say ------------------------------------------------------------------


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_summary_prints_as_a_pack_in_order(printed):
    got = _get(printed, "summary")
    order = [s["name"] for s in got["sheets"] if s["pages"]]
    pack = ["Dashboard", "Heatmap", "Findings", "Progress", "Directorates", "Actions"]
    assert [name for name in order if name in pack] == pack, order
    assert order[: len(pack)] == pack, order
    data = next(s for s in got["sheets"] if s["name"] == "Data")
    assert data["pages"] <= 1, "the Data sheet prints no more than its note"
    flat = _flat(got["text"])
    assert "not set to print" in flat
    assert "cmrg.toml" not in flat and "[summary]" not in flat


@pytest.mark.parametrize("kind", ["template", "re-review template"])
def test_templates_say_what_an_owner_needs_on_paper(printed, workbooks, kind):
    from cmrg_excel.core.workspace import open_workspace

    flat = _flat(_get(printed, kind)["text"])
    fw = open_workspace(workbooks["template"].parents[2]).framework()
    assert "Self-assessment: Highways maintenance term contract" in flat
    for area in fw.areas:
        assert area.name in flat, area.name
    for heading in ("Attestation", "Contract details", "Key activity", "Examples of evidence"):
        assert heading in flat
    if kind == "re-review template":
        # headings wrap over two lines in their cells, and a cell's "re-rated" wraps after its hyphen,
        # with the next cell's text between the two halves in pdftotext's reading order
        assert all(word in flat for word in ("Still", "accurate?", "Last review"))
        assert re.search(r"\d+ of \d+ confirmed or re-", flat)


def test_ingest_report_has_a_title_and_rejected_files_first(printed):
    flat = _flat(_get(printed, "ingest report")["text"])
    assert re.search(r"Ingest of \d\d/\d\d/\d{4} \d\d:\d\d UTC: 27 file\(s\), 25 accepted, 2 rejected", flat), flat[:300]
    files = next(s for s in _get(printed, "ingest report")["sheets"] if s["name"] == "Files")
    outcomes = [text for _row, col, text in files["cells"] if col == 1 and text in ("accepted", "rejected")]
    assert outcomes == sorted(outcomes, key=lambda o: o != "rejected") and outcomes[0] == "rejected"
