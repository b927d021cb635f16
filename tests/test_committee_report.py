"""The committee paper (cmrg report), the benefits log and the group's curated findings.

End to end: returns are issued, filled and ingested; the paper is written and opened with
python-docx; every count and pound is checked against figures computed here from the register.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from docx import Document as open_docx

from cmrg_excel import register as reg
from cmrg_excel.cli import cli
from cmrg_excel.core.benefits import read_benefits_log
from cmrg_excel.core.framework import find as find_framework
from cmrg_excel.intake.ingest import ingest
from cmrg_excel.report.committee import CommitteeData, ReportSettings, committee_paper, generated_findings, money
from cmrg_excel.report.findings import read_curated_findings

from .returns import complete_answers, drop, filled, framework_of, issue_of

TODAY = dt.date.today()
PERIOD = ["--from", (TODAY - dt.timedelta(days=30)).strftime("%d/%m/%Y"), "--to", TODAY.strftime("%d/%m/%Y")]
STRUCTURE = ["Summary", "Recommendation(s)", "1. Introduction", "2. Approach", "3. Progress", "4. Findings",
             "5. Feedback", "6. Next steps", "7. Recommendation(s)", "8. Background documents",
             "9. Contact details", "Appendix: the numbers"]


def run(*args, ws=None):
    argv = list(args) + (["--workspace", str(ws.root)] if ws is not None else [])
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def docx_text(path) -> tuple[list[str], str]:
    doc = open_docx(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    return headings, "\n".join(parts)


def table_rows(path, first_heading: str) -> list[list[str]]:
    doc = open_docx(str(path))
    for table in doc.tables:
        cells = [[c.text for c in row.cells] for row in table.rows]
        if cells and cells[0][0] == first_heading:
            return cells[1:]
    raise AssertionError(f"no table headed {first_heading!r}")


@pytest.fixture
def reviewed(issued):
    """Two of three contracts returned and accepted (C-0001, C-0002); C-0003 outstanding."""
    ws, _ = issued
    for cid, seed in (("C-0001", 0), ("C-0002", 3)):
        fw = framework_of(ws, issue_of(ws, cid))
        drop(ws, f"{cid}.xlsx", filled(ws, cid, answers=complete_answers(fw, seed)))
    result = ingest(ws, write_report=False)
    assert result.count("accepted") == 2, [(f.name, f.outcome) for f in result.files]
    return ws


def write_log(ws, rows):
    wb = openpyxl.load_workbook(ws.root / "benefits.xlsx")
    sh = wb["Benefits"]
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row, start=1):
            cell = sh.cell(r, c, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # typed as text ('=...), as an owner would to show an equals sign
    wb.save(ws.root / "benefits.xlsx")


def test_init_makes_the_benefits_log_and_the_standing_text(small_workspace):
    ws = small_workspace
    assert (ws.root / "benefits.xlsx").exists() and (ws.root / "committee-text.md").exists()
    wb = openpyxl.load_workbook(ws.root / "benefits.xlsx")
    assert [c.value for c in wb["Benefits"][1]] == ["Contract ID", "Date", "Description", "Amount (£)", "Type", "Caveat"]
    assert read_benefits_log(ws.root / "benefits.xlsx") == []  # the example row is ignored


def test_paper_follows_the_committee_structure_and_counts_match_the_register(reviewed):
    ws = reviewed
    out = ws.root / "paper.docx"
    result = run("report", *PERIOD, "--out", str(out), ws=ws)
    assert result.exit_code == 0, result.output
    headings, text = docx_text(out)
    assert [h for h in headings if h in STRUCTURE] == STRUCTURE
    # independently from the register: accepted, current returns received in the period
    subs = reg.submissions_frame(reg.open_register(ws))
    accepted = subs[(subs.outcome == "accepted") & (subs.status == "current")]
    contracts = reg.answers(ws)[["contract_id", "directorate"]].drop_duplicates()
    by_dir = contracts[contracts.contract_id.isin(accepted.contract_id)].groupby("directorate").size()
    assert f"considered {len(accepted)} contracts" in text
    rows = table_rows(out, "Directorate")
    assert {r[0]: int(r[1]) for r in rows[:-1]} == by_dir.to_dict()
    assert rows[-1] == ["Total", str(len(accepted)), str(len(accepted))]
    assert "No benefits were recorded in the period." in text
    assert "No feedback from contract owners" in text


def test_a_period_with_nothing_in_it_says_so(reviewed):
    ws = reviewed
    out = ws.root / "empty.docx"
    result = run("report", "--from", "01/01/2020", "--to", "30/06/2020", "--out", str(out), ws=ws)
    assert result.exit_code == 0, result.output
    headings, text = docx_text(out)
    assert [h for h in headings if h in STRUCTURE] == STRUCTURE
    assert "No contract's self-assessment was considered in the period; 0 have been considered in total." in text
    assert "There are no findings for the period" in text


def test_benefits_total_and_each_big_benefit_with_its_caveat(reviewed):
    ws = reviewed
    day = (TODAY - dt.timedelta(days=3)).strftime("%d/%m/%Y")
    write_log(ws, [
        ["C-0001", day, "Re-procured on a standard form", "£1.1m", "Cashable", "depending on prescribing patterns"],
        ["C-0002", day, "Recovered overpayments", "£850k", "one off", ""],
        ["C-0002", day, "=HYPERLINK(\"x\") better reporting", None, "Non-cashable", ""],
        ["C-0001", "01/01/2021", "Old saving, outside the period", "2000000", "Cashable", ""],
    ])
    out = ws.root / "paper.docx"
    result = run("report", *PERIOD, "--out", str(out), ws=ws)
    assert result.exit_code == 0, result.output
    _, text = docx_text(out)
    assert "cashable savings of £1.1m a year; one-off savings of £850k; 1 non-cashable benefit" in text
    # £1.1m of a £1.2m-a-year contract, with its caveat; the old saving is outside the period
    assert "£1.1m a year on C-0001 (Highways maintenance): Re-procured on a standard form, 91.7% of the " \
           "contract's annual value. Caveat: depending on prescribing patterns." in text
    assert "Old saving" not in text
    assert "Cashable savings a year | £1,100,000" in text
    conn = reg.open_register(ws)
    stored = pd.read_sql("SELECT * FROM benefits ORDER BY id", conn)
    conn.close()
    assert list(stored.source) == [f"benefits.xlsx row {r}" for r in (3, 4, 5, 6)]
    assert stored.description[2] == "=HYPERLINK(\"x\") better reporting"  # text stays text


def test_a_bad_benefits_log_is_refused_row_by_row_and_nothing_is_taken(reviewed):
    ws = reviewed
    write_log(ws, [
        ["C-0001", "31/02/2026", "Saving", "£1.1m", "Cashable", ""],
        ["NOPE-1", "01/01/2026", "Saving", "lots", "Cashable", ""],
        ["C-0002", "01/01/2026", "", "100", "Sometimes", ""],
    ])
    result = run("report", *PERIOD, "--out", str(ws.root / "p.docx"), ws=ws)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "row 3, Date ('31/02/2026'): is not a real date" in result.output
    assert "row 4, Contract ID ('NOPE-1'): is not a contract in the register" in result.output
    assert "row 4, Amount (£) ('lots'): is not an amount of pounds" in result.output
    assert "row 5, Description: is missing" in result.output
    assert "row 5, Type ('Sometimes'): must be Cashable, One-off or Non-cashable" in result.output
    assert not (ws.root / "p.docx").exists()
    conn = reg.open_register(ws)
    assert conn.execute("SELECT COUNT(*) FROM benefits").fetchone()[0] == 0
    conn.close()


@pytest.mark.parametrize("text, pounds", [("1100000", 1_100_000), ("£1.1m", 1_100_000), ("£850k", 850_000),
                                          ("1,234", 1234)])
def test_amounts_in_pounds_as_people_write_them(small_workspace, text, pounds):
    ws = small_workspace
    write_log(ws, [["C-0001", "01/01/2026", "Saving", text, "Cashable", ""]])
    assert read_benefits_log(ws.root / "benefits.xlsx", {"C-0001"})[0].amount_gbp == pounds


def _frame(scores: dict[str, dict[int, float]]) -> pd.DataFrame:
    """An answers frame: contract -> {area: score}, one activity per area, received now."""
    rows = []
    for cid, areas in scores.items():
        for area, score in areas.items():
            rows.append({"contract_id": cid, "round": "R1", "area": area, "ref": f"{area}.1", "score": score,
                         "rating": "x", "evidence": "", "not_applicable": False, "directorate": "D", "title": cid,
                         "received_at": pd.Timestamp.now(tz="UTC"), "activity": f"Activity {area}.1",
                         "area_name": "", "action": "", "action_owner": "", "target_date": pd.NaT})
    return pd.DataFrame(rows)


def test_findings_name_the_weakest_area_as_an_issue_and_the_strongest_as_a_strength():
    fw = find_framework("nao-cm-areas-1-8")
    scores = {f"C-{i}": {a.number: 2.0 for a in fw.areas} for i in range(4)}
    for c in scores.values():
        c[3], c[6] = 0.0, 3.0  # Administration weakest, Payment and incentives strongest
    data = CommitteeData(start=TODAY - dt.timedelta(days=1), end=TODAY, council="C", review_group="G", framework=fw,
                         answers=_frame(scores), contracts=pd.DataFrame(), benefits=pd.DataFrame())
    strengths, issues = generated_findings(data)
    assert strengths[0].startswith("Area 6 (Payment and incentives) is the strongest area")
    assert issues[0].startswith("Area 3 (Administration) is the weakest area")
    doc = committee_paper(data, ReportSettings())
    text = doc.text()
    assert text.index("Area 6 (Payment") < text.index("Issues to address") < text.index("Area 3 (Admin")


def test_curated_findings_replace_the_generated_ones_and_survive_a_rerun(reviewed):
    ws = reviewed
    result = run("findings", *PERIOD, ws=ws)
    assert result.exit_code == 0, result.output
    path = ws.root / "findings.xlsx"
    wb = openpyxl.load_workbook(path)
    sh = wb["Themes"]
    generated = sh.max_row - 1
    assert generated >= 2 and sh["G2"].value.startswith("New")
    sh["C2"] = "Documentation needs to be improved and standardised"
    for r in range(3, sh.max_row + 1):
        sh.cell(r, 1, "No")
    sh.cell(sh.max_row + 1, 1, "Yes")
    new_row = sh.max_row
    for c, v in enumerate(["Issue", "Bespoke forms of contract used where standard ones should be", "Cross-cutting",
                           "C-0002", "Yes"], start=2):
        sh.cell(new_row, c, v)
    wb.save(path)
    again = run("findings", *PERIOD, ws=ws)
    assert again.exit_code == 0 and f"{generated + 1} row(s) kept as they were, 0 new" in again.output
    curated = read_curated_findings(path)
    assert [t.text for t in curated.themes][:1] == ["Documentation needs to be improved and standardised"]
    out = ws.root / "paper.docx"
    assert run("report", *PERIOD, "--out", str(out), ws=ws).exit_code == 0
    _, text = docx_text(out)
    assert "Findings are drawn from themes agreed by the review group (findings.xlsx)." in text
    assert "Bespoke forms of contract used where standard ones should be (legacy: to be addressed at " \
           "re-commissioning)" in text
    assert "is the weakest area" not in text  # dropped rows stay out


def test_marking_and_cover_come_from_the_settings(reviewed):
    ws = reviewed
    toml = ws.root / "cmrg.toml"
    text = toml.read_text().replace('marking = ""', 'marking = "Exempt - not for publication"')
    text = text.replace('committee = ""', 'committee = "Policy and Resources Cabinet Committee"')
    toml.write_text(text)
    out = ws.root / "paper.docx"
    result = run("report", *PERIOD, "--meeting", "20/01/2027", "--out", str(out), ws=ws)
    assert result.exit_code == 0, result.output
    doc = open_docx(str(out))
    header = " ".join(p.text for p in doc.sections[0].header.paragraphs)
    assert "EXEMPT - NOT FOR PUBLICATION" in header and "Test Council" in header
    _, body = docx_text(out)
    assert "To | Policy and Resources Cabinet Committee – 20 January 2027" in body
    assert "The Policy and Resources Cabinet Committee is asked to NOTE the report." in body


def test_the_marking_heads_every_page_of_the_workbooks_for_members(reviewed):
    """The summary and the findings workbook print the marking at the top right of every sheet,
    beside the council's name; without a marking the header holds the council's name alone."""
    import openpyxl

    ws = reviewed
    assert run("summary", "--round", "R1", ws=ws).exit_code == 0
    summary = next(ws.outbox.glob("summary-*.xlsx"))
    assert all("EXEMPT" not in (sh.oddHeader.right.text or "") for sh in openpyxl.load_workbook(summary).worksheets)
    toml = ws.root / "cmrg.toml"
    toml.write_text(toml.read_text().replace('marking = ""', 'marking = "Exempt - not for  publication & internal"'))
    for args in (("summary", "--round", "R1", "--force"), ("findings", *PERIOD)):
        result = run(*args, ws=ws)
        assert result.exit_code == 0, result.output
    for path in (summary, ws.root / "findings.xlsx"):
        for sheet in openpyxl.load_workbook(path).worksheets:
            right = sheet.oddHeader.right
            # "&&" is how a header writes "&" (openpyxl shows the code as it is)
            assert right.text.replace("&&", "&") == "EXEMPT - NOT FOR PUBLICATION & INTERNAL", (path.name, sheet.title)
            assert right.font == "Calibri,Bold" and int(right.size) >= 8


@pytest.mark.parametrize("setting, message", [
    ('[report]\ncolour = "blue"\n', "[report] colour is not a known setting"),
    ('[report]\nbenefit_threshold_gbp = "lots"\n', "[report] benefit_threshold_gbp must be a number of pounds from 0 to 1000000000000, e.g. 100000, written without quotes (found \"lots\")"),
])
def test_bad_report_settings_are_one_line_errors(small_workspace, setting, message):
    ws = small_workspace
    toml = ws.root / "cmrg.toml"
    toml.write_text(toml.read_text().split("[report]")[0] + setting)
    result = run("report", *PERIOD, ws=ws)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_single_contract_paper(reviewed):
    ws = reviewed
    out = ws.root / "one.docx"
    result = run("report", *PERIOD, "--contract", "C-0002", "--out", str(out), ws=ws)
    assert result.exit_code == 0, result.output
    headings, text = docx_text(out)
    assert headings[:5] == ["The contract", "Review history", "Ratings by area over time", "Improvement actions",
                            "Benefits"]
    assert "Home care" in text and "R1 |" in text
    missing = run("report", *PERIOD, "--contract", "C-0003", ws=ws)
    assert missing.exit_code == 1 and "C-0003 has no accepted self-assessment" in missing.output


def test_out_must_be_docx_and_is_not_replaced_without_force(reviewed):
    ws = reviewed
    assert "ending in .docx" in run("report", *PERIOD, "--out", str(ws.root / "x.xlsx"), ws=ws).output
    existing = ws.root / "keep.docx"
    existing.write_bytes(b"mine")
    result = run("report", *PERIOD, "--out", str(existing), ws=ws)
    assert result.exit_code == 1 and existing.read_bytes() == b"mine"


def test_money_is_written_as_a_committee_paper_writes_it():
    assert [money(x) for x in (1_100_000, 850_000, 12_500, 2_000_000)] == ["£1.1m", "£850k", "£12,500", "£2m"]


def _soffice():
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is needed in CI")
        pytest.skip("LibreOffice is not installed")
    return found


@pytest.mark.libreoffice
def test_paper_converts_to_pdf_with_every_section(reviewed):
    _soffice()
    ws = reviewed
    result = run("report", *PERIOD, ws=ws)
    assert result.exit_code == 0, result.output
    pdf = next(ws.outbox.glob("committee-report-*.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for heading in STRUCTURE:
        assert heading in text, heading
    assert "Page 1 of" in text
